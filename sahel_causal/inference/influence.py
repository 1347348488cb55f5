"""Leave-one-country-out influence of the headline coefficients, and the scaling comparison.

* :func:`leave_one_country_out`: for a table model, the coefficient of its tested term re-estimated
  without each country in turn (linear models: the exact closed form on the partialled design --
  country FE nested in the country clusters, year effects as columns -- so no refits; PPML: refits).
  A single country that moves the estimate by more than its standard error drives the result.
* :func:`scaling_comparison`: the same LPM with training per capita and with log(1 + total),
  side by side on a sample (the Sahel/TSCTP partners), with effects per within-country SD and
  CRV3 intervals (t(G-1)), since the two scalings weight countries very differently.

Pure functions from the panel and a specification to DataFrames.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError


def _model(spec, model_id: str):
    for m in spec.models:
        if m.id == model_id:
            return m
    raise SpecificationError(f"{spec.source_file}: no model {model_id!r}")


def leave_one_country_out(spec, panel: pd.DataFrame, model_id: str, term: str | None = None) -> pd.DataFrame:
    """Rows: country left out, coefficient without it, full-sample coefficient and CRV1 s.e., the shift
    in units of the s.e., and the effect per within-country SD (full-sample SD)."""
    from sahel_causal.estimation import _used_index, _within_sd, _year_dummies
    from sahel_causal.inference.cluster import jackknife_coefficients
    from sahel_causal.models import fe_ols, partialled_design, ppml
    from sahel_causal.specs.transform import derive_all, select_sample

    model = _model(spec, model_id)
    term = term or model.treatments[0]
    cluster = spec.inference.cluster
    df = derive_all(panel, spec)
    sample = select_sample(df, model, spec, cluster).data
    regs = [*model.treatments, *model.controls]
    fe = tuple(model.fixed_effects)
    j = regs.index(term)
    if model.estimator == "ols":
        full = fe_ols(sample, model.outcome, regs, fe=fe, cluster=cluster)
        sample = sample.loc[_used_index(full, sample)]
        data, dummies = _year_dummies(sample) if "year" in fe else (sample, [])
        other = tuple(f for f in fe if f != "year")
        if any(f != cluster for f in other):
            raise SpecificationError(f"[model {model_id}] leave-one-out needs FE nested in the clusters")
        d = partialled_design(data, model.outcome, [*regs, *dummies], fe=other or None, cluster=cluster)
        jack = jackknife_coefficients(d.X_tilde, d.y_tilde, d.cluster_codes)[:, j]
        labels = sorted(data.loc[d.kept_index, cluster].unique())
    elif model.estimator == "ppml":
        full = ppml(sample, model.outcome, regs, fe=fe, cluster=cluster)
        sample = sample.loc[_used_index(full, sample)]  # without countries PPML drops (all-zero outcome)
        labels = sorted(sample[cluster].unique())
        jack = []
        for g in labels:
            try:
                jack.append(float(ppml(sample[sample[cluster] != g], model.outcome, regs, fe=fe,
                                       cluster=cluster).coef[term]))
            except Exception:  # noqa: BLE001 - e.g. the outcome stops varying: recorded as NaN
                jack.append(np.nan)
        jack = np.asarray(jack)
    else:
        raise SpecificationError(f"[model {model_id}] leave-one-country-out is implemented for ols and ppml")
    # Refits agree with each other only to the last bits (iterative demeaning and PPML), and the
    # shift is a small difference of two such numbers: round both to 12 significant digits first so
    # that the published shift is the same in every run.
    b, se = _sig(float(full.coef[term])), float(full.std_errors[term])
    jack = np.array([_sig(float(x)) for x in jack])
    sd = _within_sd(sample, term)
    out = pd.DataFrame({"table": spec.id, "model": model_id, "label": model.label, "term": term,
                        "country_left_out": labels, "estimate_without": jack, "estimate_full": b, "se_full": se})
    out["shift_in_se"] = (out["estimate_without"] - b) / se
    out["effect_1sd_without"] = out["estimate_without"] * sd
    out["effect_1sd_full"] = b * sd
    return out


def scaling_comparison(spec, panel: pd.DataFrame, model_ids: tuple[str, ...] = ("lpm", "lpm_total"),
                       countries: str = "sahel_partners", alpha: float = 0.05) -> pd.DataFrame:
    """The models ``model_ids`` refitted on ``countries``; effect per within-SD with CRV3 interval."""
    from sahel_causal.estimation import _attach_crv3, _used_index, _within_sd
    from sahel_causal.models import fe_ols
    from sahel_causal.specs.transform import derive_all, select_sample

    df = derive_all(panel, spec)
    cluster = spec.inference.cluster
    rows = []
    for mid in model_ids:
        m = _model(spec, mid)
        m = replace(m, sample=replace(m.sample, countries=countries))
        sample = select_sample(df, m, spec, cluster).data
        regs = [*m.treatments, *m.controls]
        fe = tuple(m.fixed_effects)
        res = fe_ols(sample, m.outcome, regs, fe=fe, cluster=cluster)
        res = _attach_crv3(res, sample, m, regs, fe, cluster, alpha)
        used = sample.loc[_used_index(res, sample)]
        term = m.treatments[0]
        rec = res.inference["crv3"][term]
        sd = _within_sd(used, term)
        zeros = int((used[term] == 0).sum())
        rows.append({"sample": countries, "model": mid, "label": m.label, "term": term,
                     "estimate": float(res.coef[term]), "within_sd": sd, "effect_1sd": float(res.coef[term]) * sd,
                     "ci_crv3_low_1sd": rec.ci_low * sd, "ci_crv3_high_1sd": rec.ci_high * sd,
                     "p_crv1": float(2 * stats.t(df=res.n_clusters - 1).sf(abs(res.coef[term] / res.std_errors[term]))),
                     "p_crv3": rec.p_value, "nobs": res.nobs, "n_clusters": res.n_clusters,
                     "rows_with_zero_treatment": zeros})
    return pd.DataFrame(rows)


def _sig(x: float, digits: int = 12) -> float:
    """``x`` rounded to ``digits`` significant digits (NaN stays NaN)."""
    return x if not np.isfinite(x) else float(f"{x:.{digits}g}")
