"""Poisson pseudo-maximum likelihood (PPML) with fixed effects, for counts of events.

Estimand. With a non-negative outcome :math:`y_{it}` (e.g. the number of violent events),

.. math:: E[y_{it}\\mid x_{it}, \\alpha_i, \\gamma_t] = \\exp(x_{it}'\\beta + \\alpha_i + \\gamma_t),

so :math:`100\\,(e^{\\beta_j}-1)` is the percent change in the expected count per unit of
:math:`x_j`. The Poisson score is an estimating equation: :math:`\\hat\\beta` is consistent
whenever the conditional mean is right, whatever the distribution (no equidispersion needed;
Gourieroux, Monfort & Trognon 1984; Santos Silva & Tenreyro 2006), and the two-way fixed-effects
Poisson estimator has no incidental-parameter bias in :math:`\\beta` for the country effects
(Wooldridge 1999). Estimated by pyfixest ``fepois`` (IRLS with demeaning, as R fixest).

Sample. Negative outcomes are an error. Rows with missing values are dropped; then, until
nothing changes, (a) every fixed-effect level whose outcome is zero in all its rows (its
effect would be :math:`-\\infty`; those rows carry no information on :math:`\\beta`) and
(b) fixed-effect singletons. Remaining *separation* caused by regressors (a regressor that is
non-zero only where the outcome is zero; Correia, Guimarães & Zylkin 2021) is detected by
pyfixest's check and those rows are dropped too. Every drop is recorded in ``dropped`` with
its reason and the row labels or group levels, and separation also raises a warning.

Variance: ``"CRV1"`` sandwich on the Poisson scores with the same small-sample factor as
:mod:`sahel_causal.models.fe_ols` (``fe_dof`` chooses which fixed-effect levels count in
:math:`K`; ``"full"`` equals statsmodels ``GLM(..., Poisson).fit(cov_type="cluster")`` with
dummies), ``"hetero"`` or ``"iid"``; t reference with :math:`G-1` degrees of freedom, as pyfixest.
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
    _DEMEAN_MAXITER,
    _DEMEAN_TOL,
    _pow2_scale,
    _FE_DOF,
    FeDof,
    Sample,
    as_name_tuple,
    check_numeric,
    cluster_label,
    drop_missing,
    merge_metadata,
    model_columns,
    row_ids,
    singleton_mask,
    validate_columns,
)
from sahel_causal.results import DropRecord, EstimationResult, data_checksum, spec_hash

PpmlVcov = Literal["CRV1", "hetero", "iid"]
_VCOV = ("CRV1", "hetero", "iid")


class SeparationWarning(UserWarning):
    """Observations were dropped because a regressor separates zero outcomes."""


@dataclass(frozen=True)
class PpmlConfig:
    """Validated, frozen inputs of :func:`ppml`."""

    outcome: str
    regressors: tuple[str, ...]
    fe: tuple[str, ...]
    cluster: str | None
    vcov: PpmlVcov
    fe_dof: FeDof
    spec_id: str

    @property
    def used_columns(self) -> tuple[str, ...]:
        return model_columns(self.outcome, self.regressors, *self.fe, self.cluster or None)


def ppml(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    fe: str | Sequence[str] | None = ("iso3", "year"),
    cluster: str | None = "iso3",
    vcov: PpmlVcov = "CRV1",
    *,
    fe_dof: FeDof = "nested",
    spec_id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> EstimationResult:
    """Poisson PML with absorbed fixed effects; see the module docstring for estimand and sample.

    Returns an :class:`EstimationResult` with estimator ``"ppml"`` (log-scale slopes).
    """
    cfg = _make_config(df, outcome, regressors, fe, cluster, vcov, fe_dof, spec_id)
    sample = _prepare_sample(df, cfg)
    return _fit(sample, cfg, metadata)


def _make_config(df, outcome, regressors, fe, cluster, vcov, fe_dof, spec_id) -> PpmlConfig:
    if vcov not in _VCOV:
        raise SpecificationError(f"vcov must be one of {_VCOV}, got {vcov!r}")
    if fe_dof not in _FE_DOF:
        raise SpecificationError(f"fe_dof must be one of {tuple(_FE_DOF)}, got {fe_dof!r}")
    regs = as_name_tuple(regressors, "regressors")
    if not regs:
        raise SpecificationError("at least one regressor is needed")
    fes = as_name_tuple(fe, "fe")
    if outcome in regs or outcome in fes or set(regs) & set(fes):
        raise SpecificationError("outcome, regressors and fixed effects must be distinct columns")
    if vcov == "CRV1" and cluster is None:
        raise SpecificationError("vcov='CRV1' needs a cluster column")
    cfg = PpmlConfig(outcome, regs, fes, cluster if vcov == "CRV1" else None, vcov, fe_dof, str(spec_id))
    validate_columns(df, cfg.used_columns)
    check_numeric(df, [outcome, *regs])
    y = pd.to_numeric(df[outcome], errors="coerce")
    n_neg = int((y < 0).sum())
    if n_neg:
        raise SpecificationError(
            f"PPML needs a non-negative outcome: {outcome!r} has {n_neg} negative value(s); "
            "use fe_ols for outcomes that can be negative"
        )
    return cfg


def zero_outcome_groups(frame: pd.DataFrame, outcome: str, fe: str) -> list:
    """Levels of fixed effect ``fe`` whose outcome is zero in every row of ``frame``."""
    total = frame.groupby(fe, sort=True, observed=True)[outcome].sum()
    return list(total.index[total == 0])


def drop_unidentified(frame: pd.DataFrame, outcome: str, fe: tuple[str, ...]) -> tuple[pd.DataFrame, list[DropRecord]]:
    """Drop, iteratively, fixed-effect levels whose outcome is zero in every row and singletons.

    Both carry no information on the slopes of PPML (Correia, Guimaraes & Zylkin 2020); the
    drops are returned as records (levels and rows). Used by :func:`ppml` and the wild score
    bootstrap, so that both work on the same sample.
    """
    dropped: list[DropRecord] = []
    zero_rows: dict[str, list] = {f: [] for f in fe}
    zero_levels: dict[str, list] = {f: [] for f in fe}
    single_rows: list = []
    while True:
        changed = False
        for f in fe:
            levels = zero_outcome_groups(frame, outcome, f)
            if levels:
                hit = frame[f].isin(levels).to_numpy()
                zero_levels[f] += levels
                zero_rows[f] += list(frame.index[hit])
                frame = frame.loc[~hit]
                changed = True
        mask = singleton_mask(frame, fe)
        if mask.any():
            single_rows += list(frame.index[mask])
            frame = frame.loc[~mask]
            changed = True
        if not changed:
            break
    for f in fe:
        if zero_levels[f]:
            dropped.append(DropRecord(f"{f} level with an all-zero outcome (effect not identified)", "group",
                                      len(zero_levels[f]), tuple(f"{f}={v}" for v in zero_levels[f])))
            dropped.append(DropRecord(f"row in a {f} level with an all-zero outcome", "row",
                                      len(zero_rows[f]), row_ids(pd.Index(zero_rows[f]))))
    if single_rows:
        dropped.append(DropRecord(f"singleton in fixed effects ({', '.join(fe)})", "row",
                                  len(single_rows), row_ids(pd.Index(single_rows))))
    return frame, dropped


def _prepare_sample(df: pd.DataFrame, cfg: PpmlConfig) -> Sample:
    frame = df.loc[:, list(cfg.used_columns)]
    frame, dropped = drop_missing(frame, list(cfg.used_columns))
    frame, more = drop_unidentified(frame, cfg.outcome, cfg.fe)
    dropped = [*dropped, *more]
    if len(frame) == 0 or float(frame[cfg.outcome].sum()) == 0.0:
        raise SpecificationError("no observations with a positive outcome remain; PPML is not identified")
    return Sample(frame, tuple(dropped))


def _fit(sample: Sample, cfg: PpmlConfig, metadata: Mapping[str, Any] | None) -> EstimationResult:
    import pyfixest as pf

    frame = sample.frame
    names = {r: f"x{j}__" for j, r in enumerate(cfg.regressors)}
    fe_names = {f: f"fe{j}__" for j, f in enumerate(cfg.fe)}
    # outcome and regressors divided by powers of two near their RMS (exact; PPML slopes do not
    # depend on the outcome's scale): the demeaning tolerance becomes relative to the data's scale
    y_raw = frame[cfg.outcome].to_numpy(dtype=float)
    y_scale = _pow2_scale(y_raw)
    work = pd.DataFrame({"y__": y_raw / y_scale})
    col_scale = {}
    for old, new in names.items():
        values = frame[old].to_numpy(dtype=float)
        col_scale[new] = _pow2_scale(values)
        work[new] = values / col_scale[new]
    for old, new in fe_names.items():
        work[new] = frame[old].to_numpy()
    if cfg.cluster:
        work["cl__"] = frame[cfg.cluster].to_numpy()
    fml = "y__ ~ " + " + ".join(names.values()) + (" | " + " + ".join(fe_names.values()) if cfg.fe else "")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*observations removed because of separation")
        warnings.filterwarnings("ignore", message=r"(?s).*dropped due to multicollinearity")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        fit = pf.fepois(
            fml,
            data=work,
            vcov={"CRV1": "cl__"} if cfg.vcov == "CRV1" else cfg.vcov,
            ssc=pf.ssc(k_adj=True, k_fixef=_FE_DOF[cfg.fe_dof], G_adj=True),
            fixef_rm="none",
            separation_check=["fe", "ir"],
            iwls_tol=1e-12,
            iwls_maxiter=200,
            demeaner=pf.MapDemeaner(fixef_tol=_DEMEAN_TOL, fixef_maxiter=_DEMEAN_MAXITER),
            copy_data=True,
            store_data=False,
        )
    if not bool(getattr(fit, "convergence", True)):
        raise SpecificationError("PPML (IRLS) did not converge in 200 iterations")
    removed = np.asarray(sorted(int(i) for i in np.asarray(fit.na_index, dtype=float)), dtype=int)
    if len(work) - len(removed) != int(fit._N):
        raise SpecificationError("could not identify the rows pyfixest removed; refusing to guess")
    dropped = list(sample.dropped)
    if len(removed):
        rows = frame.index[removed]
        dropped.append(DropRecord("separated by a regressor (Correia, Guimaraes & Zylkin 2021)", "row",
                                  len(rows), row_ids(rows)))
        warnings.warn(f"{len(rows)} observation(s) dropped because of separation; see result.dropped",
                      SeparationWarning, stacklevel=3)
        keep = np.ones(len(frame), dtype=bool)
        keep[removed] = False
        frame = frame.loc[keep]
    back = {v: k for k, v in names.items()}
    back["Intercept"] = "Intercept"
    terms = [back[n] for n in fit._coefnames]
    collin = [back.get(n, n) for n in (fit._collin_vars or [])]
    if collin:
        dropped.append(DropRecord("collinear with the fixed effects or other regressors", "regressor",
                                  len(collin), tuple(collin)))
    if not terms:
        raise SpecificationError("every regressor is collinear with the fixed effects")
    sx = np.array([col_scale.get(n, 1.0) for n in fit._coefnames])
    coef = np.asarray(fit._beta_hat, dtype=float) / sx
    coef = np.where(np.asarray(fit._coefnames) == "Intercept", coef + np.log(y_scale), coef)
    vcov = np.asarray(fit._vcov, dtype=float) / np.outer(sx, sx)
    auto = {
        "data_checksum": data_checksum(frame),
        "spec_hash": spec_hash({"estimator": "ppml", **_without_id(asdict(cfg))}),
        "seed": None,
        "regressors": list(cfg.regressors),
        "cluster": cfg.cluster,
        "fe_dof": cfg.fe_dof,
        "small_sample_factor": float(np.asarray(fit._ssc).ravel()[0]),
    }
    return EstimationResult(
        spec_id=cfg.spec_id,
        estimator="ppml",
        outcome=cfg.outcome,
        coef=pd.Series(coef, index=terms),
        vcov=pd.DataFrame(vcov, index=terms, columns=terms),
        vcov_label=cluster_label(cfg.vcov, cfg.cluster),
        nobs=int(fit._N),
        n_clusters=int(frame[cfg.cluster].nunique()) if cfg.cluster else None,
        n_groups={f: int(frame[f].nunique()) for f in cfg.fe},
        outcome_mean=float(frame[cfg.outcome].mean()),
        fixed_effects=cfg.fe,
        dropped=tuple(dropped),
        dist="t",
        df_resid=float(fit._df_t),
        metadata=merge_metadata(auto, metadata),
    )
