"""Deterministic figure output (PNG and PDF without timestamps or version strings)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "sahel-causal", "pdf.compression": 6})


def save_figure(fig: "matplotlib.figure.Figure", directory: Path, name: str) -> list[Path]:
    """Write ``name.png`` (150 dpi) and ``name.pdf`` with fixed metadata; close the figure."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{name}.png"
    pdf = directory / f"{name}.pdf"
    fig.savefig(png, dpi=150, metadata={"Software": None}, bbox_inches="tight")
    fig.savefig(pdf, metadata={"Creator": None, "Producer": None, "CreationDate": None}, bbox_inches="tight")
    plt.close(fig)
    return [png, pdf]
