"""Logit models for rare binary events (coups): conditional (fixed-effects) logit and pooled logit.

Conditional logit (Chamberlain 1980). With :math:`P(y_{it}=1) = \\Lambda(x_{it}'\\beta +
\\alpha_i [+ \\gamma_t])`, conditioning on each country's number of events
:math:`n_i=\\sum_t y_{it}` removes :math:`\\alpha_i`:

.. math:: L_i(\\beta) = \\frac{\\exp(\\sum_t y_{it} x_{it}'\\beta)}
          {\\sum_{d\\in\\{0,1\\}^{T_i}: \\sum_t d_t = n_i} \\exp(\\sum_t d_t x_{it}'\\beta)},

so :math:`\\beta` (log odds ratios) is estimated without incidental-parameter bias. Countries
whose outcome never varies (no coup, or a coup every year) contribute :math:`L_i = 1` and are
dropped and reported; with year dummies (``time=...``) years with no variation are dropped too
(their dummy would be :math:`\\pm\\infty`), repeating until nothing changes. Estimated with
statsmodels ``ConditionalLogit`` (Newton steps on its exact score); the Hessian is exact
(:func:`clogit_hessian`: the elementary-symmetric-polynomial recursion carried with its first and
second derivatives), so the standard errors do not depend on a finite-difference step or on the
BLAS kernel in the last digits. The cluster-robust variance is the sandwich on the
conditional-likelihood group scores :math:`s_i = \\partial \\log L_i/\\partial\\beta`,

.. math:: V = c\\,H^{-1}\\Big(\\sum_{g}\\big(\\textstyle\\sum_{i\\in g} s_i\\big)
          \\big(\\textstyle\\sum_{i\\in g} s_i\\big)'\\Big)H^{-1},\\qquad
          c = \\frac{G}{G-1}\\cdot\\frac{N-1}{N-K},

which requires the countries to be nested in the clusters (clustering by country, or by region).
Probability-scale effects are not identified without :math:`\\alpha_i`; see
:func:`sahel_causal.models.marginal_effects.effect_at_baseline`.

Pooled logit with duration dependence (Beck, Katz & Tucker 1998; Carter & Signorino 2010):
:math:`P(y_{it}=1) = \\Lambda(\\beta_0 + x_{it}'\\beta + \\delta_1 t + \\delta_2 t^2 + \\delta_3 t^3)`
where :math:`t` is the time since the country's last event (:func:`time_since_event`).
Estimated by statsmodels ``Logit`` (Newton, tolerance 1e-10) after a linear-programming check for
separation (Konis 2007, via ``firthmodels.detect_separation``): separated data raise an error
that points to :func:`sahel_causal.models.firth.firth_logit`. Cluster-robust variance with the
same factor :math:`c` (statsmodels' default), :math:`K` counting all estimated parameters.
The tables' leave-one-cluster-out refits (CRV3) reproduce this fit with analytic Newton steps
(:mod:`sahel_causal.inference.logit_fast`), sharing :func:`check_logit_rank` and
:func:`check_separation`.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from sahel_causal.errors import DuplicateKeyError, SchemaError, SpecificationError
from sahel_causal.models.fe_ols import (
    _without_id,
    Sample,
    as_name_tuple,
    check_numeric,
    cluster_label,
    drop_missing,
    merge_metadata,
    model_columns,
    row_ids,
    validate_columns,
)
from sahel_causal.results import DropRecord, EstimationResult, data_checksum, spec_hash

LogitVcov = Literal["CRV1", "hetero", "model"]
ClogitVcov = Literal["CRV1", "model"]


# =========================================================================== time since event
def time_since_event(
    df: pd.DataFrame,
    unit: str,
    time: str,
    event: str,
    history: Mapping[Any, float | None] | None = None,
) -> pd.Series:
    """Years since the unit's most recent event strictly before each period.

    For unit :math:`i` in period :math:`t`, the value is :math:`t - e_i(t)` where
    :math:`e_i(t)` is the last period :math:`s < t` with an event. An event in period
    :math:`t` itself does not count (the variable is predetermined), so the period right after
    an event has value 1. Periods are calendar values, so gaps in the panel do not shift it.

    Left censoring: before a unit's first observed event, :math:`e_i(t)` is taken from
    ``history[unit]`` (the last event before the panel, e.g. from an earlier coup list) when
    given, and otherwise is the unit's first observed period, i.e. the clock starts at 0 in
    the first year observed. The latter understates true durations for units with no known
    earlier event; pass ``history`` to avoid that.

    Returns a float Series aligned to ``df.index`` named ``time_since_<event>``. The caller's
    frame is not modified. Raises on duplicated (unit, time) pairs and on event values other
    than 0/1.
    """
    validate_columns(df, [unit, time, event])
    if df[[unit, time]].isna().any().any():
        raise SchemaError(f"{unit!r} and {time!r} must not be missing")
    if df.duplicated([unit, time]).any():
        raise DuplicateKeyError(f"({unit}, {time}) is not unique in the data")
    ev = df[event]
    if ev.isna().any() or not ev.isin([0, 1, True, False]).all():
        raise SchemaError(f"{event!r} must be 0/1 without missing values")
    check_numeric(df, [time])
    hist = dict(history or {})
    order = df.sort_values([unit, time]).index
    t_vals = df.loc[order, time].to_numpy(dtype=float)
    units = df.loc[order, unit].to_numpy()
    events = df.loc[order, event].to_numpy(dtype=float)
    out = np.empty(len(order))
    current = object()
    last = np.nan
    for k in range(len(order)):
        if units[k] != current:
            current = units[k]
            h = hist.get(current)
            if h is not None and not pd.isna(h):
                if h >= t_vals[k]:
                    raise SchemaError(f"history for {current!r} ({h}) is not before its first period {t_vals[k]}")
                last = float(h)
            else:
                last = t_vals[k]
        out[k] = t_vals[k] - last
        if events[k] == 1:
            last = t_vals[k]
    return pd.Series(out, index=order, name=f"time_since_{event}").reindex(df.index)


# =========================================================================== conditional logit
@dataclass(frozen=True)
class ClogitConfig:
    """Validated, frozen inputs of :func:`conditional_logit`."""

    outcome: str
    regressors: tuple[str, ...]
    group: str
    time: str | None
    cluster: str | None
    vcov: ClogitVcov
    spec_id: str

    @property
    def used_columns(self) -> tuple[str, ...]:
        return model_columns(self.outcome, self.regressors, self.group, self.time, self.cluster)


def conditional_logit(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    group: str = "iso3",
    time: str | None = None,
    cluster: str | None = "iso3",
    vcov: ClogitVcov = "CRV1",
    *,
    spec_id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> EstimationResult:
    """Fixed-effects (conditional) logit by ``group``, optionally with ``time`` dummies.

    See the module docstring for the likelihood, the dropped groups and years, and the
    cluster-robust variance. The result holds the slopes of ``regressors`` (log odds ratios);
    year-dummy coefficients are kept in ``result.aux["params_full"]``.
    """
    regs = as_name_tuple(regressors, "regressors")
    if not regs:
        raise SpecificationError("at least one regressor is needed")
    if vcov not in ("CRV1", "model"):
        raise SpecificationError(f"vcov must be 'CRV1' or 'model', got {vcov!r}")
    if vcov == "CRV1" and cluster is None:
        raise SpecificationError("vcov='CRV1' needs a cluster column")
    if outcome in regs or group in regs or (time is not None and time in regs):
        raise SpecificationError("outcome, regressors, group and time must be distinct columns")
    cfg = ClogitConfig(outcome, regs, group, time, cluster if vcov == "CRV1" else None, vcov, str(spec_id))
    validate_columns(df, cfg.used_columns)
    check_numeric(df, [outcome, *regs])
    _check_binary(df[outcome], outcome)
    sample, base_rate = _clogit_sample(df, cfg)
    return _fit_clogit(sample, cfg, base_rate, metadata)


def _check_binary(y: pd.Series, name: str) -> None:
    values = pd.unique(y.dropna())
    if not set(np.asarray(values, dtype=float)) <= {0.0, 1.0}:
        raise SchemaError(f"outcome {name!r} must be 0/1 (found {sorted(values)[:5]}...)")


def _no_variation(frame: pd.DataFrame, outcome: str, by: str) -> list:
    s = frame.groupby(by, sort=True, observed=True)[outcome].agg(["min", "max"])
    return list(s.index[s["min"] == s["max"]])


def _clogit_sample(df: pd.DataFrame, cfg: ClogitConfig) -> tuple[Sample, float]:
    frame = df.loc[:, list(cfg.used_columns)]
    frame, dropped = drop_missing(frame, list(cfg.used_columns))
    base_rate = float(frame[cfg.outcome].mean()) if len(frame) else float("nan")
    by = [cfg.group] + ([cfg.time] if cfg.time else [])
    levels: dict[str, list] = {b: [] for b in by}
    rows: dict[str, list] = {b: [] for b in by}
    while True:
        changed = False
        for b in by:
            bad = _no_variation(frame, cfg.outcome, b)
            if bad:
                hit = frame[b].isin(bad).to_numpy()
                levels[b] += bad
                rows[b] += list(frame.index[hit])
                frame = frame.loc[~hit]
                changed = True
        if not changed:
            break
    for b in by:
        if levels[b]:
            what = "group" if b == cfg.group else "period"
            dropped.append(DropRecord(f"{b} with no variation in {cfg.outcome!r} ({what} conditioned out)", "group",
                                      len(levels[b]), tuple(f"{b}={v}" for v in levels[b])))
            dropped.append(DropRecord(f"row of a {b} with no variation in {cfg.outcome!r}", "row",
                                      len(rows[b]), row_ids(pd.Index(rows[b]))))
    if frame.empty:
        raise SpecificationError(f"no {cfg.group} has variation in {cfg.outcome!r}; conditional logit is not identified")
    return Sample(frame, tuple(dropped)), base_rate


def _clogit_design(frame: pd.DataFrame, cfg: ClogitConfig) -> pd.DataFrame:
    X = frame[list(cfg.regressors)].astype(float)
    if cfg.time:
        levels = sorted(frame[cfg.time].unique())
        dummies = {f"{cfg.time}={v}": (frame[cfg.time] == v).astype(float) for v in levels[1:]}
        X = pd.concat([X, pd.DataFrame(dummies, index=frame.index)], axis=1)
    # identification: every column must vary within groups
    within = X - X.groupby(frame[cfg.group]).transform("mean")
    const = [c for c in X.columns if np.allclose(within[c].to_numpy(), 0.0)]
    if const:
        raise SpecificationError(f"constant within {cfg.group} (conditioned out, not identified): {const}")
    if np.linalg.matrix_rank(within.to_numpy()) < X.shape[1]:
        raise SpecificationError(f"regressors are collinear within {cfg.group}: {list(X.columns)}")
    return X


def clogit_hessian(X: np.ndarray, y: np.ndarray, groups: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Exact Hessian of the conditional logit log-likelihood :math:`\\sum_i \\log L_i(\\beta)`.

    For a group with linear indices :math:`\\eta_t = x_t'\\beta` and :math:`n_i` events, the
    denominator of :math:`L_i` is the elementary symmetric polynomial
    :math:`e_{n_i}(w)` of :math:`w_t = \\exp(\\eta_t)`. The recursion
    :math:`e_m \\leftarrow e_m + w_t e_{m-1}` over the group's rows is carried together with its
    gradient and Hessian in :math:`\\beta` (all terms added, no differences), and
    :math:`\\partial^2 \\log L_i = -(e''/e - (e'/e)(e'/e)')`, i.e. minus the covariance of
    :math:`\\sum_{t \\in S} x_t` over the arrangements :math:`S` of the events (Chamberlain 1980).
    Weights are scaled by :math:`\\exp(-\\max_t \\eta_t)` within the group, which cancels.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    K = X.shape[1]
    H = np.zeros((K, K))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        n_ev = int(round(float(y[idx].sum())))
        if n_ev == 0 or n_ev == len(idx):
            continue
        Xg = X[idx]
        eta = Xg @ beta
        w = np.exp(eta - eta.max())
        e = np.zeros(n_ev + 1)
        de = np.zeros((n_ev + 1, K))
        d2e = np.zeros((n_ev + 1, K, K))
        e[0] = 1.0
        for t in range(len(idx)):
            x = Xg[t]
            wt = w[t]
            # update from the top so that index m-1 still holds the previous row's values
            new_e = e[:-1] * wt
            new_de = wt * (de[:-1] + np.outer(e[:-1], x))
            new_d2e = wt * (d2e[:-1] + np.einsum("m,i,j->mij", e[:-1], x, x)
                            + np.einsum("mi,j->mij", de[:-1], x) + np.einsum("i,mj->mij", x, de[:-1]))
            e[1:] += new_e
            de[1:] += new_de
            d2e[1:] += new_d2e
        g1 = de[n_ev] / e[n_ev]
        H -= d2e[n_ev] / e[n_ev] - np.outer(g1, g1)
    return (H + H.T) / 2.0


def _fit_clogit(sample: Sample, cfg: ClogitConfig, base_rate: float,
                metadata: Mapping[str, Any] | None) -> EstimationResult:
    from statsmodels.discrete.conditional_models import ConditionalLogit

    frame = sample.frame
    X = _clogit_design(frame, cfg)
    y = frame[cfg.outcome].to_numpy(dtype=float)
    gcodes, glabels = pd.factorize(frame[cfg.group], sort=True)
    model = ConditionalLogit(y, X.to_numpy(), groups=gcodes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(method="newton", maxiter=200, disp=False, skip_hessian=True)
    params = np.asarray(fit.params, dtype=float)
    grad = model.score(params)
    if not np.all(np.isfinite(params)) or np.max(np.abs(grad)) > 1e-6 * max(1.0, len(y)):
        raise SpecificationError(f"conditional logit did not converge (max |score| = {np.max(np.abs(grad)):.3g}); "
                                 "check for separation or use firth_logit with fixed-effect dummies")
    H = clogit_hessian(X.to_numpy(dtype=float), y, gcodes, params)
    bread = np.linalg.inv(-H)
    K = X.shape[1]
    N = len(y)
    names = list(X.columns)
    # statsmodels stores groups in order of first appearance of the codes
    order = pd.unique(gcodes)
    scores = np.vstack([model.score_grp(g, params) for g in range(len(order))])
    if cfg.vcov == "CRV1":
        cl_of_group = frame.groupby(gcodes, sort=True)[cfg.cluster].nunique()
        if (cl_of_group > 1).any():
            raise SpecificationError(f"each {cfg.group} must lie in one {cfg.cluster} cluster for the "
                                     "conditional-likelihood sandwich")
        cl_by_code = frame.groupby(gcodes, sort=True)[cfg.cluster].first()
        ccodes, _ = pd.factorize(cl_by_code.loc[order].to_numpy(), sort=True)
        G = int(ccodes.max()) + 1
        if G < 2:
            raise SpecificationError("cluster-robust variance needs at least two clusters")
        S = np.zeros((G, K))
        np.add.at(S, ccodes, scores)
        factor = G / (G - 1) * (N - 1) / (N - K)
        V = factor * bread @ (S.T @ S) @ bread
        n_clusters: int | None = G
    else:
        V = bread
        factor = 1.0
        n_clusters = None
    V = (V + V.T) / 2.0
    k = len(cfg.regressors)
    full = pd.Series(params, index=names)
    vfull = pd.DataFrame(V, index=names, columns=names)
    fes = (cfg.group,) + ((cfg.time,) if cfg.time else ())
    auto = {
        "data_checksum": data_checksum(frame),
        "spec_hash": spec_hash({"estimator": "conditional_logit", **_without_id(asdict(cfg))}),
        "seed": None,
        "regressors": list(cfg.regressors),
        "cluster": cfg.cluster,
        "small_sample_factor": float(factor),
        "outcome_mean_all_groups": base_rate,
        "loglik": float(model.loglike(params)),
    }
    return EstimationResult(
        spec_id=cfg.spec_id,
        estimator="conditional_logit",
        outcome=cfg.outcome,
        coef=full.iloc[:k],
        vcov=vfull.iloc[:k, :k],
        vcov_label=cluster_label(cfg.vcov, cfg.cluster),
        nobs=N,
        n_clusters=n_clusters,
        n_groups={f: int(frame[f].nunique()) for f in fes},
        outcome_mean=float(np.mean(y)),
        fixed_effects=fes,
        dropped=sample.dropped,
        dist="normal",
        metadata=merge_metadata(auto, metadata),
        aux={"kind": "conditional_logit", "params_full": full, "vcov_full": vfull,
             "group_scores": pd.DataFrame(scores, index=[str(glabels[g]) for g in order], columns=names)},
    )


# =========================================================================== pooled logit
@dataclass(frozen=True)
class PooledLogitConfig:
    """Validated, frozen inputs of :func:`pooled_logit`."""

    outcome: str
    regressors: tuple[str, ...]
    duration: str | None
    dummies: tuple[str, ...]
    cluster: str | None
    vcov: LogitVcov
    spec_id: str

    @property
    def used_columns(self) -> tuple[str, ...]:
        return model_columns(self.outcome, self.regressors, self.duration or None, *self.dummies,
                             self.cluster or None)


def pooled_logit(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    *,
    duration: str | None = None,
    dummies: str | Sequence[str] | None = (),
    cluster: str | None = "iso3",
    vcov: LogitVcov = "CRV1",
    spec_id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> EstimationResult:
    """Pooled logit with an intercept, optional cubic duration terms and optional dummies.

    ``duration`` names a column made by :func:`time_since_event`; the model then includes
    ``duration``, ``duration^2`` and ``duration^3`` (Carter & Signorino 2010). ``dummies`` are
    categorical columns entered as indicator sets (first sorted level omitted), e.g. region or
    year; their coefficients stay in ``result.aux``. ``vcov``: ``"CRV1"`` (by ``cluster``),
    ``"hetero"`` (HC0 sandwich) or ``"model"`` (inverse information).
    """
    regs = as_name_tuple(regressors, "regressors")
    if not regs:
        raise SpecificationError("at least one regressor is needed")
    dums = as_name_tuple(dummies, "dummies")
    if vcov not in ("CRV1", "hetero", "model"):
        raise SpecificationError(f"vcov must be 'CRV1', 'hetero' or 'model', got {vcov!r}")
    if vcov == "CRV1" and cluster is None:
        raise SpecificationError("vcov='CRV1' needs a cluster column")
    if outcome in regs or (duration is not None and duration in regs) or set(dums) & (set(regs) | {outcome}):
        raise SpecificationError("outcome, regressors, duration and dummies must be distinct columns")
    cfg = PooledLogitConfig(outcome, regs, duration, dums, cluster if vcov == "CRV1" else None, vcov, str(spec_id))
    validate_columns(df, cfg.used_columns)
    check_numeric(df, [outcome, *regs] + ([duration] if duration else []))
    _check_binary(df[outcome], outcome)
    frame = df.loc[:, list(cfg.used_columns)]
    frame, dropped = drop_missing(frame, list(cfg.used_columns))
    if frame.empty:
        raise SpecificationError("no observations left after dropping missing values")
    return _fit_pooled(Sample(frame, tuple(dropped)), cfg, metadata)


def logit_design(frame: pd.DataFrame, regressors: Sequence[str], duration: str | None,
                 dummies: Sequence[str]) -> pd.DataFrame:
    """Design matrix: Intercept, regressors, cubic duration terms, then indicator columns."""
    X = pd.DataFrame({"Intercept": np.ones(len(frame))}, index=frame.index)
    for r in regressors:
        X[r] = frame[r].astype(float)
    if duration:
        d = frame[duration].astype(float)
        X[duration] = d
        X[f"{duration}^2"] = d**2
        X[f"{duration}^3"] = d**3
    for f in dummies:
        levels = sorted(frame[f].unique())
        for v in levels[1:]:
            X[f"{f}={v}"] = (frame[f] == v).astype(float)
    return X


POOLED_NOT_CONVERGED = "pooled logit did not converge; check for (quasi-)separation or use firth_logit"


def check_logit_rank(X: np.ndarray, names: Sequence[str]) -> None:
    """Raise if the design (intercept first) is rank deficient (``numpy.linalg.matrix_rank``)."""
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise SpecificationError(f"the logit design is rank deficient: {list(names)}")


def check_separation(X: np.ndarray, y: np.ndarray, names: Sequence[str]) -> None:
    """Raise if the data are (quasi-)completely separated: the linear program of Konis (2007)
    (``firthmodels.detect_separation``) on the design without its first column, the intercept.
    Its own errors (rank deficiency by its QR rule, an outcome that does not vary) propagate."""
    from firthmodels import detect_separation

    sep = detect_separation(X[:, 1:], y, fit_intercept=True)
    if sep.separation:
        order = list(names[1:]) + ["Intercept"]
        infinite = [n for n, fin in zip(order, sep.is_finite) if not fin]
        raise SpecificationError(f"separation: maximum-likelihood estimates are infinite for {infinite}; "
                                 "use firth_logit (Firth-penalised logit) for these data")


def _fit_pooled(sample: Sample, cfg: PooledLogitConfig, metadata: Mapping[str, Any] | None) -> EstimationResult:
    from statsmodels.discrete.discrete_model import Logit  # not statsmodels.api: 0.5 s less to import

    frame = sample.frame
    X = logit_design(frame, cfg.regressors, cfg.duration, cfg.dummies)
    y = frame[cfg.outcome].to_numpy(dtype=float)
    check_logit_rank(X.to_numpy(), list(X.columns))
    check_separation(X.to_numpy(), y, list(X.columns))
    if cfg.vcov == "CRV1":
        codes = pd.factorize(frame[cfg.cluster], sort=True)[0]
        cov = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    elif cfg.vcov == "hetero":
        cov = {"cov_type": "HC0"}
    else:
        cov = {"cov_type": "nonrobust"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Logit(y, X.to_numpy()).fit(method="newton", maxiter=200, tol=1e-10, disp=False, **cov)
    if not res.mle_retvals.get("converged", False):
        raise SpecificationError(POOLED_NOT_CONVERGED)
    names = list(X.columns)
    full = pd.Series(np.asarray(res.params), index=names)
    vfull = pd.DataFrame(np.asarray(res.cov_params()), index=names, columns=names)
    shown = ["Intercept", *cfg.regressors]
    if cfg.duration:
        shown += [cfg.duration, f"{cfg.duration}^2", f"{cfg.duration}^3"]
    N, K = X.shape
    n_clusters = int(frame[cfg.cluster].nunique()) if cfg.cluster else None
    factor = (n_clusters / (n_clusters - 1) * (N - 1) / (N - K)) if n_clusters else 1.0
    auto = {
        "data_checksum": data_checksum(frame),
        "spec_hash": spec_hash({"estimator": "pooled_logit", **_without_id(asdict(cfg))}),
        "seed": None,
        "regressors": list(cfg.regressors),
        "cluster": cfg.cluster,
        "small_sample_factor": float(factor),
        "loglik": float(res.llf),
    }
    return logit_result(cfg.spec_id, "pooled_logit", cfg.outcome, X, full, vfull, shown,
                        cluster_label(cfg.vcov, cfg.cluster) if cfg.vcov != "hetero" else "HC0 (heteroskedasticity-robust)",
                        n_clusters, frame, cfg.dummies, y, sample.dropped, merge_metadata(auto, metadata), cfg.regressors)


def logit_result(spec_id: str, estimator: str, outcome: str, X: pd.DataFrame, full: pd.Series, vfull: pd.DataFrame,
                 shown: Sequence[str], vcov_label: str, n_clusters: int | None, frame: pd.DataFrame,
                 dummies: tuple[str, ...], y: np.ndarray, dropped: tuple, metadata: Mapping[str, Any],
                 regressors: Sequence[str]) -> EstimationResult:
    """The result of a logit with explicit dummies (pooled or Firth): the shown terms, the full
    coefficient vector and design in ``aux`` (for average marginal effects)."""
    shown = list(shown)
    return EstimationResult(
        spec_id=spec_id,
        estimator=estimator,
        outcome=outcome,
        coef=full.loc[shown],
        vcov=vfull.loc[shown, shown],
        vcov_label=vcov_label,
        nobs=len(y),
        n_clusters=n_clusters,
        n_groups={f: int(frame[f].nunique()) for f in dummies},
        outcome_mean=float(np.mean(y)),
        fixed_effects=dummies,
        dropped=dropped,
        dist="normal",
        metadata=metadata,
        aux={"kind": "logit", "X": X, "params_full": full, "vcov_full": vfull, "ame_terms": list(regressors)},
    )
