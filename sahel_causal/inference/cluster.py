"""Cluster-robust covariance matrices of OLS coefficients: CRV1 and CRV3 (jackknife).

Both functions work on already-prepared arrays: the model layer partials out absorbed fixed
effects (Frisch-Waugh-Lovell) and hands over ``X`` (n, k), ``y`` or residuals (n,) and integer
(or any sortable) cluster codes (n,).

CRV1 (Liang & Zeger 1986; Stata's ``cluster()``; fixest/pyfixest ``CRV1``)::

    V1 = c * (X'X)^{-1} [ sum_g s_g s_g' ] (X'X)^{-1},   s_g = X_g' u_g,
    c  = G/(G-1) * (N-1)/(N-K)

with G clusters, N observations and K the number of estimated parameters.

Degrees-of-freedom count K with absorbed fixed effects (fixest's default
``ssc(k_fixef="nonnested")``, Berge 2018; pyfixest follows it):

* ``K = k + k_absorbed`` where ``k = X.shape[1]`` and ``k_absorbed`` is the number of absorbed
  fixed-effect parameters that are *not* nested in the clusters (sum of levels minus one per
  redundant FE dimension; a nested FE dimension counts as one parameter, the intercept it
  replaces). Example, clustering by firm: ``y ~ x | year`` -> ``k_absorbed = 10`` (10 years);
  ``y ~ x | firm + year`` -> ``k_absorbed = 10`` (500 + 10 - 1 redundant - 500 nested + 1).
* ``fe_nested=True`` is the shortcut for "every absorbed FE dimension is nested in the
  clusters" (e.g. country FE with country clusters): then ``K = k + 1`` whatever
  ``k_absorbed`` is, because fixest drops nested FE from K but keeps one for the intercept.

CRV3 (MacKinnon, Nielsen & Webb 2023, "Cluster-robust inference: A guide to empirical
practice", J. Econometrics 232(2), eq. (20)) is the leave-one-cluster-out jackknife::

    V3 = (G-1)/G * sum_g (b_(g) - b_c)(b_(g) - b_c)',
    b_(g) = (X'X - X_g'X_g)^{-1} (X'y - X_g'y_g),

with ``b_c`` the full-sample estimate (``center="estimate"``, MNW's CV3, pyfixest's choice) or
the mean of the ``b_(g)`` (``center="mean"``, MNW's CV3J). Each ``b_(g)`` is obtained from
cluster-level cross products (block-inverse/"fast" formula), never by refitting. pyfixest
multiplies the same sum by its CRV1 factor ``G/(G-1)*(N-1)/(N-K)`` instead of ``(G-1)/G``; the
tests compare after undoing that factor.

FWL caveat for CRV3: leaving a cluster out of data from which fixed effects were partialled out
is exact only when those fixed effects are nested in the clusters; include non-nested fixed
effects (e.g. year dummies with country clusters) as explicit columns of ``X``.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sahel_causal.errors import SpecificationError

__all__ = [
    "crv1",
    "crv3",
    "crv1_small_sample_factor",
    "ols_coefficients",
    "jackknife_coefficients",
    "xtx_inverse",
    "factorize_clusters",
    "cluster_sums",
]

FloatArray = NDArray[np.float64]


def factorize_clusters(cluster: ArrayLike, n: int | None = None) -> tuple[NDArray[np.intp], int]:
    """Map cluster labels to codes ``0..G-1`` in sorted label order; return ``(codes, G)``.

    Raises :class:`SpecificationError` when the array is not one-dimensional, has the wrong
    length, contains missing values, or has fewer than two clusters.
    """
    arr = np.asarray(cluster)
    if arr.ndim != 1:
        raise SpecificationError(f"cluster must be one-dimensional, got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise SpecificationError(
            f"cluster has {arr.shape[0]} entries but the design has {n} rows: pass one cluster "
            "code per observation."
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise SpecificationError("cluster contains NaN: drop or recode observations without a cluster.")
    labels, codes = np.unique(arr, return_inverse=True)
    n_clusters = int(labels.shape[0])
    if n_clusters < 2:
        raise SpecificationError(
            f"cluster-robust inference needs at least 2 clusters, got {n_clusters}."
        )
    return codes.astype(np.intp, copy=False), n_clusters


def cluster_sums(values: ArrayLike, codes: NDArray[np.intp], n_clusters: int) -> FloatArray:
    """Sum the rows of ``values`` (n,) or (n, m) within clusters; returns (G,) or (G, m)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        return np.bincount(codes, weights=v, minlength=n_clusters)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out = np.zeros((n_clusters, v.shape[1]), dtype=np.float64)
    out[sorted_codes[starts]] = np.add.reduceat(v[order], starts, axis=0)
    return out


def as_design_matrix(X: ArrayLike, n_expected: int | None = None) -> FloatArray:
    """Return ``X`` as a finite float (n, k) array, or raise :class:`SpecificationError`."""
    Xa = np.asarray(X, dtype=np.float64)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2:
        raise SpecificationError(f"X must be a 2-D (n, k) array, got shape {Xa.shape}.")
    if n_expected is not None and Xa.shape[0] != n_expected:
        raise SpecificationError(
            f"X has {Xa.shape[0]} rows but the outcome/residual has {n_expected}: align them."
        )
    if Xa.shape[1] == 0:
        raise SpecificationError("X has no columns: there is no coefficient to test.")
    if not np.isfinite(Xa).all():
        raise SpecificationError("X contains NaN or infinite values: drop incomplete rows first.")
    return Xa


def as_vector(v: ArrayLike, name: str) -> FloatArray:
    """Return ``v`` as a finite float (n,) array (an (n, 1) column is accepted), else raise."""
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise SpecificationError(f"{name} must be one-dimensional, got shape {a.shape}.")
    if not np.isfinite(a).all():
        raise SpecificationError(f"{name} contains NaN or infinite values: drop incomplete rows first.")
    return a


def xtx_inverse(X: FloatArray) -> FloatArray:
    """``(X'X)^{-1}`` via a QR decomposition; raise when ``X`` lacks full column rank."""
    n, k = X.shape
    if n < k:
        raise SpecificationError(f"X has {n} rows but {k} columns: too few observations.")
    r = np.linalg.qr(X, mode="r")
    d = np.abs(np.diag(r))
    if d.min() <= max(n, k) * np.finfo(np.float64).eps * d.max():
        raise SpecificationError(
            "X is (numerically) rank deficient: drop collinear columns (e.g. a constant left in "
            "after absorbing fixed effects) before computing cluster-robust inference."
        )
    r_inv = np.linalg.solve(r, np.eye(k))
    return r_inv @ r_inv.T


def ols_coefficients(X: ArrayLike, y: ArrayLike) -> FloatArray:
    """OLS coefficients ``(X'X)^{-1} X'y`` (least squares via LAPACK ``gelsd``)."""
    ya = as_vector(y, "y")
    Xa = as_design_matrix(X, ya.shape[0])
    xtx_inverse(Xa)  # rank check with a helpful message
    return np.linalg.lstsq(Xa, ya, rcond=None)[0]


def crv1_small_sample_factor(
    n_obs: int, n_params: int, n_clusters: int, *, k_absorbed: int = 0, fe_nested: bool = False
) -> float:
    """Stata/fixest CRV1 factor ``G/(G-1) * (N-1)/(N-K)`` with ``K`` as in the module docstring."""
    if k_absorbed < 0:
        raise SpecificationError(f"k_absorbed must be >= 0, got {k_absorbed}.")
    n_k = n_params + (1 if fe_nested else k_absorbed)
    if n_obs <= n_k:
        raise SpecificationError(
            f"N = {n_obs} observations but K = {n_k} parameters: no residual degrees of freedom."
        )
    return n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - n_k)


def crv1(
    X: ArrayLike,
    resid: ArrayLike,
    cluster: ArrayLike,
    *,
    k_absorbed: int = 0,
    fe_nested: bool = False,
    small_sample: bool = True,
) -> FloatArray:
    """CRV1 cluster-robust covariance matrix (k, k) of OLS coefficients.

    ``V = c (X'X)^{-1} (sum_g X_g'u_g u_g'X_g) (X'X)^{-1}`` with ``c = G/(G-1)*(N-1)/(N-K)``
    when ``small_sample`` (Stata ``regress, cluster()``, statsmodels ``cov_type="cluster"``,
    fixest/pyfixest default ``CRV1``) and ``c = 1`` otherwise. ``K = k + k_absorbed``, or
    ``k + 1`` when ``fe_nested`` (all absorbed fixed effects nested in clusters), following
    fixest's ``k_fixef="nonnested"`` rule. Assumes independence across clusters and arbitrary
    dependence within (Liang & Zeger 1986; Cameron & Miller 2015).

    Parameters
    ----------
    X : (n, k) regressors (already partialled of absorbed fixed effects, if any).
    resid : (n,) OLS residuals of the regression of y on X.
    cluster : (n,) cluster labels.
    """
    u = as_vector(resid, "resid")
    Xa = as_design_matrix(X, u.shape[0])
    codes, n_clusters = factorize_clusters(cluster, u.shape[0])
    bread = xtx_inverse(Xa)
    scores = cluster_sums(Xa * u[:, None], codes, n_clusters)  # (G, k)
    meat = scores.T @ scores
    factor = (
        crv1_small_sample_factor(
            Xa.shape[0], Xa.shape[1], n_clusters, k_absorbed=k_absorbed, fe_nested=fe_nested
        )
        if small_sample
        else 1.0
    )
    vcov = factor * (bread @ meat @ bread)
    return (vcov + vcov.T) / 2.0


def jackknife_coefficients(X: ArrayLike, y: ArrayLike, cluster: ArrayLike) -> FloatArray:
    """Leave-one-cluster-out OLS coefficients ``b_(g)`` as a (G, k) array (fast block formula).

    ``b_(g) = (X'X - X_g'X_g)^{-1} (X'y - X_g'y_g)``. Raises :class:`SpecificationError` when
    deleting some cluster leaves the design rank deficient (e.g. a regressor that varies in one
    cluster only): CRV3 does not exist then.
    """
    ya = as_vector(y, "y")
    Xa = as_design_matrix(X, ya.shape[0])
    codes, n_clusters = factorize_clusters(cluster, ya.shape[0])
    n, k = Xa.shape
    xtx = Xa.T @ Xa
    xty = Xa.T @ ya
    outer = (Xa[:, :, None] * Xa[:, None, :]).reshape(n, k * k)
    xgxg = cluster_sums(outer, codes, n_clusters).reshape(n_clusters, k, k)
    xgyg = cluster_sums(Xa * ya[:, None], codes, n_clusters)
    loo_xtx = xtx[None, :, :] - xgxg
    ranks = np.linalg.matrix_rank(loo_xtx, hermitian=True)
    bad = np.flatnonzero(ranks < k)
    if bad.size:
        raise SpecificationError(
            f"Leaving out cluster(s) with code(s) {bad[:5].tolist()} makes X rank deficient, so "
            "the CRV3 jackknife is undefined: drop regressors identified from a single cluster "
            "or use CRV1 with a wild cluster bootstrap."
        )
    return np.linalg.solve(loo_xtx, (xty[None, :] - xgyg)[:, :, None])[:, :, 0]


def jackknife_vcov(estimate: ArrayLike, leave_one_out: ArrayLike) -> FloatArray:
    """The cluster jackknife ``(G-1)/G * sum_g (b_(g) - b)(b_(g) - b)'`` from the estimate ``b`` (k,)
    and the G leave-one-cluster-out estimates (G, k) (MacKinnon, Nielsen & Webb 2023, CV3): the CRV3 of
    :func:`crv3` and of the nonlinear models' refits."""
    loo = np.atleast_2d(np.asarray(leave_one_out, dtype=np.float64))
    dev = loo - np.asarray(estimate, dtype=np.float64).reshape(1, -1)
    G = dev.shape[0]
    return (G - 1) / G * (dev.T @ dev)


def crv3(
    X: ArrayLike,
    y: ArrayLike,
    cluster: ArrayLike,
    *,
    center: Literal["estimate", "mean"] = "estimate",
) -> FloatArray:
    """CRV3 (cluster jackknife) covariance matrix (k, k) of OLS coefficients.

    ``V3 = (G-1)/G * sum_g (b_(g) - b_c)(b_(g) - b_c)'`` with ``b_c`` the full-sample OLS
    estimate (``center="estimate"``, CV3) or the mean jackknife estimate (``center="mean"``,
    CV3J); MacKinnon, Nielsen & Webb (2023, J. Econometrics 232(2)). CV3 is conservative
    relative to CV1 and much more reliable when clusters are few or heterogeneous in size.
    """
    if center not in ("estimate", "mean"):
        raise SpecificationError(f"center must be 'estimate' or 'mean', got {center!r}.")
    ya = as_vector(y, "y")
    Xa = as_design_matrix(X, ya.shape[0])
    _, n_clusters = factorize_clusters(cluster, ya.shape[0])
    jack = jackknife_coefficients(Xa, ya, cluster)
    b_c = ols_coefficients(Xa, ya) if center == "estimate" else jack.mean(axis=0)
    vcov = jackknife_vcov(b_c, jack)
    return (vcov + vcov.T) / 2.0
