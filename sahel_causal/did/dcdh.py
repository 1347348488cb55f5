"""de Chaisemartin & D'Haultfoeuille (2024) DID_l for treatments that switch on and off.

Setting. A binary (or discrete) treatment :math:`D_{gt}` that may switch on and off (aid suspended
after a coup, a partner leaving). :math:`F_g` is the first period in which unit g's treatment
differs from its baseline :math:`D_{g,1}` (its value in its first observed period);
:math:`S_g = +1` if it switched up, -1 if down.

Estimand. For l = 1, 2, ... (effect l-1 periods after the first switch, in dCDH's numbering
"l" counts periods since F_g - 1):

.. math:: \\delta_l = \\frac{1}{N_l}\\sum_{g: F_g-1+l \\le T_g} S_g\\, E\\big[Y_{g,F_g-1+l} -
          Y_{g,F_g-1+l}(D_{g,1},\\ldots,D_{g,1})\\big],

the average effect of having switched l periods ago *along the actual treatment path since*
(it includes later switches back), relative to the status quo of never having switched.

Estimator.

.. math:: \\mathrm{DID}_{g,l} = (Y_{g,F_g-1+l}-Y_{g,F_g-1}) - \\frac{1}{|C_{g,l}|}\\sum_{c\\in C_{g,l}}
          (Y_{c,F_g-1+l}-Y_{c,F_g-1}),

controls :math:`C_{g,l}` = units with the same baseline treatment that have not switched by
period :math:`F_g-1+l` (:math:`F_c > F_g-1+l`), observed at both dates;
:math:`\\mathrm{DID}_l = \\sum_g S_g\\mathrm{DID}_{g,l}/N_l` over switchers that have controls.
Placebos: :math:`\\mathrm{DID}^{pl}_l` replaces :math:`F_g-1+l` by :math:`F_g-1-l` with the same
control rule; under no anticipation and parallel trends they estimate 0. ``ATT`` is the
unweighted mean of the DID_l over the reported horizons (dCDH's average total effect per period
is a different, dose-weighted object and is not reported).

Assumptions: parallel trends in the status-quo outcome between switchers and not-yet-switchers
with the same baseline treatment; no anticipation; the first switch is not itself caused by
shocks to the outcome trend.

Inference: cluster (unit) bootstrap with seeded multinomial weights (the estimator is a smooth
function of unit-level averages); dCDH's analytic influence-function variance is not implemented.

Reference: de Chaisemartin, C. & D'Haultfoeuille, X. (2024) "Difference-in-differences
estimators of intertemporal treatment effects", Review of Economics and Statistics,
doi:10.1162/rest_a_01414; Stata/R ``did_multiplegt_dyn``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

from ._common import DidResult, event_term, prepare


def _wide(P, D_long: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    N, T = int(P.unit.max()) + 1, int(P.tcode.max()) + 1
    Y = np.full((N, T), np.nan)
    D = np.full((N, T), np.nan)
    Y[P.unit, P.tcode] = P.y
    D[P.unit, P.tcode] = D_long
    return Y, D


def _pairs(Y: np.ndarray, D: np.ndarray, periods: np.ndarray, l: int, placebo: bool):
    """Switcher rows, their sign, and (S x N) matrices of outcome changes and control masks."""
    N, T = Y.shape
    first = np.argmax(~np.isnan(D), axis=1)
    base = D[np.arange(N), first]
    changed = (~np.isnan(D)) & (D != base[:, None])
    changed[np.arange(T)[None, :] < first[:, None]] = False
    has_sw = changed.any(axis=1)
    F = np.where(has_sw, np.argmax(changed, axis=1), T + 10)  # column index of first switch
    sw, dY, C, S = [], [], [], []
    for g in np.flatnonzero(has_sw):
        t0 = F[g] - 1
        t1 = F[g] - 1 + l if not placebo else F[g] - 1 - l
        if t0 < 0 or t1 < 0 or t1 >= T or t0 < first[g]:
            continue
        if not placebo and t1 >= T:
            continue
        tmax = max(t0, t1) if placebo else t1
        ctrl = (base == base[g]) & (F > (F[g] - 1 + l)) & (F > tmax) & ~np.isnan(Y[:, t0]) & ~np.isnan(Y[:, t1])
        ctrl[g] = False
        if np.isnan(Y[g, t0]) or np.isnan(Y[g, t1]) or not ctrl.any():
            continue
        row = np.where(np.isnan(Y[:, t1] - Y[:, t0]), 0.0, Y[:, t1] - Y[:, t0])
        sw.append(g)
        dY.append(row)
        C.append(ctrl.astype(float))
        S.append(np.sign(D[g, F[g]] - base[g]))
    return np.array(sw, int), np.array(S, float), np.array(dY).reshape(len(sw), N), np.array(C).reshape(len(sw), N)


def _did_from(sw, S, dY, C, W: np.ndarray) -> np.ndarray:
    """DID_l for each row of unit weights W (B x N); sw rows weighted by their unit's weight."""
    own = dY[np.arange(len(sw)), sw]  # S
    num = W @ (C * dY).T  # B x S
    den = W @ C.T
    with np.errstate(invalid="ignore", divide="ignore"):
        ctrl_mean = num / den
        contrib = S[None, :] * (own[None, :] - ctrl_mean)
        ws = W[:, sw] * (den > 0)
        return np.nansum(ws * np.nan_to_num(contrib), axis=1) / ws.sum(axis=1)


def did_multiplegt(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    dname: str,
    effects: int = 5,
    placebo: int = 3,
    bootstrap: int = 999,
    seed: int = 20240601,
) -> DidResult:
    """DID_l for l = 1..effects (terms ``e=<l-1>``: event time since the first switch) and
    placebos l = 1..placebo (terms ``e=<-l-1>``), plus ``ATT`` = mean of the DID_l.

    Periods must be consecutive integers for each unit (gaps are treated as missing outcomes;
    the treatment must be observed in every row).
    """
    if not (isinstance(effects, int) and effects >= 1):
        raise SpecificationError("did_multiplegt: effects must be an integer >= 1")
    P = prepare(data, yname, tname, idname, None, extra=[dname])
    Dl = P.frame[dname].to_numpy(float)
    Y, D = _wide(P, Dl)
    N = Y.shape[0]
    rng = np.random.default_rng(seed)
    W = rng.multinomial(N, np.full(N, 1.0 / N), size=bootstrap).astype(float) if bootstrap else np.zeros((0, N))
    one = np.ones((1, N))
    terms, est, boots, nsw = [], [], [], {}
    specs = [(l, True) for l in range(placebo, 0, -1)] + [(l, False) for l in range(1, effects + 1)]
    for l, pl in specs:
        sw, S, dY, C = _pairs(Y, D, P.time_labels, l, pl)
        if len(sw) == 0:
            continue
        e = -l - 1 if pl else l - 1
        terms.append(event_term(e))
        est.append(float(_did_from(sw, S, dY, C, one)[0]))
        boots.append(_did_from(sw, S, dY, C, W) if bootstrap else np.zeros(0))
        nsw[event_term(e)] = int(len(sw))
    post = [i for i, t in enumerate(terms) if int(t[2:]) >= 0]
    if not post:
        raise SpecificationError(f"did_multiplegt: no switcher has an untreated control at any horizon for {yname}")
    terms.append("ATT")
    est.append(float(np.mean([est[i] for i in post])))
    if bootstrap:
        B = np.column_stack(boots)
        B = np.column_stack([B, B[:, post].mean(axis=1)])
        ok = np.isfinite(B).all(axis=1)
        V = np.cov(B[ok].T, ddof=1) if ok.sum() > 2 else np.full((len(terms),) * 2, np.nan)
        V = np.atleast_2d(V)
    else:
        V = np.full((len(terms),) * 2, np.nan)
    base_sw = D[:, 0]
    return DidResult(
        estimator="dcdh_did_l", terms=tuple(terms), estimate=tuple(est),
        std_error=tuple(map(float, np.sqrt(np.clip(np.diag(V), 0, None)))), vcov=tuple(tuple(map(float, r)) for r in V),
        n_obs=len(P.y), n_units=N, n_treated_units=int(nsw.get("e=0", 0)), df=0, method="cluster_bootstrap",
        dropped=P.dropped, meta={"n_switchers": nsw, "bootstrap": bootstrap, "seed": seed},
    )
