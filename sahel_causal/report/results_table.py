"""Format a :class:`~sahel_causal.estimate.TableResult` as a publication table (Tables 2-4).

Long layout: one row per model and treatment term, with every inference method side by side
(analytic CRV1 and CRV3, restricted wild cluster bootstrap with Rademacher and Webb weights,
randomization inference), the effect of a one within-country standard deviation change, the
marginal effect on the probability scale for the logit models, and the sample (N, countries,
clusters, outcome mean, events). Reports format results; they never estimate.
"""
from __future__ import annotations

import math

import pandas as pd

from sahel_causal.report.tables import Table

ESTIMATOR_LABEL = {"ols": "OLS/LPM", "ppml": "PPML", "conditional_logit": "Cond. logit", "firth": "Firth logit",
                   "logit_cubic": "Logit + cubic"}


def _num(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    a = abs(x)
    if a != 0 and (a < 1e-3 or a >= 1e4):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def _p(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _ci(lo: float, hi: float) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (lo, hi)):
        return "--"
    return f"[{_num(lo)}, {_num(hi)}]"


def format_results(tr, provenance: dict[str, str]) -> Table:  # tr: TableResult
    """The formatted table and its machine-readable CSV (the tidy frame)."""
    tidy = tr.tidy()
    rows = []
    col = lambda t, name: t.get(name, math.nan)  # noqa: E731
    for _, t in tidy.iterrows():
        rows.append({
            "Model": t["label"],
            "Estimator": ESTIMATOR_LABEL.get(t["estimator"], t["estimator"]),
            "Term": t["term"],
            "Estimate": _num(t["estimate"]),
            "SE (CRV1)": _num(t["std_error"]),
            "p CRV1": _p(t["p_value"]),
            "p CRV3": _p(col(t, "p_crv3")),
            "p WCR-R": _p(col(t, "p_wild_rademacher")),
            "p WCR-W": _p(col(t, "p_wild_webb")),
            "95% CI (WCR-W)": _ci(col(t, "ci_wild_webb_low"), col(t, "ci_wild_webb_high")),
            "p RI": _p(col(t, "p_ri")),
            "1 SD effect": _num(t["effect_1sd"]),
            "Prob. effect": _num(col(t, "margin")),
            "N (countries)": f"{int(t['nobs'])} ({int(t['n_countries'])})",
            "FE": t["fixed_effects"] or "none",
            "G": "--" if pd.isna(t["n_clusters"]) else str(int(t["n_clusters"])),
            "Mean y": _num(t["outcome_mean"]),
        })
    body = pd.DataFrame(rows)
    spec = tr.spec
    wb, ri = spec.inference.wild_bootstrap, spec.inference.randomization
    notes = list(spec.notes) + [
        "Estimates with country and year fixed effects unless the model says otherwise; controls: lagged log GDP per "
        "capita and V-Dem polyarchy. Standard errors clustered by country (CRV1, t(G-1) reference); CRV3 = "
        "leave-one-country-out jackknife (MacKinnon, Nielsen & Webb 2023).",
        (f"WCR = restricted wild cluster bootstrap by country, {wb.draws} draws (all 2^G sign vectors when fewer), "
         f"Rademacher (R) and Webb (W) weights, seed {wb.seed}; CI by test inversion." if wb else "No wild bootstrap.")
        + (f" RI = randomization inference permuting countries' treatment paths among countries observed in the same "
           f"years, {ri.permutations} permutations, seed {ri.seed}; CRV1 t statistic (Young 2019)." if ri else ""),
        "For PPML and the pooled logit, WCR is the wild score cluster bootstrap with the null imposed (Kline & Santos "
        "2012; 'refit' studentization), CRV3 the leave-one-country-out jackknife of refits. Conditional and Firth "
        "logits: analytic p-values only (Firth's profile penalized-likelihood inference is in the CSV). RI is computed "
        "for linear models only, and not for a model whose second treatment is a lead of the first.",
        "1 SD effect: estimate times one within-country standard deviation of the treatment (estimation sample); for "
        "logits on the log-odds scale. Prob. effect: average marginal effect on the probability (pooled and Firth "
        "logit) or the effect at the sample coup rate (conditional logit).",
    ]
    return Table(name=spec.id, title=spec.title, body=body, notes=tuple(notes), provenance=provenance,
                 raw=tidy)


def sample_notes(tr) -> pd.DataFrame:
    """Per model: rows dropped by reason, events (coups) used and the country-years with events not used."""
    recs = []
    for mo in tr.models:
        drops = "; ".join(f"{r}: {n}" for r, n in mo.sample_drops)
        est_drops = "; ".join(f"{d.reason}: {d.count} {d.level}(s)" for d in mo.result.dropped)
        recs.append({"model": mo.model.id, "nobs": mo.result.nobs, "n_countries": mo.n_countries,
                     "n_events": mo.n_events if mo.n_events is not None else "",
                     "sample_drops": drops, "estimator_drops": est_drops,
                     "events_not_used": ", ".join(mo.events_lost)})
    return pd.DataFrame(recs)
