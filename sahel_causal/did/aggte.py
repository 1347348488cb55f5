"""Aggregations of group-time ATTs (Callaway & Sant'Anna 2021, Section 3): :func:`aggte`.

With :math:`\\theta_{gt}` = ATT(g,t), cohort shares :math:`p_g = P(G=g)` (unit-weighted, over
all units of the estimation sample) and :math:`\\delta` = anticipation:

* ``"simple"``: :math:`\\theta^O_{simple}=\\sum_{g}\\sum_{t\\ge g} p_g\\theta_{gt} / \\sum_g\\sum_{t\\ge g} p_g`,
  the average of all post-treatment cells weighted by cohort size;
* ``"dynamic"`` (event study): :math:`\\theta_D(e)=\\sum_g 1\\{g+e\\in\\mathcal T\\}p_{g\\mid e}\\,\\theta_{g,g+e}`
  for each event time ``e`` (pre-treatment ``e < 0`` included), overall
  :math:`\\bar\\theta_D` = mean of :math:`\\theta_D(e)` over :math:`e\\ge 0` within ``[min_e, max_e]``;
  ``balance_e`` keeps only cohorts observed for at least ``balance_e`` periods after entry;
* ``"group"``: :math:`\\theta_S(g)` = mean of :math:`\\theta_{gt}` over :math:`g\\le t\\le g+\\text{max\\_e}`;
  overall :math:`\\sum_g p_g\\theta_S(g)/\\sum_g p_g`;
* ``"calendar"``: :math:`\\theta_C(t)=\\sum_{g\\le t}p_{g\\mid t}\\theta_{gt}`; overall mean over ``t``.

Inference: the influence function of each aggregate is the weighted sum of the stored ATT(g,t)
influence functions plus, where the weights are estimated cohort shares, the influence function
of the weights (R ``did``'s ``wif``), so nothing is re-estimated. Analytic SEs are
:math:`\\sqrt{\\sum_c(\\sum_{i\\in c}\\psi_i)^2}/n`; the multiplier bootstrap (same seed as
``att_gt`` unless given) gives bootstrap SEs and the sup-t band across event times / groups /
periods. The same assumptions as :func:`sahel_causal.did.att_gt` apply; every formula
follows R ``did``'s ``compute.aggte``.

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple
time periods. Journal of Econometrics 225(2), 200-230.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.did.att_gt import ATTgtResult, cluster_se, cluster_vcov
from sahel_causal.did.bootstrap import multiplier_bootstrap
from sahel_causal.errors import SpecificationError

AggType = Literal["simple", "dynamic", "group", "calendar"]
_TYPES = ("simple", "dynamic", "group", "calendar")
_LABEL = {"dynamic": "event_time", "group": "group", "calendar": "t"}
SCHEMA = "sahel_causal.did.AggteResult/1"


@dataclass(frozen=True, eq=False)
class AggteResult:
    """An aggregated ATT (R ``did``'s ``AGGTEobj``).

    ``egt`` holds the event times / groups / periods of the disaggregated estimates
    ``att_egt`` (empty for ``"simple"``); ``inf_func_egt`` (units x len(egt)) and
    ``inf_func_overall`` are their influence functions.
    """

    type: str
    overall_att: float
    overall_se: float
    egt: np.ndarray
    att_egt: np.ndarray
    se_egt: np.ndarray
    inf_func_overall: np.ndarray
    inf_func_egt: np.ndarray
    alp: float
    min_e: float
    max_e: float
    balance_e: int | None
    overall_se_boot: float = float("nan")
    se_egt_boot: np.ndarray | None = None
    crit_val_egt: float = float("nan")
    n: int = 0
    n_clusters: int = 0
    cluster: np.ndarray | None = None

    def vcov_egt(self) -> np.ndarray:
        """Analytic covariance of ``att_egt`` (clustered as in ``att_gt``), from the influence
        functions: :math:`n^{-2}\\sum_c s_cs_c'`."""
        if self.inf_func_egt.shape[0] == 0:
            raise SpecificationError("AggteResult.vcov_egt: influence functions are not available "
                                     "(result restored from JSON)")
        cl = self.cluster if self.cluster is not None else np.arange(self.inf_func_egt.shape[0])
        return cluster_vcov(self.inf_func_egt, cl)

    def tidy(self) -> pd.DataFrame:
        """One row per event time / group / period (the overall estimate for ``"simple"``).

        Columns: the index column (``event_time``, ``group`` or ``t``; none for simple), ``att``,
        ``se`` (analytic), ``ci_low``, ``ci_high`` (pointwise normal), ``p_value``, ``se_boot``,
        ``cband_low``, ``cband_high`` (sup-t band from the multiplier bootstrap).
        """
        z = stats.norm.ppf(1 - self.alp / 2)
        if self.type == "simple":
            att = np.array([self.overall_att])
            se = np.array([self.overall_se])
            seb = np.array([self.overall_se_boot])
            crit = z
            frame: dict[str, Any] = {"type": ["simple"]}
        else:
            att, se = self.att_egt, self.se_egt
            seb = self.se_egt_boot if self.se_egt_boot is not None else np.full_like(att, np.nan)
            crit = self.crit_val_egt
            frame = {"type": [self.type] * att.size, _LABEL[self.type]: self.egt}
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(se > 0, 2 * stats.norm.sf(np.abs(att / se)), np.nan)
        frame.update({"att": att, "se": se, "ci_low": att - z * se, "ci_high": att + z * se,
                      "p_value": p, "se_boot": seb, "cband_low": att - crit * seb,
                      "cband_high": att + crit * seb})
        return pd.DataFrame(frame)

    def tidy_terms(self) -> pd.DataFrame:
        """The design-results layout: one row per term x inference method, columns ``term,
        estimate, std_error, p_value, ci_low, ci_high, method``. Terms: ``overall`` and, for
        dynamic/group/calendar, ``e=<k>`` / ``g=<year>`` / ``t=<year>``; methods ``analytic``
        (normal, pointwise) and ``multiplier_bootstrap`` (bootstrap SE; the interval of the
        per-term rows is the sup-t band, the overall row's is pointwise)."""
        z = stats.norm.ppf(1 - self.alp / 2)
        prefix = {"dynamic": "e", "group": "g", "calendar": "t"}.get(self.type, "")
        terms = ["overall"] + [f"{prefix}={v:g}" for v in self.egt]
        est = np.r_[self.overall_att, self.att_egt]
        rows = []
        for method, se, crit in (
                ("analytic", np.r_[self.overall_se, self.se_egt], np.full(est.size, z)),
                ("multiplier_bootstrap",
                 np.r_[self.overall_se_boot, self.se_egt_boot if self.se_egt_boot is not None
                       else np.full(self.att_egt.size, np.nan)],
                 np.r_[z, np.full(self.att_egt.size, self.crit_val_egt)])):
            if method == "multiplier_bootstrap" and not np.isfinite(se).any():
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(se > 0, 2 * stats.norm.sf(np.abs(est / se)), np.nan)
            for i, term in enumerate(terms):
                rows.append({"term": term, "estimate": est[i], "std_error": se[i], "p_value": p[i],
                             "ci_low": est[i] - crit[i] * se[i], "ci_high": est[i] + crit[i] * se[i],
                             "method": method})
        return pd.DataFrame(rows, columns=["term", "estimate", "std_error", "p_value", "ci_low",
                                           "ci_high", "method"])

    def overall(self) -> pd.DataFrame:
        """The overall aggregate as one row: ``type, att, se, ci_low, ci_high, p_value, se_boot``."""
        z = stats.norm.ppf(1 - self.alp / 2)
        a, s = self.overall_att, self.overall_se
        p = 2 * stats.norm.sf(abs(a / s)) if s > 0 else float("nan")
        return pd.DataFrame({"type": [self.type], "att": [a], "se": [s], "ci_low": [a - z * s],
                             "ci_high": [a + z * s], "p_value": [p], "se_boot": [self.overall_se_boot]})

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; floats by shortest repr, non-finite as strings (exact round trip)."""
        f = _enc
        return {
            "schema": SCHEMA, "type": self.type, "overall_att": f(self.overall_att),
            "overall_se": f(self.overall_se), "egt": [f(x) for x in self.egt],
            "att_egt": [f(x) for x in self.att_egt], "se_egt": [f(x) for x in self.se_egt],
            "alp": f(self.alp), "min_e": f(self.min_e), "max_e": f(self.max_e),
            "balance_e": self.balance_e, "overall_se_boot": f(self.overall_se_boot),
            "se_egt_boot": None if self.se_egt_boot is None else [f(x) for x in self.se_egt_boot],
            "crit_val_egt": f(self.crit_val_egt), "n": self.n, "n_clusters": self.n_clusters,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AggteResult":
        """Inverse of :meth:`to_dict` (influence functions are not serialised: empty arrays)."""
        if d.get("schema") != SCHEMA:
            raise SpecificationError(f"AggteResult.from_dict: schema {d.get('schema')!r} is not {SCHEMA!r}")
        g = _dec
        arr = lambda xs: np.array([g(x) for x in xs], dtype=float)  # noqa: E731
        return cls(type=d["type"], overall_att=g(d["overall_att"]), overall_se=g(d["overall_se"]),
                   egt=arr(d["egt"]), att_egt=arr(d["att_egt"]), se_egt=arr(d["se_egt"]),
                   inf_func_overall=np.zeros(0), inf_func_egt=np.zeros((0, len(d["egt"]))),
                   alp=g(d["alp"]), min_e=g(d["min_e"]), max_e=g(d["max_e"]),
                   balance_e=d["balance_e"], overall_se_boot=g(d["overall_se_boot"]),
                   se_egt_boot=None if d["se_egt_boot"] is None else arr(d["se_egt_boot"]),
                   crit_val_egt=g(d["crit_val_egt"]), n=int(d["n"]), n_clusters=int(d["n_clusters"]))


def _enc(x: float) -> float | str:
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _dec(x: float | str | None) -> float:
    return float("nan") if x is None else float(x)


# =========================================================================== weights' influence
def _wif(keepers: np.ndarray, pg: np.ndarray, w: np.ndarray, G: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Influence function of the estimated weights :math:`p_g/\\sum p_g` (R ``did``'s ``wif``)."""
    ind = (w[:, None] * (G[:, None] == group[keepers][None, :])) - pg[keepers][None, :]
    s = pg[keepers].sum()
    if1 = ind / s
    if2 = ind.sum(axis=1)[:, None] * (pg[keepers] / s**2)[None, :]
    return if1 - if2


def _wif_dot(keepers: np.ndarray, pg: np.ndarray, w: np.ndarray, G: np.ndarray, group: np.ndarray,
             a: np.ndarray) -> np.ndarray:
    """``_wif(keepers, ...) @ a`` without forming the units x cells matrix."""
    gk, pk, ak = group[keepers], pg[keepers], a[keepers]
    s = pk.sum()
    cohorts, inv = np.unique(gk, return_inverse=True)
    a_by = np.bincount(inv, weights=ak, minlength=cohorts.size)      # sum of a over cells of g
    n_by = np.bincount(inv, minlength=cohorts.size).astype(float)    # number of cells of g
    pos = np.searchsorted(cohorts, G)
    hit = (pos < cohorts.size) & (cohorts[np.minimum(pos, cohorts.size - 1)] == G)
    A_i = np.where(hit, a_by[np.minimum(pos, cohorts.size - 1)], 0.0)  # sum_k 1{G_i = g_k} a_k
    N_i = np.where(hit, n_by[np.minimum(pos, cohorts.size - 1)], 0.0)
    ind_a = w * A_i - pk @ ak                                          # (ind @ a)_i
    ind_sum = w * N_i - s                                              # ind.sum(axis=1)
    return ind_a / s - ind_sum * (pk @ ak) / s**2


def _agg_if(att: np.ndarray, inf: np.ndarray, which: np.ndarray, wts: np.ndarray,
            wif: tuple | None) -> np.ndarray:
    out = inf[:, which] @ wts
    if wif is not None:
        keepers, pg, w, G, group = wif
        out = out + _wif_dot(keepers, pg, w, G, group, att)
    return out


# =========================================================================== public API
def aggte(
    result: ATTgtResult,
    type: AggType = "group",  # noqa: A002 - R did's argument name
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    na_rm: bool = False,
    bstrap: bool | None = None,
    biters: int | None = None,
    cband: bool | None = None,
    alp: float | None = None,
    seed: int | None = None,
) -> AggteResult:
    """Aggregate group-time ATTs into an overall ATT and an event-study / group / calendar profile.

    Arguments follow R ``did``'s ``aggte``; ``None`` inherits the value used by :func:`att_gt`.
    ``na_rm=True`` drops ATT(g,t) cells that could not be estimated (no treated or comparison
    unit observed in both periods); otherwise such cells are an error.
    """
    if not isinstance(result, ATTgtResult):
        raise SpecificationError("aggte: result must be the output of att_gt()")
    if type not in _TYPES:
        raise SpecificationError(f"aggte: type={type!r} is not one of {', '.join(map(repr, _TYPES))}")
    if balance_e is not None and (not isinstance(balance_e, (int, np.integer)) or isinstance(balance_e, bool) or balance_e < 0):
        raise SpecificationError(f"aggte: balance_e={balance_e!r} must be None or a non-negative integer")
    for nm, v in (("min_e", min_e), ("max_e", max_e)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise SpecificationError(f"aggte: {nm}={v!r} must be a number")
    p = result.params
    bstrap = p.bstrap if bstrap is None else bstrap
    biters = p.biters if biters is None else biters
    cband = p.cband if cband is None else cband
    alp = p.alp if alp is None else alp
    seed = p.seed if seed is None else seed

    group, tt, att, inf = result.group, result.t, result.att.copy(), result.inffunc
    nan = np.isnan(att)
    if nan.any():
        if not na_rm:
            bad = [f"({int(g)},{int(t)})" for g, t in zip(group[nan], tt[nan])]
            raise SpecificationError(f"aggte: ATT(g,t) could not be estimated for cells {', '.join(bad[:8])}; "
                                     "pass na_rm=True to aggregate the others")
        keep = ~nan
        group, tt, att, inf = group[keep], tt[keep], att[keep], inf[:, keep]
    d = result.design
    G, w, n = d.G, d.w, result.n
    glist = np.unique(group)
    pg_g = np.array([np.mean(w * (G == g)) for g in glist])
    pg = pg_g[np.searchsorted(glist, group)]
    egt = np.zeros(0)
    att_egt = np.zeros(0)
    inf_egt = np.zeros((n, 0))

    if type == "simple":
        keepers = np.flatnonzero((group <= tt) & (tt <= group + max_e))
        wts = pg[keepers] / pg[keepers].sum()
        overall = float(np.sum(att[keepers] * wts))
        inf_overall = _agg_if(att, inf, keepers, wts, (keepers, pg, w, G, group))
    elif type == "group":
        keep_g, atts, infs = [], [], []
        for gv in glist:
            wh = np.flatnonzero((group == gv) & (gv <= tt) & (tt <= group + max_e))
            if wh.size == 0:
                continue
            keep_g.append(gv)
            atts.append(att[wh].mean())
            infs.append(_agg_if(att, inf, wh, np.full(wh.size, 1.0 / wh.size), None))
        egt = np.array(keep_g, dtype=float)
        att_egt = np.array(atts)
        inf_egt = np.column_stack(infs) if infs else np.zeros((n, 0))
        pgk = pg_g[np.searchsorted(glist, egt)]
        ks = np.arange(egt.size)
        overall = float(np.sum(att_egt * pgk) / pgk.sum())
        inf_overall = _agg_if(att_egt, inf_egt, ks, pgk / pgk.sum(), (ks, pgk, w, G, egt))
    elif type == "dynamic":
        e_all = tt - group
        incl = np.ones(group.size, dtype=bool)
        eseq = np.unique(e_all)
        if balance_e is not None:
            incl = (d.periods.max() - group) >= balance_e
            eseq = np.unique(e_all[incl])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - d.periods.max() + d.periods.min())]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        atts, infs = [], []
        for e in eseq:
            wh = np.flatnonzero((e_all == e) & incl)
            wts = pg[wh] / pg[wh].sum()
            atts.append(float(np.sum(att[wh] * wts)))
            infs.append(_agg_if(att, inf, wh, wts, (wh, pg, w, G, group)))
        egt = eseq.astype(float)
        att_egt = np.array(atts)
        inf_egt = np.column_stack(infs) if infs else np.zeros((n, 0))
        epos = egt >= 0
        if not epos.any():
            raise SpecificationError("aggte: no event time >= 0 within [min_e, max_e]")
        overall = float(att_egt[epos].mean())
        inf_overall = inf_egt[:, epos] @ np.full(int(epos.sum()), 1.0 / epos.sum())
    else:  # calendar
        tlist = np.unique(tt[tt >= group.min()])
        atts, infs, keep_t = [], [], []
        for tv in tlist:
            wh = np.flatnonzero((tt == tv) & (group <= tt))
            if wh.size == 0:
                continue
            wts = pg[wh] / pg[wh].sum()
            keep_t.append(tv)
            atts.append(float(np.sum(att[wh] * wts)))
            infs.append(_agg_if(att, inf, wh, wts, (wh, pg, w, G, group)))
        egt = np.array(keep_t, dtype=float)
        att_egt = np.array(atts)
        inf_egt = np.column_stack(infs)
        overall = float(att_egt.mean())
        inf_overall = inf_egt.mean(axis=1)

    cl = d.cluster
    overall_se = float(cluster_se(inf_overall[:, None], cl)[0])
    se_egt = cluster_se(inf_egt, cl) if inf_egt.shape[1] else np.zeros(0)
    overall_se_boot, se_egt_boot, crit = float("nan"), None, float(stats.norm.ppf(1 - alp / 2))
    clus = cl if p.clustervars else None
    if bstrap:
        mb_o = multiplier_bootstrap(inf_overall[:, None], biters=biters, alp=alp, seed=seed,
                                    weights=p.boot_weights, cluster=clus)  # type: ignore[arg-type]
        overall_se_boot = float(mb_o.se[0])
        if inf_egt.shape[1]:
            mb = multiplier_bootstrap(inf_egt, biters=biters, alp=alp, seed=seed,
                                      weights=p.boot_weights, cluster=clus)  # type: ignore[arg-type]
            se_egt_boot = mb.se
            if cband and np.isfinite(mb.crit_val):
                crit = mb.crit_val
    return AggteResult(type=type, overall_att=overall, overall_se=overall_se, egt=egt,
                       att_egt=att_egt, se_egt=se_egt, inf_func_overall=inf_overall,
                       inf_func_egt=inf_egt, alp=alp, min_e=float(min_e), max_e=float(max_e),
                       balance_e=None if balance_e is None else int(balance_e),
                       overall_se_boot=overall_se_boot, se_egt_boot=se_egt_boot,
                       crit_val_egt=crit, n=n, n_clusters=int(cl.max()) + 1, cluster=cl)
