"""Shared figure style and deterministic output.

Every figure of the study uses one style: Paul Tol's colour-blind-safe "muted" palette (safe for
the common colour-vision deficiencies and in greyscale order), a width that prints at 100% on a
portrait page (6.5 in text width, so nothing is shrunk), and type no smaller than 8 pt at that
size. ``save_figure`` writes PNG (200 dpi) and PDF without timestamps or version strings, so the
same data give the same bytes (the files are written by :func:`sahel_causal.writing.save_figure`).
Reference: Tol, Paul. 2021. "Colour Schemes." SRON/EPS/TN/09-002, https://personal.sron.nl/~pault/
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: Paul Tol's muted qualitative palette (colour-blind safe), plus black and a pale grey.
TOL_MUTED: dict[str, str] = {
    "indigo": "#332288", "cyan": "#88CCEE", "teal": "#44AA99", "green": "#117733", "olive": "#999933",
    "sand": "#DDCC77", "rose": "#CC6677", "wine": "#882255", "purple": "#AA4499", "grey": "#BBBBBB",
    "black": "#000000",
}
#: Two-group contrast used by line plots (e.g. Sahel G5 vs rest of Africa; successful vs failed).
PAIR = (TOL_MUTED["wine"], TOL_MUTED["indigo"])
#: Ordered cycle for several series.
CYCLE = [TOL_MUTED[k] for k in ("indigo", "rose", "teal", "sand", "wine", "cyan", "olive", "purple", "green")]

TEXT_WIDTH_IN = 6.5   # portrait text width of the manuscript (1 in margins on letter paper)
MIN_FONT_PT = 8       # smallest type at print size

STYLE = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8.5, "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5, "figure.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE), "axes.grid": False, "lines.linewidth": 1.6,
    "svg.hashsalt": "sahel-causal", "pdf.compression": 6, "savefig.dpi": 200,
}
plt.rcParams.update(STYLE)


def figure(height_in: float, width_in: float = TEXT_WIDTH_IN, **kwargs):
    """``plt.subplots`` at print size (default: the full text width) in the study's style."""
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(width_in, height_in), **kwargs)


def smallest_font(fig: "matplotlib.figure.Figure") -> float:
    """The smallest font size (pt) of any visible text in ``fig`` (for tests of legibility)."""
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    return min(sizes) if sizes else float("inf")


def save_figure(fig: "matplotlib.figure.Figure", directory: Path, name: str) -> list[Path]:
    """Alias of :func:`sahel_causal.writing.save_figure` (atomic PNG at 200 dpi and PDF, fixed
    metadata), kept for existing callers: report/ itself writes no files."""
    from sahel_causal.writing import save_figure as _save

    return _save(fig, directory, name)
