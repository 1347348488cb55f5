"""Two-period, two-group DiD estimators for panel data, with their influence functions.

These are the building blocks of :func:`sahel_causal.did.att_gt`: each group-time ATT is a
2x2 comparison of the outcome change :math:`\\Delta Y = Y_t - Y_b` (period ``t`` against the
base period ``b``) between the units of cohort ``g`` (``D = 1``) and the comparison units
(``D = 0``), with covariates ``X`` taken before treatment (the design matrix includes the
intercept). Each function returns the estimate and its influence function :math:`\\psi_i`,
normalised so that :math:`\\hat\\theta-\\theta = n^{-1}\\sum_i\\psi_i + o_p(n^{-1/2})` over the
``n`` units of the 2x2 sample. They follow, formula by formula, the R package DRDID
(Sant'Anna & Zhao), which R ``did`` calls:

* :func:`reg_did_panel` -- outcome regression (Heckman, Ichimura & Todd 1997):
  :math:`\\hat\\theta = \\bar{\\Delta Y}_{D=1} - \\overline{X'\\hat\\beta}_{D=1}` with
  :math:`\\hat\\beta` from (weighted) OLS of :math:`\\Delta Y` on :math:`X` among ``D = 0``;
* :func:`std_ipw_did_panel` -- normalised (Hajek) inverse probability weighting (Abadie 2005)
  with a logit propensity score;
* :func:`drdid_panel` -- the locally efficient doubly robust estimator of Sant'Anna & Zhao
  (2020, eq. 3.1) with a logit propensity score and a linear outcome model for the
  comparison group (DRDID's ``drdid_panel``, the estimator behind ``est_method = "dr"`` in R
  ``did``).

Without covariates (``X`` a column of ones) all three equal the difference of mean changes.

References: Sant'Anna, P. H. C. & Zhao, J. (2020). Doubly robust difference-in-differences
estimators. Journal of Econometrics 219(1), 101-122. Abadie, A. (2005). Semiparametric
difference-in-differences estimators. Review of Economic Studies 72(1), 1-19.
"""
from __future__ import annotations

import numpy as np

from sahel_causal.errors import SpecificationError

_PS_MAX = 1.0 - 1e-16  # DRDID: pmin(ps.fit, 1 - 1e-16)


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    return coef


def logit_fit(X: np.ndarray, d: np.ndarray, w: np.ndarray, *, tol: float = 1e-12,
              max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit MLE by Newton-Raphson; returns (fitted probabilities, inverse Hessian * n).

    The second output is ``vcov(glm) * n`` in R's notation, i.e. :math:`(n^{-1}\\sum_i w_i
    p_i(1-p_i)x_ix_i')^{-1}`.
    """
    n, k = X.shape
    beta = np.zeros(k)
    pbar = float(np.sum(w * d) / np.sum(w))
    if 0.0 < pbar < 1.0:
        beta[0] = np.log(pbar / (1.0 - pbar)) if np.allclose(X[:, 0], 1.0) else 0.0
    for _ in range(max_iter):
        eta = X @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        W = w * p * (1.0 - p)
        H = (X * W[:, None]).T @ X
        g = X.T @ (w * (d - p))
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError as exc:
            raise SpecificationError(
                "att_gt: the propensity-score logit is singular (covariates collinear or perfect "
                "separation within a (g,t) cell); drop covariates or use est_method='reg'") from exc
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
            break
    else:
        raise SpecificationError(
            "att_gt: the propensity-score logit did not converge (perfect or quasi-complete "
            "separation of the cohort from its comparison units by the covariates); drop "
            "covariates or use est_method='reg'")
    eta = X @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    W = w * p * (1.0 - p)
    H = (X * W[:, None]).T @ X
    return p, np.linalg.inv(H / n)


def reg_did_panel(dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray,
                  ps_fit: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD (DRDID ``reg_did_panel``). ``w`` are normalised to mean one."""
    n = dy.shape[0]
    w = w / w.mean()
    c = D == 0
    beta = _wls(X[c], dy[c], w[c])
    out = X @ beta
    w_t = w * D
    w_c = w * D
    att_t = w_t * dy
    att_c = w_c * out
    eta_t = att_t.mean() / w_t.mean()
    eta_c = att_c.mean() / w_c.mean()
    w_ols = w * (1 - D)
    XpX_inv = np.linalg.inv((X * w_ols[:, None]).T @ X / n)
    lin_ols = (w_ols * (dy - out))[:, None] * X @ XpX_inv
    inf_t = (att_t - w_t * eta_t) / w_t.mean()
    inf_c1 = att_c - w_c * eta_c
    M1 = (w_c[:, None] * X).mean(axis=0)
    inf_c = (inf_c1 + lin_ols @ M1) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def std_ipw_did_panel(dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray,
                      ps_fit: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray]:
    """Normalised IPW DiD (DRDID ``std_ipw_did_panel``). ``ps_fit``: a cached ``logit_fit`` of
    ``D`` on ``X`` with the same (normalised) weights."""
    n = dy.shape[0]
    w = w / w.mean()
    ps, Hinv = logit_fit(X, D, w) if ps_fit is None else ps_fit
    ps = np.minimum(ps, _PS_MAX)
    w_t = w * D
    w_c = w * ps * (1 - D) / (1 - ps)
    att_t = w_t * dy
    att_c = w_c * dy
    eta_t = att_t.mean() / w_t.mean()
    eta_c = att_c.mean() / w_c.mean()
    score = (w * (D - ps))[:, None] * X
    lin_ps = score @ Hinv
    inf_t = (att_t - w_t * eta_t) / w_t.mean()
    inf_c1 = att_c - w_c * eta_c
    M2 = ((w_c * (dy - eta_c))[:, None] * X).mean(axis=0)
    inf_c = (inf_c1 + lin_ps @ M2) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def drdid_panel(dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray,
                ps_fit: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray]:
    """Locally efficient doubly robust DiD (DRDID ``drdid_panel``; Sant'Anna & Zhao 2020)."""
    n = dy.shape[0]
    w = w / w.mean()
    ps, Hinv = logit_fit(X, D, w) if ps_fit is None else ps_fit
    ps = np.minimum(ps, _PS_MAX)
    c = D == 0
    beta = _wls(X[c], dy[c], w[c])
    out = X @ beta
    w_t = w * D
    w_c = w * ps * (1 - D) / (1 - ps)
    r = dy - out
    att_t = w_t * r
    att_c = w_c * r
    eta_t = att_t.mean() / w_t.mean()
    eta_c = att_c.mean() / w_c.mean()
    w_ols = w * (1 - D)
    XpX_inv = np.linalg.inv((X * w_ols[:, None]).T @ X / n)
    lin_ols = (w_ols * r)[:, None] * X @ XpX_inv
    score = (w * (D - ps))[:, None] * X
    lin_ps = score @ Hinv
    inf_t1 = att_t - w_t * eta_t
    M1 = (w_t[:, None] * X).mean(axis=0)
    inf_t = (inf_t1 - lin_ols @ M1) / w_t.mean()
    inf_c1 = att_c - w_c * eta_c
    M2 = ((w_c * (r - eta_c))[:, None] * X).mean(axis=0)
    M3 = (w_c[:, None] * X).mean(axis=0)
    inf_c = (inf_c1 + lin_ps @ M2 - lin_ols @ M3) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def mean_did_panel(dy: np.ndarray, D: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Unconditional DiD (no covariates): identical to the three estimators above with X = 1."""
    w = w / w.mean()
    w_t = w * D
    w_c = w * (1 - D)
    eta_t = (w_t * dy).mean() / w_t.mean()
    eta_c = (w_c * dy).mean() / w_c.mean()
    inf = w_t * (dy - eta_t) / w_t.mean() - w_c * (dy - eta_c) / w_c.mean()
    return float(eta_t - eta_c), inf


ESTIMATORS = {"dr": drdid_panel, "ipw": std_ipw_did_panel, "reg": reg_did_panel}
