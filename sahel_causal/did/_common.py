"""Shared internals of the DiD estimators: input validation, two-way FE algebra, result type.

Conventions follow R ``did``: ``tname`` (integer period), ``idname`` (unit), ``gname`` (first
treated period; 0 or missing = never treated). Rows with a missing outcome are dropped and
recorded in the result's ``dropped`` list with a count and a reason (never silently).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError

RESULT_COLUMNS = ["term", "estimate", "std_error", "p_value", "ci_low", "ci_high", "method"]


@dataclass(frozen=True)
class Prepared:
    """A validated long panel as arrays (no missing outcomes)."""

    y: np.ndarray
    unit: np.ndarray  # integer codes 0..N-1
    time: np.ndarray  # the period values (int)
    tcode: np.ndarray  # integer codes 0..T-1
    g: np.ndarray  # first treated period, 0 = never treated
    unit_labels: np.ndarray
    time_labels: np.ndarray
    dropped: tuple[tuple[str, int], ...]
    frame: pd.DataFrame  # the rows kept, original columns


def prepare(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str | None = None,
    extra: Sequence[str] = (),
) -> Prepared:
    """Validate column names and types, drop missing outcomes (recorded), encode units/periods."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    needed = [yname, tname, idname] + ([gname] if gname else []) + list(extra)
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise SpecificationError(f"data: column(s) {missing} not found; available: {sorted(map(str, data.columns))[:20]}...")
    df = data[list(dict.fromkeys(needed))].copy()
    if df.duplicated([idname, tname]).any():
        raise SpecificationError(f"data: ({idname}, {tname}) must be unique; drop or aggregate duplicated rows")
    if not pd.api.types.is_numeric_dtype(df[tname]) or df[tname].isna().any():
        raise SpecificationError(f"data: {tname} must be a numeric period without missing values")
    if (df[tname] != np.round(df[tname])).any():
        raise SpecificationError(f"data: {tname} must hold integer periods")
    dropped: list[tuple[str, int]] = []
    y = pd.to_numeric(df[yname], errors="coerce")
    if y.isna().any():
        dropped.append((f"missing {yname}", int(y.isna().sum())))
    for c in extra:
        miss = df[c].isna() & y.notna()
        if miss.any():
            dropped.append((f"missing {c}", int(miss.sum())))
            y = y.where(~df[c].isna())
    keep = y.notna().to_numpy()
    df = df.loc[keep].sort_values([idname, tname], kind="mergesort")
    if df.empty:
        raise SpecificationError(f"data: no rows with non-missing {yname}")
    if gname:
        g = pd.to_numeric(df[gname], errors="coerce").fillna(0.0)
        if (df.groupby(idname)[gname].nunique(dropna=False) > 1).any():
            raise SpecificationError(f"data: {gname} must be constant within each {idname} (first treated period)")
        g = g.to_numpy(float)
    else:
        g = np.zeros(len(df))
    ucodes, ulabels = pd.factorize(df[idname], sort=True)
    tcodes, tlabels = pd.factorize(df[tname], sort=True)
    return Prepared(
        y=df[yname].to_numpy(float),
        unit=ucodes.astype(np.int64),
        time=df[tname].to_numpy(np.int64),
        tcode=tcodes.astype(np.int64),
        g=g,
        unit_labels=np.asarray(ulabels),
        time_labels=np.asarray(tlabels).astype(np.int64),
        dropped=tuple(dropped),
        frame=df,
    )


def fe_design(unit: np.ndarray, tcode: np.ndarray, n_units: int | None = None, n_times: int | None = None) -> np.ndarray:
    """Dense [unit dummies | time dummies without the first] design (full rank for a connected panel)."""
    n_units = int(unit.max()) + 1 if n_units is None else n_units
    n_times = int(tcode.max()) + 1 if n_times is None else n_times
    X = np.zeros((len(unit), n_units + n_times - 1))
    X[np.arange(len(unit)), unit] = 1.0
    m = tcode > 0
    X[np.flatnonzero(m), n_units + tcode[m] - 1] = 1.0
    return X


def residualize(M: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``M`` on ``X`` by SVD least squares (Frisch-Waugh-Lovell)."""
    coef, *_ = np.linalg.lstsq(X, M, rcond=None)
    return M - X @ coef


def cluster_scores(scores: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Sum the rows of ``scores`` (n x k) within clusters -> (G x k)."""
    codes, _ = pd.factorize(cluster, sort=True)
    out = np.zeros((codes.max() + 1, scores.shape[1]))
    np.add.at(out, codes, scores)
    return out


def ols_cluster(y: np.ndarray, Xt: np.ndarray, cluster: np.ndarray, k_fe: int) -> tuple[np.ndarray, np.ndarray]:
    """OLS of (already FE-partialled) ``y`` on ``Xt`` with CRV1 (fixest small-sample factor).

    ``k_fe`` is the number of fixed-effect parameters counted in K (fixest "nested": the unit
    effects nested in unit clusters are not counted; time effects are).
    """
    XtX = Xt.T @ Xt
    XtX_inv = np.linalg.pinv(XtX)
    beta = XtX_inv @ (Xt.T @ y)
    u = y - Xt @ beta
    S = cluster_scores(Xt * u[:, None], cluster)
    G = S.shape[0]
    n, k = Xt.shape
    c = G / (G - 1) * (n - 1) / (n - k - k_fe)
    V = c * XtX_inv @ (S.T @ S) @ XtX_inv
    return beta, V


@dataclass(frozen=True)
class DidResult:
    """One DiD/event-study estimate: named terms with estimates, SEs and their covariance.

    ``terms`` are e.g. ``"ATT"``, ``"e=-2"``, ``"e=0"``; ``vcov`` may be empty when only
    standard errors are available. ``inference`` holds extra inference columns keyed by method
    name (``{"ri": {"ATT": {"p_value": ..., "ci_low": ..., ...}}}``).
    """

    estimator: str
    terms: tuple[str, ...]
    estimate: tuple[float, ...]
    std_error: tuple[float, ...]
    vcov: tuple[tuple[float, ...], ...] = ()
    n_obs: int = 0
    n_units: int = 0
    n_treated_units: int = 0
    df: int = 0  # degrees of freedom for t inference (0 = normal)
    method: str = "analytic"
    dropped: tuple[tuple[str, int], ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.terms) == len(self.estimate) == len(self.std_error)):
            raise SpecificationError("DidResult: terms, estimate and std_error must have equal lengths")

    def coef(self, term: str) -> float:
        return self.estimate[self.terms.index(term)]

    def se(self, term: str) -> float:
        return self.std_error[self.terms.index(term)]

    def vcov_matrix(self) -> np.ndarray:
        return np.asarray(self.vcov, dtype=float) if self.vcov else np.diag(np.square(self.std_error))

    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        est = np.asarray(self.estimate, float)
        se = np.asarray(self.std_error, float)
        dist = stats.t(self.df) if self.df > 0 else stats.norm()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = est / se
        crit = dist.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": est,
                "std_error": se,
                "p_value": 2 * dist.sf(np.abs(z)),
                "ci_low": est - crit * se,
                "ci_high": est + crit * se,
                "method": self.method,
            },
            columns=RESULT_COLUMNS,
        )

    def to_dict(self) -> dict[str, Any]:
        from sahel_causal.results import _encode

        return _encode(
            {
                "estimator": self.estimator,
                "terms": list(self.terms),
                "estimate": list(self.estimate),
                "std_error": list(self.std_error),
                "vcov": [list(r) for r in self.vcov],
                "n_obs": self.n_obs,
                "n_units": self.n_units,
                "n_treated_units": self.n_treated_units,
                "df": self.df,
                "method": self.method,
                "dropped": [list(d) for d in self.dropped],
                "meta": dict(self.meta),
            },
            "DidResult",
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DidResult":
        from sahel_causal.results import _dec_float, _decode

        fl = lambda xs: tuple(_dec_float(x) for x in xs)  # noqa: E731
        return cls(
            estimator=d["estimator"],
            terms=tuple(d["terms"]),
            estimate=fl(d["estimate"]),
            std_error=fl(d["std_error"]),
            vcov=tuple(fl(r) for r in d["vcov"]),
            n_obs=int(d["n_obs"]),
            n_units=int(d["n_units"]),
            n_treated_units=int(d["n_treated_units"]),
            df=int(d["df"]),
            method=d["method"],
            dropped=tuple((str(a), int(b)) for a, b in d["dropped"]),
            meta=_decode(d["meta"]),
        )


def event_term(e: int) -> str:
    return f"e={int(e)}"


def sup_t_critical(vcov: np.ndarray, alpha: float = 0.05, draws: int = 100_000, seed: int = 20240601) -> float:
    """Simultaneous (sup-t) critical value for a vector with covariance ``vcov`` (Olea & Plagborg-Moller 2019).

    The (1-alpha) quantile of max_j |Z_j| / sd_j with Z ~ N(0, vcov), by seeded simulation.
    """
    if not np.isfinite(vcov).all():
        return math.nan
    sd = np.sqrt(np.diag(vcov))
    ok = sd > 0
    if not ok.any():
        return math.nan
    C = vcov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    w, Q = np.linalg.eigh(C)
    L = Q * np.sqrt(np.clip(w, 0, None))
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((draws, len(w))) @ L.T
    return float(np.quantile(np.abs(Z).max(axis=1), 1 - alpha))


def wald_test(beta: np.ndarray, vcov: np.ndarray) -> tuple[float, int, float]:
    """Joint Wald chi-square test that all ``beta`` are zero: (statistic, df, p-value)."""
    beta = np.asarray(beta, float)
    if beta.size == 0 or not (np.isfinite(beta).all() and np.isfinite(vcov).all()):
        return math.nan, 0, math.nan
    stat = float(beta @ np.linalg.pinv(vcov) @ beta)
    k = int(np.linalg.matrix_rank(vcov))
    return stat, k, float(stats.chi2.sf(stat, k))
