"""Synthetic control, synthetic difference-in-differences and DiD for block-treated panels.

Public API mirroring the R package ``synthdid`` (Arkhangelsky et al. 2021)::

    from sahel_causal.synth import panel_matrices, synthdid_estimate, sc_estimate, did_estimate
    setup = panel_matrices(df, "unit", "time", "y", "treated")
    est = synthdid_estimate(setup.Y, setup.N0, setup.T0)
    est.estimate, est.omega, est.lambda_, synth_se(est, "placebo", seed=1)
"""
from sahel_causal.synth.estimators import (ESTIMATORS, PanelMatrices, SynthEstimate, collapsed_form,
                                           did_estimate, noise_level, panel_matrices, sc_estimate,
                                           synthdid_estimate, trajectories)
from sahel_causal.synth.vcov import synth_se, vcov

__all__ = ["ESTIMATORS", "PanelMatrices", "SynthEstimate", "collapsed_form", "did_estimate", "noise_level",
           "panel_matrices", "sc_estimate", "synthdid_estimate", "trajectories", "synth_se", "vcov"]
