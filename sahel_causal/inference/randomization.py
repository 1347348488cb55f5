"""Randomization inference by permuting whole treatment paths across clusters (Fisher's sharp null).

Design and null
---------------
``treatment_paths`` is a (G, T) array: row ``g`` is the treatment path of cluster (country)
``g`` over the T periods. Under the sharp null of no effect for any unit and period, outcomes
are fixed and the assignment of paths to clusters is exchangeable, so the distribution of the
statistic over the reassignments ``paths[pi]`` (pi a permutation of the G clusters) is its exact
null distribution (Fisher 1935; Young 2019, "Channeling Fisher", QJE 134(2)). Permuting entire
paths keeps each path's timing and dose intact and respects within-cluster dependence.

The statistic is any ``stat_fn(paths) -> float``. Young (2019) recommends the *t-statistic*
(randomization-t), which stays asymptotically valid for the average effect when the sharp null
fails; :func:`ols_t_stat_fn` builds one (CRV1 t of the treatment coefficient in an OLS with
given controls). A constant rescaling of the statistic (e.g. a small-sample factor) does not
change the p-value.

p-value
-------
Two-sided: ``p = #{pi : |T(pi)| >= |T_obs|} / M`` (``"greater"``: ``T(pi) >= T_obs``;
``"less"``: ``T(pi) <= T_obs``), where ties within a relative ``1e-12`` count as at least as
extreme and a non-finite ``T(pi)`` counts as extreme (conservative). The observed assignment
is always part of the reference set, so ``p >= 1/M > 0``:

* exact (``exact=True``) when the number of *distinct* reassignments is at most
  ``exact_if_leq``: every distinct reassignment once, ``M`` = their number. When all paths
  differ this is all ``G!`` permutations; when some paths coincide (e.g. several never-treated
  clusters) each distinct reassignment arises from the same number ``prod_m m!`` of
  permutations, so the p-value equals the one over all ``G!`` permutations;
* otherwise ``n_perm`` uniformly random permutations (with replacement) plus the observed one:
  ``M = n_perm + 1`` and ``p = (1 + #extreme draws) / (n_perm + 1)``, a valid p-value
  (Phipson & Smyth 2010).

Unbalanced panels
-----------------
Missing cluster-periods are coded ``NaN`` in ``treatment_paths``. By default
(``unbalanced="error"``) any NaN raises :class:`SpecificationError`. With
``unbalanced="within_support"`` clusters are grouped by their set of observed periods and paths
are permuted only within groups with identical support (so every reassigned path is observed
exactly where the receiving cluster is); clusters with a unique support keep their path. If no
group has two clusters with different paths the test is impossible and an error is raised.

Randomness: ``seed`` (int or Generator) drives ``Generator.permutation``; identical inputs and
seed give identical results. Caller arrays are never modified (``stat_fn`` gets fresh copies).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.cluster import factorize_clusters

__all__ = ["RIResult", "randomization_inference", "ols_t_stat_fn", "count_distinct_assignments"]

Alternative = Literal["two-sided", "greater", "less"]
Unbalanced = Literal["error", "within_support"]
FloatArray = NDArray[np.float64]
_TIE_RTOL = 1e-12


@dataclass(frozen=True)
class RIResult:
    """Outcome of :func:`randomization_inference`.

    ``stat``: observed statistic; ``p_value``: randomization p-value; ``n_perm``: size ``M`` of
    the reference set (including the observed assignment); ``exact``: whether it is the full set
    of distinct reassignments; ``seed``: integer seed (``None`` if a Generator was passed);
    ``null_distribution``: the ``M`` statistics (observed first); ``n_undefined``: how many were
    non-finite.
    """

    stat: float
    p_value: float
    n_perm: int
    exact: bool
    seed: int | None
    alternative: str = "two-sided"
    n_undefined: int = 0
    null_distribution: FloatArray = field(
        default_factory=lambda: np.empty(0), repr=False, compare=False
    )


# --------------------------------------------------------------------------- strata


def _strata(paths: FloatArray, unbalanced: Unbalanced) -> list[NDArray[np.intp]]:
    """Groups of cluster indices within which paths may be exchanged."""
    missing = np.isnan(paths)
    if not missing.any():
        return [np.arange(paths.shape[0])]
    if unbalanced != "within_support":
        raise SpecificationError(
            "treatment_paths contains NaN (unbalanced panel): balance the panel, or pass "
            "unbalanced='within_support' to permute paths only among clusters observed in "
            "exactly the same periods."
        )
    _, group = np.unique(missing, axis=0, return_inverse=True)
    group = np.asarray(group).reshape(-1)
    return [np.flatnonzero(group == s) for s in range(int(group.max()) + 1)]


def _row_labels(paths: FloatArray) -> NDArray[np.intp]:
    """Integer label per row; equal labels <=> identical rows (NaN == NaN)."""
    key = np.where(np.isnan(paths), np.inf, paths)  # NaN positions are equal within a stratum
    _, labels = np.unique(key, axis=0, return_inverse=True)
    return np.asarray(labels).reshape(-1).astype(np.intp)


def count_distinct_assignments(
    treatment_paths: ArrayLike, *, unbalanced: Unbalanced = "error"
) -> int:
    """Number of distinct reassignments: ``prod_s n_s! / prod_m m!`` over strata ``s``."""
    paths = _check_paths(treatment_paths)
    labels = _row_labels(paths)
    total = 1
    for members in _strata(paths, unbalanced):
        _, counts = np.unique(labels[members], return_counts=True)
        total *= math.factorial(len(members)) // math.prod(math.factorial(int(c)) for c in counts)
    return total


def _multiset_permutations(labels: NDArray[np.intp]) -> Iterator[NDArray[np.intp]]:
    """All distinct orderings of ``labels`` (lexicographic next-permutation), sorted first."""
    a = np.sort(labels).tolist()
    n = len(a)
    while True:
        yield np.array(a, dtype=np.intp)
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1 :] = reversed(a[i + 1 :])


def _exact_sources(
    labels: NDArray[np.intp], strata: list[NDArray[np.intp]]
) -> Iterator[NDArray[np.intp]]:
    """Yield, for each distinct reassignment, the source row of every cluster (G,)."""
    representative = {}
    for g, lab in enumerate(labels.tolist()):
        representative.setdefault(lab, g)
    per_stratum = [list(_multiset_permutations(labels[m])) for m in strata]
    for combo in itertools.product(*per_stratum):
        source = np.empty(labels.shape[0], dtype=np.intp)
        for members, arrangement in zip(strata, combo):
            source[members] = [representative[lab] for lab in arrangement.tolist()]
        yield source


def _random_blocks(rng: np.random.Generator, n_rows: int, strata: list[NDArray[np.intp]], n_perm: int,
                   chunk: int) -> Iterator[NDArray[np.intp]]:
    """Yield ``n_perm`` random reassignments (source row of every cluster) as (m, G) blocks of at most
    ``chunk`` rows.

    Each permutation shuffles every stratum with ``rng.permutation``, strata in order, exactly as the
    one-at-a-time loop did (a stratum of one cluster consumes no random numbers, so it is skipped):
    the same seed gives the same permutations, and so the same p-values, as earlier versions.
    """
    multi = [m for m in strata if m.shape[0] > 1]
    identity = np.arange(n_rows, dtype=np.intp)
    done = 0
    while done < n_perm:
        m = min(chunk, n_perm - done)
        block = np.tile(identity, (m, 1))
        for row in block:
            for members in multi:
                row[members] = members[rng.permutation(members.shape[0])]
        yield block
        done += m


def _blocks(sources: Iterable[NDArray[np.intp]], size: int) -> Iterator[NDArray[np.intp]]:
    """Stack consecutive sources into (m, G) index blocks of at most ``size`` rows."""
    pending: list[NDArray[np.intp]] = []
    for src in sources:
        pending.append(src)
        if len(pending) >= size:
            yield np.stack(pending)
            pending = []
    if pending:
        yield np.stack(pending)


# --------------------------------------------------------------------------- public API


def _check_paths(treatment_paths: ArrayLike) -> FloatArray:
    paths = np.array(treatment_paths, dtype=np.float64)  # a copy
    if paths.ndim == 1:
        paths = paths[:, None]
    if paths.ndim != 2:
        raise SpecificationError(
            f"treatment_paths must be a (G, T) array, got shape {paths.shape}."
        )
    if paths.shape[0] < 2:
        raise SpecificationError("randomization inference needs at least 2 clusters.")
    if np.isinf(paths).any():
        raise SpecificationError("treatment_paths contains infinite values.")
    return paths


def _resolve_rng(seed: int | np.random.Generator) -> tuple[np.random.Generator, int | None]:
    if isinstance(seed, np.random.Generator):
        return seed, None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed)), int(seed)
    raise SpecificationError(
        f"seed must be a non-negative int or numpy.random.Generator, got {seed!r}."
    )


def _extreme(null: FloatArray, observed: float, alternative: Alternative) -> NDArray[np.bool_]:
    tol = _TIE_RTOL * max(1.0, abs(observed))
    undefined = ~np.isfinite(null)
    with np.errstate(invalid="ignore"):
        if alternative == "two-sided":
            hit = np.abs(null) >= abs(observed) - tol
        elif alternative == "greater":
            hit = null >= observed - tol
        else:
            hit = null <= observed + tol
    return hit | undefined


def randomization_inference(
    stat_fn: Callable[[FloatArray], float],
    treatment_paths: ArrayLike,
    *,
    n_perm: int = 9999,
    seed: int | np.random.Generator,
    exact_if_leq: int = 50000,
    alternative: Alternative = "two-sided",
    unbalanced: Unbalanced = "error",
    batch_stat_fn: Callable[[FloatArray], FloatArray] | None = None,
    batch_size: int = 128,
) -> RIResult:
    """Fisher randomization test that permutes entire treatment paths across clusters.

    Parameters
    ----------
    stat_fn : maps a (G, T) treatment array (a fresh copy each call) to the test statistic;
        the CRV1 t-statistic of the treatment coefficient is recommended (Young 2019), see
        :func:`ols_t_stat_fn`.
    treatment_paths : (G, T) observed paths, one row per cluster; NaN = not observed.
    n_perm : number of random permutations when the test is not exact.
    seed : integer seed or Generator (required; used only for random permutations).
    exact_if_leq : enumerate all distinct reassignments when there are at most this many.
    alternative : ``"two-sided"`` (on ``|T|``), ``"greater"`` or ``"less"``.
    unbalanced : ``"error"`` (default) or ``"within_support"``, see the module docstring.
    batch_stat_fn : optional vectorised statistic, (m, G, T) stacked paths -> (m,) statistics, equal to
        ``stat_fn`` applied to each; the permutations (and so the p-value) are the same, only computed
        ``batch_size`` at a time (e.g. as matrix products; the default 128 keeps a block's temporaries in
        cache: blocks of 1,024 were slower on the tables' designs, benchmarks/bench_inference.py).
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise SpecificationError(
            f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}."
        )
    if unbalanced not in ("error", "within_support"):
        raise SpecificationError(
            f"unbalanced must be 'error' or 'within_support', got {unbalanced!r}."
        )
    if isinstance(n_perm, bool) or not isinstance(n_perm, (int, np.integer)) or n_perm < 1:
        raise SpecificationError(f"n_perm must be a positive integer, got {n_perm!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SpecificationError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if not callable(stat_fn):
        raise SpecificationError("stat_fn must be callable: paths (G, T) -> float.")
    rng, seed_int = _resolve_rng(seed)
    paths = _check_paths(treatment_paths)
    strata = _strata(paths, unbalanced)
    labels = _row_labels(paths)
    n_distinct = count_distinct_assignments(paths, unbalanced=unbalanced)
    if n_distinct < 2:
        raise SpecificationError(
            "No permutation changes the assignment (all exchangeable paths are identical, or "
            "every cluster has its own time support): randomization inference is impossible."
        )

    observed = float(stat_fn(paths.copy()))
    if not math.isfinite(observed):
        raise SpecificationError(
            f"stat_fn returned {observed} for the observed assignment: it must be finite."
        )

    exact = n_distinct <= exact_if_leq
    stats = [observed]
    if exact:
        blocks = _blocks((s for s in _exact_sources(labels, strata)
                          if not np.array_equal(labels[s], labels)),  # the observed assignment is already first
                         batch_size)
    else:
        blocks = _random_blocks(rng, paths.shape[0], strata, int(n_perm), batch_size)
    for block in blocks:
        if batch_stat_fn is None:
            stats.extend(float(stat_fn(paths[src])) for src in block)
        else:
            stats.extend(np.asarray(batch_stat_fn(paths[block]), dtype=np.float64).tolist())
    null = np.asarray(stats, dtype=np.float64)
    extreme = _extreme(null, observed, alternative)
    return RIResult(
        stat=observed,
        p_value=float(np.count_nonzero(extreme) / null.shape[0]),
        n_perm=int(null.shape[0]),
        exact=exact,
        seed=seed_int,
        alternative=alternative,
        n_undefined=int(np.count_nonzero(~np.isfinite(null))),
        null_distribution=null,
    )


def ols_t_stat_fn(
    y: ArrayLike,
    controls: ArrayLike | None,
    unit: ArrayLike,
    time: ArrayLike,
    *,
    cluster: ArrayLike | None = None,
    statistic: Literal["t", "coef"] = "t",
) -> Callable[[FloatArray], float]:
    """Build ``stat_fn(paths)``: OLS of ``y`` on the treatment ``paths[unit, time]`` and controls.

    The treatment coefficient is obtained by Frisch-Waugh-Lovell: ``controls`` (n, p) -- which
    should contain the intercept and any fixed-effect dummies -- are partialled out of ``y``
    once and out of each permuted treatment column. ``statistic="t"`` returns the CRV1
    t-statistic (clusters = ``cluster``, default ``unit``; factor ``G/(G-1)*(N-1)/(N-p-1)``,
    which is constant across permutations and so irrelevant to the p-value); ``"coef"`` returns
    the coefficient. ``unit`` and ``time`` are integer row/column indices into the (G, T) paths.
    """
    if statistic not in ("t", "coef"):
        raise SpecificationError(f"statistic must be 't' or 'coef', got {statistic!r}.")
    ya = np.array(y, dtype=np.float64).reshape(-1)
    n = ya.shape[0]
    unit_idx = np.asarray(unit)
    time_idx = np.asarray(time)
    if unit_idx.shape != (n,) or time_idx.shape != (n,):
        raise SpecificationError("unit and time must be 1-D with one entry per observation.")
    if not (np.issubdtype(unit_idx.dtype, np.integer) and np.issubdtype(time_idx.dtype, np.integer)):
        raise SpecificationError("unit and time must be integer indices into treatment_paths.")
    if controls is None:
        q = np.empty((n, 0))
    else:
        Z = np.array(controls, dtype=np.float64)
        Z = Z[:, None] if Z.ndim == 1 else Z
        if Z.shape[0] != n:
            raise SpecificationError("controls must have one row per observation.")
        q_full, r = np.linalg.qr(Z)
        d = np.abs(np.diag(r))
        keep = d > max(Z.shape) * np.finfo(np.float64).eps * (d.max() if d.size else 1.0)
        q = q_full[:, keep]  # drop (numerically) redundant controls, e.g. a dummy trap
    codes, n_clusters = factorize_clusters(unit_idx if cluster is None else cluster, n)
    y_tilde = ya - q @ (q.T @ ya)
    n_params = q.shape[1] + 1
    if n <= n_params:
        raise SpecificationError("more parameters than observations in ols_t_stat_fn.")
    ssc = n_clusters / (n_clusters - 1) * (n - 1) / (n - n_params)

    def stat_fn(paths: FloatArray) -> float:
        x = np.asarray(paths, dtype=np.float64)[unit_idx, time_idx]
        if not np.isfinite(x).all():
            raise SpecificationError(
                "treatment is missing (NaN) for an observed unit-period: align the panel with "
                "treatment_paths."
            )
        x_tilde = x - q @ (q.T @ x)
        sxx = float(x_tilde @ x_tilde)
        if sxx <= 1e-12 * max(1.0, float(x @ x)):
            return math.nan  # treatment collinear with the controls under this assignment
        beta = float(x_tilde @ y_tilde) / sxx
        if statistic == "coef":
            return beta
        resid = y_tilde - beta * x_tilde
        score = np.bincount(codes, weights=x_tilde * resid, minlength=n_clusters)
        se = math.sqrt(ssc * float(score @ score)) / sxx
        return beta / se if se > 0 else math.nan

    return stat_fn
