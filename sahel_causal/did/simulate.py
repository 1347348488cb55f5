"""Simulated panels with known treatment effects, for tests and Monte Carlo studies only.

Every generator returns the observed outcome ``y`` and the true effect ``te`` of each row, with
untreated outcomes ``y0 = a_i + b_t + noise`` (parallel trends hold exactly when ``noise=0``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd


def staggered_panel(
    seed: int = 1,
    n_units: int = 60,
    n_periods: int = 12,
    cohorts: Sequence[int] = (4, 7, 10),
    never: bool = True,
    always: bool = False,
    noise: float = 1.0,
    dynamic: bool = True,
    heterogeneous: bool = True,
    drop_share: float = 0.0,
) -> pd.DataFrame:
    """Staggered absorbing adoption; columns id, t (1..T), g (0 = never; 1 = always treated), y, te, y0.

    Effect of cohort g at e = t - g >= 0: ``(1 + 0.5 e) * (g / 4) ** -2`` when heterogeneous
    (early cohorts gain much more, effects grow with time: TWFE's forbidden comparisons then
    bias it, even to the wrong sign without never-treated units), else ``1 + 0.5 e``.
    ``drop_share`` deletes that share of rows at random (an unbalanced panel).
    """
    rng = np.random.default_rng(seed)
    choices = list(cohorts) + ([0] if never else []) + ([1] if always else [])
    g = rng.choice(choices, size=n_units)
    a = rng.normal(size=n_units)
    b = np.cumsum(rng.normal(size=n_periods))
    ii, tt = np.meshgrid(np.arange(n_units), np.arange(1, n_periods + 1), indexing="ij")
    ii, tt = ii.ravel(), tt.ravel()
    gg = g[ii]
    e = tt - gg
    on = (gg > 0) & (e >= 0)
    scale = (np.maximum(gg, 1) / 4.0) ** -2.0 if heterogeneous else 1.0
    te = np.where(on, (1 + (0.5 * e if dynamic else 0)) * scale, 0.0)
    y0 = a[ii] + b[tt - 1] + noise * rng.normal(size=len(ii))
    df = pd.DataFrame({"id": ii, "t": tt, "g": gg, "y": y0 + te, "te": te, "y0": y0})
    if drop_share > 0:
        df = df[rng.random(len(df)) >= drop_share].reset_index(drop=True)
    return df


def switching_panel(seed: int = 2, n_units: int = 80, n_periods: int = 12, noise: float = 0.0) -> pd.DataFrame:
    """Non-absorbing binary treatment: switch on at F (4, 6, 8 or never), off again 2, 3 or never
    periods later. While on: ``kappa_i (2 + 0.5 (periods on - 1))``; after switching off a
    persistent ``kappa_i``. Columns id, t, d, y, te, F."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n_units)
    b = np.cumsum(rng.normal(size=n_periods))
    rows = []
    for i in range(n_units):
        F = int(rng.choice([0, 4, 6, 8]))
        off = F + int(rng.choice([2, 3, 100])) if F else 100
        kappa = rng.uniform(0.5, 1.5)
        on = 0
        for t in range(1, n_periods + 1):
            d = int(F > 0 and F <= t < off)
            on += d
            te = kappa * (2 + 0.5 * (on - 1)) if d else (kappa if (F > 0 and t >= off) else 0.0)
            y0 = a[i] + b[t - 1] + noise * rng.normal()
            rows.append((i, t, d, y0 + te, te, F))
    return pd.DataFrame(rows, columns=["id", "t", "d", "y", "te", "F"])


def dose_panel(
    seed: int = 3,
    n_units: int = 100,
    n_periods: int = 10,
    noise: float = 0.0,
    response: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Continuous dose: zero with probability 1/2, else 1, 2 or 3.5, redrawn every period.
    ``response(d, i)`` is the effect of dose d for unit i (default: slope 0.5, 1 or 1.5 by unit).
    Columns id, t, d, y, fd (= response)."""
    rng = np.random.default_rng(seed)
    f = response or (lambda d, i: (0.5 + (i % 3) * 0.5) * d)
    ii, tt = np.meshgrid(np.arange(n_units), np.arange(1, n_periods + 1), indexing="ij")
    ii, tt = ii.ravel(), tt.ravel()
    d = np.where(rng.random(len(ii)) < 0.5, 0.0, rng.choice([1.0, 2.0, 3.5], size=len(ii)))
    a = rng.normal(size=n_units)
    b = np.cumsum(rng.normal(size=n_periods))
    fd = f(d, ii)
    y = a[ii] + b[tt - 1] + noise * rng.normal(size=len(ii)) + fd
    return pd.DataFrame({"id": ii, "t": tt, "d": d, "y": y, "fd": fd})
