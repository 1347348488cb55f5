"""Stacked event study with clean controls (Cengiz, Dube, Lindner & Zipperer 2019).

Design. Events are (unit i, event period e_i) pairs; a unit may have several (successive coups).
The clean events of one period e form sub-experiment d: the event units plus *clean controls*
-- units with no event in the window [e - pre - buffer, e + post] -- observed in that window. For an absorbing treatment (``absorbing=True``: staggered adoption)
clean controls are units not treated by the end of the window (never or not-yet treated): a
unit treated before the window is still treated and is not a clean control. An event whose own
unit has another event inside [e_i - pre, e_i + post] is dropped (not clean; reported). The
sub-experiments are stacked and

.. math:: y_{dit} = \\alpha_{di} + \\lambda_{dt} + \\sum_{k \\ne \\text{ref}} \\beta_k
          1\\{i \\text{ treated in } d\\}1\\{t - e_d = k\\} + u_{dit}

is estimated with sub-experiment-by-unit and sub-experiment-by-period effects.

Estimand. With effects homogeneous across events at each k, :math:`\\beta_k` is the ATT k periods
after the event relative to k = ref. With heterogeneous effects :math:`\\beta_k` is a
variance-weighted average over sub-experiments (weights depend on each sub-experiment's
treated share); Wing, Freedman & Hollingsworth (2024) give corrective weights, used here when
``weighting="wing"`` (controls weighted by (N^D_d / N^D) / (N^C_d / N^C)), which makes
:math:`\\beta_k` the treated-share-weighted average of the sub-experiment ATTs.

Assumptions: parallel trends between event units and clean controls within each window; no
anticipation before ref + 1; effects of one event do not spill into controls.

Inference: CRV1 clustered by original unit (a unit appears in several sub-experiments),
t with G-1 df; ``meta["pretrend_wald"]`` holds the joint test of all k < 0 coefficients.

References: Cengiz, D., Dube, A., Lindner, A. & Zipperer, B. (2019) QJE 134(3); Wing, C.,
Freedman, S. & Hollingsworth, A. (2024) "Stacked difference-in-differences", NBER WP 32054.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

from ._common import DidResult, cluster_scores, event_term, wald_test


def build_stack(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    events: pd.DataFrame,
    pre: int,
    post: int,
    buffer: int = 0,
    absorbing: bool = False,
) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """The stacked data: columns sub, unit, time, y, treated, k (relative period)."""
    if not {idname, tname} <= set(events.columns):
        raise SpecificationError(f"stacked: events must have columns {idname!r} and {tname!r}")
    df = data[[idname, tname, yname]].copy()
    df = df[df[yname].notna()]
    ev = events[[idname, tname]].drop_duplicates().sort_values([idname, tname], kind="mergesort")
    ev_by_unit = ev.groupby(idname)[tname].apply(list).to_dict()
    units = np.array(sorted(df[idname].unique()))
    dropped: list[tuple[str, int]] = []
    parts = []
    n_unclean = 0
    clean: dict[int, list] = {}
    for u, e in ev.itertuples(index=False):
        others = [x for x in ev_by_unit[u] if x != e]
        if any(e - pre <= x <= e + post for x in others):
            n_unclean += 1
            continue
        clean.setdefault(int(e), []).append(u)
    for j, (e, treated_units) in enumerate(sorted(clean.items())):
        lo, hi = e - pre, e + post
        if absorbing:
            dirty = {v for v, xs in ev_by_unit.items() if any(x <= hi for x in xs)}
        else:
            dirty = {v for v, xs in ev_by_unit.items() if any(lo - buffer <= x <= hi for x in xs)}
        ctrl = [v for v in units if v not in dirty]
        sub = df[(df[tname] >= lo) & (df[tname] <= hi) & (df[idname].isin(ctrl + list(treated_units)))].copy()
        if not sub[idname].isin(treated_units).any() or not ctrl:
            continue
        sub["sub"] = j
        sub["treated"] = sub[idname].isin(treated_units).astype(int)
        sub["k"] = sub[tname] - e
        parts.append(sub)
    if n_unclean:
        dropped.append(("events with another event of the same unit in the window", n_unclean))
    if not parts:
        raise SpecificationError(f"stacked: no clean event with controls for {yname}")
    st = pd.concat(parts, ignore_index=True).rename(columns={idname: "unit", tname: "time", yname: "y"})
    return st, dropped


def _absorb(M: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, tol: float = 1e-13, maxit: int = 10_000) -> np.ndarray:
    """Weighted two-way demeaning by alternating projections (handles unbalanced stacks)."""
    M = M.copy()
    wa = np.bincount(a, weights=w)
    wb = np.bincount(b, weights=w)
    for _ in range(maxit):
        old = M.copy()
        for codes, ws in ((a, wa), (b, wb)):
            means = np.vstack([np.bincount(codes, weights=w * M[:, j], minlength=len(ws)) for j in range(M.shape[1])]).T
            M -= means[codes] / ws[codes][:, None]
        if np.max(np.abs(M - old)) < tol * (1 + np.max(np.abs(M))):
            break
    return M


def stacked_event_study(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    events: pd.DataFrame,
    pre: int = 3,
    post: int = 3,
    ref: int = -1,
    buffer: int = 0,
    weighting: Literal["none", "wing"] = "none",
    absorbing: bool = False,
) -> DidResult:
    """Stacked event study; terms ``e=<k>`` for k in [-pre, post] except ``ref``, plus ``ATT``
    (mean of the k >= 0 coefficients) and ``meta`` with the number of events and the pre-trend test."""
    if weighting not in ("none", "wing"):
        raise SpecificationError(f"stacked: weighting must be 'none' or 'wing', got {weighting!r}")
    st, dropped = build_stack(data, yname, tname, idname, events, pre, post, buffer, absorbing)
    a = pd.factorize(st["sub"].astype(str) + "|" + st["unit"].astype(str), sort=True)[0]
    b = pd.factorize(st["sub"].astype(str) + "|" + st["time"].astype(str), sort=True)[0]
    w = np.ones(len(st))
    if weighting == "wing":
        sub_units = st.groupby("sub").agg(nd=("treated", lambda s: st.loc[s.index].loc[s == 1, "unit"].nunique()),
                                           nc=("treated", lambda s: st.loc[s.index].loc[s == 0, "unit"].nunique()))
        ND, NC = sub_units["nd"].sum(), sub_units["nc"].sum()
        q = (sub_units["nd"] / ND) / (sub_units["nc"] / NC)
        w = np.where(st["treated"] == 1, 1.0, st["sub"].map(q).to_numpy())
    ks = [k for k in range(-pre, post + 1) if k != ref]
    Z = np.column_stack([((st["treated"] == 1) & (st["k"] == k)).to_numpy(float) for k in ks])
    keep = Z.any(axis=0)
    Z, ks = Z[:, keep], [k for k, kk in zip(ks, keep) if kk]
    R = _absorb(np.column_stack([st["y"].to_numpy(float), Z]), a, b, w)
    yt, Xt = R[:, 0], R[:, 1:]
    sw = np.sqrt(w)
    Xw, yw = Xt * sw[:, None], yt * sw
    XtX_inv = np.linalg.pinv(Xw.T @ Xw)
    beta = XtX_inv @ (Xw.T @ yw)
    u = yw - Xw @ beta
    S = cluster_scores(Xw * u[:, None], st["unit"].to_numpy())
    G = S.shape[0]
    n, kx = Xw.shape
    k_fe = b.max() + 1  # sub x time effects counted; sub x unit nested in unit clusters
    c = G / (G - 1) * (n - 1) / max(n - kx - k_fe, 1)
    V = c * XtX_inv @ (S.T @ S) @ XtX_inv
    post_idx = [i for i, k in enumerate(ks) if k >= 0]
    pre_idx = [i for i, k in enumerate(ks) if k < 0]
    A = np.vstack([np.eye(len(ks)), np.full((1, len(ks)), 0.0)])
    A[-1, post_idx] = 1.0 / len(post_idx)
    est = A @ beta
    Va = A @ V @ A.T
    stat, dfw, p = wald_test(beta[pre_idx], V[np.ix_(pre_idx, pre_idx)])
    n_events = int(st.loc[st["treated"] == 1, ["sub", "unit"]].drop_duplicates().shape[0])
    return DidResult(
        estimator="stacked", terms=tuple([event_term(k) for k in ks] + ["ATT"]), estimate=tuple(map(float, est)),
        std_error=tuple(map(float, np.sqrt(np.clip(np.diag(Va), 0, None)))), vcov=tuple(tuple(map(float, r)) for r in Va),
        n_obs=int(n), n_units=int(G), n_treated_units=int(st.loc[st["treated"] == 1, "unit"].nunique()), df=int(G - 1),
        method="crv1", dropped=tuple(dropped),
        meta={"n_events": n_events, "pre": pre, "post": post, "ref": ref, "weighting": weighting,
              "pretrend_wald": {"stat": stat, "df": dfw, "p_value": p}},
    )
