"""Family-wise error control across a table: Romano-Wolf step-down p-values from shared bootstrap draws.

Estimand: for a family of hypotheses ``H_m: beta_m = 0`` (one per table column, the column's first
treatment), adjusted p-values ``p*_m`` such that rejecting every ``H_m`` with ``p*_m <= alpha``
controls the family-wise error rate at ``alpha`` (Romano & Wolf 2005, Econometrica 73(4);
2016, Stat. Probab. Lett. 113). The dependence between the tests is kept by computing every
model's bootstrap statistic from the *same* draws: one wild-bootstrap weight per country and
draw, shared by all models (a model uses the columns of the countries in its sample), with the
null imposed in each model (restricted wild cluster bootstrap, so the draws are null draws).

Step-down (absolute t): order the hypotheses by ``|t_m|`` descending; for the s-th,
``p*_(s) = #{b : max_{k >= s} |t*_{b,k}| >= |t_(s)|} / B``, then ``p*_(s) = max(p*_(s), p*_(s-1))``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError


def romano_wolf(t_obs: Sequence[float], t_boot: np.ndarray) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values (module docstring); ``t_boot`` is (B, M) null draws."""
    t = np.abs(np.asarray(t_obs, dtype=float))
    tb = np.abs(np.asarray(t_boot, dtype=float))
    if tb.ndim != 2 or tb.shape[1] != t.shape[0]:
        raise SpecificationError(f"t_boot must be (B, {t.shape[0]}), got {tb.shape}")
    tb = np.where(np.isfinite(tb), tb, np.inf)  # an undefined draw counts as extreme (conservative)
    order = np.argsort(-t, kind="stable")
    p = np.empty(t.shape[0])
    running = 0.0
    for s, m in enumerate(order):
        rest = order[s:]
        mx = tb[:, rest].max(axis=1)
        ps = float(np.mean(mx >= t[m]))
        running = max(running, ps)
        p[m] = running
    return p


def table_family_pvalues(spec, panel: pd.DataFrame, *, weights: str = "webb", draws: int | None = None,
                         seed: int | None = None, fitted: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Romano-Wolf adjusted p-values over the linear models of a table (each column's first treatment,
    or its interaction with the first treatment when the column has one).

    Uses the tables' own sample and design code (country FE partialled out, year dummies as
    columns, as the tables' wild bootstrap); one Webb (or Rademacher) weight per country and draw,
    shared by all models; ``draws``/``seed`` default to the spec's wild-bootstrap settings. Returns
    model, term, t, the single-test bootstrap p from the shared draws and the adjusted p.
    ``fitted`` optionally maps model ids to the tables' fe_ols results of ``spec`` on ``panel`` (their
    estimation samples are reused instead of refitting each model).
    """
    from sahel_causal.estimation import _used_index, _year_dummies
    from sahel_causal.inference.wild_bootstrap import draw_weights, wild_bootstrap_t_stats
    from sahel_causal.models import fe_ols, partialled_design
    from sahel_causal.specs.transform import derive_all, select_sample

    wb = spec.inference.wild_bootstrap
    B = int(draws if draws is not None else (wb.draws if wb else 9999))
    sd = int(seed if seed is not None else (wb.seed if wb else 0))
    cluster = spec.inference.cluster
    df = derive_all(panel, spec)
    derived = {d.name: d for d in spec.derive}
    designs = []
    for model in spec.models:
        if model.estimator != "ols":
            continue
        sample = select_sample(df, model, spec, cluster).data
        regs = [*model.treatments, *model.controls]
        fe = tuple(model.fixed_effects)
        res = fitted.get(model.id) if fitted else None
        if res is None:
            res = fe_ols(sample, model.outcome, regs, fe=fe, cluster=cluster)
        sample = sample.loc[_used_index(res, sample)]
        data, dummies = _year_dummies(sample) if "year" in fe else (sample, [])
        other = tuple(f for f in fe if f != "year")
        d = partialled_design(data, model.outcome, [*regs, *dummies], fe=other or None, cluster=cluster)
        labels = sorted(data.loc[d.kept_index, cluster].astype(str).unique())
        # the column's hypothesis: its interaction with the first treatment if it has one (Table 4), else
        # the first treatment
        inter = [t for t in model.treatments[1:] if t in derived and derived[t].op == "interact"
                 and model.treatments[0] in derived[t].args]
        term = inter[0] if inter else model.treatments[0]
        designs.append((model, d, labels, len(other) and 1, bool(other), term, regs.index(term)))
    if not designs:
        return pd.DataFrame(columns=["model", "term", "t", "p_boot_shared", "p_romano_wolf"])
    all_labels = sorted({lab for x in designs for lab in x[2]})
    col = {lab: i for i, lab in enumerate(all_labels)}
    W = draw_weights(weights, B, len(all_labels), np.random.default_rng(sd))
    t_obs, t_boot, rows = [], [], []
    for model, d, labels, k_abs, nested, term, j in designs:
        Wm = W[:, [col[lab] for lab in labels]]
        t, tb = wild_bootstrap_t_stats(d.X_tilde, d.y_tilde, d.cluster_codes, j, Wm, k_absorbed=k_abs,
                                       fe_nested=nested)
        t_obs.append(t)
        t_boot.append(tb)
        rows.append({"model": model.id, "term": term, "t": float(t),
                     "p_boot_shared": float(np.mean(np.abs(tb) > abs(t)))})
    adj = romano_wolf(t_obs, np.column_stack(t_boot))
    out = pd.DataFrame(rows)
    out["p_romano_wolf"] = adj
    out["weights"] = weights
    out["draws"] = B
    out["seed"] = sd
    return out
