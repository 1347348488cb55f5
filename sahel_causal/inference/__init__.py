"""Few-cluster inference on prepared arrays: CRV1/CRV3, wild cluster bootstrap, randomization.

The model layer partials out fixed effects (Frisch-Waugh-Lovell) and hands over ``y`` (n,),
``X`` (n, k), cluster codes (n,) and the index of the tested coefficient; nothing here knows
about formulas or data frames.
"""
from __future__ import annotations

from sahel_causal.inference.cluster import crv1, crv3
from sahel_causal.inference.randomization import RIResult, randomization_inference
from sahel_causal.inference.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap

__all__ = [
    "crv1",
    "crv3",
    "WildBootstrapResult",
    "wild_cluster_bootstrap",
    "RIResult",
    "randomization_inference",
]
