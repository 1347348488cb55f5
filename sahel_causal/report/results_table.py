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

from sahel_causal.estimators import REGISTRY
from sahel_causal.report.notes import FEW_MARK, table_notes, title
from sahel_causal.report.tables import Table


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
    tidy = tr.table_frame()
    rows = []
    col = lambda t, name: t.get(name, math.nan)  # noqa: E731
    for _, t in tidy.iterrows():
        few = FEW_MARK if t["few_clusters"] else ""
        rows.append({
            "Model": t["label"],
            "Estimator": REGISTRY[t["estimator"]].label if t["estimator"] in REGISTRY else t["estimator"],
            "Term": t["term"],
            "Estimate": _num(t["estimate"]),
            "SE (CRV1)": _num(t["std_error"]),
            "p CRV1": _p(t["p_value"]) + few,
            "p CRV3": _p(col(t, "p_crv3")) + (few if pd.notna(col(t, "p_crv3")) else ""),
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
    notes = table_notes(tr) + [
        "1 SD effect: estimate times one within-unit standard deviation of the treatment (estimation sample); for "
        "logits on the log-odds scale. Prob. effect: average marginal effect on the probability (pooled and Firth "
        "logit) or the effect at the sample event rate (conditional logit).",
    ]
    return Table(name=spec.id, title=title(tr), body=body, notes=tuple(notes), provenance=provenance,
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
