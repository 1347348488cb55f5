"""The ``staggered_did`` design: one staggered-adoption DiD model from its specification.

``run(spec, panel)`` estimates the model of a :class:`~sahel_causal.specs.designs.staggered_did.StaggeredDidSpec`
with the estimator it names and returns a :class:`StaggeredDidResult` whose ``tidy()`` has one
row per term x inference method:

* Callaway & Sant'Anna (``cs_dr``, ``cs_ipw``, ``cs_reg``; :func:`sahel_causal.did.att_gt`):
  ``ATT`` = the ``simple`` aggregate, ``e=<k>`` = the ``dynamic`` aggregate within
  [min_e, max_e]; methods ``analytic`` (influence function, clustered), ``bootstrap``
  (multiplier bootstrap SE; the sup-t critical value is in ``diagnostics``) and ``ri``
  (entry years reassigned across units; :func:`sahel_causal.did.randomization.randomization_inference`);
* ``twfe``: static TWFE (``ATT``) plus the event-study TWFE (``e=<k>``), with the Goodman-Bacon
  decomposition and the de Chaisemartin-D'Haultfoeuille weights in ``diagnostics`` and an RI
  p-value for the static coefficient (exact linear algebra: all draws in one projection);
* ``sun_abraham`` (:mod:`sahel_causal.did.sun_abraham`): analytic CRV1 inference;
  ``imputation`` (:mod:`sahel_causal.did.imputation`): analytic GMM inference and RI (all draws'
  first stages solved in one batched linear solve);
* ``dcdh``: DID_l (:mod:`sahel_causal.did.dcdh`) for the (possibly non-absorbing) 0/1
  treatment column ``spec.treatment`` (default: ``1{time >= cohort > 0}``); ``ATT`` = the mean
  of DID_l over l = 1..max_e+1; placebos for l = 1..-min_e-1.

Every estimator uses the same sample: rows with a missing outcome are dropped (recorded).
Assumptions and estimands are those of each estimator's module (parallel trends of untreated
outcomes between entry cohorts and the comparison group, no anticipation beyond
``anticipation``, absorbing entry except for ``dcdh``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.did._common import RESULT_COLUMNS, DidResult, event_term, fe_design, prepare, residualize, sup_t_critical, wald_test
from sahel_causal.errors import SpecificationError
from sahel_causal.specs.designs.staggered_did import StaggeredDidSpec


@dataclass(frozen=True)
class StaggeredDidResult:
    """Estimates of one ``staggered_did`` model: the analytic result plus other inference rows."""

    model_id: str
    label: str
    estimator: str
    outcome: str
    estimates: DidResult
    extra_rows: tuple[tuple[str, str, float, float, float, float, float], ...] = ()
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        base = self.estimates.tidy()
        extra = pd.DataFrame(
            [dict(zip(["term", "method", "estimate", "std_error", "p_value", "ci_low", "ci_high"], r)) for r in self.extra_rows],
            columns=["term", "method", "estimate", "std_error", "p_value", "ci_low", "ci_high"],
        )
        out = pd.concat([base, extra[RESULT_COLUMNS]], ignore_index=True) if len(extra) else base
        return out.assign(model=self.model_id, estimator=self.estimator, outcome=self.outcome)

    def to_dict(self) -> dict[str, Any]:
        from sahel_causal.results import _encode

        return {
            "model_id": self.model_id, "label": self.label, "estimator": self.estimator, "outcome": self.outcome,
            "estimates": self.estimates.to_dict(),
            "extra_rows": _encode([list(r) for r in self.extra_rows], "extra_rows"),
            "diagnostics": _encode(dict(self.diagnostics), "diagnostics"),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StaggeredDidResult":
        from sahel_causal.results import _dec_float, _decode

        rows = tuple((r[0], r[1], *(_dec_float(x) for x in r[2:])) for r in d["extra_rows"])
        return cls(d["model_id"], d["label"], d["estimator"], d["outcome"], DidResult.from_dict(d["estimates"]),
                   rows, _decode(d["diagnostics"]))


def _cohort_column(spec: StaggeredDidSpec, panel: pd.DataFrame) -> pd.DataFrame:
    for c in (spec.outcome, spec.cohort, spec.unit, spec.time):
        if c not in panel.columns:
            raise SpecificationError(f"staggered_did: column {c!r} is not in the panel; see data/processed/codebook.md")
    df = panel.copy()
    df[spec.cohort] = pd.to_numeric(df[spec.cohort], errors="coerce").fillna(0).astype(int)
    return df


def _ri_twfe(df: pd.DataFrame, spec: StaggeredDidSpec, draws: int, seed: int) -> tuple[float, int]:
    """RI p-value of the static TWFE coefficient, reassigning entry years across units.

    beta(G*) = eps(G*)'y / eps(G*)'D(G*), with eps the two-way residual of D: all draws are
    residualised in one least-squares projection (D matrix n x B).
    """
    P = prepare(df, spec.outcome, spec.time, spec.unit, spec.cohort)
    n_units = int(P.unit.max()) + 1
    g_unit = np.zeros(n_units)
    g_unit[P.unit] = P.g
    rng = np.random.default_rng(seed)
    perms = np.vstack([g_unit] + [rng.permutation(g_unit) for _ in range(draws)])  # (B+1) x units
    G = perms[:, P.unit].T  # n x (B+1)
    D = ((G > 0) & (P.time[:, None] >= G)).astype(float)
    X = fe_design(P.unit, P.tcode)
    E = residualize(D, X)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = (E * P.y[:, None]).sum(axis=0) / (E * D).sum(axis=0)
    ok = np.isfinite(beta[1:])
    p = (1 + np.sum(np.abs(beta[1:][ok]) >= abs(beta[0]) - 1e-12)) / (1 + ok.sum())
    return float(p), int(ok.sum())


def _ri_imputation(df: pd.DataFrame, spec: StaggeredDidSpec, draws: int, seed: int) -> tuple[float, int]:
    """RI p-value of the imputation ATT, reassigning entry years across units.

    For each assignment the two-way FE model is fitted on that assignment's untreated cells by
    solving its normal equations (unit and period effects, first period's effect set to zero)
    for all draws at once (batched dense solves), then the ATT is the mean of Y - a_i - l_t over
    treated cells. Units or periods without an untreated cell under a draw are left out of that
    draw, as :func:`sahel_causal.did.imputation.imputation_did` does.
    """
    P = prepare(df, spec.outcome, spec.time, spec.unit, spec.cohort)
    N, T = int(P.unit.max()) + 1, int(P.tcode.max()) + 1
    Y = np.zeros((N, T))
    O = np.zeros((N, T), bool)
    Y[P.unit, P.tcode] = P.y
    O[P.unit, P.tcode] = True
    g_unit = np.zeros(N)
    g_unit[P.unit] = P.g
    rng = np.random.default_rng(seed)
    perms = np.vstack([g_unit] + [rng.permutation(g_unit) for _ in range(draws)])  # B x N
    times = P.time_labels.astype(float)
    treated = (perms[:, :, None] > 0) & (times[None, None, :] >= perms[:, :, None] - spec.anticipation) & O[None]
    U = (O[None] & ~treated).astype(float)  # B x N x T untreated cells
    nu, nt = U.sum(axis=2), U.sum(axis=1)  # B x N, B x T
    UY = U * Y[None]
    k = N + T - 1
    A = np.zeros((U.shape[0], k, k))
    idx_n, idx_t = np.arange(N), np.arange(N, k)
    A[:, idx_n, idx_n] = np.where(nu > 0, nu, 1.0)
    A[:, idx_t, idx_t] = np.where(nt[:, 1:] > 0, nt[:, 1:], 1.0)
    A[:, :N, N:] = U[:, :, 1:]
    A[:, N:, :N] = np.transpose(U[:, :, 1:], (0, 2, 1))
    rhs = np.concatenate([UY.sum(axis=2), UY.sum(axis=1)[:, 1:]], axis=1)
    sol = np.linalg.solve(A, rhs[:, :, None])[:, :, 0]
    alpha = sol[:, :N]
    lam = np.concatenate([np.zeros((U.shape[0], 1)), sol[:, N:]], axis=1)
    ok_cell = treated & (nu > 0)[:, :, None] & (nt > 0)[:, None, :]
    tau = (Y[None] - alpha[:, :, None] - lam[:, None, :]) * ok_cell
    with np.errstate(invalid="ignore", divide="ignore"):
        att = tau.sum(axis=(1, 2)) / ok_cell.sum(axis=(1, 2))
    ok = np.isfinite(att[1:])
    p = (1 + np.sum(np.abs(att[1:][ok]) >= abs(att[0]) - 1e-12)) / (1 + ok.sum())
    return float(p), int(ok.sum())


def _ri_row(term: str, est: float, p: float) -> tuple:
    return (term, "ri", est, math.nan, p, math.nan, math.nan)


def _from_aggte(simple, dyn, cluster, estimator: str, n_treated: int, n_units: int, n_obs: int) -> DidResult:
    from sahel_causal.did.att_gt import cluster_vcov

    terms = ["ATT"] + [event_term(int(e)) for e in dyn.egt]
    est = [simple.overall_att] + list(map(float, dyn.att_egt))
    inf = np.column_stack([simple.inf_func_overall.reshape(-1, 1), dyn.inf_func_egt])
    V = cluster_vcov(inf, cluster)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    return DidResult(estimator=estimator, terms=tuple(terms), estimate=tuple(map(float, est)), std_error=tuple(map(float, se)),
                     vcov=tuple(tuple(map(float, r)) for r in V), n_obs=n_obs, n_units=n_units,
                     n_treated_units=n_treated, df=0, method="analytic")


def run(spec: StaggeredDidSpec, panel: pd.DataFrame, *, progress: Callable[[str], None] | None = None) -> StaggeredDidResult:
    """Estimate one ``staggered_did`` model (pure; deterministic given ``spec.seed``)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _run(spec, panel, progress or (lambda m: None))


def _event_diagnostics(res: DidResult, alpha: float, seed: int, window: tuple[float, float]) -> dict[str, Any]:
    ev = [(i, int(t[2:])) for i, t in enumerate(res.terms) if t.startswith("e=") and window[0] <= int(t[2:]) <= window[1]]
    V = res.vcov_matrix()
    pre = [i for i, e in ev if e < 0]
    stat, dfw, p = wald_test(np.asarray(res.estimate)[pre], V[np.ix_(pre, pre)]) if pre else (math.nan, 0, math.nan)
    idx = [i for i, _ in ev]
    crit = sup_t_critical(V[np.ix_(idx, idx)], alpha=alpha, seed=seed) if idx else math.nan
    return {"pretrend_wald": {"stat": stat, "df": dfw, "p_value": p}, "sup_t_crit": crit}


def _run(spec: StaggeredDidSpec, panel: pd.DataFrame, progress: Callable[[str], None]) -> StaggeredDidResult:
    df = _cohort_column(spec, panel)
    n0 = len(df)
    df = df[df[spec.outcome].notna()].copy()
    dropped_rows = {f"missing {spec.outcome}": n0 - len(df)}
    for c in spec.covariates:
        if c not in df.columns:
            raise SpecificationError(f"staggered_did: covariate {c!r} is not in the panel")
        n1 = len(df)
        df = df[df[c].notna()].copy()
        dropped_rows[f"missing {c}"] = n1 - len(df)
    lo = -math.inf if spec.min_e is None else spec.min_e
    hi = math.inf if spec.max_e is None else spec.max_e
    first_obs = df.groupby(spec.unit)[spec.time].transform("min")
    always = (df[spec.cohort] > 0) & (df[spec.cohort] <= first_obs)
    if always.any():
        dropped_rows["units treated when first observed (no pre-period): " + ", ".join(sorted(df.loc[always, spec.unit].unique()))] = int(always.sum())
        df = df[~always].copy()
    n_treated = int(df.loc[df[spec.cohort] > 0, spec.unit].nunique())
    n_units = int(df[spec.unit].nunique())
    extra: list[tuple] = []
    diag: dict[str, Any] = {"n_treated_units": n_treated, "n_control_units": n_units - n_treated,
                            "cohorts": {str(int(g)): int(n) for g, n in df.loc[df[spec.cohort] > 0].groupby(spec.cohort)[spec.unit].nunique().items()}}
    est = spec.estimator
    progress(f"staggered_did {spec.id or ''}: {est} on {spec.outcome}")
    if est.startswith("cs_"):
        from sahel_causal.did import aggte, att_gt
        from sahel_causal.did.randomization import randomization_inference

        r = att_gt(df, **spec.att_gt_kwargs())
        simple = aggte(r, type="simple")
        dyn = aggte(r, type="dynamic", min_e=lo, max_e=hi, balance_e=spec.balance_e)
        res = _from_aggte(simple, dyn, r.design.cluster, est, n_treated, n_units, int(len(df)))
        if spec.bootstrap:
            z = stats.norm.ppf(1 - spec.alpha / 2)
            b_se = [simple.overall_se_boot] + list(dyn.se_egt_boot if dyn.se_egt_boot is not None else [])
            for term, e, s in zip(res.terms, res.estimate, b_se):
                p = 2 * stats.norm.sf(abs(e / s)) if s > 0 else math.nan
                extra.append((term, "bootstrap", e, float(s), float(p), e - z * s, e + z * s))
            diag["sup_t_crit_bootstrap"] = float(dyn.crit_val_egt)
        if spec.ri_draws:
            ri = randomization_inference(r, type="simple", draws=spec.ri_draws, seed=spec.seed, exact_limit=spec.ri_exact_limit)
            extra.append(_ri_row("ATT", simple.overall_att, ri.p_value))
            diag["ri"] = {"n_assignments": ri.n_assignments, "exact": ri.exact}
        diag["pretrend_wald_gt"] = dict(zip(("stat", "df", "p_value"), r.pretest()))
    elif est == "twfe":
        from sahel_causal.did.twfe import bacon_decomposition, bacon_summary, dcdh_summary, dcdh_weights, twfe_event_study, twfe_static

        if spec.treatment is not None and spec.treatment not in df.columns:
            raise SpecificationError(f"staggered_did: treatment column {spec.treatment!r} is not in the panel")
        st = (twfe_static(df, spec.outcome, spec.time, spec.unit, dname=spec.treatment) if spec.treatment
              else twfe_static(df, spec.outcome, spec.time, spec.unit, spec.cohort))
        leads = int(-lo) if math.isfinite(lo) else 6
        lags = int(hi) if math.isfinite(hi) else 10
        es = twfe_event_study(df, spec.outcome, spec.time, spec.unit, spec.cohort, leads=leads, lags=lags)
        V = np.zeros((1 + len(es.terms),) * 2)
        V[0, 0] = st.vcov[0][0]
        V[1:, 1:] = es.vcov_matrix()
        res = DidResult(estimator="twfe", terms=st.terms + es.terms, estimate=st.estimate + es.estimate,
                        std_error=st.std_error + es.std_error, vcov=tuple(tuple(map(float, r)) for r in V),
                        n_obs=st.n_obs, n_units=st.n_units, n_treated_units=st.n_treated_units, df=st.df, method="crv1",
                        dropped=st.dropped, meta={"event_study": "binned endpoints"})
        w = dcdh_weights(df, spec.outcome, spec.time, spec.unit, spec.cohort)
        s = dcdh_summary(w)
        s["sigma_fe"] = abs(st.estimate[0]) / s["sd_w"] if s["sd_w"] > 0 else math.nan
        diag["dcdh_weights"] = s
        # Goodman-Bacon needs a balanced panel: units observed in every year of the outcome's sample
        years = df.groupby(spec.unit)[spec.time].nunique()
        full = years[years == df[spec.time].nunique()].index
        bal = df[df[spec.unit].isin(full)]
        b = bacon_decomposition(bal, spec.outcome, spec.time, spec.unit, spec.cohort)
        diag["bacon"] = {"n_units_balanced": int(len(full)), "twfe_balanced": float(b.attrs["twfe"]),
                         "by_type": bacon_summary(b).to_dict(orient="records")}
        if spec.ri_draws:
            p, n = _ri_twfe(df, spec, spec.ri_draws, spec.seed)
            extra.append(_ri_row("ATT", st.estimate[0], p))
            diag["ri"] = {"n_assignments": n, "exact": False}
    elif est == "sun_abraham":
        from sahel_causal.did.sun_abraham import sun_abraham

        res = sun_abraham(df, spec.outcome, spec.time, spec.unit, spec.cohort)
    elif est == "imputation":
        from sahel_causal.did.imputation import imputation_did

        hs = None if not math.isfinite(hi) else list(range(0, int(hi) + 1))
        res = imputation_did(df, spec.outcome, spec.time, spec.unit, spec.cohort, horizons=hs, anticipation=spec.anticipation)
        if spec.ri_draws:
            p, n = _ri_imputation(df, spec, spec.ri_draws, spec.seed)
            extra.append(_ri_row("ATT", res.coef("ATT"), p))
            diag["ri"] = {"n_assignments": n, "exact": False}
    elif est == "dcdh":
        from sahel_causal.did.dcdh import did_multiplegt

        tr = spec.treatment
        if tr is None:
            tr = "__treated_from_cohort"
            df[tr] = ((df[spec.cohort] > 0) & (df[spec.time] >= df[spec.cohort])).astype(float)
        elif tr not in df.columns:
            raise SpecificationError(f"staggered_did: treatment column {tr!r} is not in the panel; see data/processed/codebook.md")
        eff = int(hi) + 1 if math.isfinite(hi) else 5
        pl = int(-lo) - 1 if math.isfinite(lo) and lo < -1 else 3
        res = did_multiplegt(df, spec.outcome, spec.time, spec.unit, tr, effects=eff, placebo=pl,
                             bootstrap=spec.biters if spec.bootstrap else 0, seed=spec.seed)
        diag["dcdh_treatment"] = tr
        diag["n_switchers"] = dict(res.meta["n_switchers"])
    else:  # pragma: no cover - the parser rejects unknown estimators
        raise SpecificationError(f"staggered_did: unknown estimator {est!r}")
    diag.update(_event_diagnostics(res, spec.alpha, spec.seed, (lo, hi)))
    diag["dropped"] = [[k, int(v)] for k, v in dropped_rows.items() if v] + [list(d) for d in res.dropped]
    return StaggeredDidResult(spec.id or "", spec.label or "", est, spec.outcome, res, tuple(extra), diag)
