"""Staggered difference-in-differences: Callaway & Sant'Anna group-time ATTs and aggregations.

``from sahel_causal.did import att_gt, aggte`` follows R ``did``'s argument names and
semantics (Callaway & Sant'Anna 2021); :mod:`sahel_causal.did.honest` gives the Rambachan &
Roth (2023) sensitivity analysis and :mod:`sahel_causal.did.randomization` randomization
inference for aggregated ATTs with few treated clusters.
"""
from sahel_causal.did.aggte import AggteResult, aggte
from sahel_causal.did.att_gt import ATTgtResult, att_gt
from sahel_causal.did.randomization import RandomizationResult, randomization_inference

__all__ = ["att_gt", "aggte", "randomization_inference", "ATTgtResult", "AggteResult",
           "RandomizationResult"]
