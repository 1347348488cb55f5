"""Deterministic figure style (PNG and PDF without timestamps or version strings).

Importing this module fixes the rcParams that make figures byte-reproducible. Writing figures is
not done here (report/ only formats): :func:`sahel_causal.writing.save_figure` writes them
atomically. ``save_figure`` below is kept as an alias of it so that existing task modules work.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "sahel-causal", "pdf.compression": 6})


def save_figure(fig: "matplotlib.figure.Figure", directory: Path, name: str) -> list[Path]:
    """Alias of :func:`sahel_causal.writing.save_figure` (kept for existing callers)."""
    from sahel_causal.writing import save_figure as _save

    return _save(fig, directory, name)
