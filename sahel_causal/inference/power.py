"""What "no detectable effect" rules out: minimum detectable effects and equivalence tests.

* Minimum detectable effect (Bloom 1995): the true effect a two-sided level-``alpha`` test with
  standard error ``se`` detects with probability ``power``:
  ``MDE = (q_{1-alpha/2} + q_{power}) * se`` with ``q`` quantiles of the test's reference
  distribution (Student t with ``df`` degrees of freedom; ``df=None``: normal). It ignores the
  (tiny) probability of rejecting with the wrong sign.
* Two one-sided tests (TOST; Schuirmann 1987; Lakens 2017) of equivalence to zero within the
  margin ``delta`` (the smallest effect of interest, SESOI): ``H0: |beta| >= delta`` against
  ``H1: |beta| < delta``. ``p = max(P(T >= (b + delta)/se), P(T <= (b - delta)/se))``;
  equivalence is declared at level ``alpha`` when ``p < alpha``, i.e. when the ``1 - 2 alpha``
  confidence interval lies inside ``(-delta, delta)``.

Effects are expressed per within-country standard deviation of the treatment (the tables'
'realistic change'): pass ``se`` of the coefficient times that SD.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError


def _ref(df: float | None):
    if df is None:
        return stats.norm()
    if not df > 0:
        raise SpecificationError(f"degrees of freedom must be positive, got {df!r}")
    return stats.t(df=df)


def minimum_detectable_effect(se: float, *, df: float | None = None, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    """``(q_{1-alpha/2} + q_power) * se`` (module docstring)."""
    if not se >= 0 or not 0 < alpha < 1 or not 0 < power < 1:
        raise SpecificationError(f"need se >= 0, 0 < alpha < 1, 0 < power < 1; got {se}, {alpha}, {power}")
    ref = _ref(df)
    return float((ref.ppf(1 - alpha / 2) + ref.ppf(power)) * se)


@dataclass(frozen=True)
class TostResult:
    """Equivalence test of ``|beta| < margin``: p-value, verdict and the ``1 - 2 alpha`` interval."""

    p_value: float
    equivalent: bool
    ci_low: float
    ci_high: float
    margin: float
    alpha: float


def tost(estimate: float, se: float, margin: float, *, df: float | None = None, alpha: float = 0.05) -> TostResult:
    """Two one-sided tests of equivalence to zero within ``margin`` (module docstring)."""
    if not margin > 0 or not se > 0:
        raise SpecificationError(f"TOST needs a positive margin and standard error, got {margin}, {se}")
    ref = _ref(df)
    p_low = float(ref.sf((estimate + margin) / se))  # H01: beta <= -margin
    p_high = float(ref.cdf((estimate - margin) / se))  # H02: beta >= margin
    p = max(p_low, p_high)
    q = ref.ppf(1 - alpha)
    return TostResult(p_value=min(1.0, p), equivalent=p < alpha, ci_low=estimate - q * se, ci_high=estimate + q * se,
                      margin=float(margin), alpha=float(alpha))


def power_at(effect: float, se: float, *, df: float | None = None, alpha: float = 0.05) -> float:
    """Probability that a two-sided level-``alpha`` t-test rejects when the true effect is ``effect``."""
    ref = _ref(df)
    q = ref.ppf(1 - alpha / 2)
    z = effect / se
    return float(ref.sf(q - z) + ref.cdf(-q - z))


def equivalence_rows(table_result) -> list[dict]:
    """MDE (80% power) and TOST for every model of a :class:`~sahel_causal.estimation.TableResult` whose
    spec states ``smallest_effect_1sd``; in units of one within-country SD of the first treatment.

    The standard error is the CRV3 one when attached (calibrated for the linear designs), else the
    model's CRV1; the reference is t(G-1) for CRV3/OLS and the model's own otherwise.
    """
    rows = []
    for mo in table_result.models:
        m = mo.model
        if m.smallest_effect_1sd is None:
            continue
        term = m.treatments[0]
        res = mo.result
        sd = mo.within_sd.get(term, math.nan)
        b = float(res.coef[term])
        rec = res.inference.get("crv3", {}).get(term)
        if rec is not None and math.isfinite(float(rec.detail.get("se", math.nan))):
            se, method = float(rec.detail["se"]), "crv3"
        else:
            se, method = float(res.std_errors[term]), "crv1"
        G = res.n_clusters or 0
        df = (G - 1) if (G > 1 and (res.dist == "t" or method == "crv3") and m.estimator == "ols") else None
        eff, se_sd = b * sd, se * sd
        t = tost(eff, se_sd, m.smallest_effect_1sd, df=df)
        rows.append({
            "table": table_result.spec.id, "model": m.id, "term": term, "estimator": m.estimator,
            "se_method": method, "effect_1sd": eff, "se_1sd": se_sd,
            "mde80_1sd": minimum_detectable_effect(se_sd, df=df),
            "smallest_effect_1sd": m.smallest_effect_1sd,
            "power_at_sesoi": power_at(m.smallest_effect_1sd, se_sd, df=df),
            "tost_p": t.p_value, "equivalent": t.equivalent, "ci90_low_1sd": t.ci_low, "ci90_high_1sd": t.ci_high,
        })
    return rows


def equivalence_from_tidy(tidy: pd.DataFrame, spec, alpha: float = 0.05) -> pd.DataFrame:
    """MDE (80% power) and TOST for the models of ``spec`` that state ``smallest_effect_1sd``, from a
    table's tidy result CSV (estimate, within_sd, CRV3 interval or CRV1 standard error, clusters).

    Standard error: CRV3 (recovered from its t(G-1) interval) for linear models, the model's CRV1
    (normal reference) for the others. All effects are per within-country SD of the treatment.
    """
    rows = []
    derived = {d.name: d for d in spec.derive}
    for m in spec.models:
        if m.smallest_effect_1sd is None:
            continue
        # the headline term: the interaction with the first treatment if the column has one, else the first
        inter = [t for t in m.treatments[1:] if t in derived and derived[t].op == "interact"
                 and m.treatments[0] in derived[t].args]
        term = inter[0] if inter else m.treatments[0]
        r = tidy[(tidy["model"] == m.id) & (tidy["term"] == term)]
        if len(r) != 1:
            raise SpecificationError(f"{spec.source_file}: no single result row for {m.id}/{term}; rerun the table")
        r = r.iloc[0]
        G = int(r["n_clusters"])
        if m.estimator == "ols" and pd.notna(r.get("ci_crv3_low", math.nan)):
            df = G - 1
            q = stats.t(df=df).ppf(1 - alpha / 2)
            se, method = (float(r["ci_crv3_high"]) - float(r["ci_crv3_low"])) / (2 * q), "CRV3, t(G-1)"
        else:
            df, se, method = None, float(r["std_error"]), "CRV1, normal"
        sd = float(r["within_sd"])
        eff, se_sd = float(r["estimate"]) * sd, se * sd
        t = tost(eff, se_sd, m.smallest_effect_1sd, df=df, alpha=alpha)
        rows.append({
            "table": spec.id, "model": m.id, "label": m.label, "term": term, "se_method": method,
            "effect_1sd": eff, "se_1sd": se_sd, "mde80_1sd": minimum_detectable_effect(se_sd, df=df, alpha=alpha),
            "smallest_effect_1sd": m.smallest_effect_1sd,
            "power_at_sesoi": power_at(m.smallest_effect_1sd, se_sd, df=df, alpha=alpha),
            "tost_p": t.p_value, "equivalent": bool(t.equivalent),
            "ci90_low_1sd": t.ci_low, "ci90_high_1sd": t.ci_high,
        })
    return pd.DataFrame(rows)
