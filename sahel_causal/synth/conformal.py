"""Conformal inference for synthetic control and DiD (Chernozhukov, Wüthrich & Zhu 2021, JASA 116:1849-1864).

Test of the sharp null of no effect in every post period for one treated unit. Under the null the
treated unit's post-period outcomes are untreated, so the counterfactual model is fitted on all
:math:`T` periods and gives residuals :math:`\\hat u_t` for every period. With the statistic

.. math:: S(\\hat u) = \\Big(\\tfrac{1}{\\sqrt{T_1}}\\textstyle\\sum_{t > T_0} |\\hat u_t|^q\\Big)^{1/q}

and the :math:`T` moving-block (cyclic) permutations :math:`\\pi_j(t) = t + j \\bmod T`,
the p-value is :math:`\\hat p = \\tfrac{1}{T}\\sum_{j=0}^{T-1} 1\\{S(\\hat u_{\\pi_j}) \\ge S(\\hat u)\\}`
(Section 3.2 and Algorithm 1 of the paper; the identity permutation is included, so
:math:`\\hat p \\ge 1/T`). Validity needs the residuals to be stationary and weakly dependent under the
null (exact under exchangeability over time) and a consistent counterfactual model.

Counterfactual models: ``"sc"`` -- simplex weights without intercept fitted on all periods by the
synthdid Frank-Wolfe solver with synthdid's SC penalty (:math:`\\zeta = 10^{-6}\\hat\\sigma`) and
stopping rule; ``"did"`` -- the control mean plus the treated unit's average gap over all periods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sahel_causal.errors import SpecificationError
from sahel_causal.synth.solver import sc_weight_fw, sparsify

ConformalModel = Literal["sc", "did"]


@dataclass(frozen=True)
class ConformalTest:
    """Residuals under the null, the statistic and the moving-block permutation p-value."""

    residuals: np.ndarray
    statistic: float
    p_value: float
    permuted: np.ndarray


def _stat(u_post: np.ndarray, q: float) -> float:
    return float((np.add.reduce(np.abs(u_post) ** q) / np.sqrt(u_post.size)) ** (1.0 / q))


def null_residuals(Y: np.ndarray, N0: int, model: ConformalModel = "sc") -> np.ndarray:
    """Treated-unit residuals for every period from the model fitted on all periods (null imposed)."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[0] - N0 != 1:
        raise SpecificationError("conformal inference: needs exactly one treated unit (the last row).")
    y1, Y0 = Y[N0], Y[:N0]
    if model == "did":
        gap = y1 - np.add.reduce(Y0, axis=0) / N0
        return gap - np.add.reduce(gap) / gap.size
    if model != "sc":
        raise SpecificationError(f"conformal inference: model must be 'sc' or 'did', got {model!r}.")
    d = np.diff(Y0, axis=1).ravel()
    sigma = float(np.sqrt(np.add.reduce((d - np.add.reduce(d) / d.size) ** 2) / (d.size - 1)))
    mat = np.ascontiguousarray(np.vstack([Y0, y1[np.newaxis, :]]).T)  # periods x (controls + treated)
    r = sc_weight_fw(mat, 1e-6 * sigma, intercept=False, min_decrease=1e-5 * sigma, max_iter=100)
    r = sc_weight_fw(mat, 1e-6 * sigma, intercept=False, init=sparsify(r.weights), min_decrease=1e-5 * sigma,
                     max_iter=10_000)
    return y1 - np.add.reduce(Y0 * r.weights[:, np.newaxis], axis=0)


def conformal_test(Y: np.ndarray, N0: int, T0: int, model: ConformalModel = "sc", q: float = 1.0) -> ConformalTest:
    """Moving-block conformal test of no effect in the post periods ``T0..T-1`` (see module docstring)."""
    Y = np.asarray(Y, dtype=float)
    T = Y.shape[1]
    if not 1 <= T0 < T:
        raise SpecificationError(f"conformal inference: need 1 <= T0 < T, got T0={T0}, T={T}.")
    u = null_residuals(Y, N0, model)
    s0 = _stat(u[T0:], q)
    perm = np.array([_stat(np.roll(u, -j)[T0:], q) for j in range(T)])
    return ConformalTest(residuals=u, statistic=s0, p_value=float(np.sum(perm >= s0 - 1e-12 * abs(s0))) / T,
                         permuted=perm)
