"""Sun & Abraham (2021) interaction-weighted (IW) event study.

Estimand. For cohort :math:`g` (first treated period) and relative period :math:`e = t-g`,
:math:`CATT_{g,e} = E[Y_{i,g+e} - Y^\\infty_{i,g+e} \\mid G_i = g]`; the event-time ATT is
:math:`ATT_e = \\sum_g \\Pr(G=g \\mid \\text{cohorts observed at } e) CATT_{g,e}`, weights equal
to each cohort's share of treated observations at e (here: of observations at e, which is the
same thing on a balanced panel and the natural sample analogue on an unbalanced one).

Estimation. One regression with unit and period fixed effects and a full set of cohort x
relative-period dummies, omitting e = ``ref`` (-1) for every cohort; the control cohort is the
never treated (``control="never"``) or, when there are none, the last-treated cohort, whose
periods from its entry on are dropped for every unit (``control="last"``). The IW aggregate weights the
CATT by cohort shares, with the shares held fixed in the variance (as R fixest's ``sunab`` and
pyfixest's saturated event study do). ``ATT`` pools all e >= 0 cells by observation counts.

Assumptions: parallel trends between each cohort and the control cohort in all periods used, no
anticipation before e = ref + 1, absorbing treatment.

Inference: CRV1 by unit (fixest small-sample factor), t with G-1 df.

Reference: Sun, L. & Abraham, S. (2021) "Estimating dynamic treatment effects in event studies
with heterogeneous treatment effects", J. Econometrics 225(2): 175-199.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

from ._common import DidResult, event_term, fe_design, ols_cluster, prepare, residualize


def sun_abraham(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    ref: int = -1,
    control: Literal["never", "last"] = "never",
    min_e: int | None = None,
    max_e: int | None = None,
) -> DidResult:
    """Interaction-weighted event study; terms ``e=<k>`` (k != ref) and ``ATT`` (all k >= 0).

    ``meta["catt"]`` holds the cohort x relative-period coefficients (list of dicts with cohort,
    e, estimate, std_error) and ``meta["weights"]`` the aggregation shares.
    """
    if control not in ("never", "last"):
        raise SpecificationError(f"sun_abraham: control must be 'never' or 'last', got {control!r}")
    P = prepare(data, yname, tname, idname, gname)
    keep = np.ones(len(P.y), bool)
    g = P.g.copy()
    last_t = P.time_labels[-1]
    g[g > last_t] = 0  # entry after the sample: never treated within it
    if control == "never":
        if not (g == 0).any():
            raise SpecificationError("sun_abraham: no never-treated units; use control='last'")
        ctrl = g == 0
    else:
        glast = g[g > 0].max()
        ctrl = (g == 0) | (g == glast)
        keep &= P.time < glast  # no control remains from the last cohort's entry on
        g = np.where(g == glast, 0, g)
    # always-treated units (treated from their first observed period) carry no pre-period: drop
    first_obs = pd.Series(P.time).groupby(P.unit).transform("min").to_numpy()
    always = (g > 0) & (g <= first_obs)
    if always.any():
        keep &= ~always
    rel = np.where(g > 0, P.time - g, 0).astype(int)
    if min_e is not None:
        keep &= ~((g > 0) & (rel < min_e))
    if max_e is not None:
        keep &= ~((g > 0) & (rel > max_e))
    unit, tcode, y, g, rel = P.unit[keep], P.tcode[keep], P.y[keep], g[keep], rel[keep]
    unit = pd.factorize(unit, sort=True)[0]
    tcode = pd.factorize(tcode, sort=True)[0]
    cells = sorted({(int(a), int(b)) for a, b in zip(g[g > 0], rel[g > 0]) if b != ref})
    Z = np.zeros((len(y), len(cells)))
    idx = {c: j for j, c in enumerate(cells)}
    for r in np.flatnonzero(g > 0):
        c = (int(g[r]), int(rel[r]))
        if c in idx:
            Z[r, idx[c]] = 1.0
    X = fe_design(unit, tcode)
    R = residualize(np.column_stack([y, Z]), X)
    n_units = int(unit.max()) + 1
    b, V = ols_cluster(R[:, 0], R[:, 1:], unit, k_fe=X.shape[1] - n_units + 1)
    counts = Z.sum(axis=0)
    es = sorted({e for _, e in cells})
    terms, A = [], []
    for e in es:
        w = np.array([counts[j] if cells[j][1] == e else 0.0 for j in range(len(cells))])
        A.append(w / w.sum())
        terms.append(event_term(e))
    wpost = np.array([counts[j] if cells[j][1] >= 0 else 0.0 for j in range(len(cells))])
    if wpost.sum() > 0:
        A.append(wpost / wpost.sum())
        terms.append("ATT")
    A = np.array(A)
    est = A @ b
    Vagg = A @ V @ A.T
    catt = [
        # a cell identified by one treated cluster has no cluster-robust variance (V[j, j] is zero up to
        # rounding, sometimes slightly negative): its SE is reported as missing, without a warning
        {"cohort": c[0], "e": c[1], "estimate": float(b[j]),
         "std_error": float(np.sqrt(V[j, j])) if V[j, j] >= 0 else float("nan"), "n": float(counts[j])}
        for j, c in enumerate(cells)
    ]
    dropped = list(P.dropped)
    if always.any():
        dropped.append(("always-treated units (no pre-period)", int(np.unique(P.unit[always]).size)))
    return DidResult(
        estimator="sun_abraham", terms=tuple(terms), estimate=tuple(map(float, est)),
        std_error=tuple(map(float, np.sqrt(np.clip(np.diag(Vagg), 0, None)))), vcov=tuple(tuple(map(float, r)) for r in Vagg),
        n_obs=len(y), n_units=n_units, n_treated_units=int(np.unique(unit[g > 0]).size), df=n_units - 1,
        method="crv1", dropped=tuple(dropped), meta={"ref": ref, "control": control, "catt": catt},
    )
