"""Synthetic difference-in-differences, synthetic control and DiD on a block-treated panel.

A Python mirror of the R package ``synthdid`` (Arkhangelsky, Athey, Hirshberg, Imbens & Wager
2021, "Synthetic Difference-in-Differences", *American Economic Review* 111(12): 4088-4118;
``synth-inference/synthdid``): same estimands, regularisation, solver, sparsification,
stopping rules and defaults, so results are comparable across implementations.

Setting. ``Y`` is an :math:`N \\times T` outcome matrix whose last :math:`N_1 = N - N_0` rows are
treated in the last :math:`T_1 = T - T_0` columns and untreated elsewhere (a treated block; one
treated unit is allowed).

Estimand: the average effect on the treated units over the treated periods,

.. math:: \\hat\\tau = \\Big(\\tfrac{1}{N_1}\\textstyle\\sum_{i>N_0} - \\sum_{i\\le N_0}\\hat\\omega_i\\Big)
   \\Big(\\tfrac{1}{T_1}\\textstyle\\sum_{t>T_0} - \\sum_{t\\le T_0}\\hat\\lambda_t\\Big) Y_{it},

i.e. a weighted difference in differences. The three estimators differ in the weights:

* :func:`synthdid_estimate` (SDID): unit weights :math:`\\hat\\omega` (simplex, with an intercept)
  fit the treated units' average pre-period path with penalty
  :math:`\\zeta_\\omega^2\\lVert\\omega\\rVert^2`, :math:`\\zeta_\\omega = (N_1 T_1)^{1/4}\\hat\\sigma`,
  where :math:`\\hat\\sigma` is the standard deviation of the first differences of the control
  units' pre-period outcomes; time weights :math:`\\hat\\lambda` (simplex, with an intercept) fit
  the controls' average post-period level with :math:`\\zeta_\\lambda = 10^{-6}\\hat\\sigma`.
* :func:`sc_estimate` (synthetic control, synthdid's version): unit weights without intercept,
  :math:`\\zeta_\\omega = 10^{-6}\\hat\\sigma`, and time weights fixed at zero, so the estimate is
  the mean post-period gap between the treated units and the weighted controls.
* :func:`did_estimate`: uniform unit and time weights (the two-way fixed-effects DiD).

Weights are found by Frank-Wolfe (:mod:`sahel_causal.synth.solver`): 100 iterations, then
``sparsify`` and up to ``max_iter = 10000`` further iterations, stopping when the objective falls
by less than ``(1e-5 * noise_level)**2`` in an iteration. Covariates are not supported.

Assumptions (for a causal reading): no anticipation, no spillovers to the controls, and for SDID a
latent-factor model in which the weights balance the pre-period paths (the paper's Section 4).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.synth.solver import _matvec, sc_weight_fw, sparsify

Estimator = Literal["synthdid", "sc", "did"]


@dataclass(frozen=True)
class PanelMatrices:
    """``Y`` (units x periods, treated units last, treated periods last), ``N0``, ``T0``, labels."""

    Y: np.ndarray
    N0: int
    T0: int
    W: np.ndarray
    units: tuple[str, ...]
    times: tuple[Any, ...]

    def __getitem__(self, key: str) -> Any:  # dict-style access, as R's list
        return getattr(self, key)


def panel_matrices(data: pd.DataFrame, unit: str | int = 0, time: str | int = 1, outcome: str | int = 2,
                   treatment: str | int = 3, treated_last: bool = True) -> PanelMatrices:
    """Long balanced panel -> matrices, as ``synthdid::panel.matrices``.

    Units are sorted by (treated in the first treated period, unit label), periods by their label.
    Requires a balanced panel without missing outcomes and simultaneous adoption (a treated
    block): raises :class:`SchemaError` naming the problem otherwise. Columns can be given by name
    or by position.
    """
    cols = list(data.columns)

    def _col(c: str | int, what: str) -> str:
        if isinstance(c, bool):
            raise SpecificationError(f"panel_matrices: {what} must be a column name or position, not a bool.")
        if isinstance(c, int):
            if not 0 <= c < len(cols):
                raise SpecificationError(f"panel_matrices: {what} position {c} is outside 0..{len(cols) - 1}.")
            return cols[c]
        if c not in cols:
            raise SchemaError(f"panel_matrices: the data have no column '{c}' ({what}); columns are {cols}.")
        return c

    u, t, y, w = (_col(c, n) for c, n in ((unit, "unit"), (time, "time"), (outcome, "outcome"),
                                           (treatment, "treatment")))
    df = data[[u, t, y, w]]
    if df[[u, t]].duplicated().any():
        dup = df.loc[df[[u, t]].duplicated(keep=False), [u, t]].head(3).to_dict("records")
        raise SchemaError(f"panel_matrices: duplicate ({u}, {t}) rows, e.g. {dup}; the panel must be unique.")
    if df[y].isna().any():
        bad = df.loc[df[y].isna(), [u, t]].head(3).to_dict("records")
        raise SchemaError(f"panel_matrices: outcome '{y}' is missing for {int(df[y].isna().sum())} rows, "
                          f"e.g. {bad}; drop those units or periods first.")
    wide = df.pivot(index=u, columns=t, values=y).sort_index(axis=0).sort_index(axis=1)
    wmat = df.pivot(index=u, columns=t, values=w).sort_index(axis=0).sort_index(axis=1)
    if wide.isna().any().any():
        raise SchemaError(f"panel_matrices: the panel is unbalanced ({int(wide.isna().sum().sum())} "
                          f"missing unit-period cells); keep units observed in every period.")
    W = wmat.to_numpy(dtype=float)
    if not np.isin(W, (0.0, 1.0)).all():
        raise SchemaError(f"panel_matrices: treatment '{w}' must be 0/1.")
    ever = W.any(axis=1)
    treated_cols = np.flatnonzero(W.any(axis=0))
    if not ever.any() or ever.all():
        raise SchemaError("panel_matrices: need at least one treated and one never-treated unit.")
    T0 = int(treated_cols[0])
    if T0 == 0:
        raise SchemaError("panel_matrices: treatment starts in the first period; no pre-period.")
    if not ((W[~ever] == 0).all() and (W[:, :T0] == 0).all() and (W[ever, T0:] == 1).all()):
        raise SchemaError("panel_matrices: treatment adoption is not simultaneous (not a treated block); "
                          "synthdid-type estimators need every treated unit treated from the same period on.")
    units = np.asarray(wide.index)
    order = np.lexsort((units.astype(str), W[:, T0])) if treated_last else np.arange(len(units))
    return PanelMatrices(Y=wide.to_numpy(dtype=float)[order], N0=int((~ever).sum()), T0=T0, W=W[order],
                         units=tuple(str(x) for x in units[order]), times=tuple(wide.columns))


@dataclass(frozen=True)
class SynthOptions:
    """The options synthdid stores with an estimate (``attr(estimate, 'opts')``)."""

    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int
    max_iter_pre_sparsify: int = 100
    do_sparsify: bool = True


@dataclass(frozen=True)
class SynthEstimate:
    """A synthdid-type estimate with its weights, setup and options.

    ``estimate`` is :math:`\\hat\\tau`; ``omega`` the control-unit weights (length ``N0``);
    ``lambda_`` the pre-period weights (length ``T0``); ``noise_level`` :math:`\\hat\\sigma`.
    """

    estimate: float
    estimator: Estimator
    Y: np.ndarray = field(repr=False)
    N0: int
    T0: int
    omega: np.ndarray = field(repr=False)
    lambda_: np.ndarray = field(repr=False)
    noise_level: float
    opts: SynthOptions
    vals: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    units: tuple[str, ...] = ()
    times: tuple[Any, ...] = ()

    def __float__(self) -> float:
        return self.estimate

    @property
    def N1(self) -> int:
        return self.Y.shape[0] - self.N0

    @property
    def T1(self) -> int:
        return self.Y.shape[1] - self.T0

    def synthetic_path(self) -> np.ndarray:
        """Weighted control path plus the λ-weighted pre-period offset (synthdid's plotted control)."""
        return trajectories(self)[1]

    def gaps(self) -> np.ndarray:
        """Treated minus synthetic path in every period (see :func:`trajectories`)."""
        treated, synthetic = trajectories(self)
        return treated - synthetic

    def effect_curve(self) -> np.ndarray:
        """Per-period effects in the treated periods (``synthdid_effect_curve``)."""
        return self.gaps()[self.T0:]


def trajectories(est: SynthEstimate) -> tuple[np.ndarray, np.ndarray]:
    """Treated average path and synthetic path, aligned so that λ-weighted pre-period gaps are 0.

    synthetic_t = Σ_i ω_i Y_it + Σ_s λ_s (Ȳ_tr,s − Σ_i ω_i Y_is); for SC (λ = 0) it is the plain
    weighted control path. ``mean(treated - synthetic)`` over the treated periods is ``estimate``.
    """
    Y, N0, T0 = est.Y, est.N0, est.T0
    treated = np.add.reduce(Y[N0:], axis=0) / (Y.shape[0] - N0)
    control = np.add.reduce(Y[:N0] * est.omega[:, np.newaxis], axis=0)
    offset = float(np.add.reduce((treated[:T0] - control[:T0]) * est.lambda_))
    return treated, control + offset


def collapsed_form(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """(N0+1) x (T0+1) matrix: controls' pre-period rows plus their post-period mean, and the
    treated units' average pre-period path plus their post-period mean (``collapsed.form``)."""
    N, T = Y.shape
    top = np.hstack([Y[:N0, :T0], (np.add.reduce(Y[:N0, T0:], axis=1) / (T - T0))[:, np.newaxis]])
    tr_pre = np.add.reduce(Y[N0:, :T0], axis=0) / (N - N0)
    tr_post = np.add.reduce(Y[N0:, T0:].ravel()) / ((N - N0) * (T - T0))
    return np.vstack([top, np.append(tr_pre, tr_post)[np.newaxis, :]])


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """sd (n − 1 denominator) of the first differences of the control units' pre-period outcomes."""
    if T0 < 2:
        raise SpecificationError("synthdid: need at least 2 pre-treatment periods for the noise level.")
    d = np.diff(Y[:N0, :T0], axis=1).ravel()
    if d.size < 2:
        raise SpecificationError("synthdid: need at least 2 control first differences for the noise level.")
    m = np.add.reduce(d) / d.size
    return float(np.sqrt(np.add.reduce((d - m) ** 2) / (d.size - 1)))


def _check_setup(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise SpecificationError("synthdid: Y must be a units x periods matrix.")
    for name, v in (("N0", N0), ("T0", T0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise SpecificationError(f"synthdid: {name} must be an integer, got {v!r}.")
    N, T = Y.shape
    if not (1 <= N0 < N and 1 <= T0 < T):
        raise SpecificationError(f"synthdid: need 1 <= N0 < N and 1 <= T0 < T; got N0={N0}, T0={T0}, Y {N}x{T}.")
    if not np.isfinite(Y).all():
        raise SpecificationError("synthdid: Y contains missing or non-finite values.")
    return Y


def _weighted_did(Y: np.ndarray, N0: int, T0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    N, T = Y.shape
    w_units = np.concatenate([-omega, np.full(N - N0, 1.0 / (N - N0))])
    w_times = np.concatenate([-lam, np.full(T - T0, 1.0 / (T - T0))])
    return float(np.add.reduce(w_units * _matvec(Y, w_times)))


def _fit(Y: np.ndarray, N0: int, T0: int, opts: SynthOptions, omega: np.ndarray | None,
         lam: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights as synthdid_estimate computes them (no covariates)."""
    Yc = collapsed_form(Y, N0, T0)
    vals = np.zeros(0)
    if opts.update_lambda:
        r = sc_weight_fw(Yc[:N0, :], opts.zeta_lambda, opts.lambda_intercept, lam, opts.min_decrease,
                         opts.max_iter_pre_sparsify)
        if opts.do_sparsify:
            r = sc_weight_fw(Yc[:N0, :], opts.zeta_lambda, opts.lambda_intercept, sparsify(r.weights),
                             opts.min_decrease, opts.max_iter)
        lam, vals = r.weights, r.vals
    if opts.update_omega:
        Yt = np.ascontiguousarray(Yc[:, :T0].T)
        r = sc_weight_fw(Yt, opts.zeta_omega, opts.omega_intercept, omega, opts.min_decrease,
                         opts.max_iter_pre_sparsify)
        if opts.do_sparsify:
            r = sc_weight_fw(Yt, opts.zeta_omega, opts.omega_intercept, sparsify(r.weights),
                             opts.min_decrease, opts.max_iter)
        omega = r.weights
        vals = r.vals if vals.size == 0 else _pairwise_sum_decreasing(vals, r.vals)
    if omega is None or lam is None:  # pragma: no cover - guarded by the update flags
        raise SpecificationError("synthdid: weights are neither given nor estimated.")
    return np.asarray(omega, dtype=float), np.asarray(lam, dtype=float), vals


def _pairwise_sum_decreasing(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """synthdid's ``pairwise.sum.decreasing``: pad the shorter with its last value, then add."""
    n = max(x.size, y.size)
    xp = np.concatenate([x, np.full(n - x.size, x[-1])]) if x.size else np.zeros(n)
    yp = np.concatenate([y, np.full(n - y.size, y[-1])]) if y.size else np.zeros(n)
    return xp + yp


def synthdid_estimate(Y: np.ndarray, N0: int, T0: int, *, noise: float | None = None,
                      eta_omega: float | None = None, eta_lambda: float = 1e-6,
                      zeta_omega: float | None = None, zeta_lambda: float | None = None,
                      omega_intercept: bool = True, lambda_intercept: bool = True,
                      omega: np.ndarray | None = None, lambda_: np.ndarray | None = None,
                      update_omega: bool | None = None, update_lambda: bool | None = None,
                      min_decrease: float | None = None, max_iter: int = 10_000,
                      do_sparsify: bool = True, max_iter_pre_sparsify: int = 100,
                      units: Sequence[str] = (), times: Sequence[Any] = (),
                      _estimator: Estimator = "synthdid") -> SynthEstimate:
    """Synthetic difference-in-differences (``synthdid::synthdid_estimate``, defaults identical).

    ``noise`` defaults to :func:`noise_level`; ``eta_omega`` to :math:`(N_1T_1)^{1/4}`;
    ``zeta_omega = eta_omega * noise``, ``zeta_lambda = eta_lambda * noise``;
    ``min_decrease = 1e-5 * noise``. Given ``omega``/``lambda_`` are used as fixed weights unless
    ``update_*`` is true, in which case they start the solver.
    """
    Y = _check_setup(Y, N0, T0)
    N, T = Y.shape
    sigma = noise_level(Y, N0, T0) if noise is None else float(noise)
    eta_o = ((N - N0) * (T - T0)) ** 0.25 if eta_omega is None else float(eta_omega)
    opts = SynthOptions(
        zeta_omega=eta_o * sigma if zeta_omega is None else float(zeta_omega),
        zeta_lambda=eta_lambda * sigma if zeta_lambda is None else float(zeta_lambda),
        omega_intercept=omega_intercept, lambda_intercept=lambda_intercept,
        update_omega=(omega is None) if update_omega is None else update_omega,
        update_lambda=(lambda_ is None) if update_lambda is None else update_lambda,
        min_decrease=1e-5 * sigma if min_decrease is None else float(min_decrease),
        max_iter=int(max_iter), max_iter_pre_sparsify=int(max_iter_pre_sparsify), do_sparsify=do_sparsify)
    return _estimate_with(Y, N0, T0, opts, omega, lambda_, sigma, _estimator, tuple(units), tuple(times))


def _estimate_with(Y: np.ndarray, N0: int, T0: int, opts: SynthOptions, omega: np.ndarray | None,
                   lam: np.ndarray | None, sigma: float, estimator: Estimator,
                   units: tuple[str, ...] = (), times: tuple[Any, ...] = ()) -> SynthEstimate:
    for name, v, n in (("omega", omega, N0), ("lambda", lam, T0)):
        if v is not None and np.shape(v) != (n,):
            raise SpecificationError(f"synthdid: {name} has shape {np.shape(v)}, expected ({n},).")
    om, la, vals = _fit(Y, N0, T0, opts, omega, lam)
    est = _weighted_did(Y, N0, T0, om, la)
    return SynthEstimate(estimate=est, estimator=estimator, Y=Y, N0=N0, T0=T0, omega=om, lambda_=la,
                         noise_level=sigma, opts=opts, vals=vals, units=units, times=times)


def sc_estimate(Y: np.ndarray, N0: int, T0: int, *, eta_omega: float = 1e-6, **kwargs: Any) -> SynthEstimate:
    """Synthetic control as ``synthdid::sc_estimate``: simplex unit weights without intercept,
    penalty :math:`\\zeta_\\omega = 10^{-6}\\hat\\sigma`, time weights fixed at zero."""
    Y = _check_setup(Y, N0, T0)
    return synthdid_estimate(Y, N0, T0, eta_omega=eta_omega, lambda_=np.zeros(T0), omega_intercept=False,
                             _estimator="sc", **kwargs)


def did_estimate(Y: np.ndarray, N0: int, T0: int, **kwargs: Any) -> SynthEstimate:
    """Difference in differences as ``synthdid::did_estimate``: uniform unit and time weights."""
    Y = _check_setup(Y, N0, T0)
    return synthdid_estimate(Y, N0, T0, omega=np.full(N0, 1.0 / N0), lambda_=np.full(T0, 1.0 / T0),
                             _estimator="did", **kwargs)


ESTIMATORS = {"synthdid": synthdid_estimate, "sc": sc_estimate, "did": did_estimate}
