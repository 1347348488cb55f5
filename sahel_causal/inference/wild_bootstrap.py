"""Restricted wild cluster bootstrap (WCR) t-test and confidence interval for one OLS coefficient.

Estimand and test
-----------------
Model ``y = X b + u`` with ``E[u | X] = 0``, errors independent across clusters and arbitrarily
dependent within. We test ``H0: b_j = beta0`` with the CRV1 t-statistic
``t = (b_hat_j - beta0) / se_CRV1`` and obtain its null distribution by the restricted wild
cluster bootstrap ("WCR11" of MacKinnon, Nielsen & Webb 2023; Cameron, Gelbach & Miller 2008):

* restricted fit: ``b_tilde`` = OLS of ``y`` on ``X`` subject to ``b_j = beta0``; residuals
  ``u_tilde``;
* bootstrap samples ``y*_b = X b_tilde + u_tilde * v_{b,g(i)}`` with one weight ``v_{b,g}`` per
  cluster (Rademacher, Webb six-point or Mammen);
* each bootstrap sample is refitted by OLS and its CRV1 t-statistic for ``b_j = beta0``
  computed.

Nothing is refitted observation by observation. Following Roodman, MacKinnon, Nielsen & Webb
(2019, "Fast and wild: Bootstrap inference in Stata using boottest", Stata Journal 19(1)),
with ``a = e_j'(X'X)^{-1}``, ``c_g = a X_g'u_tilde_g`` (G,), ``S`` the (G, k) cluster scores
``X_g'u_tilde_g`` and ``A_g = a X_g'X_g (X'X)^{-1}`` (G, k), a draw ``v`` (G,) gives::

    numerator   = sum_g v_g c_g                    (= b*_j - beta0)
    Z           = v * c - A (S' v)                 (G,)  cluster scores of the bootstrap fit
    t*          = numerator / sqrt(ssc * sum_g Z_g^2)

Expanding the square with ``u = S'v``, ``f = sum_g v_g c_g A_g'`` and ``H = A'A``,
``sum_g Z_g^2 = sum_g v_g^2 c_g^2 - 2 u'f + u'H u``, so one matrix product of the (chunk, G)
weight block with a (G, 2 + 4k) matrix yields every draw: a draw costs O(G k + k^2) after an
O(N k) set-up (draws whose expansion cancels badly are recomputed from ``Z`` directly). Draws
are processed in chunks with buffers reused, so memory is O(chunk * G + B): it never grows with
draws x observations.

Every quantity is affine in ``beta0`` (``u_tilde(beta0)`` is affine in ``beta0``), so for each
draw the set-up stores the numerator's two coefficients and the three coefficients of the
quadratic ``sum_g Z_g^2``; the p-value at any ``beta0`` then costs O(B) with the *same* draws.
The confidence set is found by test inversion: the set of ``beta0`` with ``p(beta0) >= alpha``.
With ``beta = b_hat + se z`` the original statistic is ``t = -z`` and draw ``b`` changes sides
(``|t*_b| = |t|``, or ``t*_b = t`` for the equal-tailed p-value) only at real roots of the quartic
``(A_b - B_b z)^2 - ssc z^2 (Q0_b + Q1_b z + Q2_b z^2)``, so ``p`` is a step function whose
steps are those roots. All roots of all draws are found at once (eigenvalues of the (B, 4, 4)
companion matrices), sorted, and swept in ONE pass that updates the count of extreme draws root
by root; each boundary of the acceptance set is then polished by bisection on the exact
p-value. The set may be a union of disjoint intervals (few clusters): ``ci_set`` returns every
interval and ``(ci_low, ci_high)`` its hull; an interval that never closes on one side has an
infinite bound (possible with very few clusters).

p-values and ties
-----------------
``symmetric`` (default): ``p = #{b : |t*_b| > |t|} / B``; ``equal-tailed``:
``p = 2 min(#{t*_b < t}, #{t*_b > t}) / B``. Counting is strict, as in boottest and
fwildclusterboot. A draw whose weights are equal in every cluster (``v = c 1``; under full
enumeration exactly the all-(+1) and all-(-1) vectors) reproduces ``t* = sign(c) t`` exactly;
such draws are identified from the weights and given that value, so ties are never decided by
rounding noise.

Full enumeration: with Rademacher weights and ``2**G <= B`` all ``2**G`` sign vectors are used
(deterministic; ``enumerated=True``, ``n_draws = 2**G``), in the order of
``itertools.product([-1, 1], repeat=G)`` over clusters sorted by label (the order wildboottest
uses). Random draws come from ``numpy.random.default_rng(seed)`` (or the Generator passed) in
chunks whose size depends only on G, so results are identical for identical inputs and seed
(Rademacher signs are the bits of the bit generator's raw 64-bit outputs).

Small-sample factor and fixed effects
-------------------------------------
``ssc = G/(G-1) * (N-1)/(N-K)`` (see :mod:`sahel_causal.inference.cluster` for K with absorbed
fixed effects) multiplies both ``t`` and every ``t*`` variance, so it changes the reported
t-statistic but never the p-value or the confidence interval.

Fixed effects may be partialled out of ``y`` and ``X`` beforehand (Frisch-Waugh-Lovell). The
restricted residuals, the bootstrap coefficients and hence the numerators are then exactly those
of the dummy-variable regression. The bootstrap CRV1 *denominators* are exact only for fixed
effects nested in the bootstrap clusters (e.g. country FE with country clusters): for a
non-nested FE (e.g. year FE with country clusters) the dummy regression's bootstrap residuals
are ``M_D (u_tilde * v) - ...`` and ``M_D (u_tilde * v) != u_tilde * v``. Partial out only the
nested fixed effects and pass non-nested ones as explicit columns of ``X`` (the tests check both
statements).

References: Cameron, Gelbach & Miller (2008, REStat 90(3)); Roodman, MacKinnon, Nielsen & Webb
(2019, Stata J. 19(1)); Webb (2023, Canadian J. Econ. 56(3)) for the six-point weights;
Mammen (1993, Ann. Stat. 21(1)); MacKinnon, Nielsen & Webb (2023, J. Econometrics 232(2)).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.cluster import (
    as_design_matrix,
    as_vector,
    cluster_sums,
    crv1_small_sample_factor,
    factorize_clusters,
    xtx_inverse,
)

__all__ = [
    "WildBootstrapResult",
    "wild_cluster_bootstrap",
    "wild_bootstrap_t_stats",
    "rademacher_enumeration",
    "draw_weights",
]

WeightType = Literal["rademacher", "webb", "mammen"]
PValueType = Literal["symmetric", "equal-tailed"]
FloatArray = NDArray[np.float64]

_WEIGHT_TYPES: tuple[str, ...] = ("rademacher", "webb", "mammen")
_P_VALUE_TYPES: tuple[str, ...] = ("symmetric", "equal-tailed")
# Elements (draws x clusters) per chunk; fixed so that draws depend on (seed, G, B) only.
_CHUNK_ELEMENTS = 1 << 18
_WEBB_VALUES = np.array(
    [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
)
_SQRT5 = math.sqrt(5.0)
_MAMMEN_LOW = -(_SQRT5 - 1.0) / 2.0  # probability (sqrt5 + 1) / (2 sqrt5)
_MAMMEN_HIGH = (_SQRT5 + 1.0) / 2.0
_MAMMEN_P_LOW = (_SQRT5 + 1.0) / (2.0 * _SQRT5)
_MAX_ENUMERATION_CLUSTERS = 30
# A draw whose sum of squared bootstrap scores is below this fraction of the largest term of its
# expansion is recomputed directly from the (G,) scores (guards against cancellation).
_CANCELLATION_RTOL = 1e-6


@dataclass(frozen=True)
class WildBootstrapResult:
    """Outcome of :func:`wild_cluster_bootstrap`.

    ``t_stat`` is the CRV1 t-statistic of ``H0: b_j = beta0``; ``p_value`` its bootstrap
    p-value; ``[ci_low, ci_high]`` the ``1 - alpha`` confidence interval by test inversion;
    ``n_draws`` the number of bootstrap draws actually used (``2**G`` when ``enumerated``);
    ``seed`` the integer seed passed (``None`` when a Generator was passed; under enumeration
    it is recorded but unused); ``coef`` and ``se`` the estimate and its CRV1 standard error;
    ``ci_set`` the confidence set as sorted disjoint intervals (``ci_low``/``ci_high`` are its
    hull, see :attr:`ci_is_hull`).
    """

    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    n_draws: int
    weights: str
    enumerated: bool
    seed: int | None
    impose_null: bool = True
    coef: float = math.nan
    se: float = math.nan
    beta0: float = 0.0
    alpha: float = 0.05
    p_value_type: str = "symmetric"
    n_clusters: int = 0
    ci_set: tuple[tuple[float, float], ...] = ()

    @property
    def ci_is_hull(self) -> bool:
        """True when the confidence set is not one interval, so ``(ci_low, ci_high)`` is its hull."""
        return len(self.ci_set) > 1


# --------------------------------------------------------------------------- weights


def _fill_enumeration(out: FloatArray, start: int) -> None:
    """Write sign vectors ``start .. start + len(out) - 1`` of the enumeration into ``out``."""
    n_clusters = out.shape[1]
    rows = np.arange(start, start + out.shape[0], dtype=np.int64)
    for g in range(n_clusters):
        np.multiply((rows >> (n_clusters - 1 - g)) & 1, 2.0, out=out[:, g])
    out -= 1.0


def rademacher_enumeration(n_clusters: int, start: int = 0, stop: int | None = None) -> FloatArray:
    """Rows ``start..stop-1`` of the ``2**G`` Rademacher sign vectors, shape (rows, G).

    Row ``b`` is the binary expansion of ``b`` (cluster 0 = most significant bit, 0 -> -1,
    1 -> +1), i.e. the order of ``itertools.product([-1, 1], repeat=G)``.
    """
    if n_clusters > _MAX_ENUMERATION_CLUSTERS:
        raise SpecificationError(
            f"Refusing to enumerate 2**{n_clusters} sign vectors: use random draws."
        )
    total = 1 << n_clusters
    stop = total if stop is None else min(stop, total)
    out = np.empty((max(stop - start, 0), n_clusters), dtype=np.float64)
    _fill_enumeration(out, start)
    return out


def _fill_random(out: FloatArray, weights: WeightType, rng: np.random.Generator) -> None:
    """Write i.i.d. weights into ``out`` (rows = draws) without allocating a float array."""
    if weights == "rademacher":
        # one raw 64-bit output gives 64 independent fair bits (little-endian bit order)
        n_bits = out.size
        raw = rng.bit_generator.random_raw(-(-n_bits // 64)).astype("<u8", copy=False)
        bits = np.unpackbits(raw.view(np.uint8), count=n_bits, bitorder="little")
        np.multiply(bits.reshape(out.shape), 2.0, out=out)
        out -= 1.0
    elif weights == "webb":
        np.take(_WEBB_VALUES, rng.integers(0, 6, size=out.shape, dtype=np.uint8), out=out)
    elif weights == "mammen":
        rng.random(out=out)
        low = out < _MAMMEN_P_LOW
        out.fill(_MAMMEN_HIGH)
        out[low] = _MAMMEN_LOW
    else:
        raise SpecificationError(f"weights must be one of {_WEIGHT_TYPES}, got {weights!r}.")


def draw_weights(
    weights: WeightType, n_draws: int, n_clusters: int, rng: np.random.Generator
) -> FloatArray:
    """Draw an (n_draws, G) matrix of i.i.d. wild-bootstrap weights (mean 0, variance 1).

    Rademacher: +-1 with probability 1/2. Webb: +-sqrt(1/2), +-1, +-sqrt(3/2), each 1/6.
    Mammen: -(sqrt5-1)/2 with probability (sqrt5+1)/(2 sqrt5), else (sqrt5+1)/2.
    (:func:`wild_cluster_bootstrap` draws the same way, chunk by chunk.)
    """
    out = np.empty((n_draws, n_clusters), dtype=np.float64)
    _fill_random(out, weights, rng)
    return out


# --------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class _WCRSetup:
    """Cluster-level quantities of the WCR t-test; see the module docstring for the algebra."""

    coef: float  # unrestricted estimate b_hat_j
    v_raw: float  # sum_g (a X_g' u_hat_g)^2 (CRV1 variance without small-sample factor)
    ssc: float
    beta0: float
    c0: FloatArray  # (G,) a X_g' u_tilde_g at beta0
    c2: FloatArray  # (G,) a X_g' M_{-j} x_j   (u_tilde(b) = u_tilde(beta0) - (b-beta0) u2)
    s0: FloatArray  # (G, k) X_g' u_tilde_g at beta0
    s2: FloatArray  # (G, k) X_g' u2_g
    a_mat: FloatArray  # (G, k) a X_g'X_g (X'X)^{-1}
    n_clusters: int


def _setup(
    X: ArrayLike,
    y: ArrayLike,
    cluster: ArrayLike,
    coef_index: int,
    beta0: float,
    small_sample: bool,
    k_absorbed: int,
    fe_nested: bool,
) -> _WCRSetup:
    ya = as_vector(y, "y")
    Xa = as_design_matrix(X, ya.shape[0])
    n, k = Xa.shape
    if isinstance(coef_index, bool) or not isinstance(coef_index, (int, np.integer)):
        raise SpecificationError(f"coef_index must be an integer column index, got {coef_index!r}.")
    j = int(coef_index)
    if not -k <= j < k:
        raise SpecificationError(f"coef_index {j} is out of range for X with {k} columns.")
    j %= k
    if not np.isfinite(beta0):
        raise SpecificationError(f"beta0 must be finite, got {beta0!r}.")
    codes, n_clusters = factorize_clusters(cluster, n)
    bread = xtx_inverse(Xa)
    a = bread[j]
    b_hat = np.linalg.lstsq(Xa, ya, rcond=None)[0]
    u_hat = ya - Xa @ b_hat
    xa = Xa @ a  # (n,)
    v_raw = float(np.sum(np.bincount(codes, weights=xa * u_hat, minlength=n_clusters) ** 2))
    if not v_raw > 0.0 or float(u_hat @ u_hat) <= 1e-24 * float(ya @ ya):
        raise SpecificationError(
            "The CRV1 variance of the tested coefficient is zero (the regression fits exactly "
            "or the regressor's cluster scores all vanish): the t-test is undefined."
        )

    xj = Xa[:, j]
    others = np.delete(Xa, j, axis=1)
    y_r = ya - beta0 * xj
    if others.shape[1]:
        u0 = y_r - others @ np.linalg.lstsq(others, y_r, rcond=None)[0]
        u2 = xj - others @ np.linalg.lstsq(others, xj, rcond=None)[0]
    else:
        u0, u2 = y_r, xj.copy()
    both = cluster_sums(np.column_stack([xa * u0, xa * u2, Xa * u0[:, None], Xa * u2[:, None]]),
                        codes, n_clusters)
    a_mat = cluster_sums(Xa * xa[:, None], codes, n_clusters) @ bread
    ssc = (
        crv1_small_sample_factor(n, k, n_clusters, k_absorbed=k_absorbed, fe_nested=fe_nested)
        if small_sample
        else 1.0
    )
    return _WCRSetup(
        coef=float(b_hat[j]),
        v_raw=v_raw,
        ssc=ssc,
        beta0=float(beta0),
        c0=both[:, 0],
        c2=both[:, 1],
        s0=both[:, 2 : 2 + k],
        s2=both[:, 2 + k :],
        a_mat=a_mat,
        n_clusters=n_clusters,
    )


@dataclass(frozen=True)
class _DrawStats:
    """Per-draw coefficients: numerator n0 - d n2, squared-score sum q00 - 2 d q02 + d^2 q22."""

    n0: FloatArray
    n2: FloatArray
    q00: FloatArray
    q02: FloatArray
    q22: FloatArray
    tie_sign: FloatArray  # +1 / -1 for constant weight vectors, 0 otherwise


def _chunk_rows(n_clusters: int) -> int:
    return max(1, _CHUNK_ELEMENTS // n_clusters)


def _rowdot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.einsum("ij,ij->i", a, b)


def _constant_rows(w: FloatArray) -> NDArray[np.intp]:
    """Indices of rows whose entries are all equal (filtering column by column)."""
    cand = np.arange(w.shape[0])
    first = w[:, 0]
    for g in range(1, w.shape[1]):
        if cand.size == 0:
            break
        cand = cand[w[cand, g] == first[cand]]
    return cand


def _accumulate(
    setup: _WCRSetup,
    n_draws: int,
    fill: Callable[[FloatArray, int], None],
    with_slope: bool,
    unit_modulus: bool,
) -> _DrawStats:
    """Per-draw statistics; ``fill(buffer, start)`` writes the weights of draws
    ``start .. start + len(buffer) - 1``. Buffers are allocated once and reused.

    With ``u0 = S0'v``, ``f0 = sum_g v_g c0_g A_g'`` (same for index 2) and ``H = A'A``::

        sum_g Z0_g^2    = sum_g v_g^2 c0_g^2 - 2 u0'f0 + u0'H u0
        sum_g Z0_g Z2_g = sum_g v_g^2 c0_g c2_g - u0'f2 - u2'f0 + u0'H u2

    so one matrix product ``W [c0 c2 S0 S2 F0 F2 1]`` per chunk (plus ``W**2 [c0^2 ...]``
    unless ``|v_g| = 1``) gives every draw in O(G k + k^2). Draws where these expansions
    cancel badly (sum < 1e-6 x its largest term) are recomputed from ``Z`` directly.
    """
    n_clusters = setup.n_clusters
    k = setup.s0.shape[1]
    m = min(_chunk_rows(n_clusters), n_draws)
    a_mat = setup.a_mat
    h = a_mat.T @ a_mat
    f0 = a_mat * setup.c0[:, None]  # (G, k): rows c0_g A_g
    f2 = a_mat * setup.c2[:, None]
    blocks = [setup.c0[:, None], setup.s0, f0, np.ones((n_clusters, 1))]
    if with_slope:
        blocks += [setup.c2[:, None], setup.s2, f2]
    rhs = np.ascontiguousarray(np.column_stack(blocks))
    i_u0, i_f0, i_one = slice(1, 1 + k), slice(1 + k, 1 + 2 * k), 1 + 2 * k
    i_c2, i_u2, i_f2 = 2 + 2 * k, slice(3 + 2 * k, 3 + 3 * k), slice(3 + 3 * k, 3 + 4 * k)
    sq = np.column_stack([setup.c0**2, setup.c0 * setup.c2, setup.c2**2])  # (G, 3)
    w_buf = np.empty((m, n_clusters))
    w2_buf = None if unit_modulus else np.empty((m, n_clusters))
    p_buf = np.empty((m, rhs.shape[1]))
    out = {key: np.zeros(n_draws) for key in ("n0", "n2", "q00", "q02", "q22", "tie")}
    for start in range(0, n_draws, m):
        rows = min(m, n_draws - start)
        sl = slice(start, start + rows)
        w, prod = w_buf[:rows], p_buf[:rows]
        fill(w, start)
        np.matmul(w, rhs, out=prod)
        if w2_buf is None:
            quad = np.broadcast_to(sq.sum(axis=0), (rows, 3))
        else:
            w2 = w2_buf[:rows]
            np.multiply(w, w, out=w2)
            quad = w2 @ sq
        u0 = prod[:, i_u0]
        hu0 = u0 @ h
        out["n0"][sl] = prod[:, 0]
        q00 = quad[:, 0] - 2.0 * _rowdot(u0, prod[:, i_f0]) + _rowdot(hu0, u0)
        terms = [quad[:, 0], np.abs(_rowdot(u0, prod[:, i_f0])), _rowdot(hu0, u0)]
        if with_slope:
            u2 = prod[:, i_u2]
            out["n2"][sl] = prod[:, i_c2]
            q02 = quad[:, 1] - _rowdot(u0, prod[:, i_f2]) - _rowdot(u2, prod[:, i_f0]) + _rowdot(hu0, u2)
            q22 = quad[:, 2] - 2.0 * _rowdot(u2, prod[:, i_f2]) + _rowdot(u2 @ h, u2)
        bad = np.flatnonzero(q00 < _CANCELLATION_RTOL * np.maximum.reduce(terms))
        if bad.size:  # cancellation: recompute these draws from the cluster scores directly
            wb = w[bad]
            z0 = wb * setup.c0 - u0[bad] @ a_mat.T
            q00[bad] = _rowdot(z0, z0)
            if with_slope:
                z2 = wb * setup.c2 - u2[bad] @ a_mat.T
                q02[bad] = _rowdot(z0, z2)
                q22[bad] = _rowdot(z2, z2)
        out["q00"][sl] = q00
        if with_slope:
            out["q02"][sl] = q02
            out["q22"][sl] = q22
        if unit_modulus:  # +-1 weights: constant row <=> |sum_g v_g| = G (exact in floats)
            total = prod[:, i_one]
            out["tie"][sl] = np.where(np.abs(total) == n_clusters, np.sign(total), 0.0)
        else:
            const = _constant_rows(w)
            out["tie"][start + const] = np.sign(w[const, 0])
    return _DrawStats(
        n0=out["n0"], n2=out["n2"], q00=out["q00"], q02=out["q02"], q22=out["q22"],
        tie_sign=out["tie"],
    )


# --------------------------------------------------------------------------- statistics


def _t_pair(setup: _WCRSetup, stats: _DrawStats, beta: float) -> tuple[float, FloatArray]:
    """Original t and bootstrap t* at ``H0: b_j = beta`` (small-sample factor included)."""
    d = beta - setup.beta0
    scale = math.sqrt(setup.ssc)
    t = (setup.coef - beta) / (scale * math.sqrt(setup.v_raw))
    numer = stats.n0 - d * stats.n2
    denom = stats.q00 - 2.0 * d * stats.q02 + d * d * stats.q22
    with np.errstate(divide="ignore", invalid="ignore"):
        t_boot = numer / (scale * np.sqrt(np.maximum(denom, 0.0)))
    tie = stats.tie_sign != 0.0
    if tie.any():
        t_boot = np.where(tie, stats.tie_sign * t, t_boot)
    return t, t_boot


def _p_value(t: float, t_boot: FloatArray, p_value_type: PValueType) -> float:
    n = t_boot.shape[0]
    if p_value_type == "symmetric":
        return float(np.count_nonzero(np.abs(t_boot) > abs(t)) / n)
    lower = np.count_nonzero(t_boot < t)
    upper = np.count_nonzero(t_boot > t)
    return float(min(1.0, 2.0 * min(lower, upper) / n))


def _p_at(setup: _WCRSetup, stats: _DrawStats, beta: float, p_value_type: PValueType) -> float:
    t, t_boot = _t_pair(setup, stats, beta)
    return _p_value(t, t_boot, p_value_type)


def _ci_bound(
    setup: _WCRSetup,
    stats: _DrawStats,
    alpha: float,
    p_value_type: PValueType,
    direction: float,
) -> float:
    """Outer end of ``{beta : p(beta) >= alpha}`` on one side of the estimate."""
    se = math.sqrt(setup.ssc * setup.v_raw)
    centre = setup.coef
    scale = se if se > 0 else max(abs(centre), 1.0)

    def p(beta: float) -> float:
        return _p_at(setup, stats, beta, p_value_type)

    if p(centre) < alpha:
        return math.nan
    width = 2.0 * scale
    for _ in range(42):
        if p(centre + direction * width) < alpha:
            break
        width *= 2.0
    else:
        return direction * math.inf
    grid = centre + direction * np.linspace(0.0, width, 65)
    accepted = np.array([p(float(b)) >= alpha for b in grid])
    last = int(np.flatnonzero(accepted).max())
    inside, outside = float(grid[last]), float(grid[last + 1])
    return _bisect_boundary(lambda b: p(b) >= alpha, inside, outside, 1e-13 * max(abs(centre), scale))


def _bisect_boundary(accepts: Callable[[float], bool], inside: float, outside: float, tol: float) -> float:
    """Bisection between an accepted value ``inside`` and a rejected value ``outside`` of a test
    inversion until they are ``tol`` apart (at most 200 halvings); returns their midpoint."""
    for _ in range(200):
        if abs(outside - inside) <= tol:
            break
        mid = 0.5 * (inside + outside)
        if accepts(mid):
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside)


def _draw_states(
    setup: _WCRSetup, stats: _DrawStats, idx: NDArray[np.intp], z: FloatArray, p_value_type: PValueType
) -> tuple[FloatArray, FloatArray]:
    """For draws ``idx`` at points ``z`` (beta = coef + se z): (extreme-or-lower, upper) indicators.

    Symmetric: first = ``|t*| > |t|``, second = 0. Equal-tailed: first = ``t* < t``, second =
    ``t* > t``. Same arithmetic as :func:`_t_pair` (ties, clipped denominators).
    """
    se = math.sqrt(setup.ssc * setup.v_raw)
    scale = math.sqrt(setup.ssc)
    d = setup.coef - setup.beta0 + se * z
    t = -z
    numer = stats.n0[idx] - d * stats.n2[idx]
    denom = stats.q00[idx] - 2.0 * d * stats.q02[idx] + d * d * stats.q22[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_boot = numer / (scale * np.sqrt(np.maximum(denom, 0.0)))
    tie = stats.tie_sign[idx]
    t_boot = np.where(tie != 0.0, tie * t, t_boot)
    if p_value_type == "symmetric":
        return (np.abs(t_boot) > np.abs(t)).astype(float), np.zeros(z.shape)
    return (t_boot < t).astype(float), (t_boot > t).astype(float)


def _quartic_roots(coefs: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """Real roots of the rows of ``coefs`` (B, 5; highest power first): (roots, row of each root)."""
    norm = np.max(np.abs(coefs), axis=1)
    norm[norm == 0.0] = 1.0
    c = coefs / norm[:, None]
    full = np.abs(c[:, 0]) > 1e-10
    roots, owners = [], []
    all_rows = np.flatnonzero(full)
    for start in range(0, all_rows.size, 8192):  # chunks: memory O(chunk), not O(draws)
        rows = all_rows[start:start + 8192]
        comp = np.zeros((rows.size, 4, 4))
        comp[:, 0, :] = -c[rows, 1:] / c[rows, :1]
        comp[:, 1, 0] = comp[:, 2, 1] = comp[:, 3, 2] = 1.0
        ev = np.linalg.eigvals(comp)
        real = np.abs(ev.imag) <= 1e-7 * np.maximum(1.0, np.abs(ev.real))
        roots.append(ev.real[real])
        owners.append(np.broadcast_to(rows[:, None], ev.shape)[real])
        del comp, ev, real
    for r in np.flatnonzero(~full):  # degenerate quartic (e.g. q22 = 0): rare, one by one
        ev = np.roots(np.trim_zeros(c[r], "f")) if np.any(c[r]) else np.empty(0)
        ev = np.atleast_1d(ev)
        ev = ev.real[np.abs(ev.imag) <= 1e-7 * np.maximum(1.0, np.abs(ev.real))]
        roots.append(ev)
        owners.append(np.full(ev.shape, r, dtype=np.intp))
    if not roots:
        return np.empty(0), np.empty(0, dtype=np.intp)
    return np.concatenate(roots), np.concatenate(owners).astype(np.intp)


def _ci_set(
    setup: _WCRSetup, stats: _DrawStats, alpha: float, p_value_type: PValueType
) -> tuple[tuple[float, float], ...]:
    """The confidence set ``{beta : p(beta) >= alpha}`` as sorted disjoint intervals (module docstring)."""
    se = math.sqrt(setup.ssc * setup.v_raw)
    n = stats.n0.shape[0]
    D0 = setup.coef - setup.beta0
    A = stats.n0 - D0 * stats.n2
    Bc = se * stats.n2
    Q0 = stats.q00 - 2.0 * D0 * stats.q02 + D0 * D0 * stats.q22
    Q1 = 2.0 * se * (D0 * stats.q22 - stats.q02)
    Q2 = se * se * stats.q22
    ssc = setup.ssc
    coefs = np.column_stack([-ssc * Q2, -ssc * Q1, Bc * Bc - ssc * Q0, -2.0 * A * Bc, A * A])
    del A, Bc, Q0, Q1, Q2
    roots, owner = _quartic_roots(coefs)
    del coefs
    tie_rows = np.flatnonzero(stats.tie_sign != 0.0)
    if tie_rows.size:  # ties change sides only at t = 0 (equal-tailed p-value)
        roots = np.concatenate([roots, np.zeros(tie_rows.size)])
        owner = np.concatenate([owner, tie_rows])
    order = np.argsort(roots, kind="stable")
    roots, owner = roots[order], owner[order]
    everyone = np.arange(n)
    left = (roots[0] - 1.0) if roots.size else -1.0
    init_a, init_b = _draw_states(setup, stats, everyone, np.full(n, left), p_value_type)

    def p_of(count_a: FloatArray, count_b: FloatArray) -> FloatArray:
        if p_value_type == "symmetric":
            return count_a / n
        return np.minimum(1.0, 2.0 * np.minimum(count_a, count_b) / n)

    # state of each root's draw just right of the root, and its state before (previous root or left end)
    # (evaluated halfway to the next *distinct* root, never at a root shared with another draw)
    distinct = np.unique(roots)
    pos = np.searchsorted(distinct, roots, side="right")
    nxt = np.where(pos < distinct.size, distinct[np.minimum(pos, distinct.size - 1)], roots + 1.0)
    mids = 0.5 * (roots + nxt)
    del distinct, pos, nxt
    new_a, new_b = np.empty(roots.size), np.empty(roots.size)
    for start in range(0, roots.size, 65536):  # chunks keep the temporaries small
        sl = slice(start, start + 65536)
        new_a[sl], new_b[sl] = _draw_states(setup, stats, owner[sl], mids[sl], p_value_type)
    del mids
    prev_a, prev_b = init_a[owner].copy(), init_b[owner].copy()
    if roots.size:
        by_owner = np.lexsort((np.arange(roots.size), owner))
        same = np.flatnonzero(owner[by_owner][1:] == owner[by_owner][:-1])
        prev_a[by_owner[same + 1]] = new_a[by_owner[same]]
        prev_b[by_owner[same + 1]] = new_b[by_owner[same]]
    count_a = init_a.sum() + np.cumsum(new_a - prev_a)
    count_b = init_b.sum() + np.cumsum(new_b - prev_b)
    del new_a, new_b, prev_a, prev_b, owner
    # intervals: (-inf, r0), [r0, r1), ..., [r_last, inf)
    lows = np.concatenate([[-math.inf], roots])
    highs = np.concatenate([roots, [math.inf]])
    accept = np.concatenate([p_of(init_a.sum()[None], init_b.sum()[None]), p_of(count_a, count_b)]) >= alpha
    accept &= highs > lows  # zero-width pieces between coincident roots carry no information
    probe = np.where(np.isfinite(lows) & np.isfinite(highs), 0.5 * (lows + highs),
                     np.where(np.isfinite(lows), lows + 1.0, highs - 1.0))

    def p_exact(z: float) -> float:
        return _p_at(setup, stats, setup.coef + se * z, p_value_type)

    def polish(inside: float, outside: float) -> float:
        return _bisect_boundary(lambda z: p_exact(z) >= alpha, inside, outside, 1e-13 * max(abs(inside), 1.0))

    segments: list[tuple[float, float]] = []
    i, m = 0, accept.shape[0]
    while i < m:
        if not accept[i]:
            i += 1
            continue
        j = i
        while j + 1 < m and (accept[j + 1] or highs[j + 1] <= lows[j + 1]):
            j += 1
        while not accept[j]:
            j -= 1
        lo = -math.inf if not np.isfinite(lows[i]) else polish(probe[i], probe[i - 1])
        hi = math.inf if not np.isfinite(highs[j]) else polish(probe[j], probe[j + 1])
        segments.append((lo, hi))
        i = j + 1
    out = []
    for lo, hi in segments:  # back to the coefficient scale
        out.append((setup.coef + se * lo if math.isfinite(lo) else -math.inf,
                    setup.coef + se * hi if math.isfinite(hi) else math.inf))
    return tuple(out)


# --------------------------------------------------------------------------- public API


def _resolve_rng(seed: int | np.random.Generator) -> tuple[np.random.Generator, int | None]:
    if isinstance(seed, np.random.Generator):
        return seed, None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise SpecificationError(f"seed must be a non-negative integer, got {seed}.")
        return np.random.default_rng(int(seed)), int(seed)
    raise SpecificationError(
        f"seed must be an int or numpy.random.Generator, got {type(seed).__name__}: pass it "
        "explicitly so that results are reproducible."
    )


def wild_bootstrap_t_stats(
    X: ArrayLike,
    y: ArrayLike,
    cluster: ArrayLike,
    coef_index: int,
    weight_matrix: ArrayLike,
    *,
    beta0: float = 0.0,
    small_sample: bool = True,
    k_absorbed: int = 0,
    fe_nested: bool = False,
) -> tuple[float, FloatArray]:
    """Original CRV1 t-statistic and WCR bootstrap t-statistics for given weights.

    ``weight_matrix`` is (B, G): row ``b`` holds the weights of draw ``b`` for the clusters in
    sorted-label order. Draws with constant weights get ``t* = sign(v) t`` exactly (see the
    module docstring). Returns ``(t, t_boot)`` with ``t_boot`` of shape (B,).
    """
    setup = _setup(X, y, cluster, coef_index, beta0, small_sample, k_absorbed, fe_nested)
    w = np.asarray(weight_matrix, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != setup.n_clusters:
        raise SpecificationError(
            f"weight_matrix must have shape (B, {setup.n_clusters}), got {w.shape}."
        )

    def fill(buf: FloatArray, start: int) -> None:
        buf[...] = w[start : start + buf.shape[0]]

    unit_modulus = bool(np.all(np.abs(w) == 1.0))
    stats = _accumulate(setup, w.shape[0], fill, with_slope=False, unit_modulus=unit_modulus)
    return _t_pair(setup, stats, setup.beta0)


def wild_cluster_bootstrap(
    X: ArrayLike,
    y: ArrayLike,
    cluster: ArrayLike,
    coef_index: int,
    *,
    beta0: float = 0.0,
    B: int = 9999,
    weights: WeightType = "rademacher",
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    ci: bool = True,
    small_sample: bool = True,
    p_value_type: PValueType = "symmetric",
    k_absorbed: int = 0,
    fe_nested: bool = False,
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap (WCR) test of ``b_j = beta0`` and its inverted CI.

    Parameters
    ----------
    X, y, cluster : (n, k) regressors, (n,) outcome and (n,) cluster labels, with absorbed fixed
        effects already partialled out (only FE nested in clusters; see the module docstring).
    coef_index : column of ``X`` whose coefficient is tested.
    beta0 : value of the coefficient under the null hypothesis.
    B : number of bootstrap draws; with Rademacher weights and ``2**G <= B`` all ``2**G``
        sign vectors are enumerated instead (``enumerated=True``).
    weights : ``"rademacher"`` (default), ``"webb"`` (six-point, advisable when G < ~12) or
        ``"mammen"``.
    seed : integer seed or ``numpy.random.Generator`` (required; no global state is used).
    alpha : level of the test-inversion confidence interval ``{beta0 : p(beta0) >= alpha}``.
    ci : whether to compute that interval (else ``ci_low = ci_high = nan``).
    small_sample : apply ``G/(G-1)*(N-1)/(N-K)`` to the reported t (p-values are unaffected).
    p_value_type : ``"symmetric"`` (default) or ``"equal-tailed"``.
    k_absorbed, fe_nested : degrees-of-freedom count of absorbed FE, as in
        :func:`sahel_causal.inference.cluster.crv1`.

    Returns
    -------
    WildBootstrapResult
    """
    if weights not in _WEIGHT_TYPES:
        raise SpecificationError(f"weights must be one of {_WEIGHT_TYPES}, got {weights!r}.")
    if p_value_type not in _P_VALUE_TYPES:
        raise SpecificationError(
            f"p_value_type must be one of {_P_VALUE_TYPES}, got {p_value_type!r}."
        )
    if isinstance(B, bool) or not isinstance(B, (int, np.integer)) or B < 1:
        raise SpecificationError(f"B must be a positive integer, got {B!r}.")
    if not 0.0 < alpha < 1.0:
        raise SpecificationError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    rng, seed_int = _resolve_rng(seed)
    setup = _setup(X, y, cluster, coef_index, beta0, small_sample, k_absorbed, fe_nested)
    n_clusters = setup.n_clusters
    enumerate_all = (
        weights == "rademacher"
        and n_clusters <= _MAX_ENUMERATION_CLUSTERS
        and (1 << n_clusters) <= int(B)
    )
    n_draws = (1 << n_clusters) if enumerate_all else int(B)

    def fill(buf: FloatArray, start: int) -> None:
        if enumerate_all:
            _fill_enumeration(buf, start)
        else:
            _fill_random(buf, weights, rng)

    stats = _accumulate(setup, n_draws, fill, with_slope=ci, unit_modulus=weights == "rademacher")
    t, t_boot = _t_pair(setup, stats, setup.beta0)
    p_value = _p_value(t, t_boot, p_value_type)
    ci_set: tuple[tuple[float, float], ...] = ()
    if ci:
        ci_set = _ci_set(setup, stats, alpha, p_value_type)
        ci_low = ci_set[0][0] if ci_set else math.nan
        ci_high = ci_set[-1][1] if ci_set else math.nan
    else:
        ci_low = ci_high = math.nan
    return WildBootstrapResult(
        t_stat=float(t),
        p_value=p_value,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        n_draws=n_draws,
        weights=weights,
        enumerated=enumerate_all,
        seed=seed_int,
        impose_null=True,
        coef=setup.coef,
        se=math.sqrt(setup.ssc * setup.v_raw),
        beta0=float(beta0),
        alpha=float(alpha),
        p_value_type=p_value_type,
        n_clusters=n_clusters,
        ci_set=ci_set,
    )
