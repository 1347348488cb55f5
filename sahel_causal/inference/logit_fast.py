"""Pooled-logit coefficients by Newton with analytic derivatives, for leave-one-cluster-out refits (CRV3).

Estimand: the maximum-likelihood coefficients of :func:`sahel_causal.models.pooled_logit`
(intercept, regressors, cubic in the time since the last event, indicator sets; Beck, Katz & Tucker
1998; Carter & Signorino 2010) on a row subset of the sample the refits are built on -- in the
tables, the sample without one cluster, i.e. the refits of the CRV3 jackknife (MacKinnon, Nielsen &
Webb 2023, CV3J). Same rows (missing values dropped on the same columns), same design
(:func:`~sahel_causal.models.logit.logit_design` on the full sample once; on a subset an indicator
level without rows disappears and, when the first sorted level disappears, the next one becomes the
omitted reference, exactly as ``logit_design`` on the subset), same rank check, same failures.

Algorithm. Newton's method on the log-likelihood
:math:`\\ell(\\beta) = \\sum_i y_i\\eta_i - \\log(1 + e^{\\eta_i})`, :math:`\\eta = X\\beta`, with the
analytic gradient :math:`X'(y - p)` and Hessian :math:`-X'\\mathrm{diag}(p(1-p))X`, step halving
when a step lowers :math:`\\ell`, started at the full-sample estimates (re-expressed in the subset's
reference levels, which keeps every remaining row's linear index), and stopped by statsmodels'
rule for ``Logit.fit(method="newton", tol=1e-10)``: the final full Newton step is applied and is
at most 1e-10 in every coordinate. With quadratic convergence both fits then agree with the
maximum to rounding error (checked against ``pooled_logit`` refits to 1e-8 relative in
tests/inference/test_logit_fast.py).

Separation. ``pooled_logit`` refuses (quasi-)separated data after the linear program of Konis
(2007) (``firthmodels.detect_separation``, about 7 ms per call, most of a refit's cost). Here
the absence of separation is first *certified* from the fit: by Stiemke's theorem of the
alternative, there is no :math:`\\beta` with :math:`s_i x_i'\\beta \\ge 0` for all :math:`i` and
:math:`> 0` for some (:math:`s_i = 2y_i - 1`; Albert & Anderson 1984's (quasi-)complete
separation, given full rank) if and only if some strictly positive :math:`w` has
:math:`\\sum_i w_i s_i x_i = 0`. At the maximum, :math:`w_i = 1 - p_i` (events) or :math:`p_i`
(non-events) is such a vector up to the (tiny) score; it is projected exactly onto that null space
(orthonormal basis of the columns of :math:`X`) and the certificate is accepted only if every
weight stays positive by far more than the rounding error of the projection. The same :math:`w`
(scaled to :math:`\\min w = 1`) is a dual solution of zero value of Konis' linear program, so that
program's unique optimum is :math:`\\beta = 0`: ``detect_separation`` would report no separation.
Whenever the certificate is not obtained (Newton did not converge, a weight is not clearly
positive, or the design is too ill-conditioned for ``detect_separation``'s own QR rank rule to be
sure to pass), the very check of ``pooled_logit`` (:func:`~sahel_causal.models.logit.check_separation`)
runs and raises what ``pooled_logit`` raises; failing that, a non-converged Newton raises
``pooled_logit``'s non-convergence error. A refit that fails makes CRV3 undefined (NaN with the
reason) exactly as with full refits. One theoretical difference remains: on data without
separation on which statsmodels' undamped Newton iteration from zero would not converge within 200
steps, ``pooled_logit`` raises while this damped, warm-started iteration succeeds.

References: Albert, A. & Anderson, J. A. (1984), Biometrika 71(1); Konis, K. (2007), DPhil thesis,
Oxford; Stiemke, E. (1915), Math. Annalen 76; MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D.
(2023), J. Econometrics 232(2).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from sahel_causal.errors import SpecificationError

_EPS = float(np.finfo(float).eps)


def logit_loglik(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """Log-likelihood of the logit, :math:`\\sum_i y_i\\eta_i - \\log(1 + e^{\\eta_i})` (overflow-safe)."""
    eta = X @ beta
    return float(y @ eta - np.logaddexp(0.0, eta).sum())


def logit_newton(X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, tol: float = 1e-10,
                 maxiter: int = 200) -> tuple[bool, np.ndarray, int]:
    """Maximise the logit log-likelihood by Newton steps (analytic gradient and Hessian) with halving.

    Returns ``(converged, beta, iterations)``. Converged means statsmodels' criterion: the last full
    Newton step (applied to ``beta``) is at most ``tol`` in every coordinate. Not converged (no
    exception) when the Hessian is singular, a step is not finite, halving fails (30 times) or
    ``maxiter`` steps are taken -- as under separation, where the estimates run off to infinity.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    beta = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    ll = logit_loglik(X, y, beta)
    for it in range(1, maxiter + 1):
        p = expit(X @ beta)
        grad = X.T @ (y - p)
        info = (X * (p * (1.0 - p))[:, None]).T @ X  # minus the Hessian
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return False, beta, it
        if not (np.all(np.isfinite(step)) and np.isfinite(ll)):
            return False, beta, it
        if np.max(np.abs(step)) <= tol:
            return True, beta + step, it
        t = 1.0
        while True:
            cand = beta + t * step
            ll_c = logit_loglik(X, y, cand)
            # the slack only absorbs rounding of ll once the steps are tiny
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * (1.0 + abs(ll)):
                break
            t /= 2.0
            if t < 2.0**-30:
                return False, beta, it
        beta, ll = cand, ll_c
    return False, beta, maxiter


def no_separation_certificate(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> bool:
    """True if the fitted weights prove that the data are not (quasi-)completely separated.

    ``w_i = 1 - p_i`` for events and ``p_i`` otherwise (``p`` at ``beta``, the maximum), so that
    ``sum_i w_i s_i x_i`` is the score. ``w`` minus its projection on the column space of
    ``diag(s) X`` (orthonormal basis from the SVD) lies in the null space of ``(diag(s) X)'``; if all
    its entries exceed ``100 (kappa(X) + n) eps ||w||`` (a bound far above the rounding error of the
    projection), a strictly positive null vector exists and, by Stiemke's theorem, no separating
    direction does (module docstring). False also when ``X`` is too ill-conditioned for
    ``detect_separation``'s QR rank rule (tolerance ``max(n, K) eps |r_11|``) to be sure to pass.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    s = 2.0 * y - 1.0
    A = X * s[:, None]
    try:
        U, S, _ = np.linalg.svd(A, full_matrices=False)
    except np.linalg.LinAlgError:
        return False
    if not (S.min() > 0 and np.all(np.isfinite(S))):
        return False
    kappa = S.max() / S.min()
    if kappa * max(n, k) * _EPS > 1e-2:  # let detect_separation decide (and raise) near rank deficiency
        return False
    w = expit(-s * (X @ beta))
    if not np.all(np.isfinite(w)):
        return False
    w_null = w - U @ (U.T @ w)
    margin = 100.0 * (kappa + n) * _EPS * float(np.linalg.norm(w))
    return bool(w_null.min() > margin)


class PooledLogitRefits:
    """The design of :func:`sahel_causal.models.pooled_logit` built once; coefficients for row subsets.

    ``df`` and the arguments are those of the ``pooled_logit`` call (``cluster`` only matters for the
    rows dropped for missing values, as there); ``start`` are starting values by design column (the
    full-sample fit's ``aux["params_full"]``). :meth:`coefficients` of a row subset ``d`` of ``df``
    (same index labels, same values; the index of ``df`` must be unique) returns what
    ``pooled_logit(d, ...).aux["params_full"]`` would, or raises what it would (module docstring).
    """

    def __init__(self, df: pd.DataFrame, outcome: str, regressors: str | Sequence[str], *,
                 duration: str | None = None, dummies: str | Sequence[str] | None = (),
                 cluster: str | None = None, start: Mapping[str, float] | pd.Series | None = None) -> None:
        from sahel_causal.models.fe_ols import as_name_tuple, check_numeric, drop_missing, validate_columns
        from sahel_causal.models.logit import PooledLogitConfig, _check_binary, logit_design

        regs = as_name_tuple(regressors, "regressors")
        dums = as_name_tuple(dummies, "dummies")
        if not df.index.is_unique:
            raise SpecificationError("the refits map subsets to rows by index label: the index must be unique")
        cfg = PooledLogitConfig(outcome, regs, duration, dums, cluster, "CRV1" if cluster else "model", "")
        validate_columns(df, cfg.used_columns)
        check_numeric(df, [outcome, *regs] + ([duration] if duration else []))
        _check_binary(df[outcome], outcome)
        frame, _ = drop_missing(df.loc[:, list(cfg.used_columns)], list(cfg.used_columns))
        self.index = df.index
        # position in df -> position in the complete-case frame (-1: dropped for a missing value)
        self._to_frame = np.full(len(df), -1, dtype=np.int64)
        self._to_frame[df.index.get_indexer(frame.index)] = np.arange(len(frame))
        X = logit_design(frame, regs, duration, dums) if len(frame) else None
        self.names: list[str] = [] if X is None else list(X.columns)
        self._X = np.empty((0, 0)) if X is None else X.to_numpy(dtype=float)
        self._y = frame[outcome].to_numpy(dtype=float)
        n_base = 1 + len(regs) + (3 if duration else 0)
        self._base = np.arange(n_base)
        # per indicator set: level codes of every row (sorted levels, as logit_design) and the design
        # column of each level (-1 for the first, omitted level)
        self._factors: list[tuple[np.ndarray, np.ndarray]] = []
        col = {c: j for j, c in enumerate(self.names)}
        for f in dums:
            if X is None:
                break
            levels = sorted(frame[f].unique())
            codes = pd.Index(levels).get_indexer(frame[f])
            cols = np.array([-1] + [col[f"{f}={v}"] for v in levels[1:]], dtype=np.int64)
            self._factors.append((codes, cols))
        st = {} if start is None else dict(start)
        self._start = np.array([float(st.get(c, 0.0)) for c in self.names])

    def _rows(self, d: pd.DataFrame) -> np.ndarray:
        pos = self.index.get_indexer(d.index)
        if (pos < 0).any():
            raise ValueError("the refit data contain rows that the refits were not built on")
        rows = self._to_frame[pos]
        return np.sort(rows[rows >= 0])

    def _design(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns of the subset's design and the start re-expressed in its reference levels."""
        keep = [self._base]
        start = self._start.copy()
        for codes, cols in self._factors:
            present = np.unique(codes[rows])
            ref = cols[present[0]]
            if ref >= 0:  # the omitted level has no rows: the next level becomes the reference
                shift = start[ref]
                start[0] += shift  # the intercept; every remaining row keeps its linear index
                start[cols[present[1:]]] -= shift
            keep.append(cols[present[1:]])
        c = np.concatenate(keep)
        return c, start[c]

    def coefficients(self, d: pd.DataFrame) -> pd.Series:
        """All coefficients of ``pooled_logit`` on the row subset ``d`` (by design column name)."""
        from sahel_causal.models.logit import POOLED_NOT_CONVERGED, check_logit_rank, check_separation

        rows = self._rows(d)
        if rows.size == 0:
            raise SpecificationError("no observations left after dropping missing values")
        cols, start = self._design(rows)
        X = self._X[np.ix_(rows, cols)]
        y = self._y[rows]
        names = [self.names[j] for j in cols]
        check_logit_rank(X, names)
        converged, beta, _ = logit_newton(X, y, start)
        if not (converged and no_separation_certificate(X, y, beta)):
            check_separation(X, y, names)
            if not converged:
                raise SpecificationError(POOLED_NOT_CONVERGED)
        return pd.Series(beta, index=names)
