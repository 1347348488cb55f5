"""Placebo inference for one treated unit: in space (RMSPE ratios) and in time.

In-space placebos (Abadie, Diamond & Hainmueller 2010, Section 2.4; Abadie 2021, Section 7): each
donor in turn is treated as if it had been treated at the same date, with the other donors (never
the truly treated unit) as its donor pool, and the same estimator is re-fitted from scratch. For
every unit :math:`j` the gap path :math:`g_{jt}` (treated minus synthetic, see
:func:`sahel_causal.synth.estimators.trajectories`) gives

.. math:: \\mathrm{RMSPE}^{pre}_j = \\sqrt{\\tfrac{1}{T_0}\\textstyle\\sum_{t\\le T_0} g_{jt}^2},\\quad
   r_j = \\mathrm{RMSPE}^{post}_j / \\mathrm{RMSPE}^{pre}_j,

and the permutation p-value is the share of the :math:`J+1` units (the treated one included) whose
ratio is at least the treated unit's, :math:`p = \\#\\{j: r_j \\ge r_1\\}/(J+1)`; the smallest
attainable value is :math:`1/(J+1)`. The same rank is reported for :math:`|\\hat\\tau_j|`.
Exact under random assignment of the treatment among the :math:`J+1` units; otherwise a descriptive
measure of how unusual the treated unit's post-period divergence is.

In-time placebos: the treatment date is moved back ``shift`` periods and the estimator is applied to
the pre-period only; a large placebo effect signals poor pre-period fit or anticipation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sahel_causal.errors import SpecificationError
from sahel_causal.synth.estimators import ESTIMATORS, Estimator, SynthEstimate


@dataclass(frozen=True)
class PlaceboInSpace:
    """Fits of the treated unit (row 0) and of every donor as a placebo (rows 1..J)."""

    units: tuple[str, ...]
    estimates: np.ndarray
    rmspe_pre: np.ndarray
    rmspe_post: np.ndarray
    gaps: np.ndarray

    @property
    def ratios(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.rmspe_post / self.rmspe_pre

    @property
    def p_value(self) -> float:
        """Share of units with an RMSPE ratio at least the treated unit's (treated included)."""
        r = self.ratios
        return float(np.sum(r >= r[0])) / r.size

    @property
    def p_value_estimate(self) -> float:
        """Share of units with an absolute effect at least the treated unit's (treated included)."""
        a = np.abs(self.estimates)
        return float(np.sum(a >= a[0])) / a.size


def rmspe(gaps: np.ndarray) -> float:
    """Root mean squared prediction error of a gap path."""
    return math.sqrt(float(np.add.reduce(np.asarray(gaps, dtype=float) ** 2)) / len(gaps))


def fit(Y: np.ndarray, N0: int, T0: int, estimator: Estimator) -> SynthEstimate:
    if estimator not in ESTIMATORS:
        raise SpecificationError(f"unknown estimator {estimator!r}; use one of {sorted(ESTIMATORS)}.")
    return ESTIMATORS[estimator](Y, N0, T0)


def placebo_in_space(Y: np.ndarray, N0: int, T0: int, estimator: Estimator = "synthdid",
                     units: tuple[str, ...] = ()) -> PlaceboInSpace:
    """The treated unit's fit and one placebo fit per donor (see the module docstring)."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[0] - N0 != 1:
        raise SpecificationError("placebo_in_space: needs exactly one treated unit (the last row); "
                                 "average several treated units into one first.")
    if N0 < 2:
        raise SpecificationError("placebo_in_space: needs at least 2 donors.")
    fits = [fit(Y, N0, T0, estimator)]
    for j in range(N0):
        order = [k for k in range(N0) if k != j] + [j]
        fits.append(fit(Y[order], N0 - 1, T0, estimator))
    gaps = np.vstack([f.gaps() for f in fits])
    names = tuple(units[-1:]) + tuple(units[:N0]) if units else ()
    return PlaceboInSpace(units=names, estimates=np.array([f.estimate for f in fits]),
                          rmspe_pre=np.array([rmspe(g[:T0]) for g in gaps]),
                          rmspe_post=np.array([rmspe(g[T0:]) for g in gaps]), gaps=gaps)


def placebo_in_time(Y: np.ndarray, N0: int, T0: int, shift: int, estimator: Estimator = "synthdid") -> SynthEstimate:
    """Fit on the pre-period only, with a fake treatment date ``shift`` periods before the real one."""
    if isinstance(shift, bool) or not isinstance(shift, int) or not 1 <= shift <= T0 - 2:
        raise SpecificationError(f"placebo_in_time: shift must be an integer in 1..{T0 - 2}, got {shift!r}.")
    return fit(np.asarray(Y, dtype=float)[:, :T0], N0, T0 - shift, estimator)
