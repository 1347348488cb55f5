"""Firth-penalised logistic regression for rare events and separated data.

Estimand and estimator. The logit model :math:`P(y_i=1)=\\Lambda(x_i'\\beta)` is fitted by
maximising the penalised log-likelihood (Firth 1993; Heinze & Schemper 2002)

.. math:: \\ell^*(\\beta) = \\ell(\\beta) + \\tfrac12 \\log\\lvert I(\\beta)\\rvert,
          \\qquad I(\\beta) = X'W(\\beta)X,\\; W=\\mathrm{diag}\\{p_i(1-p_i)\\},

whose score is :math:`U^*(\\beta)=\\sum_i x_i\\{y_i-p_i+h_i(\\tfrac12-p_i)\\}` with :math:`h_i`
the diagonal of :math:`W^{1/2}X(X'WX)^{-1}X'W^{1/2}`. The penalty (Jeffreys prior) removes the
:math:`O(n^{-1})` bias of the ML estimator and keeps the estimates finite under complete or
quasi-complete separation (e.g. a country with no coup in a model with country dummies), which
is why it is the standard way to fit fixed effects as dummies for rare events. Fitted with
``firthmodels.FirthLogisticRegression`` (Newton-Raphson with step-halving, as R ``logistf``;
gradient and step tolerances 1e-6).

Inference, as ``logistf``:

* Wald: ``vcov = "model"`` is logistf's ``vcov``, :math:`J^{-1}` with
  :math:`J = X'\\mathrm{diag}\\{(1+h_i)p_i(1-p_i)\\}X` (the information of the
  augmented-data form of the penalised likelihood; it exceeds :math:`X'WX` by the :math:`h_i`
  terms, so its SEs are slightly smaller than :math:`\\sqrt{\\mathrm{diag}((X'WX)^{-1})}`);
  ``"CRV1"`` is the sandwich on the modified scores, :math:`c\\,J^{-1}(\\sum_g U^*_gU^{*\\prime}_g)J^{-1}`
  with :math:`c=\\frac{G}{G-1}\\frac{N-1}{N-K}`. Firth with a cluster sandwich is an
  approximation (the penalty is not a sum over clusters); it is offered to make Firth
  comparable with the other cluster-robust estimates.
* Penalised likelihood-ratio tests :math:`2\\{\\ell^*(\\hat\\beta)-\\ell^*(\\hat\\beta_{\\beta_j=0})\\}
  \\sim\\chi^2_1` and profile penalised-likelihood confidence intervals (Venzon & Moolgavkar
  1988; Heinze & Schemper 2002) are attached as inference ``"profile"`` (``tidy()`` columns
  ``p_profile``, ``ci_profile_low``, ``ci_profile_high``). They are model-based (not
  cluster-robust) and are what logistf prints as ``p`` and ``lower/upper 0.95``.

The result holds the intercept, the regressors and the duration terms; fixed-effect dummy
coefficients are kept in ``result.aux``. ``metadata["ml_separation"]`` records whether ordinary
ML would have infinite estimates (Konis 2007 linear-programming check).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError
from sahel_causal.models.fe_ols import (
    _without_id,
    Sample,
    as_name_tuple,
    check_numeric,
    cluster_label,
    drop_missing,
    merge_metadata,
    model_columns,
    validate_columns,
)
from sahel_causal.models.logit import _check_binary, logit_design, logit_result
from sahel_causal.results import EstimationResult, data_checksum, spec_hash

FirthVcov = Literal["model", "CRV1"]
_TOL = 1e-6
_TOLERANCES = (1e-6, 1e-4)
_MAX_ITER = 100


@dataclass(frozen=True)
class FirthConfig:
    """Validated, frozen inputs of :func:`firth_logit`."""

    outcome: str
    regressors: tuple[str, ...]
    fe: tuple[str, ...]
    duration: str | None
    cluster: str | None
    vcov: FirthVcov
    profile: bool
    alpha: float
    spec_id: str

    @property
    def used_columns(self) -> tuple[str, ...]:
        return model_columns(self.outcome, self.regressors, self.duration or None, *self.fe, self.cluster or None)


def firth_logit(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    fe: str | Sequence[str] | None = (),
    *,
    duration: str | None = None,
    cluster: str | None = None,
    vcov: FirthVcov = "model",
    profile: bool = True,
    alpha: float = 0.05,
    spec_id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> EstimationResult:
    """Firth logit with optional fixed-effect dummies ``fe`` (e.g. ``("iso3", "year")``).

    ``duration`` adds the Carter-Signorino cubic (see :func:`sahel_causal.models.logit.pooled_logit`).
    ``profile=True`` attaches penalised LR p-values and profile CIs (level ``1 - alpha``) for the
    reported terms as inference ``"profile"``. See the module docstring for the estimator.
    """
    regs = as_name_tuple(regressors, "regressors")
    if not regs:
        raise SpecificationError("at least one regressor is needed")
    fes = as_name_tuple(fe, "fe")
    if vcov not in ("model", "CRV1"):
        raise SpecificationError(f"vcov must be 'model' or 'CRV1', got {vcov!r}")
    if vcov == "CRV1" and cluster is None:
        raise SpecificationError("vcov='CRV1' needs a cluster column")
    if not 0.0 < float(alpha) < 1.0:
        raise SpecificationError(f"alpha must lie in (0, 1), got {alpha!r}")
    if outcome in regs or set(fes) & (set(regs) | {outcome}):
        raise SpecificationError("outcome, regressors and fixed effects must be distinct columns")
    cfg = FirthConfig(outcome, regs, fes, duration, cluster if vcov == "CRV1" else None, vcov, bool(profile),
                      float(alpha), str(spec_id))
    validate_columns(df, cfg.used_columns)
    check_numeric(df, [outcome, *regs] + ([duration] if duration else []))
    _check_binary(df[outcome], outcome)
    frame = df.loc[:, list(cfg.used_columns)]
    frame, dropped = drop_missing(frame, list(cfg.used_columns))
    if frame.empty:
        raise SpecificationError("no observations left after dropping missing values")
    return _fit(Sample(frame, tuple(dropped)), cfg, metadata)


def firth_hat_diagonal(X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Diagonal of :math:`W^{1/2}X(X'WX)^{-1}X'W^{1/2}` via a thin QR of :math:`W^{1/2}X`."""
    q, _ = np.linalg.qr(X * np.sqrt(p * (1.0 - p))[:, None])
    return np.einsum("ij,ij->i", q, q)


def firth_information(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """logistf's information matrix :math:`X'\\mathrm{diag}\\{(1+h_i)p_i(1-p_i)\\}X` at ``beta``.

    This is the Fisher information of the augmented-data form of the penalised likelihood
    (each observation split into a response and its complement with weights involving
    :math:`h_i/2`; Heinze & Schemper 2002); its inverse is logistf's ``vcov``.
    """
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    h = firth_hat_diagonal(X, p)
    return X.T @ (X * ((1.0 + h) * p * (1.0 - p))[:, None])


def firth_scores(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Per-observation modified scores :math:`x_i\\{y_i-p_i+h_i(1/2-p_i)\\}` (rows of a matrix)."""
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    h = firth_hat_diagonal(X, p)
    return X * (y - p + h * (0.5 - p))[:, None]


def _fit(sample: Sample, cfg: FirthConfig, metadata: Mapping[str, Any] | None) -> EstimationResult:
    from firthmodels import FirthLogisticRegression, detect_separation

    frame = sample.frame
    X = logit_design(frame, cfg.regressors, cfg.duration, cfg.fe)
    y = frame[cfg.outcome].to_numpy(dtype=float)
    Xv = X.to_numpy()
    N, K = Xv.shape
    if np.linalg.matrix_rank(Xv) < K:
        raise SpecificationError(f"the design is rank deficient (collinear columns among {list(X.columns)})")
    if y.min() == y.max():
        raise SpecificationError(f"{cfg.outcome!r} does not vary in the sample")
    sep = detect_separation(Xv[:, 1:], y, fit_intercept=True)
    sep_names = list(X.columns[1:]) + ["Intercept"]
    infinite = [n for n, fin in zip(sep_names, sep.is_finite) if not fin]
    tol_used = _TOL
    for tol in _TOLERANCES:
        # With many fixed-effect dummies for units without events, the penalised likelihood is
        # very flat in those dummies and the 1e-6 step tolerance may not be reached; the next
        # tolerance is firthmodels' default (1e-4), the one recorded in the result's metadata.
        model = FirthLogisticRegression(backend="numpy", fit_intercept=False, gtol=tol, xtol=tol,
                                        max_iter=_MAX_ITER, max_halfstep=25)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence is checked just below
            model.fit(Xv, y)
        tol_used = tol
        if model.converged_:
            break
    if not model.converged_:
        raise SpecificationError(
            f"Firth logit did not converge within {_MAX_ITER} Newton-Raphson iterations at tolerances "
            f"{_TOLERANCES}; simplify the fixed effects or rescale the regressors")
    beta = np.asarray(model.coef_, dtype=float)
    bread = np.linalg.inv(firth_information(Xv, beta))
    if cfg.vcov == "CRV1":
        codes = pd.factorize(frame[cfg.cluster], sort=True)[0]
        G = int(codes.max()) + 1
        if G < 2:
            raise SpecificationError("cluster-robust variance needs at least two clusters")
        U = np.zeros((G, K))
        np.add.at(U, codes, firth_scores(Xv, y, beta))
        factor = G / (G - 1) * (N - 1) / (N - K)
        V = factor * bread @ (U.T @ U) @ bread
        n_clusters: int | None = G
    else:
        V, factor, n_clusters = bread, 1.0, None
    V = (V + V.T) / 2.0
    names = list(X.columns)
    shown = ["Intercept", *cfg.regressors]
    if cfg.duration:
        shown += [cfg.duration, f"{cfg.duration}^2", f"{cfg.duration}^3"]
    full = pd.Series(beta, index=names)
    vfull = pd.DataFrame(V, index=names, columns=names)
    auto = {"convergence_tolerance": tol_used, 
        "data_checksum": data_checksum(frame),
        "spec_hash": spec_hash({"estimator": "firth_logit", **_without_id(asdict(cfg))}),
        "seed": None,
        "regressors": list(cfg.regressors),
        "cluster": cfg.cluster,
        "small_sample_factor": float(factor),
        "penalized_loglik": float(model.loglik_),
        "ml_separation": bool(sep.separation),
        "ml_infinite_terms": infinite,
    }
    result = logit_result(cfg.spec_id, "firth_logit", cfg.outcome, X, full, vfull, shown,
                          cluster_label(cfg.vcov, cfg.cluster) if cfg.vcov == "CRV1"
                          else "model-based (logistf: inverse augmented information at the penalised estimate)",
                          n_clusters, frame, cfg.fe, y, sample.dropped, merge_metadata(auto, metadata), cfg.regressors)
    if not cfg.profile:
        return result
    idx = [names.index(s) for s in shown]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.lrt(idx)
        ci = model.conf_int(alpha=cfg.alpha, method="pl", features=idx, max_iter=200, tol=1e-8)
    notes = sorted({str(w.message) for w in caught})
    detail = {
        "method": "penalized likelihood ratio test; profile penalized likelihood CI (Heinze & Schemper 2002)",
        "alpha": cfg.alpha,
        "cluster_robust": False,
    }
    if notes:
        detail["warnings"] = notes
    from scipy import stats as _stats

    for name, j in zip(shown, idx):
        p = float(model.lrt_pvalues_[j])
        # the penalized LR statistic, recovered exactly from its chi2(1) p-value
        lr = float(_stats.chi2(1).isf(p)) if np.isfinite(p) else float("nan")
        result = result.with_inference("profile", name, p, float(ci[j, 0]), float(ci[j, 1]),
                                       {**detail, "observed_statistic": lr, "statistic": "penalized LR chi2(1)"})
    return result
