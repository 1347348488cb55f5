"""Frank-Wolfe solver for synthetic-control weights, as in R ``synthdid`` (``sc.weight.fw``).

Problem (Arkhangelsky et al. 2021, eqs. 2.2-2.3; ``synthdid`` ``R/solver.R``). Given a matrix
``Y`` with ``r`` rows and ``c + 1`` columns, with ``A = Y[:, :c]`` and ``b = Y[:, c]`` (after
centring every column when ``intercept`` is true, which profiles out an intercept), find

.. math:: \\min_{x \\in \\Delta^{c}}\\ \\zeta^2 \\lVert x \\rVert^2 + \\frac{1}{r}\\lVert A x - b\\rVert^2,

over the simplex :math:`\\Delta^c`. Frank-Wolfe with exact line search: at each step the vertex
:math:`e_i` with the smallest half-gradient :math:`A'(Ax-b) + \\eta x` (:math:`\\eta = r\\zeta^2`;
ties go to the first index, like R's ``which.min``) is chosen, and the step towards it minimises
the objective on the segment, clipped to [0, 1]. It stops after ``max_iter`` iterations or when
the objective fell by no more than ``min_decrease**2`` in the last iteration (and at least two
iterations were run). ``sparsify`` (``v[v <= max(v)/4] = 0``, renormalised) is applied between
the short first run and the long second run by :func:`sahel_causal.synth.estimators.synthdid_estimate`.

Determinism. Every matrix-vector product is an explicit element-wise product followed by a numpy
reduction along a fixed axis (never BLAS ``gemv``/``ddot``, whose summation order can depend on
the number of threads), so the iterates are the same bytes on every run and thread setting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class FWResult:
    """Weights on the simplex and the objective after each iteration."""

    weights: np.ndarray
    vals: np.ndarray


def _matvec(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a @ x`` by an explicit row-wise reduction (BLAS-free, deterministic)."""
    return np.add.reduce(a * x[np.newaxis, :], axis=1)


def _vecmat(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``v @ a`` by an explicit column-wise reduction (BLAS-free, deterministic)."""
    return np.add.reduce(a * v[:, np.newaxis], axis=0)


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.add.reduce(u * v))


def sparsify(v: np.ndarray) -> np.ndarray:
    """synthdid's ``sparsify_function``: zero the weights at or below a quarter of the largest."""
    out = np.array(v, dtype=float, copy=True)
    out[out <= out.max() / 4.0] = 0.0
    return out / np.add.reduce(out)


def fw_step(a: np.ndarray, x: np.ndarray, b: np.ndarray, eta: float) -> np.ndarray:
    """One Frank-Wolfe step with exact line search (``fw.step`` with ``alpha = NULL``)."""
    ax = _matvec(a, x)
    half_grad = _vecmat(ax - b, a) + eta * x
    i = int(np.argmin(half_grad))  # first minimiser, as which.min
    d_x = -x.copy()
    d_x[i] = 1.0 - x[i]
    if np.all(d_x == 0.0):
        return x
    d_err = a[:, i] - ax
    step = -_dot(half_grad, d_x) / (_dot(d_err, d_err) + eta * _dot(d_x, d_x))
    constrained = min(1.0, max(0.0, step))
    return x + constrained * d_x


def _fw_problem(y: np.ndarray, zeta: float, intercept: bool,
                init: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """The Frank-Wolfe problem of ``synthdid:::sc.weight.fw``: ``A`` (the first columns of ``y``, centred
    by column when ``intercept``), ``b`` (its last column), the start ``x`` (uniform unless ``init``),
    the number of rows and ``zeta^2`` -- shared by the reference and the compiled solver."""
    y = np.asarray(y, dtype=float)
    rows, ncol = y.shape
    c = ncol - 1
    x = np.full(c, 1.0 / c) if init is None else np.array(init, dtype=float, copy=True)
    if x.shape != (c,):
        raise ValueError(f"sc_weight_fw: initial weights have length {x.shape}, expected {c}.")
    if intercept:
        y = y - np.add.reduce(y, axis=0)[np.newaxis, :] / rows
    return np.ascontiguousarray(y[:, :c]), np.ascontiguousarray(y[:, c]), x, rows, float(zeta) ** 2


def sc_weight_fw_reference(y: np.ndarray, zeta: float, intercept: bool = True, init: np.ndarray | None = None,
                           min_decrease: float = 1e-3, max_iter: int = 1000) -> FWResult:
    """Line-by-line mirror of ``synthdid:::sc.weight.fw`` (recomputes ``Ax`` at every step).

    Slow (three passes over the matrix per iteration); kept as the reference against which the
    fast kernel used by :func:`sc_weight_fw` is tested.
    """
    a, b, x, rows, zeta2 = _fw_problem(y, zeta, intercept, init)
    eta = rows * zeta2
    threshold = float(min_decrease) ** 2
    vals: list[float] = []
    t = 0
    while t < max_iter and (t < 2 or vals[t - 2] - vals[t - 1] > threshold):
        t += 1
        x = fw_step(a, x, b, eta)
        err = _matvec(a, x) - b
        vals.append(zeta2 * _dot(x, x) + _dot(err, err) / rows)
    return FWResult(weights=x, vals=np.asarray(vals, dtype=float))


def _jit(fn):  # type: ignore[no-untyped-def]
    """Compile with numba's on-disk cache where a cache directory is writable, without it otherwise."""
    try:
        return numba.njit(cache=True, fastmath=False)(fn)
    except RuntimeError:  # pragma: no cover - read-only install without a user cache directory
        return numba.njit(cache=False, fastmath=False)(fn)


@_jit
def _fw_kernel(a: np.ndarray, b: np.ndarray, x: np.ndarray, eta: float, zeta2: float, threshold: float,
               max_iter: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    rows, c = a.shape
    at = np.ascontiguousarray(a.T)  # column i of a is row i of at (contiguous)
    g = np.zeros((c, c))
    for j in range(c):
        for k in range(j, c):
            s = 0.0
            for r in range(rows):
                s += at[j, r] * at[k, r]
            g[j, k] = s
            g[k, j] = s
    atb = np.zeros(c)
    for j in range(c):
        s = 0.0
        for r in range(rows):
            s += at[j, r] * b[r]
        atb[j] = s
    ax = np.zeros(rows)
    for r in range(rows):
        s = 0.0
        for j in range(c):
            s += a[r, j] * x[j]
        ax[r] = s
    gx = np.zeros(c)
    xx = 0.0
    for j in range(c):
        s = 0.0
        for k in range(c):
            s += g[j, k] * x[k]
        gx[j] = s
        xx += x[j] * x[j]
    vals = np.zeros(max_iter)
    t = 0
    while t < max_iter and (t < 2 or vals[t - 2] - vals[t - 1] > threshold):
        # half gradient A'(Ax - b) + eta x, its first minimiser i, and <half_grad, x>
        best = np.inf
        i = 0
        hx = 0.0
        for j in range(c):
            h = gx[j] - atb[j] + eta * x[j]
            hx += h * x[j]
            if h < best:
                best = h
                i = j
        # direction d = e_i - x: <half_grad, d> = h_i - <h, x>; |d|^2 = |x|^2 - x_i^2 + (1 - x_i)^2
        xi = x[i]
        dd = xx - xi * xi + (1.0 - xi) * (1.0 - xi)
        if dd != 0.0:
            num = best - hx
            col = at[i]
            de = 0.0
            for r in range(rows):
                d = col[r] - ax[r]
                de += d * d
            step = -num / (de + eta * dd)
            step = min(1.0, max(0.0, step))
            gi = g[i]
            xx = 0.0
            for j in range(c):
                x[j] = x[j] - step * x[j]
                gx[j] = gx[j] + step * (gi[j] - gx[j])
            x[i] = x[i] + step
            for j in range(c):
                xx += x[j] * x[j]
            e2 = 0.0
            for r in range(rows):
                ax[r] = ax[r] + step * (col[r] - ax[r])
                d = ax[r] - b[r]
                e2 += d * d
        else:
            e2 = 0.0
            for r in range(rows):
                d = ax[r] - b[r]
                e2 += d * d
        vals[t] = zeta2 * xx + e2 / rows
        t += 1
    return x, vals[:t]


def sc_weight_fw(y: np.ndarray, zeta: float, intercept: bool = True, init: np.ndarray | None = None,
                 min_decrease: float = 1e-3, max_iter: int = 1000) -> FWResult:
    """Simplex weights on the first ``c`` columns of ``y`` that reproduce its last column.

    Same algorithm, start, penalty (:math:`\\zeta^2\\lVert x\\rVert^2` in the objective,
    :math:`\\eta = r\\zeta^2` in the gradient), vertex choice, line search and stopping rule as
    ``synthdid:::sc.weight.fw`` (see :func:`sc_weight_fw_reference`). For speed the compiled
    kernel keeps :math:`Ax` and :math:`A'Ax` up to date by the rank-one Frank-Wolfe updates
    (``Ax <- Ax + s (A e_i - Ax)``) instead of recomputing them, which is exact in real arithmetic
    and differs from the reference in the last bits only (tested to 1e-9 on weights and estimates).
    Plain sequential loops without fast-math: the same bytes on every run and thread setting.
    """
    a, b, x, rows, zeta2 = _fw_problem(y, zeta, intercept, init)
    w, vals = _fw_kernel(a, b, x, rows * zeta2, zeta2, float(min_decrease) ** 2, int(max_iter))
    return FWResult(weights=w, vals=vals)
