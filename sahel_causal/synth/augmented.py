"""Ridge-augmented synthetic control (Ben-Michael, Feller & Rothstein 2021, JASA 116:1789-1803).

The synthetic control's imbalance in the pre-period is corrected by a ridge regression of the
controls' post-period outcomes on their pre-period outcomes:

.. math:: \\hat Y_{1t}^{aug}(0) = \\sum_i \\hat\\omega_i Y_{it} + \\Big(X_1 - \\sum_i \\hat\\omega_i X_i\\Big)'\\hat\\eta_t,
   \\qquad \\hat\\eta_t = (\\tilde X_0'\\tilde X_0 + \\lambda I)^{-1}\\tilde X_0'\\tilde Y_{0t},

where :math:`X_i` is unit :math:`i`'s pre-period path, tildes denote centring over the controls, and
:math:`\\hat\\omega` are synthdid's SC weights (:func:`sahel_causal.synth.sc_estimate`). Equivalently the
augmented weights :math:`\\hat\\omega + \\tilde X_0(\\tilde X_0'\\tilde X_0 + \\lambda I)^{-1}(X_1 - X_0'\\hat\\omega)`
sum to one but may be negative (extrapolation). :math:`\\lambda \\to \\infty` gives back SC.

:math:`\\lambda` is chosen, as augsynth does by default, by forward-chaining cross-validation over the
pre-period: for every pre-period :math:`k \\ge k_0` the estimator is fitted on periods before
:math:`k` and predicts the treated unit in period :math:`k`; among 20 geometric values from
:math:`\\sigma_{max}^2(\\tilde X_0)` down to :math:`10^{-8}\\sigma_{max}^2` the largest :math:`\\lambda` whose mean
squared error is within one standard error of the minimum is taken. One treated unit (or the average
of several) only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from sahel_causal.errors import SpecificationError
from sahel_causal.synth.estimators import sc_estimate


@dataclass(frozen=True)
class AugmentedEstimate:
    """ASCM estimate, chosen ridge penalty, SC and augmented weights and the CV curve."""

    estimate: float
    lambda_ridge: float
    omega_sc: np.ndarray
    omega_aug: np.ndarray
    lambdas: np.ndarray
    cv_mse: np.ndarray
    effect_curve: np.ndarray


def _svd(X0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Xc = X0 - np.add.reduce(X0, axis=0) / X0.shape[0]
    return np.linalg.svd(Xc, full_matrices=False)


def _augment(svd: tuple[np.ndarray, np.ndarray, np.ndarray], X0: np.ndarray, x1: np.ndarray, omega: np.ndarray,
             lam: float) -> np.ndarray:
    u, s, vt = svd
    imbalance = x1 - np.add.reduce(X0 * omega[:, np.newaxis], axis=0)
    coef = np.add.reduce(vt * imbalance[np.newaxis, :], axis=1)
    return omega + np.add.reduce(u * (s / (s * s + lam) * coef)[np.newaxis, :], axis=1)


def augmented_weights(X0: np.ndarray, x1: np.ndarray, omega: np.ndarray, lam: float) -> np.ndarray:
    """:math:`\\omega + \\tilde X_0(\\tilde X_0'\\tilde X_0 + \\lambda I)^{-1}(x_1 - X_0'\\omega)` (X0: units x periods).

    Ridge through the SVD of the centred X0 (LAPACK on one BLAS thread); products as explicit reductions.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        svd = _svd(X0)
    return _augment(svd, X0, x1, omega, lam)


def _grid(X0: np.ndarray, n: int = 20) -> np.ndarray:
    smax = float(_svd(X0)[1][0]) ** 2
    return smax * np.logspace(0, -8, n)


def ascm_estimate(Y: np.ndarray, N0: int, T0: int, lambdas: np.ndarray | None = None,
                  cv_start: int | None = None) -> AugmentedEstimate:
    """Ridge ASCM with SC weights from synthdid's ``sc_estimate`` and λ by forward-chaining CV."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _ascm(np.asarray(Y, dtype=float), N0, T0, lambdas, cv_start)


def _ascm(Y: np.ndarray, N0: int, T0: int, lambdas: np.ndarray | None, cv_start: int | None) -> AugmentedEstimate:
    N, T = Y.shape
    if N - N0 != 1:
        raise SpecificationError("ascm_estimate: needs exactly one treated unit (the last row).")
    k0 = max(3, T0 // 2) if cv_start is None else int(cv_start)
    if not 2 <= k0 < T0:
        raise SpecificationError(f"ascm_estimate: cv_start must be in 2..{T0 - 1}.")
    grid = _grid(Y[:N0, :T0]) if lambdas is None else np.asarray(lambdas, dtype=float)
    errs = np.empty((T0 - k0, grid.size))
    for row, k in enumerate(range(k0, T0)):
        sub = Y[:, :k + 1]
        om = sc_estimate(sub, N0, k).omega
        svd = _svd(sub[:N0, :k])
        for j, lam in enumerate(grid):
            w = _augment(svd, sub[:N0, :k], sub[N0, :k], om, lam)
            errs[row, j] = (sub[N0, k] - float(np.add.reduce(w * sub[:N0, k]))) ** 2
    mse = errs.mean(axis=0)
    se = errs.std(axis=0, ddof=1) / math.sqrt(errs.shape[0]) if errs.shape[0] > 1 else np.zeros(grid.size)
    best = int(np.argmin(mse))
    ok = np.flatnonzero(mse <= mse[best] + se[best])
    lam = float(grid[ok].max())
    sc = sc_estimate(Y, N0, T0)
    w = _augment(_svd(Y[:N0, :T0]), Y[:N0, :T0], Y[N0, :T0], sc.omega, lam)
    curve = Y[N0, T0:] - np.add.reduce(Y[:N0, T0:] * w[:, np.newaxis], axis=0)
    return AugmentedEstimate(estimate=float(np.add.reduce(curve)) / curve.size, lambda_ridge=lam, omega_sc=sc.omega,
                             omega_aug=w, lambdas=grid, cv_mse=mse, effect_curve=curve)
