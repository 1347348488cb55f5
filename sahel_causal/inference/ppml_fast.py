"""PPML slopes for leave-one-cluster-out refits (CRV3), without pyfixest's per-fit overhead.

Estimand: the Poisson pseudo-maximum-likelihood slopes of :func:`sahel_causal.models.ppml`
(``E[y | x, FE] = exp(x'b + FE)``; Santos Silva & Tenreyro 2006; Correia, Guimaraes & Zylkin 2020)
on a subsample, with the same sample rules: rows with missing values dropped, then fixed-effect levels
whose outcome is zero in every row and fixed-effect singletons, iteratively (as
:func:`sahel_causal.models.ppml.drop_unidentified`, here on integer codes).

Algorithm: the fixed effects enter as explicit dummies and the model is fitted by IRLS (Newton for
the canonical log link) with the wild score bootstrap's solver
(:func:`sahel_causal.inference.score_bootstrap._irls`, converged when a full step moves the linear
predictor by less than 1e-10), warm-started at the linear predictor of the full-sample fit: a
leave-one-cluster-out fit is a small perturbation of it, so a few Newton steps suffice. pyfixest's
``fepois`` (the tables' main fit) spends most of a refit's ~70 ms in formula parsing and its
separation checks; this path takes a few milliseconds.

Whenever a subsample is not the regular case the refit falls back to the reference
:func:`sahel_causal.models.ppml` itself, so separation and collinearity are handled exactly as in the
main fit: the design loses rank, or IRLS does not converge. Separation needs no separate check here:
when a regressor separates zero outcomes (Correia, Guimaraes & Zylkin 2021) the maximum-likelihood
estimate does not exist, and the Newton step on the separated rows stays of order one however far
the linear predictor has moved (the step is invariant to the vanishing weights), so the convergence
criterion (a full step below 1e-10) cannot be met and the fallback runs; without separation the
estimate exists and IRLS converges to it. Checked against ``ppml`` refits, including a separated
subsample, in tests/inference/test_ppml_fast.py.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError


def _identified_rows(codes: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Rows kept by ``drop_unidentified``: iteratively remove fixed-effect levels whose outcome is zero in
    every remaining row and singletons. Both removals are monotone, so the result is the largest subset
    in which no level is all-zero or a singleton, whatever the order (the same rows as the pandas
    implementation of ``models.ppml``)."""
    from sahel_causal.models.fe_ols import singleton_mask_codes

    keep = np.ones(y.shape[0], dtype=bool)
    while True:
        before = int(keep.sum())
        for c in codes:
            m = int(c.max()) + 1 if c.size else 0
            total = np.bincount(c[keep], weights=y[keep], minlength=m)
            keep &= total[c] != 0
        if codes:
            idx = np.flatnonzero(keep)
            keep[idx[singleton_mask_codes([c[idx] for c in codes])]] = False  # fe_ols's iterative singleton rule
        if int(keep.sum()) == before:
            return keep


def _design(d: pd.DataFrame, outcome: str, regressors: Sequence[str], fe: Sequence[str]):
    """Sample rules of ``ppml`` and the explicit-dummy design: (frame, X, y), or None when the design
    loses rank or nothing positive remains."""
    from sahel_causal.inference.score_bootstrap import _dummies
    from sahel_causal.models.fe_ols import drop_missing

    used = list(dict.fromkeys([outcome, *regressors, *fe]))
    frame = d.loc[:, used]
    if frame.isna().to_numpy().any():
        frame, _ = drop_missing(frame, used)
    y = frame[outcome].to_numpy(dtype=float)
    keep = _identified_rows([pd.factorize(frame[f].to_numpy())[0] for f in fe], y)
    if not keep.all():
        frame, y = frame.loc[keep], y[keep]
    if len(frame) == 0 or float(y.sum()) == 0.0:
        return None
    D, _ = _dummies(frame, fe, drop_first_of_first=False) if fe else (np.ones((len(frame), 1)), None)
    X = np.ascontiguousarray(np.column_stack([frame[list(regressors)].to_numpy(dtype=float), D]))
    from scipy.linalg import qr

    r = np.abs(np.diag(qr(X, mode="r", pivoting=True, check_finite=False)[0]))
    if r.size == 0 or np.count_nonzero(r > max(X.shape) * np.finfo(float).eps * r[0]) < X.shape[1]:
        return None
    return frame, X, y


def ppml_refitter(sample: pd.DataFrame, outcome: str, regressors: Sequence[str], fe: Sequence[str],
                  reference: Callable[[pd.DataFrame], Any]) -> Callable[[pd.DataFrame], Any]:
    """Return ``refit(subsample)`` for CRV3 refits of the PPML fitted on ``sample``: an object whose
    ``coef`` holds the slopes of ``regressors``; irregular subsamples return ``reference(subsample)``
    (the tables' ``ppml`` call: its result, or its error).
    """
    from sahel_causal.inference.score_bootstrap import _irls, _Poisson

    regs = list(regressors)
    k = len(regs)
    full = _design(sample, outcome, regs, fe)
    eta_full = None
    if full is not None:
        frame, X, y = full
        try:
            _, eta, _ = _irls(_Poisson(), X, y, np.zeros(len(y)))
            eta_full = pd.Series(eta, index=frame.index)
        except SpecificationError:
            eta_full = None

    def refit(d: pd.DataFrame) -> pd.Series:
        got = _design(d, outcome, regs, fe) if eta_full is not None else None
        if got is None:
            return reference(d)
        frame, X, y = got
        start = eta_full.reindex(frame.index).to_numpy()
        try:
            coef, _, _ = _irls(_Poisson(), X, y, np.zeros(len(y)), None if np.isnan(start).any() else start)
        except SpecificationError:
            return reference(d)
        return SimpleNamespace(coef=pd.Series(coef[:k], index=regs))

    return refit
