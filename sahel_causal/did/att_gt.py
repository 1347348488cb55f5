"""Callaway & Sant'Anna (2021) group-time average treatment effects: :func:`att_gt`.

Estimand. Units enter treatment at most once and stay treated (staggered adoption); the
cohort :math:`G_i` is the first treated period (``gname``; 0 = never treated). For cohort
``g`` and period ``t``,

.. math:: ATT(g,t) = E[Y_t(g) - Y_t(\\infty) \\mid G = g],

the average effect at ``t`` of having entered at ``g``, among the units that entered at ``g``.
It is identified, for a base period ``b`` before ``g - anticipation``, by

.. math:: ATT(g,t) = E[Y_t - Y_b \\mid G=g] - E[\\,E[Y_t - Y_b \\mid X, C]\\mid G=g],

where ``C`` is the comparison group: never-treated units (``control_group="nevertreated"``)
or never-treated units plus those not yet treated by :math:`\\max(t,b)+\\delta`
(``"notyettreated"``; :math:`\\delta` = ``anticipation``), excluding cohort ``g`` itself.
The inner conditional expectation is estimated by outcome regression (``est_method="reg"``),
normalised inverse probability weighting (``"ipw"``) or the doubly robust combination
(``"dr"``, Sant'Anna & Zhao 2020, as in R ``did``), see :mod:`sahel_causal.did._drdid`.

Base period. ``base_period="varying"`` (R's default): for :math:`t \\ge g` the base is the
last period before :math:`g-\\delta`; for pre-treatment periods :math:`t<g` the base is the
period just before ``t`` (short differences, a pre-trend test period by period).
``"universal"``: every ATT(g,t) uses the last period before :math:`g-\\delta` as base; that
cell is reported as exactly 0 with a zero influence function (as R does).

Assumptions. (i) Staggered adoption (irreversible treatment). (ii) Parallel trends conditional
on the covariates ``X`` between cohort ``g`` and the comparison group, from the base period on.
(iii) No anticipation more than ``anticipation`` periods before entry. (iv) Overlap: the
propensity of belonging to cohort ``g`` given ``X`` is bounded away from 1 (ipw, dr).
Covariates enter through ``xformla`` (a right-hand-side formula such as ``"~ lpop"``, parsed by
formulaic with an intercept as R's ``model.matrix``) and are taken at the earlier of the two
periods of each 2x2 comparison, i.e. at the base period for every post-treatment cell (R ``did``'s
``panel2cs2`` convention).

Sample handling, as in R ``did``'s pre-processing, each step recorded in ``drops``:
cohorts later than the last period are recoded as never treated; units treated in the first
period (``0 < g <= t_1 + anticipation``) are dropped; rows with a missing outcome, covariate or
weight are dropped; if there is no never-treated unit and ``control_group="notyettreated"``, the
periods from ``max(g) - anticipation`` on are dropped and the last cohort serves as never
treated in the remaining periods (R did). ``allow_unbalanced_panel=False`` (R's default) then keeps only the units
observed in every period. ``allow_unbalanced_panel=True`` keeps every unit and estimates each
ATT(g,t) from the units observed in both of its periods (``t`` and the base period) with the
panel estimator; the influence function of a unit not in that 2x2 sample is 0 and the others
are scaled by :math:`n/n_{gt}` (the "pairwise-available" panel estimator). NOTE: R ``did`` with
``allow_unbalanced_panel=TRUE`` instead treats the data as repeated cross sections (DRDID's
``*_rc`` estimators); the two coincide on a balanced panel and differ otherwise.

Inference. Influence functions (``n`` units x cells) are stored on the result, so
:func:`sahel_causal.did.aggte` never re-estimates. Analytic standard errors are
:math:`\\sqrt{\\sum_c(\\sum_{i\\in c}\\psi_i)^2}/n` with clusters ``c`` (units unless
``clustervars`` names a coarser variable constant within unit), i.e. R's
``sqrt(diag(V)/n)`` with ``V = crossprod(inffunc)/n`` when clustering by unit. With
``bstrap=True`` a multiplier bootstrap (fixed ``seed``) gives bootstrap SEs and the sup-t
critical value for simultaneous bands (:mod:`sahel_causal.did.bootstrap`). ``tidy()`` reports
the analytic ``se`` with pointwise normal intervals, and ``se_boot`` with the simultaneous band
``cband_low``/``cband_high`` (R reports the bootstrap SE in ``se`` when ``bstrap=TRUE``).

References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple
time periods. Journal of Econometrics 225(2), 200-230. Sant'Anna, P. H. C. & Zhao, J. (2020).
Doubly robust difference-in-differences estimators. Journal of Econometrics 219(1), 101-122.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.did import _drdid
from sahel_causal.did.bootstrap import BootWeights, multiplier_bootstrap
from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.results import DropRecord

ControlGroup = Literal["nevertreated", "notyettreated"]
EstMethod = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]
_CONTROL = ("nevertreated", "notyettreated")
_METHODS = ("dr", "ipw", "reg")
_BASES = ("varying", "universal")


# =========================================================================== data containers
@dataclass(frozen=True, eq=False)
class PanelDesign:
    """The cleaned panel in wide form, shared by estimation, aggregation and randomization.

    ``Y`` is units x periods (NaN = not observed), ``G`` the cohorts (0 = never treated),
    ``X`` periods x units x covariates (``None`` without covariates), ``w`` unit weights (mean
    one), ``cluster`` integer cluster codes per unit.
    """

    ids: np.ndarray
    periods: np.ndarray
    Y: np.ndarray
    G: np.ndarray
    X: np.ndarray | None
    x_names: tuple[str, ...]
    w: np.ndarray
    cluster: np.ndarray
    weighted: bool


@dataclass(frozen=True)
class ATTgtParams:
    """The validated arguments of an :func:`att_gt` call (R ``did``'s names)."""

    yname: str
    tname: str
    idname: str
    gname: str
    xformla: str | None
    control_group: str
    est_method: str
    base_period: str
    anticipation: int
    allow_unbalanced_panel: bool
    weightsname: str | None
    clustervars: tuple[str, ...]
    alp: float
    bstrap: bool
    cband: bool
    biters: int
    boot_weights: str
    seed: int


@dataclass(frozen=True, eq=False)
class ATTgtResult:
    """Group-time ATTs with their influence functions (R ``did``'s ``MP`` object).

    Arrays are aligned by cell: ``group``, ``t``, ``base`` (base period), ``att``, ``se``
    (analytic), ``n_cell`` (units in the 2x2 comparison), ``post`` (``t >= group``).
    ``inffunc`` is units x cells with :math:`\\hat\\theta-\\theta\\approx n^{-1}\\sum_i\\psi_i`.
    """

    group: np.ndarray
    t: np.ndarray
    base: np.ndarray
    att: np.ndarray
    se: np.ndarray
    n_cell: np.ndarray
    inffunc: np.ndarray
    n: int
    params: ATTgtParams
    design: PanelDesign
    drops: tuple[DropRecord, ...] = ()
    se_boot: np.ndarray | None = None
    crit_val: float = float("nan")

    @property
    def post(self) -> np.ndarray:
        return self.t >= self.group

    @property
    def glist(self) -> np.ndarray:
        return np.unique(self.group)

    @property
    def n_clusters(self) -> int:
        return int(self.design.cluster.max()) + 1

    def vcov(self) -> np.ndarray:
        """Analytic covariance of the ATT(g,t) estimates (clustered as in ``params``)."""
        return cluster_vcov(self.inffunc, self.design.cluster)

    def tidy(self) -> pd.DataFrame:
        """One row per (group, t): ``group, t, base_period, att, se, ci_low, ci_high, p_value,
        se_boot, cband_low, cband_high, n_cell, post``."""
        z = stats.norm.ppf(1.0 - self.params.alp / 2.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(self.se > 0, 2.0 * stats.norm.sf(np.abs(self.att / self.se)), np.nan)
        se_b = self.se_boot if self.se_boot is not None else np.full_like(self.att, np.nan)
        crit = self.crit_val if self.params.cband else z
        return pd.DataFrame({
            "group": self.group, "t": self.t, "base_period": self.base,
            "att": self.att, "se": self.se,
            "ci_low": self.att - z * self.se, "ci_high": self.att + z * self.se,
            "p_value": p, "se_boot": se_b,
            "cband_low": self.att - crit * se_b, "cband_high": self.att + crit * se_b,
            "n_cell": self.n_cell, "post": self.post,
        })

    def pretest(self) -> tuple[float, int, float]:
        """Wald test that all pre-treatment ATT(g,t) are zero: (statistic, df, p-value).

        Uses the analytic covariance; cells with zero variance (universal base) are left out.
        """
        pre = (~self.post) & (self.se > 0) & np.isfinite(self.att)
        if not pre.any():
            return float("nan"), 0, float("nan")
        V = self.vcov()[np.ix_(pre, pre)]
        b = self.att[pre]
        W = float(b @ np.linalg.pinv(V) @ b)
        df = int(np.linalg.matrix_rank(V))
        return W, df, float(stats.chi2.sf(W, df))


def _cluster_sums(inf: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Within-cluster sums of the rows of ``inf``; ``cluster`` holds codes 0..C-1."""
    n = inf.shape[0]
    C = int(cluster.max()) + 1 if n else 0
    if C == n:
        return inf
    S = np.zeros((C,) + inf.shape[1:])
    np.add.at(S, cluster, inf)
    return S


def cluster_vcov(inf: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """:math:`n^{-2}\\sum_c s_cs_c'` with :math:`s_c` the within-cluster sums of influence functions."""
    n = inf.shape[0]
    S = _cluster_sums(inf, cluster)
    return (S.T @ S) / n**2


def cluster_se(inf: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Square roots of the diagonal of :func:`cluster_vcov` (without forming the matrix)."""
    n = inf.shape[0]
    S = _cluster_sums(inf, cluster)
    return np.sqrt(np.einsum("c...,c...->...", S, S)) / n


# =========================================================================== validation
def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise SpecificationError(f"att_gt: {name}={value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def _column(data: pd.DataFrame, name: Any, what: str) -> str:
    if not isinstance(name, str):
        raise SpecificationError(f"att_gt: {what} must be a column name (str), got {name!r}")
    if name not in data.columns:
        raise SchemaError(f"att_gt: {what}={name!r} is not a column of data; columns are "
                          f"{', '.join(map(str, data.columns[:20]))}{'...' if data.shape[1] > 20 else ''}")
    return name


def _numeric(s: pd.Series, what: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise SchemaError(f"att_gt: column {s.name!r} ({what}) must be numeric, not {s.dtype}")
    return s.to_numpy(dtype=float, na_value=np.nan)


# =========================================================================== public API
def att_gt(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    xformla: str | None = None,
    control_group: ControlGroup = "nevertreated",
    est_method: EstMethod = "dr",
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    allow_unbalanced_panel: bool = False,
    weightsname: str | None = None,
    clustervars: str | Sequence[str] | None = None,
    alp: float = 0.05,
    bstrap: bool = True,
    cband: bool = True,
    biters: int = 1000,
    boot_weights: BootWeights = "mammen",
    seed: int = 20211,
) -> ATTgtResult:
    """Group-time average treatment effects (Callaway & Sant'Anna 2021), R ``did`` conventions.

    See the module docstring for the estimand, assumptions, sample handling and inference.
    ``data`` is a long panel (one row per unit and period); it is not modified.
    ``clustervars``: ``None`` or the ``idname`` (cluster by unit), or one further column that is
    constant within unit (e.g. a region); clustering is always at least by unit.
    Returns an :class:`ATTgtResult`; ``tidy()`` has columns ``group, t, att, se`` and intervals.
    """
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError("att_gt: data must be a pandas DataFrame (long panel)")
    yname = _column(data, yname, "yname")
    tname = _column(data, tname, "tname")
    idname = _column(data, idname, "idname")
    gname = _column(data, gname, "gname")
    control_group = _choice("control_group", control_group, _CONTROL)
    est_method = _choice("est_method", est_method, _METHODS)
    base_period = _choice("base_period", base_period, _BASES)
    boot_weights = _choice("boot_weights", boot_weights, ("mammen", "rademacher"))  # type: ignore[assignment]
    if not isinstance(anticipation, (int, np.integer)) or isinstance(anticipation, bool) or anticipation < 0:
        raise SpecificationError(f"att_gt: anticipation={anticipation!r} must be a non-negative integer")
    for nm, val in (("allow_unbalanced_panel", allow_unbalanced_panel), ("bstrap", bstrap), ("cband", cband)):
        if not isinstance(val, bool):
            raise SpecificationError(f"att_gt: {nm}={val!r} must be True or False")
    if not isinstance(alp, float) or not 0.0 < alp < 1.0:
        raise SpecificationError(f"att_gt: alp={alp!r} must be a float in (0, 1)")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise SpecificationError(f"att_gt: seed={seed!r} must be an integer")
    if xformla is not None:
        if not isinstance(xformla, str) or not xformla.strip().startswith("~"):
            raise SpecificationError(f"att_gt: xformla={xformla!r} must be a one-sided formula like '~ lpop'")
    if weightsname is not None:
        weightsname = _column(data, weightsname, "weightsname")
    cl: tuple[str, ...]
    if clustervars is None:
        cl = ()
    else:
        cl = (clustervars,) if isinstance(clustervars, str) else tuple(clustervars)
        for c in cl:
            _column(data, c, "clustervars")
        extra = [c for c in cl if c != idname]
        if len(extra) > 1:
            raise SpecificationError("att_gt: clustervars may name the idname and at most one other column")
        cl = tuple(extra)
    params = ATTgtParams(
        yname=yname, tname=tname, idname=idname, gname=gname,
        xformla=None if xformla is None else xformla.strip(), control_group=control_group,
        est_method=est_method, base_period=base_period, anticipation=int(anticipation),
        allow_unbalanced_panel=allow_unbalanced_panel, weightsname=weightsname, clustervars=cl,
        alp=float(alp), bstrap=bstrap, cband=cband, biters=int(biters),
        boot_weights=boot_weights, seed=int(seed))
    design, drops = build_design(data, params)
    return estimate(design, params, drops)


# =========================================================================== preprocessing
def build_design(data: pd.DataFrame, p: ATTgtParams) -> tuple[PanelDesign, tuple[DropRecord, ...]]:
    """Validate and reshape the long panel into a :class:`PanelDesign` (R ``pre_process_did``)."""
    cols = list(dict.fromkeys([p.idname, p.tname, p.gname, p.yname]
                              + ([p.weightsname] if p.weightsname else []) + list(p.clustervars)))
    df = data.loc[:, cols].copy()
    drops: list[DropRecord] = []
    t = _numeric(df[p.tname], "tname")
    if np.isnan(t).any() or not np.all(t == np.round(t)):
        raise SchemaError(f"att_gt: column {p.tname!r} (tname) must hold integer periods without missing values")
    g = _numeric(df[p.gname], "gname")
    if np.isnan(g).any():
        raise SchemaError(f"att_gt: column {p.gname!r} (gname) has missing values; use 0 for never treated")
    if (g < 0).any():
        raise SchemaError(f"att_gt: column {p.gname!r} (gname) must be 0 (never treated) or a period")
    y = _numeric(df[p.yname], "yname")
    if df[p.idname].isna().any():
        raise SchemaError(f"att_gt: column {p.idname!r} (idname) has missing values")
    uid, uniq_ids = pd.factorize(df[p.idname], sort=True)
    n_all = len(uniq_ids)
    tcode, tuniq = pd.factorize(t, sort=True)
    key = uid.astype(np.int64) * len(tuniq) + tcode
    if np.bincount(key).max(initial=0) > 1:
        dupm = pd.Series(key).duplicated(keep=False).to_numpy()
        dup = df.loc[dupm, [p.idname, p.tname]].head(3)
        raise SchemaError(f"att_gt: data must have one row per {p.idname} and {p.tname}; duplicated e.g. "
                          f"{dup.to_dict('records')}")

    def _varies(v: np.ndarray) -> np.ndarray:
        first = np.empty(n_all, dtype=v.dtype)
        first[uid] = v
        d = v != first[uid]
        if v.dtype.kind == "f":
            d &= ~(np.isnan(v) & np.isnan(first[uid]))
        return np.unique(uid[d])

    bad = _varies(g)
    if bad.size:
        raise SchemaError(f"att_gt: {p.gname!r} (gname) must be constant within unit; it varies for "
                          f"{list(map(str, uniq_ids[bad[:5]]))}")
    for c in p.clustervars:
        bad = _varies(pd.factorize(df[c], use_na_sentinel=False)[0])
        if bad.size:
            raise SchemaError(f"att_gt: cluster variable {c!r} must be constant within unit "
                              f"(it varies for {list(map(str, uniq_ids[bad[:5]]))})")
    periods = np.asarray(tuniq, dtype=float)
    # cohorts after the last period are never treated within the sample (R did)
    late = g > periods.max()
    if late.any():
        ids_late = pd.unique(df.loc[late, p.idname].astype(str))
        drops.append(DropRecord(reason=f"{p.gname} after the last period {int(periods.max())}: recoded as never treated (0)",
                                level="group", count=len(ids_late), ids=tuple(ids_late)))
        g = np.where(late, 0.0, g)
    # units treated in the first period (plus anticipation) have no pre-period
    first = (g > 0) & (g <= periods.min() + p.anticipation)
    if first.any():
        ids_first = pd.unique(df.loc[first, p.idname].astype(str))
        drops.append(DropRecord(reason=f"treated by the first period {int(periods.min())} (+ anticipation {p.anticipation}): dropped",
                                level="group", count=len(ids_first), ids=tuple(ids_first)))
    keep = ~first
    # covariates
    X_long = None
    x_names: tuple[str, ...] = ()
    if p.xformla is not None:
        X_long, x_names = _model_matrix(data, p.xformla)
    w = np.ones(len(df)) if p.weightsname is None else _numeric(df[p.weightsname], "weightsname")
    if p.weightsname is not None:
        if _varies(w).size:
            raise SchemaError(f"att_gt: weights {p.weightsname!r} must be constant within unit")
        if (w[~np.isnan(w)] < 0).any():
            raise SchemaError(f"att_gt: weights {p.weightsname!r} must be non-negative")
    miss = np.isnan(y) | np.isnan(w)
    if X_long is not None:
        miss |= ~np.isfinite(X_long).all(axis=1)
    miss &= keep
    if miss.any():
        drops.append(DropRecord(reason=f"missing {p.yname}, covariate or weight: row dropped",
                                level="row", count=int(miss.sum()), ids=tuple(map(str, df.index[miss]))))
    keep &= ~miss
    # no never-treated units: not-yet-treated comparisons up to the last cohort's entry
    gk = g[keep]
    if not (gk == 0).any():
        if p.control_group == "nevertreated":
            raise SpecificationError("att_gt: there is no never-treated unit (gname == 0); use "
                                     "control_group='notyettreated'")
        gmax = gk.max()
        cut = keep & (t >= gmax - p.anticipation)
        lastc = keep & (g == gmax)
        drops.append(DropRecord(reason=f"no never-treated units: periods >= {int(gmax - p.anticipation)} dropped (no comparison group)",
                                level="row", count=int(cut.sum()), ids=tuple(map(str, df.index[cut]))))
        ids_last = pd.unique(df.loc[lastc, p.idname].astype(str))
        drops.append(DropRecord(reason=f"no never-treated units: last cohort {int(gmax)} serves as never treated (gname set to 0) in the remaining periods",
                                level="group", count=len(ids_last), ids=tuple(ids_last)))
        keep &= ~cut
        g = np.where(lastc, 0.0, g)
    if not p.allow_unbalanced_panel:
        n_per = np.unique(tcode[keep]).size
        per_unit = np.bincount(uid[keep], minlength=n_all)
        badu = np.flatnonzero((per_unit > 0) & (per_unit < n_per))
        if badu.size:
            drops.append(DropRecord(reason=f"unit not observed in all {n_per} periods (allow_unbalanced_panel=False): dropped",
                                    level="group", count=int(badu.size), ids=tuple(map(str, uniq_ids[badu]))))
            keep &= ~np.isin(uid, badu)
    if not keep.any():
        raise SpecificationError("att_gt: no observations left after pre-processing (see the drop records)")
    present = np.bincount(uid[keep], minlength=n_all) > 0
    remap = np.cumsum(present) - 1
    ids = np.asarray(uniq_ids)[present]
    uinv = remap[uid[keep]]
    tpresent = np.bincount(tcode[keep], minlength=len(tuniq)) > 0
    periods = np.asarray(tuniq, dtype=float)[tpresent]
    tinv = (np.cumsum(tpresent) - 1)[tcode[keep]]
    n, T = ids.size, periods.size
    Y = np.full((n, T), np.nan)
    Y[uinv, tinv] = y[keep]
    G = np.zeros(n)
    G[uinv] = g[keep]
    W = np.ones(n)
    W[uinv] = w[keep]
    Xw = None
    if X_long is not None:
        Xw = np.full((T, n, X_long.shape[1]), np.nan)
        Xw[tinv, uinv, :] = X_long[keep]
    if p.clustervars:
        cv = df[p.clustervars[0]].to_numpy()[keep]
        cvals = np.empty(n, dtype=object)
        cvals[uinv] = cv
        cluster = pd.factorize(pd.Series(cvals).astype(str), sort=True)[0]
    else:
        cluster = np.arange(n)
    design = PanelDesign(ids=ids, periods=periods, Y=Y, G=G, X=Xw, x_names=x_names,
                         w=W / W.mean(), cluster=cluster, weighted=p.weightsname is not None)
    return design, tuple(drops)


def _model_matrix(data: pd.DataFrame, xformla: str) -> tuple[np.ndarray, tuple[str, ...]]:
    import formulaic

    try:
        mm = formulaic.Formula(xformla).get_model_matrix(data, na_action="ignore")
    except Exception as exc:  # formulaic raises many types; re-raise as one named error
        raise SpecificationError(f"att_gt: xformla={xformla!r} cannot be evaluated on data: {exc}") from exc
    if hasattr(mm, "lhs"):
        raise SpecificationError(f"att_gt: xformla={xformla!r} must be one-sided ('~ x1 + x2')")
    names = tuple(map(str, mm.columns))
    return np.asarray(mm, dtype=float), names


# =========================================================================== estimation
def cell_plan(design: PanelDesign, p: ATTgtParams) -> list[tuple[float, int, int, int]]:
    """The (g, index of t, index of base, index of period bounding the comparison group) cells,
    in R ``did``'s order (by cohort, then period)."""
    periods = design.periods
    T = periods.size
    glist = np.unique(design.G[design.G > 0])
    tfac = 1 if p.base_period == "varying" else 0
    plan: list[tuple[float, int, int, int]] = []
    for gv in glist:
        pre_idx = np.flatnonzero(periods + p.anticipation < gv)
        if pre_idx.size == 0:
            continue
        last_pre = int(pre_idx[-1])
        for ti in range(T - tfac):
            cur = ti + tfac
            pret = ti if p.base_period == "varying" else last_pre
            if gv <= periods[cur]:
                pret = last_pre
            ctrl = max(ti, pret) + tfac if p.base_period == "varying" else max(cur, pret)
            plan.append((float(gv), cur, pret, min(ctrl, T - 1)))
    return plan


def _independent_columns(X: np.ndarray) -> np.ndarray:
    """Drop covariate columns that are collinear within a 2x2 sample (e.g. a dummy that is 0 for
    every unit of the comparison); fitted values, and so the estimates, are unchanged (R's
    aliased coefficients)."""
    k = X.shape[1]
    if k == 1 or np.linalg.matrix_rank(X) == k:
        return X
    from scipy.linalg import qr

    _, R, piv = qr(X, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    r = int(np.sum(d > d[0] * max(X.shape) * np.finfo(float).eps))
    keep = np.sort(piv[:r])
    if 0 not in keep:  # keep the intercept column
        keep = np.sort(np.r_[0, keep[:-1]])
    return X[:, keep]


def _control_mask(G: np.ndarray, gv: float, bound_period: float, p: ATTgtParams) -> np.ndarray:
    never = G == 0
    if p.control_group == "notyettreated":
        return never | ((G > bound_period + p.anticipation) & (G != gv))
    return never


def estimate(design: PanelDesign, p: ATTgtParams, drops: tuple[DropRecord, ...] = ()) -> ATTgtResult:
    """Estimate every ATT(g,t) on a prepared :class:`PanelDesign` (pure)."""
    Y, G, periods = design.Y, design.G, design.periods
    n = Y.shape[0]
    plan = cell_plan(design, p)
    K = len(plan)
    att = np.full(K, np.nan)
    ncell = np.zeros(K, dtype=int)
    inf = np.zeros((n, K))
    est = _drdid.ESTIMATORS[p.est_method]
    obs = ~np.isnan(Y)
    ps_cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k, (gv, cur, base, bound) in enumerate(plan):
        if cur == base:  # universal base period: normalised to zero
            att[k] = 0.0
            continue
        treat = G == gv
        ctrl = _control_mask(G, gv, periods[bound], p)
        S = (treat | ctrl) & obs[:, cur] & obs[:, base]
        if design.X is not None:
            xper = min(cur, base)
            S &= np.isfinite(design.X[xper]).all(axis=1)
        idx = np.flatnonzero(S)
        D = treat[idx].astype(float)
        if D.sum() == 0 or D.sum() == idx.size:
            continue  # no treated or no comparison unit observed in both periods: NaN
        dy = Y[idx, cur] - Y[idx, base]
        wi = design.w[idx]
        if design.X is None:
            a, psi = _drdid.mean_did_panel(dy, D, wi)
        else:
            Xc = _independent_columns(design.X[min(cur, base)][idx])
            ps_fit = None
            if p.est_method != "reg":
                # the propensity score depends only on the 2x2 sample and the covariate period:
                # cells sharing both (all post periods of a cohort, balanced) reuse one logit
                key = (gv, min(cur, base), idx.size, hash(idx.tobytes()))
                ps_fit = ps_cache.get(key)
                if ps_fit is None or not np.array_equal(ps_fit[2], idx):
                    try:
                        ps, Hinv = _drdid.logit_fit(Xc, D, wi / wi.mean())
                    except SpecificationError as exc:
                        raise SpecificationError(
                            f"{exc} [cell g={gv:g}, t={periods[cur]:g}, base={periods[base]:g}, "
                            f"{int(D.sum())} treated and {int(idx.size - D.sum())} comparison units]") from exc
                    ps_cache[key] = (ps, Hinv, idx)
                    ps_fit = ps_cache[key]
            a, psi = est(dy, D, Xc, wi, None if ps_fit is None else ps_fit[:2])
        att[k] = a
        ncell[k] = idx.size
        inf[idx, k] = (n / idx.size) * psi
    gcol = np.array([c[0] for c in plan])
    tcol = periods[[c[1] for c in plan]].astype(float)
    bcol = periods[[c[2] for c in plan]].astype(float)
    se = cluster_se(inf, design.cluster)
    se = np.where(np.isnan(att), np.nan, se)
    se_boot = None
    crit = float("nan")
    if p.bstrap:
        ok = ~np.isnan(att)
        mb = multiplier_bootstrap(inf[:, ok], biters=p.biters, alp=p.alp, seed=p.seed,
                                  weights=p.boot_weights,  # type: ignore[arg-type]
                                  cluster=design.cluster if p.clustervars else None)
        se_boot = np.full(K, np.nan)
        se_boot[ok] = mb.se
        crit = mb.crit_val
    return ATTgtResult(group=gcol, t=tcol, base=bcol, att=att, se=se, n_cell=ncell, inffunc=inf,
                       n=n, params=p, design=design, drops=tuple(drops), se_boot=se_boot,
                       crit_val=crit)
