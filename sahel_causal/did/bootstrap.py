"""Multiplier bootstrap for estimators with stored influence functions, with sup-t bands.

Given the influence-function matrix :math:`\\Psi` (``n`` units x ``K`` parameters, normalised so
that :math:`\\hat\\theta-\\theta\\approx n^{-1}\\sum_i\\psi_i`), each bootstrap draw is

.. math:: \\hat\\theta^*_b-\\hat\\theta = n^{-1}\\sum_i V_{ib}\\,\\psi_i ,

with i.i.d. multipliers :math:`V_{ib}` of mean 0 and variance 1: Mammen's two-point weights
(:math:`1-\\kappa` w.p. :math:`\\kappa/\\sqrt5`, :math:`\\kappa` otherwise, :math:`\\kappa=(1+\\sqrt5)/2`;
R ``did``'s default) or Rademacher signs. With clusters, the influence functions are first
averaged within cluster and the multipliers are drawn per cluster (R ``did``'s ``mboot``).
As in R ``did``, the bootstrap standard error is the normalised interquartile range of the
draws, :math:`(q_{.75}-q_{.25})/(z_{.75}-z_{.25})/\\sqrt{n}`, and the simultaneous critical
value is the :math:`1-\\alpha` quantile of :math:`\\max_k|\\,\\hat\\theta^*_{bk}-\\hat\\theta_k|/\\hat\\sigma_k`
(sup-t band; Montiel Olea & Plagborg-Moller 2019), over the parameters with positive variance.

References: Callaway, B. & Sant'Anna, P. H. C. (2021), Section 4.1; Mammen, E. (1993).
Bootstrap and wild bootstrap for high dimensional linear models. Annals of Statistics 21(1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from sahel_causal.errors import SpecificationError

BootWeights = Literal["mammen", "rademacher"]
_KAPPA = (1.0 + np.sqrt(5.0)) / 2.0
_CHUNK = 256


@dataclass(frozen=True)
class MultiplierBootstrap:
    """Bootstrap standard errors, the sup-t critical value and the number of draws/clusters."""

    se: np.ndarray
    crit_val: float
    biters: int
    n_clusters: int
    weights: str
    seed: int


def multipliers(rng: np.random.Generator, size: tuple[int, ...], kind: BootWeights) -> np.ndarray:
    """Draw mean-0, variance-1 multipliers (``"mammen"`` or ``"rademacher"``)."""
    u = rng.random(size)
    if kind == "mammen":
        return np.where(u < _KAPPA / np.sqrt(5.0), 1.0 - _KAPPA, _KAPPA)
    if kind == "rademacher":
        return np.where(u < 0.5, -1.0, 1.0)
    raise SpecificationError(f"boot_weights: {kind!r} is not one of 'mammen', 'rademacher'")


def cluster_means(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Average the rows of ``inf`` within clusters (R ``did``: rowsum / cluster size)."""
    if cluster is None:
        return inf
    codes, inv = np.unique(cluster, return_inverse=True)
    sums = np.zeros((codes.size, inf.shape[1]))
    np.add.at(sums, inv, inf)
    counts = np.bincount(inv).astype(float)
    return sums / counts[:, None]


def boot_draws(inf: np.ndarray, *, biters: int, seed: int, weights: BootWeights = "mammen",
               cluster: np.ndarray | None = None) -> np.ndarray:
    """``biters x K`` matrix of :math:`\\sqrt{n_c}\\,(\\hat\\theta^*-\\hat\\theta)` (R's ``bres``)."""
    if not isinstance(biters, int) or isinstance(biters, bool) or biters < 2:
        raise SpecificationError(f"biters: {biters!r} must be an integer >= 2")
    psi = cluster_means(np.asarray(inf, dtype=float), cluster)
    nc = psi.shape[0]
    rng = np.random.default_rng(seed)
    out = np.empty((biters, psi.shape[1]))
    for start in range(0, biters, _CHUNK):
        stop = min(start + _CHUNK, biters)
        v = multipliers(rng, (stop - start, nc), weights)
        out[start:stop] = (v @ psi) / nc
    return out * np.sqrt(nc)


def multiplier_bootstrap(inf: np.ndarray, *, biters: int = 1000, alp: float = 0.05, seed: int = 0,
                         weights: BootWeights = "mammen",
                         cluster: np.ndarray | None = None) -> MultiplierBootstrap:
    """Bootstrap SEs (normalised IQR) and the sup-t critical value for the columns of ``inf``."""
    bres = boot_draws(inf, biters=biters, seed=seed, weights=weights, cluster=cluster)
    nc = int(np.unique(cluster).size) if cluster is not None else int(np.asarray(inf).shape[0])
    q75 = np.quantile(bres, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(bres, 0.25, axis=0, method="inverted_cdf")
    bsigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = bsigma > np.sqrt(np.finfo(float).eps) * 10
    if ok.any():
        bT = np.max(np.abs(bres[:, ok] / bsigma[ok]), axis=1)
        crit = float(np.quantile(bT, 1.0 - alp, method="inverted_cdf"))
    else:
        crit = float("nan")
    se = np.where(ok, bsigma / np.sqrt(nc), np.nan)
    return MultiplierBootstrap(se=se, crit_val=crit, biters=biters, n_clusters=nc,
                               weights=weights, seed=seed)
