"""Two-way fixed-effects (TWFE) baselines and their decompositions.

Estimands and what TWFE actually estimates
-----------------------------------------
Static TWFE: :math:`y_{it} = \\alpha_i + \\lambda_t + \\beta D_{it} + u_{it}`. By
Frisch-Waugh-Lovell, :math:`\\hat\\beta = \\sum_{it}\\varepsilon_{it} y_{it} / \\sum_{it}
\\varepsilon_{it} D_{it}` where :math:`\\varepsilon` is the residual of :math:`D` on both sets of
fixed effects. Under parallel trends with heterogeneous effects :math:`\\Delta_{it}`,
:math:`E\\hat\\beta = \\sum_{D_{it}=1} w_{it}\\Delta_{it}` with
:math:`w_{it} = \\varepsilon_{it} / \\sum_{D=1}\\varepsilon` (de Chaisemartin & D'Haultfoeuille
2020, Theorem 1): weights that sum to one but can be negative (late periods of early adopters),
so :math:`\\beta` need not lie between the smallest and the largest effect, and can have the
wrong sign. :func:`dcdh_weights` returns these weights.

Goodman-Bacon (2021, Theorem 1): on a balanced panel with staggered absorbing adoption,
:math:`\\hat\\beta` is a weighted average of all 2x2 DiD comparisons -- timing group vs never
treated, earlier vs later-treated (before the later group's entry) and later vs earlier-treated
(after the earlier group's entry, the "forbidden" comparison using already-treated units as
controls); the weights are positive, sum to one and are proportional to the squared subsample
size times the variance of the two-way demeaned treatment in the subsample.
:func:`bacon_decomposition` computes them and reproduces :math:`\\hat\\beta` exactly.

Event-study TWFE: :math:`y_{it} = \\alpha_i + \\lambda_t + \\sum_{e\\ne -1}\\beta_e
1\\{t-G_i=e\\} + u_{it}` with binned endpoints. With effects heterogeneous across cohorts, the
:math:`\\beta_e` are contaminated by other periods' effects (Sun & Abraham 2021) -- shown only as
the baseline.

Inference: cluster-robust CRV1 by unit with fixest's small-sample factor (unit effects nested in
clusters are not counted), t with G-1 degrees of freedom.

References: Goodman-Bacon, A. (2021) J. Econometrics 225(2); de Chaisemartin, C. &
D'Haultfoeuille, X. (2020) AER 110(9); Sun, L. & Abraham, S. (2021) J. Econometrics 225(2).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

from ._common import DidResult, event_term, fe_design, ols_cluster, prepare, residualize


def _treat_from_g(time: np.ndarray, g: np.ndarray, anticipation: int = 0) -> np.ndarray:
    return ((g > 0) & (time >= g - anticipation)).astype(float)


def twfe_static(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str | None = None,
    dname: str | None = None,
) -> DidResult:
    """Static TWFE coefficient on the treatment dummy (from ``gname`` cohorts, or a given ``dname``).

    ``dname`` may be a non-absorbing 0/1 (or continuous) treatment; otherwise D = 1{t >= G}.
    Term ``"ATT"`` (a label only: see the module docstring for what it estimates).
    """
    if (gname is None) == (dname is None):
        raise SpecificationError("twfe_static: give exactly one of gname (first treated period) or dname (treatment column)")
    P = prepare(data, yname, tname, idname, gname, extra=[dname] if dname else [])
    D = P.frame[dname].to_numpy(float) if dname else _treat_from_g(P.time, P.g)
    X = fe_design(P.unit, P.tcode)
    yt, dt = residualize(np.column_stack([P.y, D]), X).T
    n_units = int(P.unit.max()) + 1
    beta, V = ols_cluster(yt, dt[:, None], P.unit, k_fe=X.shape[1] - n_units + 1)
    treated = np.unique(P.unit[D != 0]).size
    return DidResult(
        estimator="twfe_static", terms=("ATT",), estimate=(float(beta[0]),), std_error=(float(np.sqrt(V[0, 0])),),
        vcov=((float(V[0, 0]),),), n_obs=len(P.y), n_units=n_units, n_treated_units=int(treated),
        df=n_units - 1, method="crv1", dropped=P.dropped,
    )


def twfe_event_study(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    leads: int = 5,
    lags: int = 5,
    ref: int = -1,
) -> DidResult:
    """Dynamic TWFE with relative-time dummies e in [-leads, lags], endpoints binned, e=ref omitted."""
    P = prepare(data, yname, tname, idname, gname)
    ever = P.g > 0
    rel = np.where(ever, P.time - P.g, 0).astype(int)
    rel = np.clip(rel, -leads, lags)
    es = [e for e in range(-leads, lags + 1) if e != ref]
    Z = np.column_stack([(ever & (rel == e)).astype(float) for e in es])
    keep = Z.any(axis=0)
    Z, es = Z[:, keep], [e for e, k in zip(es, keep) if k]
    X = fe_design(P.unit, P.tcode)
    R = residualize(np.column_stack([P.y, Z]), X)
    n_units = int(P.unit.max()) + 1
    beta, V = ols_cluster(R[:, 0], R[:, 1:], P.unit, k_fe=X.shape[1] - n_units + 1)
    return DidResult(
        estimator="twfe_event_study", terms=tuple(event_term(e) for e in es), estimate=tuple(map(float, beta)),
        std_error=tuple(map(float, np.sqrt(np.clip(np.diag(V), 0, None)))), vcov=tuple(tuple(map(float, r)) for r in V),
        n_obs=len(P.y), n_units=n_units, n_treated_units=int(np.unique(P.unit[ever]).size), df=n_units - 1,
        method="crv1", dropped=P.dropped, meta={"ref": ref, "binned_endpoints": True},
    )


def dcdh_weights(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str | None = None,
    dname: str | None = None,
) -> pd.DataFrame:
    """de Chaisemartin-D'Haultfoeuille weights of the static TWFE coefficient on treated cells.

    Returns one row per treated (unit, period) with ``weight`` = eps_it / sum_{D=1} eps (they sum
    to one; negative ones flag cells whose effect enters TWFE with the wrong sign) and ``eps``.
    Identity (exact on any panel, balanced or not):
    ``beta_TWFE = sum_it eps_it y_it / sum_it eps_it D_it``; if y = a_i + b_t + D*Delta exactly,
    ``beta_TWFE = sum_{D=1} weight * Delta``.
    """
    if (gname is None) == (dname is None):
        raise SpecificationError("dcdh_weights: give exactly one of gname or dname")
    P = prepare(data, yname, tname, idname, gname, extra=[dname] if dname else [])
    D = P.frame[dname].to_numpy(float) if dname else _treat_from_g(P.time, P.g)
    if not set(np.unique(D)) <= {0.0, 1.0}:
        raise SpecificationError("dcdh_weights: the treatment must be 0/1")
    eps = residualize(D[:, None], fe_design(P.unit, P.tcode))[:, 0]
    t = D == 1
    w = eps[t] / eps[t].sum()
    return pd.DataFrame(
        {idname: P.unit_labels[P.unit[t]], tname: P.time[t], "eps": eps[t], "weight": w}
    ).reset_index(drop=True)


def dcdh_summary(weights: pd.DataFrame) -> dict[str, float]:
    """Counts and sums of positive and negative weights, and the sensitivity measure sigma_fe.

    sigma_fe = |beta_fe| / sd(w) is (dCDH 2020, Corollary 1) the smallest standard deviation of
    the cell effects compatible with beta_fe having the opposite sign of the true ATT; returned
    here without beta (``sd_w``), the caller divides.
    """
    w = weights["weight"].to_numpy()
    n = len(w)
    return {
        "n_treated_cells": int(n),
        "n_negative": int((w < 0).sum()),
        "sum_negative": float(w[w < 0].sum()),
        "sum_positive": float(w[w > 0].sum()),
        "sd_w": float(np.sqrt(np.mean((w - 1.0 / n) ** 2) * n)) if n else float("nan"),
    }


def _two_way_demean_balanced(M: np.ndarray) -> np.ndarray:
    """Two-way demeaning of a balanced N x T array (exact closed form)."""
    return M - M.mean(axis=1, keepdims=True) - M.mean(axis=0, keepdims=True) + M.mean()


def bacon_decomposition(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
) -> pd.DataFrame:
    """Goodman-Bacon decomposition of static TWFE under staggered absorbing adoption.

    Requires a balanced panel (the theorem does not hold otherwise): pass the balanced subsample
    (e.g. drop units not observed in every period). Units treated at or before the first period
    are the "always treated" group. Returns one row per 2x2 comparison with columns ``type``
    (``"treated_vs_never"``, ``"earlier_vs_later"``, ``"later_vs_earlier"``, ``"treated_vs_always"``),
    ``treated``, ``control`` (cohort, 0 = never, -1 = always treated), ``estimate`` and ``weight``;
    ``(weight * estimate).sum()`` equals the TWFE coefficient and ``weight.sum()`` is one.
    """
    P = prepare(data, yname, tname, idname, gname)
    N, T = int(P.unit.max()) + 1, int(P.tcode.max()) + 1
    if len(P.y) != N * T:
        raise SpecificationError(
            f"bacon_decomposition: the panel is unbalanced ({len(P.y)} rows for {N} units x {T} periods, after "
            f"dropping rows with missing {yname}); pass a balanced subsample"
        )
    Y = np.full((N, T), np.nan)
    Y[P.unit, P.tcode] = P.y
    times = P.time_labels
    g_unit = np.zeros(N)
    g_unit[P.unit] = P.g
    # timing groups: 0 never; -1 always treated (g <= first period); else first treated period
    grp = np.where(g_unit <= 0, 0, np.where(g_unit <= times[0], -1, g_unit))
    D = ((grp[:, None] == -1) | ((grp[:, None] > 0) & (times[None, :] >= grp[:, None]))).astype(float)
    Dt = _two_way_demean_balanced(D)
    VD = (Dt ** 2).sum()
    beta = (Dt * _two_way_demean_balanced(Y)).sum() / VD
    timing = sorted(k for k in np.unique(grp) if k > 0 and k <= times[-1])
    rows = []

    def comp(kind, treated, control, units_mask, tmask):
        sub_y, sub_d = Y[np.ix_(units_mask, tmask)], D[np.ix_(units_mask, tmask)]
        dd = _two_way_demean_balanced(sub_d)
        v = (dd ** 2).sum()
        if v <= 1e-14:
            return
        est = (dd * _two_way_demean_balanced(sub_y)).sum() / v
        share = sub_d.size / D.size  # (unit share x time share) of the subsample
        rows.append({"type": kind, "treated": treated, "control": control, "estimate": est, "weight": share * v / VD})

    allt = np.ones(T, bool)
    for k in timing:
        if (grp == 0).any():
            comp("treated_vs_never", k, 0, (grp == k) | (grp == 0), allt)
        if (grp == -1).any():
            comp("treated_vs_always", k, -1, (grp == k) | (grp == -1), allt)
    for i, k in enumerate(timing):
        for l in timing[i + 1:]:
            both = (grp == k) | (grp == l)
            comp("earlier_vs_later", k, l, both, times < l)
            comp("later_vs_earlier", l, k, both, times >= k)
    out = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])
    out.attrs["twfe"] = float(beta)
    return out


def bacon_summary(decomp: pd.DataFrame) -> pd.DataFrame:
    """Weight and weighted-average estimate by comparison type."""
    g = decomp.assign(we=decomp["weight"] * decomp["estimate"]).groupby("type", sort=True)
    out = pd.DataFrame({"weight": g["weight"].sum(), "estimate": g["we"].sum() / g["weight"].sum()}).reset_index()
    return out
