"""Conditional logit coefficients with analytic derivatives, for leave-one-cluster-out refits (CRV3).

Estimand: the slopes :math:`\\beta` of the conditional (fixed-effects) logit of
:func:`sahel_causal.models.conditional_logit` (Chamberlain 1980), with the same sample rules (its own
sample code is reused: groups and periods without variation in the outcome dropped iteratively) and
the same design (year dummies). They maximise :math:`\\sum_i \\log L_i(\\beta)` with

.. math:: \\log L_i(\\beta) = \\sum_t y_{it}\\,\\eta_{it} - \\log e_{n_i}(u_{i1}, \\dots, u_{iT_i}),
          \\qquad \\eta_{it} = x_{it}'\\beta,\\quad u_{it} = \\exp(\\eta_{it}),

where :math:`n_i = \\sum_t y_{it}` and :math:`e_m` is the elementary symmetric polynomial of degree
:math:`m` (the sum over all sets :math:`S` of :math:`m` periods of :math:`\\prod_{t\\in S} u_t`).

Algorithm: Newton's method with step halving on the exact gradient and Hessian (statsmodels'
``ConditionalLogit``, used by the tables' main fit, differentiates numerically: about 0.4 s per fit
here, 20+ s for the 54 CRV3 refits of Table 2). :math:`e_m` is computed by the recursion of Gail,
Lubin & Rubinstein (1981), :math:`F_t(m) = F_{t-1}(m) + u_t F_{t-1}(m-1)` over the periods, carried
with its gradient :math:`\\nabla F_t(m) = \\nabla F_{t-1}(m) + u_t\\,(x_t F_{t-1}(m-1) + \\nabla F_{t-1}(m-1))`,
so that :math:`e_n = F_T(n)` and

.. math:: \\nabla \\log L_i = \\sum_t y_t x_t - \\frac{\\nabla e_n}{e_n},\\qquad
          \\nabla^2 \\log L_i = -\\Big(\\frac{\\nabla^2 e_n}{e_n} - \\frac{\\nabla e_n}{e_n}
          \\frac{\\nabla e_n'}{e_n}\\Big),\\qquad
          \\nabla^2 e_n = \\sum_t u_t\\, x_t \\big(x_t\\, e^{(-t)}_{n-1} + \\nabla e^{(-t)}_{n-1}\\big)',

because :math:`\\partial e_n / \\partial \\eta_t = u_t e^{(-t)}_{n-1}`, where :math:`e^{(-t)}` omits
period :math:`t` (:math:`-\\nabla^2 \\log L_i` is the covariance of :math:`\\sum_{t\\in S} x_t` over
the arrangements :math:`S` of the events). The leave-one-period-out polynomial and its gradient are
convolutions of the forward recursion over periods :math:`1..t-1` with the same recursion run
backwards over :math:`t+1..T`: :math:`e^{(-t)}_{n-1} = \\sum_a F_{t-1}(a) R_{t+1}(n-1-a)`. No
numerical derivatives are used. Within a group the :math:`u_t` are scaled by
:math:`\\exp(-\\max_t \\eta_t)` to avoid overflow (this shifts :math:`\\log e_n` by
:math:`n \\max_t \\eta_t` and leaves its derivatives unchanged).

Vectorisation: the groups are padded once per fit to the longest group (padded periods have
:math:`u_t = 0` and :math:`x_t = 0`, so they add exactly nothing to any recursion or sum); the forward
and backward recursions of all groups run together as one loop over the periods, and each group's
terms are read at its own :math:`n_i` (:func:`pad_groups`, :func:`total_padded`). On the Table 2
refits one evaluation takes about a twelfth of the per-group time.

Reference: the earlier implementation, one Python loop over the periods of each group carrying the
:math:`k \\times k` second-derivative recursion (:func:`_group_terms_reference`,
:func:`total_reference`; ``kernel="per_group"``), is kept. The tests check that both give the same
log-likelihood and gradient (1e-12 relative) and Hessian (1e-12 relative to the moments it is the
difference of: the two round differently), the same leave-one-country-out coefficients on Table 2
(1e-10), and the statsmodels-based estimator's slopes (1e-7); ``benchmarks/bench_inference.py`` times
both (tests/inference/test_clogit_fast.py).

References: Chamberlain, G. (1980), Analysis of covariance with qualitative data, Review of Economic
Studies 47(1), 225-238. Gail, M. H., Lubin, J. H. & Rubinstein, L. V. (1981), Likelihood calculations
for matched case-control studies and survival studies with tied death times, Biometrika 68(3),
703-707.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

Kernel = Literal["padded", "per_group"]
_KERNELS = ("padded", "per_group")
Terms = tuple[float, np.ndarray, np.ndarray]


# ----------------------------------------------------------------------------- reference (per group)
def _group_terms_reference(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> Terms:
    """log L_i, its gradient and Hessian for one group (the reference: the k x k recursion)."""
    n = int(round(y.sum()))
    k = X.shape[1]
    eta = X @ beta
    a = eta.max()
    u = np.exp(eta - a)
    B = np.zeros(n + 1)
    B[0] = 1.0
    dB = np.zeros((n + 1, k))
    d2B = np.zeros((n + 1, k, k))
    for t in range(X.shape[0]):
        x = X[t]
        xx = np.outer(x, x)
        # update m = n..1 using the previous (t-1) values of m-1: vectorised over m with copies
        Bp, dBp, d2Bp = B[:-1].copy(), dB[:-1].copy(), d2B[:-1].copy()
        ut = u[t]
        d2B[1:] += ut * (xx[None] * Bp[:, None, None] + x[None, :, None] * dBp[:, None, :]
                         + dBp[:, :, None] * x[None, None, :] + d2Bp)
        dB[1:] += ut * (x[None, :] * Bp[:, None] + dBp)
        B[1:] += ut * Bp
    Bn, g, H = B[n], dB[n] / B[n], d2B[n] / B[n]
    loglik = float(y @ eta - (np.log(Bn) + n * a))
    grad = X.T @ y - g
    hess = -(H - np.outer(g, g))
    return loglik, grad, hess


def total_reference(X: np.ndarray, y: np.ndarray, groups: np.ndarray, beta: np.ndarray) -> Terms:
    """Sum over groups of :func:`_group_terms_reference` (one Python call per group)."""
    return _sum_reference(X, y, [np.flatnonzero(groups == g) for g in np.unique(groups)], beta)


def _sum_reference(X: np.ndarray, y: np.ndarray, idx: list[np.ndarray], beta: np.ndarray) -> Terms:
    k = X.shape[1]
    ll, gr, he = 0.0, np.zeros(k), np.zeros((k, k))
    for rows in idx:
        l_i, g_i, h_i = _group_terms_reference(X[rows], y[rows], beta)
        ll += l_i
        gr += g_i
        he += h_i
    return ll, gr, he


# ----------------------------------------------------------------------------- vectorised (padded)
@dataclass(frozen=True)
class PaddedGroups:
    """The groups of a conditional-logit design padded to a common number of periods.

    ``X`` is (G, T, k) with each group's rows in their original order followed by zero rows;
    ``valid`` marks the real rows. ``XA`` stacks, for the joint forward/backward recursion, the
    groups forwards then backwards (G..2G-1 hold each group's periods reversed, padding first), each
    row augmented by a leading 0 so that the recursion of :math:`F` and of its gradient is one array
    operation. ``rev_index`` reads, for period t of group g, the backward polynomial
    :math:`R_{t+1}(n_g - 1 - a)` for a = 0..n_max, pointing at an always-zero column when
    :math:`n_g - 1 - a < 0`.
    """

    X: np.ndarray
    valid: np.ndarray
    y: np.ndarray
    n: np.ndarray
    Xty: np.ndarray
    XA: np.ndarray
    rev_index: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.X.shape  # type: ignore[return-value]


def pad_groups(X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> PaddedGroups:
    """Pad the groups (in ``np.unique(groups)`` order, rows in their original order) once per fit."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    k = X.shape[1]
    idx = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    G, T = len(idx), max(len(r) for r in idx)
    Xp, yp, valid = np.zeros((G, T, k)), np.zeros((G, T)), np.zeros((G, T), dtype=bool)
    for i, rows in enumerate(idx):
        Xp[i, :len(rows)], yp[i, :len(rows)], valid[i, :len(rows)] = X[rows], y[rows], True
    n = np.array([int(round(y[rows].sum())) for rows in idx])
    Xty = np.vstack([X[rows].T @ y[rows] for rows in idx])
    X2 = np.concatenate([Xp, Xp[:, ::-1]], axis=0)
    XA = np.concatenate([np.zeros((2 * G, T, 1)), X2], axis=2)
    n_max = int(n.max())
    # backward polynomial R_{t+1} = recursion over the reversed rows after T-1-t steps (index T-1-t)
    a = np.arange(n_max + 1)
    col = (n[:, None] - 1) - a[None, :]
    col = np.where(col >= 0, col, n_max + 1)  # the always-zero column
    g_ix = (G + np.arange(G))[:, None, None]
    t_ix = (T - 1 - np.arange(T))[None, :, None]
    return PaddedGroups(Xp, valid, yp, n, Xty, XA, (g_ix, t_ix, col[:, None, :]))


def total_padded(P: PaddedGroups, beta: np.ndarray) -> Terms:
    """Log-likelihood, gradient and Hessian summed over all groups, vectorised across groups."""
    G, T, k = P.shape
    n, n_max = P.n, int(P.n.max())
    eta = P.X @ beta
    a = np.where(P.valid, eta, -np.inf).max(axis=1)
    u = np.exp(np.where(P.valid, eta - a[:, None], -np.inf))  # padded periods: u = 0
    u2 = np.concatenate([u, u[:, ::-1]], axis=0)[:, :, None, None]
    # D[:, t, m, 0] = F_t(m), D[:, t, m, 1:] = F_t'(m) after t periods; F_t(0) = 1, F_t'(0) = 0 for
    # every t, and column m = n_max + 1 is always 0 (read where n - 1 - a < 0)
    D = np.empty((2 * G, T + 1, n_max + 2, k + 1))
    D[:, :, 0] = 0.0
    D[:, :, 0, 0] = 1.0
    D[:, :, n_max + 1] = 0.0
    D[:, 0, 1:] = 0.0
    for t in range(T):
        Dp, Dn = D[:, t], D[:, t + 1]
        step = P.XA[:, t, None, :] * Dp[:, :n_max, :1]
        step += Dp[:, :n_max]
        step *= u2[:, t]
        np.add(Dp[:, 1:n_max + 1], step, out=Dn[:, 1:n_max + 1])
    gi = np.arange(G)
    Fn = D[gi, T, n]  # (G, k + 1): e_n and its gradient
    Bn, gg = Fn[:, 0], Fn[:, 1:] / Fn[:, :1]
    # leave-one-period-out e_{n-1}^{(-t)} and gradient: sum_a F_t(a) R_{t+1}(n - 1 - a)
    Ff = D[:G, :T, :n_max + 1]  # F over periods before t
    Rr = D[P.rev_index]  # (G, T, n_max + 1, k + 1)
    E = np.einsum("gta,gta->gt", Ff[..., 0], Rr[..., 0])
    dE = np.einsum("gtak,gta->gtk", Ff[..., 1:], Rr[..., 0]) + np.einsum("gta,gtak->gtk", Ff[..., 0], Rr[..., 1:])
    W = u[:, :, None] * (P.X * E[:, :, None] + dE)
    H = np.matmul(P.X.transpose(0, 2, 1), W) / Bn[:, None, None]
    H = 0.5 * (H + H.transpose(0, 2, 1))
    ll = np.einsum("gt,gt->g", P.y, eta) - (np.log(Bn) + n * a)
    return float(ll.sum()), (P.Xty - gg).sum(axis=0), -(H - gg[:, :, None] * gg[:, None, :]).sum(axis=0)


def total(X: np.ndarray, y: np.ndarray, groups: np.ndarray, beta: np.ndarray, kernel: Kernel = "padded") -> Terms:
    """Conditional log-likelihood, gradient and Hessian at ``beta`` (``kernel``: padded or per_group)."""
    if kernel not in _KERNELS:
        raise SpecificationError(f"kernel must be one of {_KERNELS}, got {kernel!r}")
    if kernel == "per_group":
        return total_reference(X, y, groups, np.asarray(beta, dtype=float))
    return total_padded(pad_groups(X, y, groups), np.asarray(beta, dtype=float))


# ----------------------------------------------------------------------------- Newton
def clogit_newton(X: np.ndarray, y: np.ndarray, groups: np.ndarray, start: np.ndarray | None = None,
                  tol: float = 1e-10, maxiter: int = 100, kernel: Kernel = "padded") -> np.ndarray:
    """Maximise the conditional log-likelihood by Newton steps with step halving.

    ``kernel="per_group"`` evaluates with the per-group reference (for tests and benchmarks).
    """
    if kernel not in _KERNELS:
        raise SpecificationError(f"kernel must be one of {_KERNELS}, got {kernel!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    k = X.shape[1]
    beta = np.zeros(k) if start is None else np.asarray(start, dtype=float).copy()
    evaluate: Callable[[np.ndarray], Terms] = (
        partial(total_padded, pad_groups(X, y, groups)) if kernel == "padded"  # layout built once per fit
        else partial(_sum_reference, X, y, [np.flatnonzero(groups == g) for g in np.unique(groups)]))

    ll, gr, he = evaluate(beta)
    for _ in range(maxiter):
        step = np.linalg.solve(-he, gr)
        t = 1.0
        while True:
            cand = beta + t * step
            ll_c, gr_c, he_c = evaluate(cand)
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll):
                break
            t /= 2.0
            if t < 1e-8:
                raise SpecificationError("conditional logit Newton step failed (separation?)")
        beta, ll, gr, he = cand, ll_c, gr_c, he_c
        if np.max(np.abs(gr)) <= tol * max(1.0, len(y)) or np.max(np.abs(t * step)) <= tol:
            break
    else:
        raise SpecificationError("conditional logit did not converge in the fast refit")
    return beta


def clogit_coefficients(df: pd.DataFrame, outcome: str, regressors: Sequence[str], group: str = "iso3",
                        time: str | None = None, start: dict | None = None, kernel: Kernel = "padded") -> pd.Series:
    """Slopes of :func:`sahel_causal.models.conditional_logit` (same sample and design), analytic Newton.

    ``start``: optional starting values by design column name (e.g. the full-sample fit's).
    ``kernel``: ``"padded"`` (vectorised across groups, the default) or ``"per_group"`` (the reference).
    """
    from sahel_causal.models.logit import ClogitConfig, _clogit_design, _clogit_sample

    regs = tuple(regressors)
    cfg = ClogitConfig(outcome, regs, group, time, None, "model", "")
    sample, _ = _clogit_sample(df, cfg)
    frame = sample.frame
    Xd = _clogit_design(frame, cfg)
    y = frame[outcome].to_numpy(dtype=float)
    g = pd.factorize(frame[group], sort=True)[0]
    s0 = None if start is None else np.array([start.get(c, 0.0) for c in Xd.columns])
    beta = clogit_newton(Xd.to_numpy(dtype=float), y, g, start=s0, kernel=kernel)
    return pd.Series(beta, index=list(Xd.columns))


class ClogitRefits:
    """Leave-some-rows-out refits of one conditional logit (CRV3), with the sample rule and the design
    done on integer codes instead of pandas group-bys for every refit.

    Built once on the full sample ``df`` (the sample rule of :func:`sahel_causal.models.conditional_logit`
    applied, as :func:`clogit_coefficients` does); :meth:`coefficients` takes a subsample ``d`` of ``df``'s
    rows and returns what ``clogit_coefficients(d, ...)`` returns, bit for bit: dropping groups and periods
    without variation in the outcome is monotone (removing rows never adds variation), so the rule run
    from the full sample's kept rows that are in ``d`` ends where the rule run on ``d`` ends; the rows
    keep their order, the period dummies are those of the subsample's sorted periods after the first,
    the identification checks are the same, and the same Newton solver gets the same arrays
    (tests/inference/test_clogit_fast.py).
    """

    def __init__(self, df: pd.DataFrame, outcome: str, regressors: Sequence[str], group: str = "iso3",
                 time: str | None = None, start: dict | None = None) -> None:
        from sahel_causal.models.logit import ClogitConfig, _clogit_sample

        self.regressors = tuple(regressors)
        self.group, self.time, self.start = group, time, start
        cfg = ClogitConfig(outcome, self.regressors, group, time, None, "model", "")
        frame = _clogit_sample(df, cfg)[0].frame
        self.index = frame.index
        self.y = frame[outcome].to_numpy(dtype=float)
        self.g_labels, self.g = np.unique(frame[group].to_numpy(), return_inverse=True)
        if time is not None:
            self.t_labels, self.t = np.unique(frame[time].to_numpy(), return_inverse=True)
        self.R = frame[list(self.regressors)].astype(float).to_numpy()

    def _kept(self, d: pd.DataFrame) -> np.ndarray:
        keep = self.index.isin(d.index)
        codes = [self.g] + ([self.t] if self.time is not None else [])
        while True:
            before = int(keep.sum())
            for c in codes:
                m = int(c.max()) + 1
                lo = np.full(m, np.inf)
                hi = np.full(m, -np.inf)
                np.minimum.at(lo, c[keep], self.y[keep])
                np.maximum.at(hi, c[keep], self.y[keep])
                keep &= (lo != hi)[c]
            if int(keep.sum()) == before:
                return keep

    def coefficients(self, d: pd.DataFrame, kernel: Kernel = "padded") -> pd.Series:
        """The conditional-logit slopes on the rows of ``d`` (as ``clogit_coefficients(d, ...)``)."""
        keep = self._kept(d)
        if not keep.any():
            raise SpecificationError(f"no {self.group} has variation in the outcome; conditional logit is not "
                                     "identified")
        cols = [self.R[keep]]
        names = list(self.regressors)
        if self.time is not None:
            t = self.t[keep]
            levels = np.unique(t)
            if levels.size > 1:
                D = (t[:, None] == levels[None, 1:]).astype(float)
                cols.append(D)
                names += [f"{self.time}={self.t_labels[v]}" for v in levels[1:]]
        X = np.column_stack(cols)
        g_sub = self.g[keep]
        groups = np.unique(g_sub, return_inverse=True)[1]
        counts = np.bincount(groups).astype(float)
        means = np.stack([np.bincount(groups, weights=X[:, j]) for j in range(X.shape[1])], axis=1) / counts[:, None]
        within = X - means[groups]
        const = [n for j, n in enumerate(names) if np.allclose(within[:, j], 0.0)]
        if const:
            raise SpecificationError(f"constant within {self.group} (conditioned out, not identified): {const}")
        if np.linalg.matrix_rank(within) < X.shape[1]:
            raise SpecificationError(f"regressors are collinear within {self.group}: {names}")
        s0 = None if self.start is None else np.array([self.start.get(c, 0.0) for c in names])
        beta = clogit_newton(X, self.y[keep], groups, start=s0, kernel=kernel)
        return pd.Series(beta, index=names)
