"""Table notes generated from the specification, the estimator registry and the results.

Nothing here is typed per table: the sample, the controls (with their variable notes), the fixed
effects, the estimators (label and reference from the registry), every inference method with its
draws, weights and seeds, the methods not computed and why, the few-cluster flags and, for a
rerun, the ``--set`` overrides all come from the objects given, so a rerun is described
truthfully. Pure functions: results in, strings out.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sahel_causal import estimators
from sahel_causal.results import FEW_CLUSTERS, FEW_TREATED

FEW_MARK = "\u2020"  # dagger next to p-values that rest on few clusters


def _join(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _grouped(models: list[Any], key) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for m in models:
        out[key(m)].append(m.id)
    return out


def _scope(ids: list[str], all_ids: list[str]) -> str:
    if ids == all_ids:
        return "all models"
    rest = [i for i in all_ids if i not in ids]
    if len(rest) < len(ids) and len(rest) <= 3:
        return "all models except " + ", ".join(rest)
    return ("model " if len(ids) == 1 else "models ") + ", ".join(ids)


def title(tr: Any) -> str:
    """The table title; a rerun says so and lists its overrides."""
    spec = tr.spec
    if spec.overrides:
        return f"Rerun of {spec.title} (--set {'; '.join(spec.overrides)})"
    return spec.title


def _sample(spec: Any) -> list[str]:
    ids = [m.id for m in spec.models]

    def desc(m: Any) -> str:
        s = m.sample
        c = s.countries if isinstance(s.countries, str) else "countries " + " ".join(s.countries)
        c = {"africa": "all African states" if spec.data.unit == "iso3" else "all units",
             "sahel_g5": "the Sahel G5", "sahel_partners": "the Sahel G5 and other U.S. CT partners"}.get(c, c)
        parts = [f"{c}, {spec.data.time} {s.years[0]}-{s.years[1]}"]
        if s.exclude_suspension_years:
            parts.append("without the Section 7008 window (successful coup year and next year)")
        if s.drop_if_missing:
            parts.append("rows with " + "/".join(s.drop_if_missing) + " observed")
        return "; ".join(parts)

    groups = _grouped(list(spec.models), desc)
    return ["Sample: " + "; ".join(f"{d} ({_scope(g, ids)})" for d, g in groups.items())
            + ". Rows with a missing value in any variable a model uses are dropped (the _samples.csv file lists them)."]


def _controls_fe(spec: Any) -> list[str]:
    ids = [m.id for m in spec.models]
    variables = spec.variables

    def name(v: str) -> str:
        note = variables[v].note if v in variables else ""
        return f"{v} ({note})" if note else v

    ctrl = _grouped(list(spec.models), lambda m: "; ".join(name(c) for c in m.controls) or "none")
    fe = _grouped(list(spec.models), lambda m: " + ".join(m.fixed_effects) or "none")
    return ["Controls: " + "; ".join(f"{c} [{_scope(g, ids)}]" for c, g in ctrl.items()) + ". Fixed effects: "
            + "; ".join(f"{f} [{_scope(g, ids)}]" for f, g in fe.items()) + "."]


def _estimators(spec: Any) -> list[str]:
    used = list(dict.fromkeys(m.estimator for m in spec.models))
    parts = []
    for name in used:
        e = estimators.REGISTRY.get(name)
        if e is not None:
            parts.append(f"{e.label}: {e.description} ({e.reference})")
    return ["Estimators. " + " ".join(parts)] if parts else []


def _inference(spec: Any) -> list[str]:
    ids = [m.id for m in spec.models]
    lines = []
    cl = _grouped(list(spec.models), lambda m: m.inference.cluster)
    lines.append("Standard errors clustered by " + "; ".join(f"{c} [{_scope(g, ids)}]" for c, g in cl.items())
                 + " (CRV1; t(G-1) reference for linear models, normal for maximum likelihood).")
    crv3 = [m.id for m in spec.models if "CRV3" in m.methods]
    if crv3:
        lines.append(f"CRV3 = leave-one-cluster-out jackknife (MacKinnon, Nielsen & Webb 2023; refits for nonlinear "
                     f"models) [{_scope(crv3, ids)}].")
    wb_models = [m for m in spec.models if "wild_bootstrap" in m.methods]
    wb = _grouped(wb_models, lambda m: f"{m.inference.wild_bootstrap.draws} draws, "
                                       f"{' and '.join(m.inference.wild_bootstrap.weights)} weights, seed "
                                       f"{m.inference.wild_bootstrap.seed}")
    for d, g in wb.items():
        score = [estimators.REGISTRY[m.estimator].label for m in wb_models
                 if m.id in g and m.estimator in ("ppml", "logit_cubic")]
        lines.append("WCR = restricted wild cluster bootstrap (all 2^G sign vectors when fewer than the draws"
                     + (f"; for {_join(score)} the wild score bootstrap of Kline & Santos 2012 with the null imposed, "
                        "'refit' studentization" if score else "")
                     + f"), {d}; CI by test inversion [{_scope(g, ids)}].")
    ri = _grouped([m for m in spec.models if "randomization" in m.methods],
                  lambda m: f"{m.inference.randomization.permutations} permutations, seed "
                            f"{m.inference.randomization.seed}")
    for d, g in ri.items():
        lines.append(f"RI = randomization inference permuting units' whole treatment paths among units observed in "
                     f"the same periods, {d}; CRV1 t statistic (Young 2019) [{_scope(g, ids)}].")
    skipped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m in spec.models:
        for method, reason in m.not_computed.items():
            skipped[(method, reason)].append(m.id)
    for (method, reason), g in skipped.items():
        lines.append(f"Not computed: {method} for {_scope(g, ids)} ({reason}).")
    return lines


def _few(tr: Any) -> list[str]:
    flagged = [f"{mo.model.id}/{t}" for mo in tr.models for t in mo.reported_terms if mo.few_clusters(t)]
    if not flagged:
        return []
    return [f"{FEW_MARK} p-values rest on few clusters (fewer than {FEW_CLUSTERS} clusters, or fewer than "
            f"{FEW_TREATED} treated clusters for an interaction or an indicator treatment); trust the wild "
            f"bootstrap and RI columns over the analytic ones: {', '.join(flagged)}."]


def table_notes(tr: Any) -> list[str]:
    """Every generated note of a table result, in order (the specification's own notes first)."""
    spec = tr.spec
    notes = list(spec.notes)
    if spec.overrides:
        notes.append("Rerun: this table differs from the published one by --set " + "; ".join(spec.overrides) + ".")
    return notes + _sample(spec) + _controls_fe(spec) + _estimators(spec) + _inference(spec) + _few(tr)
