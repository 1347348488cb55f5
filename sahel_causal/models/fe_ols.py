"""Linear regression with absorbed fixed effects (two-way FE OLS and the linear probability model).

Estimand. For unit :math:`i` (country) and year :math:`t`,

.. math:: y_{it} = x_{it}'\\beta + \\alpha_i + \\gamma_t + \\varepsilon_{it},

and :math:`\\hat\\beta` is least squares after absorbing the fixed effects (equivalently, by
Frisch-Waugh-Lovell, OLS of the within-transformed outcome on the within-transformed
regressors). With a 0/1 outcome this is the linear probability model: :math:`\\beta` is the
change in the probability of the event per unit of :math:`x`, under linearity. Identification
of :math:`\\beta` as a causal effect needs strict exogeneity of :math:`x` conditional on the
fixed effects; that is an assumption of the study design, not of this estimator.

Estimation is done by pyfixest's ``feols`` (Fischer et al., port of R fixest, Berge 2018)
with the fixed effects demeaned to a tolerance of 1e-13 *relative to the data's scale* (every
variable is divided by an exact power of two near its root mean square before the fit and the
estimates are rescaled after it, so dollars or people converge like shares); the slopes and
the iid/HC1/CRV1 covariance are then re-computed from a QR factorisation of pyfixest's
within-transformed design (pyfixest solves the normal equations, which squares the condition
number: too few digits on NIST Longley and Wampler5; tests check all NIST StRD linear problems). The formula is
built from internal column names (``y__``, ``x0__``...), never from caller strings.

Sample. Rows with a missing value in any used column are dropped, then (iteratively) rows that
are alone in a fixed-effect level ("singletons": they are fitted exactly and carry no
information on :math:`\\beta`, Correia 2015); both are reported in ``dropped`` with the row
labels. Regressors collinear with the fixed effects or with each other are dropped by pyfixest
and reported as well.

Variance (``vcov``):

* ``"CRV1"``: cluster-robust (Liang & Zeger 1986), :math:`V = c\\,(\\tilde X'\\tilde X)^{-1}
  \\sum_g \\tilde X_g'\\hat u_g \\hat u_g'\\tilde X_g (\\tilde X'\\tilde X)^{-1}` with the
  fixest small-sample factor :math:`c = \\frac{G}{G-1}\\cdot\\frac{N-1}{N-K}`;
* ``"CRV3"``: cluster jackknife (Bell & McCaffrey 2002; MacKinnon, Nielsen & Webb 2023),
  :math:`\\frac{G-1}{G}\\sum_g(\\hat\\beta_{-g}-\\hat\\beta)(\\hat\\beta_{-g}-\\hat\\beta)'`
  with no further small-sample factor (``fe_dof`` does not apply);
* ``"hetero"``: HC1; ``"iid"``: homoskedastic.

:math:`K` depends on ``fe_dof``, i.e. which fixed-effect parameters count as estimated. With
:math:`F` fixed effects of :math:`L_f` levels:

* ``"full"``: :math:`K=\\dim\\beta+\\sum_f L_f-(F-1)`; equals statsmodels OLS with dummies and
  ``cov_type="cluster"``, and linearmodels ``PanelOLS`` with entity and time effects and its
  default degrees-of-freedom rule (both effects counted);
* ``"nested"`` (default; R fixest's ``fixef.K = "nested"`` as implemented by pyfixest): a fixed
  effect nested in the clusters (country effects, clustering by country) counts as one
  parameter, :math:`K=\\dim\\beta+\\sum_f L_f-(F-1)-\\sum_{f\\ \\mathrm{nested}}(L_f-1)`;
  the same as ``"full"`` when the errors are not clustered;
* ``"none"``: :math:`K=\\dim\\beta`; equals linearmodels ``PanelOLS(...).fit(cov_type=
  "clustered", debiased=True, group_debias=True, auto_df=False, count_effects=False)``.

Inference uses Student's t with :math:`G-1` degrees of freedom for clustered errors (fixest
convention) and :math:`N-K` otherwise.

The module also exposes :func:`partialled_design`, the within-transformed data that the wild
cluster bootstrap and randomization inference resample, and the sample-preparation helpers
shared by the other estimators.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.results import DropRecord, EstimationResult, data_checksum, spec_hash

VcovType = Literal["CRV1", "CRV3", "iid", "hetero"]
FeDof = Literal["nested", "none", "full"]
_VCOV_TYPES = ("CRV1", "CRV3", "iid", "hetero")
_FE_DOF = {"nested": "nonnested", "none": "none", "full": "full"}  # ours -> pyfixest k_fixef
_DEMEAN_TOL = 1e-13
_DEMEAN_MAXITER = 100_000


# =========================================================================== shared helpers
@dataclass(frozen=True)
class Sample:
    """An estimation sample: the kept rows (caller's index labels, used columns) and drop records."""

    frame: pd.DataFrame
    dropped: tuple[DropRecord, ...]


def validate_columns(df: pd.DataFrame, columns: Iterable[str], what: str = "column") -> None:
    """Raise :class:`SchemaError` unless ``df`` is a data frame holding every one of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(f"{what}(s) not in the data: {missing}; available: {list(df.columns)}")
    if not df.columns.is_unique:
        raise SchemaError("the data frame has duplicated column names")
    if not df.index.is_unique:
        raise SchemaError("the data frame's row labels must be unique (dropped rows are reported by label)")


def model_columns(outcome: str, regressors: Sequence[str], *others: str | None) -> tuple[str, ...]:
    """Columns an estimator uses: outcome, regressors, then ``others`` (None skipped), duplicates removed.

    The order is kept (first occurrence wins); it is the column order of the estimation frame.
    """
    cols = [outcome, *regressors, *(c for c in others if c is not None)]
    return tuple(dict.fromkeys(cols))


def as_name_tuple(names: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    """Normalise a column name or list of names to a tuple of unique strings."""
    if names is None:
        return ()
    if isinstance(names, str):
        names = (names,)
    out = tuple(names)
    for n in out:
        if not isinstance(n, str) or not n:
            raise SpecificationError(f"{what} must be non-empty column names, got {n!r}")
    if len(set(out)) != len(out):
        raise SpecificationError(f"{what} has duplicated names: {list(out)}")
    return out


def check_numeric(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise :class:`SchemaError` for non-numeric or infinite values in ``columns``."""
    for c in columns:
        s = frame[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise SchemaError(f"column {c!r} must be numeric (got dtype {s.dtype})")
        values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(values).any():
            raise SchemaError(f"column {c!r} holds infinite values; recode them before estimating")


def row_ids(index: pd.Index) -> tuple[str, ...]:
    """Row labels as strings, for drop records."""
    return tuple(str(i) for i in index)


def drop_missing(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, list[DropRecord]]:
    """Drop rows with a missing value in ``columns``; report them per first offending column."""
    na = frame[list(columns)].isna()
    bad = na.any(axis=1)
    records: list[DropRecord] = []
    if bad.any():
        first = na[bad].idxmax(axis=1)  # first column (in ``columns`` order) that is missing
        for col in columns:
            rows = first.index[first == col]
            if len(rows):
                records.append(DropRecord(f"missing value in {col!r}", "row", len(rows), row_ids(rows)))
    return frame.loc[~bad], records


def singleton_mask(frame: pd.DataFrame, fe: Sequence[str]) -> np.ndarray:
    """Rows to drop as fixed-effect singletons, found iteratively (Correia 2015).

    A row is a singleton if it is the only row of its level in some fixed effect; dropping
    it may create new singletons in another fixed effect, so the search repeats until none
    is left.
    """
    if not fe:
        return np.zeros(len(frame), dtype=bool)
    return singleton_mask_codes([pd.factorize(frame[f], sort=True)[0] for f in fe])


def singleton_mask_codes(codes: Sequence[np.ndarray]) -> np.ndarray:
    """:func:`singleton_mask` on integer level codes (one array per fixed effect, codes >= 0)."""
    n = len(codes[0]) if codes else 0
    keep = np.ones(n, dtype=bool)
    while True:
        changed = False
        for c in codes:
            counts = np.bincount(c[keep], minlength=int(c.max()) + 1 if len(c) else 0)
            single = keep & (counts[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
        if not changed:
            return ~keep


def drop_singletons(frame: pd.DataFrame, fe: Sequence[str]) -> tuple[pd.DataFrame, list[DropRecord]]:
    """Drop fixed-effect singletons (see :func:`singleton_mask`) and report them."""
    mask = singleton_mask(frame, fe)
    if not mask.any():
        return frame, []
    rows = frame.index[mask]
    rec = DropRecord(f"singleton in fixed effects ({', '.join(fe)})", "row", len(rows), row_ids(rows))
    return frame.loc[~mask], [rec]


def merge_metadata(auto: Mapping[str, Any], user: Mapping[str, Any] | None) -> dict[str, Any]:
    """Automatic provenance plus the caller's metadata; a key clash is an error."""
    out = dict(auto)
    for k, v in dict(user or {}).items():
        if k in out and out[k] is not None:
            raise SpecificationError(f"metadata key {k!r} is set by the estimator; use another name")
        out[k] = v
    return out


def _without_id(config: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration without its ``spec_id``: the spec hash identifies content, not the label."""
    return {k: v for k, v in config.items() if k != "spec_id"}


def cluster_label(kind: str, cluster: str | None) -> str:
    """Display label of a covariance type, e.g. ``"CRV1 (iso3)"``."""
    if kind in ("CRV1", "CRV3"):
        return f"{kind} ({cluster})"
    return {"hetero": "HC1 (heteroskedasticity-robust)", "iid": "iid", "model": "model-based"}.get(kind, kind)


def _safe_frame(sample: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Copy of ``sample`` with internal column names and a RangeIndex (what pyfixest sees)."""
    out = pd.DataFrame({new: sample[old].to_numpy() for old, new in mapping.items()})
    return out


# =========================================================================== configuration
@dataclass(frozen=True)
class FeOlsConfig:
    """Validated, frozen inputs of :func:`fe_ols`."""

    outcome: str
    regressors: tuple[str, ...]
    fe: tuple[str, ...]
    cluster: str | None
    vcov: VcovType
    weights: str | None
    fe_dof: FeDof
    spec_id: str

    @property
    def used_columns(self) -> tuple[str, ...]:
        return model_columns(self.outcome, self.regressors, *self.fe, self.cluster, self.weights)


def _make_config(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    fe: str | Sequence[str] | None,
    cluster: str | None,
    vcov: str,
    weights: str | None,
    fe_dof: str,
    spec_id: str,
) -> FeOlsConfig:
    if vcov not in _VCOV_TYPES:
        raise SpecificationError(f"vcov must be one of {_VCOV_TYPES}, got {vcov!r}")
    if fe_dof not in _FE_DOF:
        raise SpecificationError(f"fe_dof must be one of {tuple(_FE_DOF)}, got {fe_dof!r}")
    regs = as_name_tuple(regressors, "regressors")
    if not regs:
        raise SpecificationError("at least one regressor is needed")
    fes = as_name_tuple(fe, "fe")
    if not isinstance(outcome, str) or not outcome:
        raise SpecificationError(f"outcome must be a column name, got {outcome!r}")
    overlap = (set(regs) | set(fes)) & {outcome}
    if overlap or set(regs) & set(fes):
        raise SpecificationError("outcome, regressors and fixed effects must be distinct columns")
    if vcov in ("CRV1", "CRV3") and cluster is None:
        raise SpecificationError(f"vcov={vcov!r} needs a cluster column")
    if vcov in ("iid", "hetero"):
        cluster = None
    cfg = FeOlsConfig(outcome, regs, fes, cluster, vcov, weights, fe_dof, str(spec_id))  # type: ignore[arg-type]
    validate_columns(df, cfg.used_columns)
    check_numeric(df, [outcome, *regs] + ([weights] if weights else []))
    return cfg


def _prepare_sample(df: pd.DataFrame, cfg: FeOlsConfig) -> Sample:
    frame = df.loc[:, list(cfg.used_columns)]
    frame, dropped = drop_missing(frame, list(cfg.used_columns))
    if cfg.weights is not None:
        w = frame[cfg.weights].to_numpy(dtype=float)
        if (w < 0).any():
            raise SchemaError(f"weights {cfg.weights!r} must be non-negative")
        zero = w == 0
        if zero.any():
            rows = frame.index[zero]
            dropped.append(DropRecord(f"zero weight in {cfg.weights!r}", "row", len(rows), row_ids(rows)))
            frame = frame.loc[~zero]
    frame, single = drop_singletons(frame, cfg.fe)
    dropped += single
    if len(frame) == 0:
        raise SpecificationError("no observations left after dropping missing values and singletons")
    return Sample(frame, tuple(dropped))


# =========================================================================== public API
def fe_ols(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    fe: str | Sequence[str] | None = ("iso3", "year"),
    cluster: str | None = "iso3",
    vcov: VcovType = "CRV1",
    weights: str | None = None,
    *,
    fe_dof: FeDof = "nested",
    spec_id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> EstimationResult:
    """Least squares with absorbed fixed effects; see the module docstring for the estimand.

    Parameters
    ----------
    df : data frame with one row per unit-period; it is not modified.
    outcome, regressors : column names (a 0/1 outcome gives the linear probability model).
    fe : fixed effects to absorb (default country and year); ``()`` or ``None`` fits plain OLS
        with an intercept.
    cluster : cluster column for ``"CRV1"``/``"CRV3"`` (ignored for ``"iid"``/``"hetero"``).
    vcov : ``"CRV1"`` | ``"CRV3"`` | ``"iid"`` | ``"hetero"``.
    weights : optional column of non-negative analytic weights (rows with weight 0 are dropped).
    fe_dof : which fixed-effect levels count in the small-sample factor (module docstring).
    spec_id, metadata : stored on the result (metadata must hold JSON types).

    Returns
    -------
    EstimationResult with estimator ``"fe_ols"`` (slopes only; the fixed effects are absorbed).
    """
    cfg = _make_config(df, outcome, regressors, fe, cluster, vcov, weights, fe_dof, spec_id)
    sample = _prepare_sample(df, cfg)
    return _fit_fe_ols(sample, cfg, metadata)


class PartialledDesign(NamedTuple):
    """Within-transformed data of :func:`partialled_design` (unpacks as a 4-tuple)."""

    y_tilde: np.ndarray
    X_tilde: np.ndarray
    cluster_codes: np.ndarray
    kept_index: pd.Index


def partialled_design(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    fe: str | Sequence[str] | None = ("iso3", "year"),
    cluster: str | None = "iso3",
    weights: str | None = None,
) -> PartialledDesign:
    """Outcome and regressors with the fixed effects partialled out, on the :func:`fe_ols` sample.

    By Frisch-Waugh-Lovell, OLS of ``y_tilde`` on ``X_tilde`` (no intercept) reproduces the
    slopes of :func:`fe_ols`, and its residuals are the FE-OLS residuals; this is the design the
    wild cluster bootstrap and randomization inference work on. The fixed effects are removed by
    alternating projections (weighted means when ``weights`` is given) to a tolerance of 1e-13;
    with ``weights`` both arrays are multiplied by :math:`\\sqrt{w}` so that plain OLS on them is
    the weighted estimator. Without fixed effects nothing is partialled out and a column of
    ones (the intercept) is appended as the last column of ``X_tilde``.

    Returns ``(y_tilde, X_tilde, cluster_codes, kept_index)``: arrays of length :math:`N`
    (columns of ``X_tilde`` in the order of ``regressors``), cluster codes 0..G-1 (sorted
    labels; all zeros when ``cluster`` is None) and the caller's index labels of the kept rows.
    Raises :class:`SpecificationError` when a regressor is collinear with the fixed effects.
    """
    cfg = _make_config(df, outcome, regressors, fe, cluster, "CRV1" if cluster else "iid", weights, "nested", "")
    sample = _prepare_sample(df, cfg)
    frame = sample.frame
    y = frame[cfg.outcome].to_numpy(dtype=float)
    X = frame[list(cfg.regressors)].to_numpy(dtype=float)
    w = None if cfg.weights is None else frame[cfg.weights].to_numpy(dtype=float)
    if cfg.fe:
        codes = [pd.factorize(frame[f], sort=True)[0] for f in cfg.fe]
        both = demean(np.column_stack([y, X]), codes, w)
        y_t, X_t = both[:, 0], both[:, 1:]
    else:
        y_t, X_t = y.copy(), np.column_stack([X, np.ones(len(y))])
    if w is not None:
        sw = np.sqrt(w)
        y_t, X_t = y_t * sw, X_t * sw[:, None]
    _check_rank(X_t, X, list(cfg.regressors))
    if cfg.cluster is not None:
        cl = pd.factorize(frame[cfg.cluster], sort=True)[0].astype(np.int64)
    else:
        cl = np.zeros(len(y), dtype=np.int64)
    return PartialledDesign(y_t, X_t, cl, frame.index.copy())


def demean(values: np.ndarray, codes: Sequence[np.ndarray], weights: np.ndarray | None = None,
           tol: float = _DEMEAN_TOL, maxiter: int = _DEMEAN_MAXITER) -> np.ndarray:
    """Remove fixed effects from the columns of ``values`` by alternating projections.

    Each sweep subtracts the (weighted) group means of every fixed effect in turn; sweeps stop
    when no entry changes by more than ``tol`` times the largest absolute entry (Gaure 2013).
    With one fixed effect one sweep is exact.
    """
    x = np.array(values, dtype=float, copy=True)
    if x.ndim == 1:
        x = x[:, None]
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    scale = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    sums_w = [np.bincount(c, weights=w) for c in codes]
    for _ in range(maxiter):
        before = x.copy()
        for c, sw in zip(codes, sums_w):
            for j in range(x.shape[1]):
                means = np.bincount(c, weights=w * x[:, j], minlength=len(sw)) / sw
                x[:, j] -= means[c]
        if np.max(np.abs(x - before)) <= tol * scale or len(codes) == 1:
            return x
    raise SpecificationError(f"demeaning did not converge in {maxiter} sweeps (tolerance {tol})")


def _check_rank(X_tilde: np.ndarray, X_raw: np.ndarray, names: list[str]) -> None:
    for j, name in enumerate(names):
        raw = np.linalg.norm(X_raw[:, j]) if X_raw.shape[1] > j else 1.0
        if np.linalg.norm(X_tilde[:, j]) <= 1e-10 * max(raw, 1.0):
            raise SpecificationError(f"regressor {name!r} is collinear with the fixed effects")
    if X_tilde.shape[1] and np.linalg.matrix_rank(X_tilde) < X_tilde.shape[1]:
        raise SpecificationError(f"regressors {names} are collinear after partialling out the fixed effects")


# =========================================================================== internals
def _pow2_scale(values: np.ndarray) -> float:
    """A power of two close to the root mean square of ``values`` (1 for all-zero columns).

    Dividing by a power of two is exact in binary floating point, so rescaling the data before
    the fit and the estimates after it loses nothing, and demeaning tolerances become relative.
    """
    rms = float(np.sqrt(np.mean(np.square(values)))) if values.size else 0.0
    if not np.isfinite(rms) or rms == 0.0:
        return 1.0
    return float(2.0 ** round(np.log2(rms)))


def _stable_fit(fit: Any, cfg: "FeOlsConfig", codes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Slopes and (for iid/HC1/CRV1) their covariance from a QR factorisation of pyfixest's
    within-transformed, weighted design, instead of pyfixest's normal equations.

    The normal equations square the condition number of the design (about 7 correct digits on
    NIST Longley and too few on Wampler5); with ``X = QR`` (columns equilibrated by exact
    powers of two) ``b = R^{-1} Q'y`` and ``(X'X)^{-1} = R^{-1} R^{-T}``. The covariance is
    pyfixest's small-sample factor ``c`` times the sandwich: ``iid``: ``c s^2 (X'X)^{-1}`` with
    ``s^2 = u'u/(N-1)`` (pyfixest's convention, its factor holds (N-1)/(N-K)); ``hetero``:
    ``c B (sum_i x_i x_i' u_i^2) B``; ``CRV1``: ``c B (sum_g X_g'u_g u_g'X_g) B``. ``CRV3``
    returns ``None`` (pyfixest's leave-one-cluster-out estimate is used).
    """
    from scipy.linalg import solve_triangular

    X = np.asarray(fit._X, dtype=float)
    Y = np.asarray(fit._Y, dtype=float).ravel()
    norms = np.array([_pow2_scale(X[:, j]) for j in range(X.shape[1])])
    Xe = X / norms
    q, r = np.linalg.qr(Xe)
    d = np.abs(np.diag(r))
    if d.size == 0 or d.min() <= X.shape[0] * np.finfo(float).eps * d.max():
        raise SpecificationError("the regressors are numerically collinear after partialling out the fixed effects")
    beta = solve_triangular(r, q.T @ Y) / norms
    if cfg.vcov == "CRV3":
        return beta, None
    rinv = solve_triangular(r, np.eye(r.shape[0]))
    bread = (rinv @ rinv.T) / np.outer(norms, norms)
    u = Y - X @ beta
    ssc = float(np.asarray(fit._ssc).ravel()[0])
    if cfg.vcov == "iid":
        vcov = ssc * float(u @ u) / (len(u) - 1) * bread
    else:
        scores = X * u[:, None]
        if cfg.vcov == "CRV1":
            assert codes is not None
            scores = np.vstack([np.bincount(codes, weights=scores[:, j]) for j in range(X.shape[1])]).T
        vcov = ssc * (bread @ (scores.T @ scores) @ bread)
    return beta, vcov


def _fit_fe_ols(sample: Sample, cfg: FeOlsConfig, metadata: Mapping[str, Any] | None) -> EstimationResult:
    import pyfixest as pf

    mapping = {cfg.outcome: "y__"}
    mapping.update({r: f"x{j}__" for j, r in enumerate(cfg.regressors)})
    fe_names = {f: f"fe{j}__" for j, f in enumerate(cfg.fe)}
    work = _safe_frame(sample.frame, fe_names)
    # every variable divided by a power of two near its RMS (exact): the demeaning tolerance is then
    # relative to the data's scale, so dollars or people converge like shares (undone below)
    col_scale = {}
    for old, new in mapping.items():
        values = sample.frame[old].to_numpy(dtype=float)
        col_scale[new] = _pow2_scale(values)
        work[new] = values / col_scale[new]
    if cfg.cluster is not None:
        work["cl__"] = sample.frame[cfg.cluster].to_numpy()
    if cfg.weights is not None:
        work["w__"] = sample.frame[cfg.weights].to_numpy(dtype=float)
    rhs = " + ".join(mapping[r] for r in cfg.regressors)
    fml = f"y__ ~ {rhs}" + (" | " + " + ".join(fe_names.values()) if cfg.fe else "")
    vcov_arg: Any = {cfg.vcov: "cl__"} if cfg.vcov in ("CRV1", "CRV3") else cfg.vcov
    if cfg.vcov == "CRV3":
        # pyfixest's CRV3 without corrections is sum_g (b_-g - b)(b_-g - b)'; the jackknife
        # factor (G-1)/G is applied below (MacKinnon, Nielsen & Webb 2023), nothing else.
        ssc = pf.ssc(k_adj=False, G_adj=False)
    else:
        ssc = pf.ssc(k_adj=True, k_fixef=_FE_DOF[cfg.fe_dof], G_adj=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*dropped due to multicollinearity")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        fit = pf.feols(
            fml,
            data=work,
            vcov=vcov_arg,
            weights="w__" if cfg.weights else None,
            ssc=ssc,
            fixef_rm="none",
            demeaner=pf.MapDemeaner(fixef_tol=_DEMEAN_TOL, fixef_maxiter=_DEMEAN_MAXITER),
            copy_data=True,
            store_data=False,
        )
    if int(fit._N) != len(work):
        raise SpecificationError(f"pyfixest used {fit._N} of {len(work)} prepared rows; refusing to guess which")
    back = {v: k for k, v in mapping.items()}
    back["Intercept"] = "Intercept"
    names = [back[n] for n in fit._coefnames]
    dropped = list(sample.dropped)
    collin = [back.get(n, n) for n in (fit._collin_vars or [])]
    if collin:
        dropped.append(DropRecord("collinear with the fixed effects or other regressors", "regressor",
                                  len(collin), tuple(collin)))
    if not names:
        raise SpecificationError("every regressor is collinear with the fixed effects")
    codes = pd.factorize(sample.frame[cfg.cluster], sort=True)[0] if cfg.cluster else None
    beta_s, vcov_s = _stable_fit(fit, cfg, codes)
    if vcov_s is None:
        vcov_s = np.asarray(fit._vcov, dtype=float)
    # undo the power-of-two scaling: b_j = b'_j s_y / s_j, V_jk = V'_jk s_y^2 / (s_j s_k)
    sx = np.array([col_scale.get(n, 1.0) for n in fit._coefnames])
    sy = col_scale["y__"]
    coef = pd.Series(beta_s * sy / sx, index=names)
    vcov = pd.DataFrame(vcov_s * sy * sy / np.outer(sx, sx), index=names, columns=names)
    n_clusters = int(sample.frame[cfg.cluster].nunique()) if cfg.cluster else None
    factor = float(np.asarray(fit._ssc).ravel()[0])
    if cfg.vcov == "CRV3":
        factor = (n_clusters - 1) / n_clusters
        vcov = vcov * factor
    y = sample.frame[cfg.outcome].to_numpy(dtype=float)
    auto = {
        "data_checksum": data_checksum(sample.frame),
        "spec_hash": spec_hash({"estimator": "fe_ols", **_without_id(asdict(cfg))}),
        "seed": None,
        "regressors": list(cfg.regressors),
        "cluster": cfg.cluster,
        "weights": cfg.weights,
        "fe_dof": cfg.fe_dof,
        "small_sample_factor": factor,
    }
    return EstimationResult(
        spec_id=cfg.spec_id,
        estimator="fe_ols",
        outcome=cfg.outcome,
        coef=coef,
        vcov=vcov,
        vcov_label=cluster_label(cfg.vcov, cfg.cluster),
        nobs=int(fit._N),
        n_clusters=n_clusters,
        n_groups={f: int(sample.frame[f].nunique()) for f in cfg.fe},
        outcome_mean=float(np.mean(y)),
        fixed_effects=cfg.fe,
        dropped=tuple(dropped),
        dist="t",
        df_resid=float(fit._df_t),
        metadata=merge_metadata(auto, metadata),
    )

