"""Staggered difference-in-differences: Callaway & Sant'Anna group-time ATTs and aggregations.

``from sahel_causal.did import att_gt, aggte`` follows R ``did``'s argument names and
semantics (Callaway & Sant'Anna 2021); :mod:`sahel_causal.did.honest` gives the Rambachan &
Roth (2023) sensitivity analysis and :mod:`sahel_causal.did.randomization` randomization
inference for aggregated ATTs with few treated clusters.

Other estimators (one module each):

* :mod:`.twfe` -- two-way fixed-effects baselines, Goodman-Bacon decomposition and the
  de Chaisemartin-D'Haultfoeuille weights;
* :mod:`.sun_abraham` -- interaction-weighted event study (Sun & Abraham 2021);
* :mod:`.imputation` -- imputation / two-stage DiD (Borusyak, Jaravel & Spiess 2024; Gardner 2022);
* :mod:`.dcdh` -- DID_l for non-absorbing treatments (de Chaisemartin & D'Haultfoeuille 2024);
* :mod:`.continuous` -- continuous, time-varying doses with stayers (de Chaisemartin et al. 2022);
* :mod:`.stacked` -- stacked event study with clean controls (Cengiz et al. 2019).
"""
from sahel_causal.did.aggte import AggteResult, aggte
from sahel_causal.did.att_gt import ATTgtResult, att_gt
from sahel_causal.did.randomization import RandomizationResult, randomization_inference

__all__ = ["att_gt", "aggte", "randomization_inference", "ATTgtResult", "AggteResult",
           "RandomizationResult"]
