"""Standard errors for synthdid-type estimates: placebo, jackknife and bootstrap.

Arkhangelsky et al. (2021), Algorithms 2-4, as implemented by ``synthdid::vcov`` / ``synthdid_se``:

* ``"placebo"`` (Algorithm 4; the only one defined with a single treated unit): draw a random
  permutation of the controls, call the last :math:`N_1` of them treated, re-estimate (the weights
  re-fitted from the original weights restricted to the kept controls and renormalised, with the
  original :math:`\\zeta` and stopping rule), repeat ``replications`` times;
  :math:`\\widehat{SE} = \\sqrt{(B-1)/B}\\,\\mathrm{sd}(\\hat\\tau^{(b)})`.
* ``"bootstrap"`` (Algorithm 2): resample all units with replacement (draws with no treated or no
  control unit are redrawn), re-estimate as above; same scaling. Undefined (NaN) with one treated unit.
* ``"jackknife"`` (Algorithm 3): leave one unit out with the weights held fixed (the kept controls'
  weights renormalised); :math:`\\widehat{SE} = \\sqrt{\\tfrac{n-1}{n}\\sum_i(\\hat\\tau_{(-i)}-\\bar\\tau)^2}`.
  NaN with one treated unit or when a single control carries all the weight (synthdid's rule).

Randomness comes only from ``numpy.random.default_rng(seed)`` (PCG64), so a given seed gives the
same draws on every machine; they are not R's draws, so placebo/bootstrap SEs equal R's only up to
Monte Carlo error.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np

from sahel_causal.errors import SpecificationError
from sahel_causal.synth.estimators import SynthEstimate, _estimate_with, noise_level

VcovMethod = Literal["placebo", "jackknife", "bootstrap"]


def sum_normalize(x: np.ndarray) -> np.ndarray:
    """``x / sum(x)``, or uniform weights when the sum is 0 (synthdid's ``sum_normalize``)."""
    s = float(np.add.reduce(x)) if x.size else 0.0
    return x / s if s != 0 else np.full(x.size, 1.0 / x.size)


def _refit(est: SynthEstimate, rows: np.ndarray, n0: int, update: bool = True) -> float:
    """Re-estimate on the rows ``rows`` (controls first), starting from / fixing the weights."""
    omega = sum_normalize(est.omega[rows[:n0]])
    opts = est.opts
    if not update:
        from dataclasses import replace
        opts = replace(opts, update_omega=False, update_lambda=False)
    return _estimate_with(est.Y[rows], n0, est.T0, opts, omega, est.lambda_.copy(), est.noise_level,
                          est.estimator).estimate


def _sd(x: np.ndarray) -> float:
    m = float(np.add.reduce(x)) / x.size
    return math.sqrt(float(np.add.reduce((x - m) ** 2)) / (x.size - 1))


def placebo_replicates(est: SynthEstimate, replications: int = 200, seed: int = 0) -> np.ndarray:
    """The ``replications`` placebo estimates of Algorithm 4 (controls only, last N1 'treated')."""
    if est.N0 <= est.N1:
        raise SpecificationError("placebo SE: needs more control than treated units.")
    rng = np.random.default_rng(seed)
    n0 = est.N0 - est.N1
    out = np.empty(replications)
    for b in range(replications):
        ind = rng.permutation(est.N0)
        out[b] = _refit(est, ind, n0)
    return out


def placebo_replicates_exhaustive(est: SynthEstimate) -> np.ndarray:
    """With one treated unit, every placebo draw of Algorithm 4 is one of ``N0`` fits (control ``j`` as
    the pseudo-treated unit, the others as controls); this returns those ``N0`` estimates in order."""
    if est.N1 != 1:
        raise SpecificationError("exhaustive placebo: defined for one treated unit only.")
    out = np.empty(est.N0)
    for j in range(est.N0):
        ind = np.array([k for k in range(est.N0) if k != j] + [j])
        out[j] = _refit(est, ind, est.N0 - 1)
    return out


def placebo_se_exhaustive(est: SynthEstimate) -> float:
    """The limit of the placebo SE as ``replications`` grows, for one treated unit (no randomness):
    :math:`\\sqrt{\\tfrac{1}{N_0}\\sum_j(\\hat\\tau_j-\\bar\\tau)^2}` over the ``N0`` placebo fits."""
    v = placebo_replicates_exhaustive(est)
    m = float(np.add.reduce(v)) / v.size
    return math.sqrt(float(np.add.reduce((v - m) ** 2)) / v.size)


def bootstrap_replicates(est: SynthEstimate, replications: int = 200, seed: int = 0) -> np.ndarray:
    """Unit bootstrap estimates of Algorithm 2 (draws without treated or control units redrawn)."""
    N = est.Y.shape[0]
    rng = np.random.default_rng(seed)
    out = np.empty(replications)
    count = 0
    while count < replications:
        ind = np.sort(rng.integers(0, N, size=N))
        n0 = int((ind < est.N0).sum())
        if n0 == 0 or n0 == N:
            continue
        out[count] = _refit(est, ind, n0)
        count += 1
    return out


def jackknife_replicates(est: SynthEstimate) -> np.ndarray:
    """Leave-one-unit-out estimates with fixed weights (Algorithm 3)."""
    N = est.Y.shape[0]
    out = np.empty(N)
    for i in range(N):
        ind = np.delete(np.arange(N), i)
        out[i] = _refit(est, ind, int((ind < est.N0).sum()), update=False)
    return out


def synth_se(est: SynthEstimate, method: VcovMethod = "placebo", replications: int = 200,
             seed: int = 0) -> float:
    """Standard error of ``est.estimate`` by ``method`` (see the module docstring)."""
    if method not in ("placebo", "jackknife", "bootstrap"):
        raise SpecificationError(f"synth_se: method must be placebo, jackknife or bootstrap, got {method!r}.")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 2:
        raise SpecificationError("synth_se: replications must be an integer >= 2.")
    single = est.N0 == est.Y.shape[0] - 1
    if method == "placebo":
        reps = placebo_replicates(est, replications, seed)
        return math.sqrt((replications - 1) / replications) * _sd(reps)
    if single:
        return math.nan
    if method == "bootstrap":
        reps = bootstrap_replicates(est, replications, seed)
        return math.sqrt((replications - 1) / replications) * _sd(reps)
    if int((est.omega != 0).sum()) == 1:
        return math.nan
    u = jackknife_replicates(est)
    n = u.size
    return math.sqrt(((n - 1) / n) * (n - 1) * _sd(u) ** 2)


def vcov(est: SynthEstimate, method: VcovMethod = "placebo", replications: int = 200, seed: int = 0) -> float:
    """Variance (the square of :func:`synth_se`), as ``vcov.synthdid_estimate``."""
    return synth_se(est, method, replications, seed) ** 2


__all__ = ["placebo_se_exhaustive", "placebo_replicates_exhaustive", "synth_se", "vcov", "placebo_replicates", "bootstrap_replicates", "jackknife_replicates",
           "sum_normalize", "noise_level"]
