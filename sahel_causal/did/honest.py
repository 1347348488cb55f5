"""HonestDiD sensitivity analysis (Rambachan & Roth 2023) for event-study coefficients.

Setting. ``betahat`` stacks ``num_pre_periods`` pre-treatment and ``num_post_periods``
post-treatment event-study coefficients (the reference period, normalised to 0, omitted) with
covariance ``sigma``; :math:`\\hat\\beta \\approx N(\\tau+\\delta,\\Sigma)` where :math:`\\tau_{pre}=0`
and :math:`\\delta` is the difference in trends (the violation of parallel trends). The target is
:math:`\\theta = l'\\tau_{post}` (``l_vec``; default: the first post-period effect). Instead of
assuming :math:`\\delta_{post}=0`, one assumes :math:`\\delta\\in\\Delta` and reports a confidence
set for :math:`\\theta` that is valid uniformly over :math:`\\Delta`, as a function of how much
:math:`\\Delta` allows (the sensitivity analysis):

* smoothness, :func:`sensitivity_smoothness`: :math:`\\Delta^{SD}(M)=\\{\\delta:|(\\delta_{t+1}-\\delta_t)-
  (\\delta_t-\\delta_{t-1})|\\le M\\ \\forall t\\}` (with :math:`\\delta_0=0` at the reference period):
  the slope of the differential trend changes by at most ``M`` per period; ``M = 0`` allows exactly
  linear trends. Default method: the optimal fixed-length confidence interval (FLCI, Armstrong &
  Kolesar 2018; Rambachan & Roth 2023, Section 4.1) -- the affine estimator :math:`v'\\hat\\beta`
  with :math:`v_{post}=l` and the half-length :math:`\\sigma_v\\,cv_\\alpha(\\bar b(v)/\\sigma_v)` minimal,
  where :math:`\\bar b(v)=\\max_{\\delta\\in\\Delta^{SD}(M)}v'\\delta` is the worst-case bias and
  :math:`cv_\\alpha(b)` the :math:`1-\\alpha` quantile of :math:`|N(b,1)|`;
* relative magnitudes, :func:`sensitivity_relative_magnitudes`: :math:`\\Delta^{RM}(\\bar M)=\\{\\delta:
  |\\delta_{t+1}-\\delta_t|\\le\\bar M\\max_{s<0}|\\delta_{s+1}-\\delta_s|\\ \\forall t\\ge0\\}`: post-treatment
  violations between consecutive periods are at most :math:`\\bar M` times the largest
  pre-treatment one. Method: the conditional-least-favourable hybrid test of Andrews, Roth & Pakes
  (2023; "C-LF", HonestDiD's default for this restriction) inverted over a grid of :math:`\\theta`
  values, for each of the polyhedra whose union is :math:`\\Delta^{RM}` (the pre-period attaining the
  maximum and its sign); the confidence set is the union, reported by its lower and upper end.

Both functions mirror HonestDiD's ``createSensitivityResults`` and
``createSensitivityResults_relativeMagnitudes`` (argument names in snake case) and return a
DataFrame with one row per restriction value and columns ``lb, ub, method, Delta`` and ``M`` or
``Mbar``.

References: Rambachan, A. & Roth, J. (2023). A more credible approach to parallel trends. Review
of Economic Studies 90(5), 2555-2591. Andrews, I., Roth, J. & Pakes, A. (2023). Inference for
linear conditional moment inequalities. Review of Economic Studies 90(6), 2763-2791. Armstrong,
T. & Kolesar, M. (2018). Optimal inference in a class of regression models. Econometrica 86(2).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sahel_causal.errors import SpecificationError


# =========================================================================== validation
def _inputs(betahat, sigma, num_pre_periods, num_post_periods, l_vec, alpha):
    b = np.asarray(betahat, dtype=float).ravel()
    S = np.asarray(sigma, dtype=float)
    for nm, v in (("num_pre_periods", num_pre_periods), ("num_post_periods", num_post_periods)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise SpecificationError(f"honest: {nm}={v!r} must be a positive integer")
    k = num_pre_periods + num_post_periods
    if b.size != k:
        raise SpecificationError(f"honest: betahat has {b.size} elements, expected num_pre_periods + "
                                 f"num_post_periods = {k}")
    if S.shape != (k, k) or not np.allclose(S, S.T, atol=1e-12 * max(1.0, np.abs(S).max())):
        raise SpecificationError(f"honest: sigma must be a symmetric {k} x {k} matrix, got shape {S.shape}")
    if l_vec is None:
        l = np.zeros(num_post_periods)
        l[0] = 1.0
    else:
        l = np.asarray(l_vec, dtype=float).ravel()
        if l.size != num_post_periods:
            raise SpecificationError(f"honest: l_vec has {l.size} elements, expected num_post_periods = {num_post_periods}")
    if not isinstance(alpha, float) or not 0.0 < alpha < 1.0:
        raise SpecificationError(f"honest: alpha={alpha!r} must be a float in (0, 1)")
    return b, S, l


def _grid(vals, name: str) -> np.ndarray:
    v = np.asarray(vals, dtype=float).ravel()
    if v.size == 0 or (v < 0).any() or not np.isfinite(v).all():
        raise SpecificationError(f"honest: {name} must be a non-empty list of non-negative numbers")
    return v


# =========================================================================== from an event study
def honest_inputs(es: Any, reference: float = -1.0) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``(betahat, sigma, num_pre_periods, num_post_periods)`` from a dynamic
    :func:`sahel_causal.did.aggte` result, dropping the reference event time (the
    ``honest_did.AGGTEobj`` recipe of the HonestDiD README for R ``did``).

    Use ``att_gt(..., base_period="universal")`` so that every pre-period coefficient is relative
    to the same reference period (event time -1 - anticipation), as Rambachan & Roth require.
    """
    if getattr(es, "type", None) != "dynamic":
        raise SpecificationError("honest_inputs: pass an aggte(..., type='dynamic') result")
    egt = np.asarray(es.egt, dtype=float)
    keep = egt != reference
    if keep.all():
        raise SpecificationError(f"honest_inputs: reference event time {reference} is not in the event study")
    V = es.vcov_egt()[np.ix_(keep, keep)]
    b = np.asarray(es.att_egt, dtype=float)[keep]
    e = egt[keep]
    npre = int(np.sum(e < reference))
    npost = int(np.sum(e > reference))
    if npre < 1 or npost < 1:
        raise SpecificationError("honest_inputs: need at least one pre- and one post-period coefficient")
    if np.any(np.diff(e) <= 0):
        raise SpecificationError("honest_inputs: event times must be increasing")
    return b, V, npre, npost


# =========================================================================== smoothness (FLCI)
def _second_diff(num_pre: int, num_post: int) -> np.ndarray:
    """Second differences of delta over all periods, the reference period (delta_0 = 0) removed."""
    T = num_pre + num_post + 1  # periods -num_pre..num_post incl. reference 0
    A = np.zeros((T - 2, T))
    for r in range(T - 2):
        A[r, r:r + 3] = (1.0, -2.0, 1.0)
    return np.delete(A, num_pre, axis=1)


def _cv_folded(b: float, alpha: float) -> float:
    """1 - alpha quantile of |N(b, 1)|."""
    b = abs(b)
    f = lambda c: stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha)  # noqa: E731
    return float(optimize.brentq(f, max(0.0, b - 1e-9) , b + 20.0, xtol=1e-14))


def _flci(betahat: np.ndarray, S: np.ndarray, num_pre: int, num_post: int, l: np.ndarray,
          M: float, alpha: float) -> tuple[float, float]:
    """Optimal FLCI for l'tau_post under Delta^SD(M)."""
    A = _second_diff(num_pre, num_post)
    C = np.linalg.pinv(A).T  # v'delta = (C v)'s with s = A delta in [-M, M]^m (given v't = 0)
    tvec = np.concatenate([np.arange(-num_pre, 0), np.arange(1, num_post + 1)]).astype(float)
    lp = np.concatenate([np.zeros(num_pre), l])
    Spp, Spo, Soo = S[:num_pre, :num_pre], S[:num_pre, num_pre:], S[num_pre:, num_pre:]
    m = C.shape[0]
    z = stats.norm.ppf(1 - alpha / 2)

    def parts(w: np.ndarray) -> tuple[np.ndarray, float]:
        v = lp.copy()
        v[:num_pre] = w
        return v, float(np.sqrt(max(v @ S @ v, 1e-300)))

    # variables x = (w (num_pre), u (m)); bias = M * sum(u), u >= |C v|
    def halflen(x: np.ndarray) -> float:
        v, sd = parts(x[:num_pre])
        b = M * float(np.sum(x[num_pre:]))
        return sd * _cv_folded(b / sd, alpha) if M > 0 else z * sd

    def halflen_grad(x: np.ndarray) -> np.ndarray:
        v, sd = parts(x[:num_pre])
        r = M * float(np.sum(x[num_pre:])) / sd
        c = _cv_folded(r, alpha)
        f1, f2 = stats.norm.pdf(c - r), stats.norm.pdf(-c - r)
        dc = (f1 - f2) / (f1 + f2)  # d cv / d r
        g_sd = c - r * dc
        return np.concatenate([g_sd * (S @ v)[:num_pre] / sd, np.full(m, M * dc)])

    Cp = C[:, :num_pre]
    Ipm = np.eye(m)
    cons = [{"type": "eq", "fun": lambda x: np.array([tvec @ parts(x[:num_pre])[0]]),
             "jac": lambda x: np.concatenate([tvec[:num_pre], np.zeros(m)])[None, :]}]
    if M > 0:
        cons.append({"type": "ineq", "fun": lambda x: x[num_pre:] - C @ parts(x[:num_pre])[0],
                     "jac": lambda x: np.hstack([-Cp, Ipm])})
        cons.append({"type": "ineq", "fun": lambda x: x[num_pre:] + C @ parts(x[:num_pre])[0],
                     "jac": lambda x: np.hstack([Cp, Ipm])})
    # start: minimum-variance weights with v't = 0 (the M = 0 solution, closed form)
    # minimise v'Sv s.t. v_post = l, t_pre'w = -t_post'l: Lagrangian in w
    rhs = -(tvec[num_pre:] @ l)
    KKT = np.block([[2 * Spp, tvec[:num_pre, None]], [tvec[None, :num_pre], np.zeros((1, 1))]])
    sol = np.linalg.solve(KKT, np.concatenate([-2 * Spo @ l, [rhs]]))
    w0 = sol[:num_pre]
    if M == 0:
        v, sd = parts(w0)
        est = float(v @ betahat)
        return est - z * sd, est + z * sd
    u0 = np.abs(C @ parts(w0)[0]) + 1e-12
    x0 = np.concatenate([w0, u0])
    best = None
    for start in (x0, np.concatenate([np.zeros(num_pre), np.abs(C @ lp) + 1e-12])):
        r = optimize.minimize(halflen, start, jac=halflen_grad, method="SLSQP", constraints=cons,
                              options={"ftol": 1e-15, "maxiter": 2000})
        if best is None or r.fun < best.fun:
            best = r
    v, sd = parts(best.x[:num_pre])
    chi = halflen(best.x)
    est = float(v @ betahat)
    return est - chi, est + chi


def sensitivity_smoothness(
    betahat: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    num_pre_periods: int,
    num_post_periods: int,
    m_vec: Sequence[float] | np.ndarray,
    l_vec: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Robust confidence intervals under :math:`\\Delta^{SD}(M)` for each ``M`` in ``m_vec`` (FLCI).

    Mirrors HonestDiD's ``createSensitivityResults(betahat, sigma, numPrePeriods,
    numPostPeriods, Mvec, l_vec, alpha)`` with its default method (FLCI).
    Returns one row per ``M``: ``lb, ub, method="FLCI", Delta="DeltaSD", M``.
    """
    b, S, l = _inputs(betahat, sigma, num_pre_periods, num_post_periods, l_vec, alpha)
    Ms = _grid(m_vec, "m_vec")
    rows = []
    for M in Ms:
        lb, ub = _flci(b, S, num_pre_periods, num_post_periods, l, float(M), alpha)
        rows.append({"lb": lb, "ub": ub, "method": "FLCI", "Delta": "DeltaSD", "M": float(M)})
    return pd.DataFrame(rows)


# =========================================================================== relative magnitudes
def _A_rm(num_pre: int, num_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """Constraints :math:`A\\delta\\le 0` of :math:`\\Delta^{RM}_{s,\\pm}(\\bar M)` (HonestDiD's
    ``.create_A_RM``): every first difference is bounded by (:math:`\\bar M` times, for post
    periods) the signed pre-period first difference ending at ``s``; column of t = 0 removed."""
    T = num_pre + num_post + 1
    At = np.zeros((num_pre + num_post, T))
    for r in range(num_pre + num_post):
        At[r, r:r + 2] = (-1.0, 1.0)
    v = np.zeros(T)
    v[num_pre + s - 1], v[num_pre + s] = -1.0, 1.0
    if not max_positive:
        v = -v
    ub = np.vstack([np.tile(v, (num_pre, 1)), np.tile(mbar * v, (num_post, 1))])
    A = np.vstack([At - ub, -At - ub])
    A = A[np.sum(A * A, axis=1) > 1e-10]
    return np.delete(A, num_pre, axis=1)


def _gamma(l: np.ndarray) -> np.ndarray:
    """Invertible matrix with first row ``l'`` completed by unit vectors (HonestDiD's
    ``.construct_Gamma``: pivots of the reduced row echelon form of ``[l, I]``)."""
    j = int(np.flatnonzero(np.abs(l) > 0)[0])
    rows = [l] + [np.eye(l.size)[i] for i in range(l.size) if i != j]
    return np.vstack(rows)


def _dual_vertices(W: np.ndarray) -> np.ndarray:
    """Vertices of :math:`\\{\\lambda\\ge0: W'\\lambda=e_1\\}` (the dual of the ARP linear program
    :math:`\\min\\eta` s.t. :math:`y-X\\delta\\le\\eta\\,\\sigma`, with :math:`W=[\\sigma, X]`)."""
    from itertools import combinations

    m, k1 = W.shape
    e1 = np.zeros(k1)
    e1[0] = 1.0
    out = []
    for B in combinations(range(m), k1):
        WB = W[list(B)]
        if abs(np.linalg.det(WB)) < 1e-12 * max(1.0, np.abs(WB).max() ** k1):
            continue
        lam = np.linalg.solve(WB.T, e1)
        if (lam >= -1e-10).all():
            full = np.zeros(m)
            full[list(B)] = np.maximum(lam, 0.0)
            out.append(full)
    if not out:
        raise SpecificationError("honest: the moment inequalities have no dual vertex (degenerate design)")
    return np.unique(np.round(np.array(out), 14), axis=0)


def _arp_accept(Ys: np.ndarray, Sig: np.ndarray, V: np.ndarray, alpha: float, kappa: float,
                lf_cv: float) -> np.ndarray:
    """ARP conditional test with the least-favourable first stage (hybrid "LF"), vectorised over
    the columns of ``Ys`` (one per value of theta); True = accept.

    The statistic is the LP value :math:`\hat\eta=\max_v\lambda_v'y` over the dual vertices; the
    test conditions on the maximising vertex :math:`\tilde\gamma`, which truncates
    :math:`\hat\eta/\sigma_B` to :math:`[v_{lo}, \min(v_{up}, c_{LF})]/\sigma_B` (ARP 2023, Section 5;
    the closed form of HonestDiD's bisection for ``vlo``/``vup``); first stage: reject when
    :math:`\hat\eta > c_{LF}`; second stage at level :math:`(\alpha-\kappa)/(1-\kappa)`.
    """
    vals = V @ Ys                       # vertices x G
    j = np.argmax(vals, axis=0)
    G = Ys.shape[1]
    eta = vals[j, np.arange(G)]
    g = V[j]                            # G x m
    SG = g @ Sig                        # G x m  (Sigma gamma)'
    s2 = np.einsum("gm,gm->g", SG, g)
    tiny = s2 < 1e-20
    s2 = np.where(tiny, 1.0, s2)
    sB = np.sqrt(s2)
    c = SG / s2[:, None]                # G x m
    S = Ys.T - c * eta[:, None]
    a = S @ V.T                         # G x vertices
    b = 1.0 - c @ V.T
    tol = 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a / b
    vlo = np.max(np.where(b > tol, r, -np.inf), axis=1)
    vup = np.min(np.where(b < -tol, r, np.inf), axis=1)
    zlo = vlo / sB
    zup = np.minimum(vup, lf_cv) / sB
    stat = eta / sB
    inside = (zlo - 1e-12 <= stat) & (stat <= zup + 1e-12)
    mod = (alpha - kappa) / (1.0 - kappa)
    cval = np.zeros(G)
    ok = inside & (zup > zlo)
    if ok.any():
        cval[ok] = np.maximum(0.0, stats.truncnorm.ppf(1.0 - mod, zlo[ok], zup[ok]))
    cval[inside & ~(zup > zlo)] = np.maximum(0.0, zlo[inside & ~(zup > zlo)])
    accept = ~inside | ~(stat > cval)
    accept &= ~(eta > lf_cv)
    accept = np.where(tiny, ~(eta > 0), accept)
    return accept


def _rm_fixed_s(betahat, S, num_pre, num_post, l, mbar, s, sign, alpha, kappa, grid, sims, seed):
    A = _A_rm(num_pre, num_post, mbar, s, sign)
    if num_post > 1:
        rows = np.flatnonzero(np.any(A[:, num_pre:] != 0, axis=1))
    else:
        rows = np.arange(A.shape[0])
    AGi = A[:, num_pre:] @ np.linalg.inv(_gamma(l))
    one, X = AGi[rows, 0], AGi[rows, 1:]
    Y = (A @ betahat)[rows]
    Sig = (A @ S @ A.T)[np.ix_(rows, rows)]
    sd = np.sqrt(np.diag(Sig))
    V = _dual_vertices(np.column_stack([sd, X]))
    # least-favourable critical value: 1 - kappa quantile of eta under y ~ N(0, Sig)
    rng = np.random.default_rng(seed)
    xi = rng.multivariate_normal(np.zeros(rows.size), Sig, size=sims, method="svd")
    lf_cv = float(np.quantile((xi @ V.T).max(axis=1), 1.0 - kappa))
    return _arp_accept(Y[:, None] - one[:, None] * grid[None, :], Sig, V, alpha, kappa, lf_cv)


def sensitivity_relative_magnitudes(
    betahat: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    num_pre_periods: int,
    num_post_periods: int,
    mbar_vec: Sequence[float] | np.ndarray,
    l_vec: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
    grid_points: int = 1000,
    grid_lb: float | None = None,
    grid_ub: float | None = None,
    sims: int = 20000,
    seed: int = 0,
) -> pd.DataFrame:
    """Robust confidence sets under :math:`\\Delta^{RM}(\\bar M)` for each ``Mbar`` in ``mbar_vec``.

    Mirrors HonestDiD's ``createSensitivityResults_relativeMagnitudes(betahat, sigma,
    numPrePeriods, numPostPeriods, Mbarvec, l_vec, alpha)`` with its default method "C-LF"
    (ARP conditional test with a least-favourable first stage of size ``alpha/10``; only the
    moments involving post-period coefficients enter, as HonestDiD's ``postPeriodMomentsOnly``),
    inverted on HonestDiD's default grid of ``grid_points`` values of :math:`\\theta` over
    :math:`\\pm20` standard errors of :math:`l'\\hat\\beta_{post}` (``lb``/``ub`` are the smallest
    and largest accepted grid values, so they are exact up to one grid step). The
    least-favourable critical value is the :math:`1-\alpha/10` quantile of the LP statistic over
    ``sims`` normal draws with ``seed`` (HonestDiD draws 1,000 with R's RNG; its simulation noise
    moves endpoints by a grid step, hence the larger default here).
    Returns one row per ``Mbar``: ``lb, ub, method="C-LF", Delta="DeltaRM", Mbar``.
    """
    b, S, l = _inputs(betahat, sigma, num_pre_periods, num_post_periods, l_vec, alpha)
    Ms = _grid(mbar_vec, "mbar_vec")
    if isinstance(grid_points, bool) or not isinstance(grid_points, int) or grid_points < 2:
        raise SpecificationError(f"honest: grid_points={grid_points!r} must be an integer >= 2")
    Spost = S[num_pre_periods:, num_pre_periods:]
    sd_theta = float(np.sqrt(l @ Spost @ l))
    lo = -20 * sd_theta if grid_lb is None else float(grid_lb)
    hi = 20 * sd_theta if grid_ub is None else float(grid_ub)
    grid = np.linspace(lo, hi, grid_points)
    kappa = alpha / 10.0
    rows = []
    for mbar in Ms:
        acc = np.zeros(grid.size, dtype=bool)
        for s in range(-(num_pre_periods - 1), 1):
            for sign in (True, False):
                acc |= _rm_fixed_s(b, S, num_pre_periods, num_post_periods, l, float(mbar), s, sign,
                                   alpha, kappa, grid, sims, seed)
        lb = float(grid[acc].min()) if acc.any() else float("nan")
        ub = float(grid[acc].max()) if acc.any() else float("nan")
        rows.append({"lb": lb, "ub": ub, "method": "C-LF", "Delta": "DeltaRM", "Mbar": float(mbar)})
    return pd.DataFrame(rows)
