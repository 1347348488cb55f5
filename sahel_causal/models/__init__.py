"""Estimators. Every public function returns a :class:`sahel_causal.results.EstimationResult`.

* :func:`fe_ols` - least squares with absorbed fixed effects (also the linear probability model);
  :func:`partialled_design` gives the within-transformed data for resampling inference.
* :func:`ppml` - Poisson pseudo-maximum likelihood with fixed effects.
* :func:`conditional_logit` - fixed-effects (conditional) logit by country;
  :func:`pooled_logit` - pooled logit with the Carter-Signorino cubic in time since the last
  event (:func:`time_since_event`).
* :func:`firth_logit` - Firth-penalised logit, optionally with fixed-effect dummies.
* :func:`average_marginal_effects`, :func:`effect_at_baseline` - probability-scale effects.
"""
from sahel_causal.models.fe_ols import fe_ols, partialled_design
from sahel_causal.models.firth import firth_logit
from sahel_causal.models.logit import conditional_logit, pooled_logit, time_since_event
from sahel_causal.models.marginal_effects import average_marginal_effects, effect_at_baseline
from sahel_causal.models.ppml import ppml

__all__ = [
    "average_marginal_effects",
    "conditional_logit",
    "effect_at_baseline",
    "fe_ols",
    "firth_logit",
    "partialled_design",
    "pooled_logit",
    "ppml",
    "time_since_event",
]
