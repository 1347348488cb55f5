"""Probability-scale effects for the logit models, with delta-method standard errors.

Average marginal effect (pooled logit, Firth logit). For term :math:`j`,

.. math:: \\mathrm{AME}_j = \\frac1N\\sum_i \\frac{\\partial p_i}{\\partial x_{ij}}
          = \\frac1N\\sum_i \\beta_j\\,p_i(1-p_i), \\qquad p_i=\\Lambda(x_i'\\hat\\beta),

averaged over the estimation sample with every column (including fixed-effect dummies and the
duration cubic) at its observed value; each term is treated as continuous, as statsmodels
``get_margeff(at="overall", method="dydx")``. The delta-method variance is :math:`J V J'` with
:math:`J_{jl} = \\frac1N\\sum_i\\{1[l=j]\\,p_i(1-p_i) + \\beta_j p_i(1-p_i)(1-2p_i)x_{il}\\}`
and :math:`V` the full covariance of the fitted model (cluster-robust if the model was).

Conditional (fixed-effects) logit. The conditional likelihood does not estimate the country
effects :math:`\\alpha_i`, so :math:`p_i` and hence the AME are **not identified**. We report
instead the effect at a stated baseline probability :math:`p_0`,
:math:`\\partial p/\\partial x_j\\,|_{p=p_0} = \\beta_j p_0(1-p_0)`, with delta-method standard
error :math:`p_0(1-p_0)\\,\\mathrm{se}(\\hat\\beta_j)` (treating :math:`p_0` as fixed). The
default :math:`p_0` is the sample event rate over all rows with complete data, including the
countries that the conditional likelihood drops for having no events.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError
from sahel_causal.results import EstimationResult


def average_marginal_effects(result: EstimationResult, terms: Sequence[str] | None = None) -> EstimationResult:
    """AMEs on the probability scale of a pooled or Firth logit result (see module docstring).

    ``terms`` defaults to the model's regressors. Returns an :class:`EstimationResult` with
    estimator ``"ame(<estimator>)"`` whose ``coef``/``vcov`` are the AMEs and their
    delta-method covariance.
    """
    aux = result.aux
    if aux.get("kind") != "logit" or "X" not in aux:
        if result.estimator == "conditional_logit":
            raise SpecificationError("the AME of a conditional logit is not identified (the country effects "
                                     "are conditioned out); use effect_at_baseline")
        raise SpecificationError(f"average_marginal_effects needs a fitted pooled or Firth logit, got "
                                 f"{result.estimator!r} (results read back from JSON carry no design matrix)")
    X: pd.DataFrame = aux["X"]
    beta: pd.Series = aux["params_full"]
    V: pd.DataFrame = aux["vcov_full"]
    terms = list(aux.get("ame_terms", [])) if terms is None else list(terms)
    unknown = [t for t in terms if t not in X.columns or t == "Intercept"]
    if unknown or not terms:
        raise SpecificationError(f"terms must be non-intercept columns of the design: {unknown or terms}")
    ame, J = _ame_and_jacobian(X.to_numpy(), beta.to_numpy(), [list(X.columns).index(t) for t in terms])
    vcov = J @ V.to_numpy() @ J.T
    vcov = (vcov + vcov.T) / 2.0
    return EstimationResult(
        spec_id=result.spec_id,
        estimator=f"ame({result.estimator})",
        outcome=result.outcome,
        coef=pd.Series(ame, index=terms),
        vcov=pd.DataFrame(vcov, index=terms, columns=terms),
        vcov_label=f"{result.vcov_label}; delta method",
        nobs=result.nobs,
        n_clusters=result.n_clusters,
        n_groups=result.n_groups,
        outcome_mean=result.outcome_mean,
        fixed_effects=result.fixed_effects,
        dropped=result.dropped,
        dist="normal",
        metadata={**result.metadata, "effect": "average marginal effect on the probability scale"},
    )


def _ame_and_jacobian(X: np.ndarray, beta: np.ndarray, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    dens = p * (1.0 - p)
    ddens = dens * (1.0 - 2.0 * p)
    ame = np.array([beta[j] * dens.mean() for j in cols])
    J = np.empty((len(cols), X.shape[1]))
    base = (X * ddens[:, None]).mean(axis=0)
    for r, j in enumerate(cols):
        J[r] = beta[j] * base
        J[r, j] += dens.mean()
    return ame, J


def effect_at_baseline(result: EstimationResult, baseline: float | None = None) -> EstimationResult:
    """Effect on the probability at baseline probability ``baseline`` (module docstring).

    Meant for conditional logit, whose AME is not identified; works for any logit result.
    ``baseline`` defaults to the sample event rate (``metadata["outcome_mean_all_groups"]`` for
    conditional logit, else ``outcome_mean``) and is recorded in the result's metadata.
    """
    if "logit" not in result.estimator or result.estimator.startswith("ame("):
        raise SpecificationError(f"effect_at_baseline needs a logit result, got {result.estimator!r}")
    if baseline is None:
        baseline = result.metadata.get("outcome_mean_all_groups", result.outcome_mean)
    p0 = float(baseline)  # type: ignore[arg-type]
    if not 0.0 < p0 < 1.0:
        raise SpecificationError(f"baseline probability must lie in (0, 1), got {p0!r}")
    terms = [t for t in result.coef.index if t != "Intercept"]
    d = p0 * (1.0 - p0)
    return EstimationResult(
        spec_id=result.spec_id,
        estimator=f"effect_at_baseline({result.estimator})",
        outcome=result.outcome,
        coef=result.coef.loc[terms] * d,
        vcov=result.vcov.loc[terms, terms] * d * d,
        vcov_label=f"{result.vcov_label}; delta method, baseline fixed",
        nobs=result.nobs,
        n_clusters=result.n_clusters,
        n_groups=result.n_groups,
        outcome_mean=result.outcome_mean,
        fixed_effects=result.fixed_effects,
        dropped=result.dropped,
        dist=result.dist,
        df_resid=result.df_resid,
        metadata={
            **result.metadata,
            "effect": "marginal effect on the probability at a stated baseline probability",
            "baseline_probability": p0,
            "note": "average marginal effect not identified without the fixed effects",
        },
    )
