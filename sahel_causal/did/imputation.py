"""Imputation difference-in-differences (Borusyak, Jaravel & Spiess 2024; Gardner 2022 two-stage).

Estimand. Unit-period effects :math:`\\tau_{it} = Y_{it} - Y_{it}(0)` for treated observations
(:math:`t \\ge G_i - \\text{anticipation}`), aggregated with equal weights over treated
observations: the overall ATT and the event-time ATT_e (all treated observations at e = t - G).

Assumptions: (i) parallel trends in the untreated potential outcome with additive unit and
period effects, :math:`Y_{it}(0) = \\alpha_i + \\lambda_t + \\varepsilon_{it}`,
:math:`E\\varepsilon = 0` for all units and periods used (never treated and not-yet-treated
observations both serve as controls); (ii) no anticipation beyond ``anticipation`` periods;
(iii) absorbing treatment. The unit effect of a treated unit is identified only from its
untreated periods: units never observed untreated are dropped (reported).

Estimation (step 1) fits the two-way FE model on untreated observations only; (step 2) imputes
:math:`\\hat Y_{it}(0)` for treated ones and averages :math:`\\hat\\tau_{it}`. This is
numerically identical to Gardner's two-stage estimator (regress the step-1 residualised outcome
on treatment-horizon dummies), whose GMM sandwich variance clustered by unit (Butts & Gardner
2022, R ``did2s``; pyfixest ``did2s``) is used here: with second-stage design :math:`X_2`,
first-stage design :math:`X_1` (rows of treated observations zeroed: :math:`X_{10}`),
:math:`\\psi_g = X_{2g}'\\hat e_{2g} - X_2'X_1(X_{10}'X_{10})^{-1}X_{10g}'\\hat e_{1g}` and
:math:`V = (X_2'X_2)^{-1}\\sum_g\\psi_g\\psi_g'(X_2'X_2)^{-1}` (no small-sample factor).
BJS's own conservative variance differs slightly; it is not implemented.

References: Borusyak, K., Jaravel, X. & Spiess, J. (2024) "Revisiting event-study designs:
robust and efficient estimation", Review of Economic Studies 91(6); Gardner, J. (2022)
"Two-stage differences in differences", arXiv:2207.05943; Butts, K. & Gardner, J. (2022) "did2s:
two-stage difference-in-differences", R Journal 14(3).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

from ._common import DidResult, cluster_scores, event_term, fe_design, prepare


def imputation_did(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    horizons: list[int] | None = None,
    anticipation: int = 0,
) -> DidResult:
    """Imputation estimator: terms ``ATT`` (all treated observations) and ``e=<k>`` for ``horizons``.

    ``horizons=None`` reports every observed k >= -anticipation. Treated observations beyond the
    largest horizon still enter ``ATT`` (equal weights over all treated observations).
    ``meta["tau"]`` is not stored (it can be large); ``meta["n_treated_obs"]`` is.
    """
    P = prepare(data, yname, tname, idname, gname)
    g = P.g.copy()
    treated = (g > 0) & (P.time >= g - anticipation)
    dropped = list(P.dropped)
    # units never observed untreated cannot be imputed
    has_untreated = pd.Series(~treated).groupby(P.unit).transform("any").to_numpy()
    if not has_untreated.all():
        dropped.append(("units never observed untreated (no unit effect)", int(np.unique(P.unit[~has_untreated]).size)))
    keep = has_untreated
    # periods with no untreated observation cannot be imputed either
    t_has_ctrl = pd.Series(~treated[keep]).groupby(P.tcode[keep]).transform("any").to_numpy()
    k2 = np.zeros(len(keep), bool)
    k2[np.flatnonzero(keep)] = t_has_ctrl
    if (keep & ~k2).any():
        dropped.append(("observations in periods without untreated units", int((keep & ~k2).sum())))
    keep = k2
    y, unit, tcode = P.y[keep], P.unit[keep], P.tcode[keep]
    unit = pd.factorize(unit, sort=True)[0]
    tcode = pd.factorize(tcode, sort=True)[0]
    D, rel = treated[keep], (P.time - g)[keep].astype(int)
    if not D.any():
        raise SpecificationError(f"imputation_did: no treated observations with non-missing {yname}")
    X1 = fe_design(unit, tcode)
    X10 = X1 * (~D)[:, None]
    gamma, *_ = np.linalg.lstsq(X10, np.where(D, 0.0, y), rcond=None)
    ytil = y - X1 @ gamma
    e1 = np.where(D, 0.0, ytil)
    obs_e = sorted(set(rel[D].tolist()))
    hs = obs_e if horizons is None else [h for h in horizons if h in set(obs_e)]
    cols = [D.astype(float)] + [(D & (rel == h)).astype(float) for h in hs]
    terms = ["ATT"] + [event_term(h) for h in hs]
    X2 = np.column_stack(cols)
    # each column is its own second stage (the ATT and the event-time dummies are separate fits);
    # the covariance across them comes from stacking the influence functions.
    n = len(y)
    est, psis = [], []
    M1 = np.linalg.pinv(X10.T @ X10)
    for j in range(X2.shape[1]):
        x2 = X2[:, j]
        xx = x2 @ x2
        b = (x2 @ ytil) / xx
        e2 = ytil - x2 * b
        corr = (x2 @ X1) @ M1  # 1 x p
        psi = x2 * e2 - (X10 * e1[:, None]) @ corr
        est.append(b)
        psis.append(psi / xx)
    Psi = cluster_scores(np.column_stack(psis), unit)
    V = Psi.T @ Psi
    n_units = int(unit.max()) + 1
    return DidResult(
        estimator="imputation", terms=tuple(terms), estimate=tuple(map(float, est)),
        std_error=tuple(map(float, np.sqrt(np.clip(np.diag(V), 0, None)))), vcov=tuple(tuple(map(float, r)) for r in V),
        n_obs=n, n_units=n_units, n_treated_units=int(np.unique(unit[D]).size), df=0, method="gmm_cluster",
        dropped=tuple(dropped), meta={"anticipation": anticipation, "n_treated_obs": int(D.sum())},
    )
