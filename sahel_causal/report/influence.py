"""Figure: leave-one-country-out estimates of the headline coefficients (pure; no file I/O)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# Okabe-Ito colour-blind-safe palette
_BLUE, _VERMILION, _GREY = "#0072B2", "#D55E00", "#555555"


def make_influence_figure(loo: pd.DataFrame, n_label: int = 5) -> "plt.Figure":
    """One panel per headline coefficient: the effect per within-SD without each country (sorted), the
    full-sample effect (line) and +-1 full-sample s.e. band; the ``n_label`` most influential labelled."""
    # 8 significant digits are plenty for a plot and make the PDF bytes independent of the last bits
    # of the refits (PPML standard errors differ in the 15th digit between runs)
    loo = loo.assign(**{c: loo[c].map(lambda v: float(f"{v:.8g}")) for c in loo.columns
                        if pd.api.types.is_float_dtype(loo[c])})
    keys = list(dict.fromkeys(zip(loo["model"], loo["term"])))
    fig, axes = plt.subplots(len(keys), 1, figsize=(8, 2.6 * len(keys)), squeeze=False)
    for ax, (model, term) in zip(axes[:, 0], keys):
        d = loo[(loo["model"] == model) & (loo["term"] == term)].sort_values("effect_1sd_without").reset_index(drop=True)
        full = float(d["effect_1sd_full"].iloc[0])
        se_sd = float(d["se_full"].iloc[0]) * (full / float(d["estimate_full"].iloc[0])) \
            if float(d["estimate_full"].iloc[0]) != 0 else np.nan
        x = np.arange(len(d))
        ax.axhspan(full - abs(se_sd), full + abs(se_sd), color=_BLUE, alpha=0.12, lw=0, label="full sample +- 1 s.e.")
        ax.axhline(full, color=_BLUE, lw=1.2, label="full sample")
        ax.axhline(0, color=_GREY, lw=0.7)
        ax.plot(x, d["effect_1sd_without"], "o", color=_GREY, ms=3.5, label="without one country")
        top = d.assign(dev=(d["effect_1sd_without"] - full).abs()).nlargest(n_label, "dev")
        for k, (i, r) in enumerate(top.sort_index().iterrows()):
            ax.plot(i, r["effect_1sd_without"], "o", color=_VERMILION, ms=5)
            ax.annotate(r["country_left_out"], (i, r["effect_1sd_without"]), textcoords="offset points",
                        xytext=(4, 5 if k % 2 == 0 else -12), fontsize=8, color=_VERMILION)
        ax.set_title(f"{d['table'].iloc[0]}: {d['label'].iloc[0]} ({term})", fontsize=9, loc="left")
        ax.set_ylabel("effect of +1 within SD", fontsize=8)
        ax.set_xticks([])
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(fontsize=7.5, loc="best", frameon=False)
    axes[-1, 0].set_xlabel("countries, sorted by the estimate without them (labelled: the five most influential)",
                           fontsize=8)
    fig.tight_layout()
    return fig
