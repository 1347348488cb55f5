"""Continuous, time-varying dose: de Chaisemartin, D'Haultfoeuille, Pasquier & Vazquez-Bare's
weighted average of slopes (WAS) with stayers.

Setting. A continuous treatment :math:`D_{it}` (e.g. U.S. training dollars) that changes from
year to year for some units (*switchers*, :math:`\\Delta D_{it} \\ne 0`) and not for others
(*stayers*, :math:`\\Delta D_{it} = 0`, in practice mostly units at zero in both years).

Estimand (pooled over consecutive period pairs t-1, t):

.. math:: \\mathrm{WAS} = \\frac{E\\big[\\,|\\Delta D_{it}|\\,\\cdot\\,
          \\frac{Y_{it}(D_{it}) - Y_{it}(D_{i,t-1})}{D_{it}-D_{i,t-1}}\\big]}{E|\\Delta D_{it}|},

a |ΔD|-weighted average of the switchers' slopes of the current-period dose response.

Estimator: :math:`\\widehat{\\mathrm{WAS}} = \\sum_{\\text{switchers}} \\mathrm{sgn}(\\Delta D)
(\\Delta Y - \\bar{\\Delta Y}_{\\text{stayers}\\mid t, D_{t-1}})/\\sum |\\Delta D|`, stayers matched
exactly on the period and the baseline dose :math:`D_{i,t-1}` (switchers whose baseline has no
stayer are dropped and counted in ``meta``). With a continuous baseline this leaves, in
practice, movers from zero compared with units at zero in both years.

Assumptions: (i) no dynamic effects -- the outcome depends on the current dose only (past
doses do not matter); strong for training, whose effects may last; (ii) parallel trends of the
status-quo outcome :math:`Y_t(D_{t-1})` between switchers and stayers with the same baseline
dose; (iii) stayers exist at the switchers' baselines.

Inference: unit cluster bootstrap (seeded multinomial weights).

Reference: de Chaisemartin, C., D'Haultfoeuille, X., Pasquier, F. & Vazquez-Bare, G. (2022)
"Difference-in-differences for continuous treatments and instruments with stayers",
arXiv:2201.06898 (Stata ``did_multiplegt_stat``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

from ._common import DidResult, prepare


def was_stayers(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    dname: str,
    bootstrap: int = 999,
    seed: int = 20240601,
) -> DidResult:
    """WAS estimator; term ``"WAS"`` (outcome change per unit of dose)."""
    P = prepare(data, yname, tname, idname, None, extra=[dname])
    df = pd.DataFrame({"u": P.unit, "t": P.time, "y": P.y, "d": P.frame[dname].to_numpy(float)})
    lag = df.assign(t=df["t"] + 1).rename(columns={"y": "y0", "d": "d0"})
    pr = df.merge(lag, on=["u", "t"], how="inner")
    if pr.empty:
        raise SpecificationError(f"was_stayers: no consecutive periods with {yname} and {dname} observed")
    pr["dy"] = pr["y"] - pr["y0"]
    pr["dd"] = pr["d"] - pr["d0"]
    pr["cell"] = pd.factorize(pr["t"].astype(str) + "|" + pr["d0"].map(repr), sort=True)[0]
    stay = (pr["dd"] == 0).to_numpy()
    cells_with_stayers = set(pr.loc[stay, "cell"])
    sw = (~stay) & pr["cell"].isin(cells_with_stayers).to_numpy()
    n_unmatched = int(((~stay) & ~sw).sum())
    if not sw.any():
        raise SpecificationError(f"was_stayers: no switcher of {dname} has a stayer with the same baseline dose")
    N = int(P.unit.max()) + 1
    rng = np.random.default_rng(seed)
    W = np.vstack([np.ones(N), rng.multinomial(N, np.full(N, 1.0 / N), size=bootstrap)]).astype(float)
    Wp = W[:, pr["u"].to_numpy()]
    cell = pr["cell"].to_numpy()
    nc = cell.max() + 1
    C = np.zeros((len(pr), nc))
    C[np.arange(len(pr)), cell] = 1.0
    dy, dd = pr["dy"].to_numpy(), pr["dd"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        m = ((Wp * stay * dy) @ C) / ((Wp * stay) @ C)  # B x cells
        num = (Wp * sw * np.sign(dd) * (dy[None, :] - np.nan_to_num(m[:, cell]))).sum(axis=1)
        den = (Wp * sw * np.abs(dd)).sum(axis=1)
        was = num / den
    ok = np.isfinite(was[1:])
    se = float(np.std(was[1:][ok], ddof=1)) if bootstrap and ok.sum() > 2 else float("nan")
    return DidResult(
        estimator="dcdh_was", terms=("WAS",), estimate=(float(was[0]),), std_error=(se,), vcov=((se * se,),),
        n_obs=len(P.y), n_units=N, n_treated_units=int(pr.loc[sw, "u"].nunique()), df=0, method="cluster_bootstrap",
        dropped=P.dropped,
        meta={"n_switchers": int(sw.sum()), "n_stayers": int(stay.sum()), "n_switchers_without_stayers": n_unmatched,
              "bootstrap": bootstrap, "seed": seed},
    )
