"""One result type for every estimator: :class:`EstimationResult`.

Every model in :mod:`sahel_causal.models` (and later DiD, synthetic control and the
multiverse) returns an :class:`EstimationResult`. It holds the point estimates, their
covariance matrix and how it was computed, the estimation sample (observations, clusters,
fixed-effect groups, every dropped row or unit with its reason) and the provenance (data
checksum, specification hash, seed). :meth:`EstimationResult.tidy` is the single source from
which tables are built; :meth:`EstimationResult.with_inference` attaches further inference
(wild cluster bootstrap, randomization inference, profile likelihood) and returns a *new*
result.

Wald inference in ``tidy()``: for a coefficient :math:`\\hat\\beta_j` with standard error
:math:`s_j=\\sqrt{V_{jj}}` the statistic is :math:`\\hat\\beta_j/s_j`, the p-value is
:math:`2\\,P(|T|>|\\hat\\beta_j/s_j|)` and the interval is :math:`\\hat\\beta_j \\pm
q_{1-\\alpha/2}\\,s_j`, where :math:`T` follows Student's t with ``df_resid`` degrees of
freedom when ``dist == "t"`` (the fixest/pyfixest convention: :math:`G-1` for clustered
errors) and the standard normal when ``dist == "normal"`` (maximum-likelihood models).

Serialisation: :meth:`to_dict` returns plain JSON types; floats are written as JSON numbers,
whose text is Python's shortest round-trip ``repr``, so ``from_dict(to_dict())`` restores every
value bit for bit. Non-finite floats are written as the strings ``"nan"``, ``"inf"`` and
``"-inf"``. Nothing date- or time-dependent is stored.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError

SCHEMA = "sahel_causal.EstimationResult/1"
Dist = Literal["t", "normal"]
DropLevel = Literal["row", "group", "regressor"]
_INFERENCE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED_NAMES = frozenset({"value"})


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class DropRecord:
    """Rows, groups or regressors removed before or during estimation, with the reason.

    ``level`` says what ``count`` counts: ``"row"`` (observations), ``"group"`` (levels of a
    fixed effect or conditioning group, e.g. countries with no coup for conditional logit)
    or ``"regressor"`` (a collinear column). ``ids`` lists the dropped items (row labels of the
    caller's data frame, ``"iso3=MLI"``-style group labels or column names) as strings.
    """

    reason: str
    level: DropLevel
    count: int
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in ("row", "group", "regressor"):
            raise SpecificationError(f"DropRecord level must be row, group or regressor, not {self.level!r}")
        if int(self.count) != self.count or self.count < 0:
            raise SpecificationError(f"DropRecord count must be a non-negative integer, not {self.count!r}")
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))


@dataclass(frozen=True)
class InferenceRecord:
    """One parameter's result of an added inference method (bootstrap, RI, profile...)."""

    p_value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("p_value", "ci_low", "ci_high"):
            value = getattr(self, name)
            value = math.nan if value is None else float(value)
            object.__setattr__(self, name, value)
        if not (math.isnan(self.p_value) or 0.0 <= self.p_value <= 1.0):
            raise SpecificationError(f"p-value must lie in [0, 1], got {self.p_value!r}")
        # stored in JSON form (tuples as lists, non-finite floats as strings) so that a
        # round trip through to_dict()/from_dict() is exact
        object.__setattr__(self, "detail", _encode(dict(self.detail or {}), "detail"))


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class EstimationResult:
    """Estimates of one specification, with their covariance, sample and provenance.

    Treat instances as values: constructors copy the inputs, and the only way to add
    information is :meth:`with_inference`, which returns a new result.

    ``aux`` carries arrays that post-estimation steps need (e.g. the design matrix and all
    coefficients, including fixed-effect dummies, for average marginal effects). It is not
    part of equality, the text summary or :meth:`to_dict`: a result read back with
    :meth:`from_dict` supports tables but not marginal effects.
    """

    spec_id: str
    estimator: str
    outcome: str
    coef: pd.Series
    vcov: pd.DataFrame
    vcov_label: str
    nobs: int
    n_clusters: int | None = None
    n_groups: Mapping[str, int] = field(default_factory=dict)
    outcome_mean: float = math.nan
    fixed_effects: tuple[str, ...] = ()
    dropped: tuple[DropRecord, ...] = ()
    dist: Dist = "normal"
    df_resid: float | None = None
    inference: Mapping[str, Mapping[str, InferenceRecord]] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    aux: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        coef = pd.Series(self.coef, dtype=float).copy()
        coef.index = pd.Index([str(t) for t in coef.index], name="term")
        coef.name = "estimate"
        if not coef.index.is_unique:
            raise SpecificationError(f"coefficient names must be unique: {list(coef.index)}")
        vcov = pd.DataFrame(self.vcov, dtype=float).copy()
        vcov.index = pd.Index([str(t) for t in vcov.index], name="term")
        vcov.columns = pd.Index([str(t) for t in vcov.columns], name="term")
        if list(vcov.index) != list(coef.index) or list(vcov.columns) != list(coef.index):
            raise SpecificationError(
                "vcov must be square with rows and columns in the order of coef: "
                f"coef={list(coef.index)}, vcov rows={list(vcov.index)}"
            )
        if self.dist not in ("t", "normal"):
            raise SpecificationError(f"dist must be 't' or 'normal', not {self.dist!r}")
        if self.dist == "t" and (self.df_resid is None or not self.df_resid > 0):
            raise SpecificationError("dist='t' needs positive df_resid")
        dropped = tuple(d if isinstance(d, DropRecord) else DropRecord(*d) for d in self.dropped)
        inference: dict[str, dict[str, InferenceRecord]] = {}
        for name, per_param in dict(self.inference).items():
            _check_inference_name(name)
            inference[name] = {}
            for param, rec in dict(per_param).items():
                if str(param) not in coef.index:
                    raise SpecificationError(f"inference {name!r} refers to unknown term {param!r}")
                inference[name][str(param)] = rec if isinstance(rec, InferenceRecord) else InferenceRecord(**rec)
        metadata = _encode(dict(self.metadata), "metadata")
        sets = object.__setattr__
        sets(self, "coef", coef)
        sets(self, "vcov", vcov)
        sets(self, "nobs", int(self.nobs))
        sets(self, "n_clusters", None if self.n_clusters is None else int(self.n_clusters))
        sets(self, "n_groups", {str(k): int(v) for k, v in dict(self.n_groups).items()})
        sets(self, "outcome_mean", float(self.outcome_mean))
        sets(self, "fixed_effects", tuple(str(f) for f in self.fixed_effects))
        sets(self, "dropped", dropped)
        sets(self, "df_resid", None if self.df_resid is None else float(self.df_resid))
        sets(self, "inference", inference)
        sets(self, "metadata", metadata)
        sets(self, "aux", dict(self.aux))

    def __eq__(self, other: object) -> bool:
        """Equal when the serialised forms are equal (``aux`` is ignored; NaN equals NaN)."""
        if not isinstance(other, EstimationResult):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # ----------------------------------------------------------------- properties
    @property
    def std_errors(self) -> pd.Series:
        """Standard errors :math:`\\sqrt{\\mathrm{diag}(V)}` (NaN where the variance is negative)."""
        diag = np.diag(self.vcov.to_numpy())
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.where(diag >= 0, diag, np.nan))
        return pd.Series(se, index=self.coef.index, name="std_error")

    @property
    def n_dropped_rows(self) -> int:
        """Total number of observations removed (records of level ``"row"``)."""
        return sum(d.count for d in self.dropped if d.level == "row")

    def dropped_table(self) -> pd.DataFrame:
        """The drop records as a table (reason, level, count, ids joined by ``;``)."""
        return pd.DataFrame(
            {
                "reason": [d.reason for d in self.dropped],
                "level": [d.level for d in self.dropped],
                "count": [d.count for d in self.dropped],
                "ids": [";".join(d.ids) for d in self.dropped],
            },
            columns=["reason", "level", "count", "ids"],
        )

    # ----------------------------------------------------------------- inference
    def with_inference(
        self,
        name: str,
        param: str,
        p_value: float,
        ci_low: float = math.nan,
        ci_high: float = math.nan,
        detail: Mapping[str, Any] | None = None,
    ) -> "EstimationResult":
        """Return a new result with ``name``-inference (e.g. ``"wild"``, ``"ri"``) for ``param``.

        ``tidy()`` then shows columns ``p_<name>``, ``ci_<name>_low`` and ``ci_<name>_high``.
        ``detail`` (JSON types only) records how it was computed: draws, weights, seed...
        Adding the same (name, param) twice raises: results are values, not logs.
        """
        _check_inference_name(name)
        if param not in self.coef.index:
            raise SpecificationError(f"unknown term {param!r}; terms are {list(self.coef.index)}")
        if param in self.inference.get(name, {}):
            raise SpecificationError(f"inference {name!r} for {param!r} is already attached")
        record = InferenceRecord(p_value, ci_low, ci_high, dict(detail or {}))
        inference = {k: dict(v) for k, v in self.inference.items()}
        inference.setdefault(name, {})[param] = record
        return replace(self, inference=inference)

    # ----------------------------------------------------------------- tables
    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per term: estimate, std_error, statistic, p_value, conf_low, conf_high.

        Wald statistics use ``vcov`` and ``dist``/``df_resid`` (see module docstring); one
        further block of columns ``p_<name>, ci_<name>_low, ci_<name>_high`` follows for every
        inference method attached with :meth:`with_inference` (NaN for terms it does not cover).
        """
        if not 0.0 < alpha < 1.0:
            raise SpecificationError(f"alpha must lie in (0, 1), got {alpha!r}")
        est = self.coef.to_numpy()
        se = self.std_errors.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        if self.dist == "t":
            ref = stats.t(df=self.df_resid)
        else:
            ref = stats.norm()
        p = 2.0 * ref.sf(np.abs(stat))
        q = ref.ppf(1.0 - alpha / 2.0)
        out = pd.DataFrame(
            {
                "term": list(self.coef.index),
                "estimate": est,
                "std_error": se,
                "statistic": stat,
                "p_value": p,
                "conf_low": est - q * se,
                "conf_high": est + q * se,
            }
        )
        for name, per_param in self.inference.items():
            get = lambda attr: [getattr(per_param[t], attr) if t in per_param else math.nan for t in out["term"]]  # noqa: E731
            out[f"p_{name}"] = get("p_value")
            out[f"ci_{name}_low"] = get("ci_low")
            out[f"ci_{name}_high"] = get("ci_high")
        return out

    def summary(self, alpha: float = 0.05, digits: int = 4) -> str:
        """Plain-text summary: specification, sample, dropped units and the tidy table."""
        lines = [
            f"{self.estimator}: {self.outcome}" + (f"  [spec {self.spec_id}]" if self.spec_id else ""),
            f"Observations: {self.nobs}"
            + (f"   Clusters: {self.n_clusters}" if self.n_clusters is not None else "")
            + (f"   Outcome mean: {self.outcome_mean:.{digits}g}" if not math.isnan(self.outcome_mean) else ""),
            "Fixed effects: " + (", ".join(f"{fe} ({self.n_groups.get(fe, '?')})" for fe in self.fixed_effects) or "none"),
            f"Standard errors: {self.vcov_label}"
            + (f"; t({self.df_resid:g}) reference" if self.dist == "t" else "; normal reference"),
        ]
        for d in self.dropped:
            lines.append(f"Dropped: {d.count} {d.level}(s): {d.reason}")
        table = self.tidy(alpha)
        lines.append("")
        lines.append(table.to_string(index=False, float_format=lambda v: f"{v:.{digits}g}"))
        return "\n".join(lines)

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (no timestamps; floats round-trip exactly)."""
        return {
            "schema": SCHEMA,
            "spec_id": self.spec_id,
            "estimator": self.estimator,
            "outcome": self.outcome,
            "terms": list(self.coef.index),
            "coef": [_enc_float(v) for v in self.coef.to_numpy()],
            "vcov": [[_enc_float(v) for v in row] for row in self.vcov.to_numpy()],
            "vcov_label": self.vcov_label,
            "nobs": self.nobs,
            "n_clusters": self.n_clusters,
            "n_groups": dict(self.n_groups),
            "outcome_mean": _enc_float(self.outcome_mean),
            "fixed_effects": list(self.fixed_effects),
            "dropped": [
                {"reason": d.reason, "level": d.level, "count": d.count, "ids": list(d.ids)}
                for d in self.dropped
            ],
            "dist": self.dist,
            "df_resid": None if self.df_resid is None else _enc_float(self.df_resid),
            "inference": {
                name: {
                    param: {
                        "p_value": _enc_float(r.p_value),
                        "ci_low": _enc_float(r.ci_low),
                        "ci_high": _enc_float(r.ci_high),
                        "detail": _encode(r.detail, "detail"),
                    }
                    for param, r in per_param.items()
                }
                for name, per_param in self.inference.items()
            },
            "metadata": _encode(self.metadata, "metadata"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EstimationResult":
        """Rebuild a result written by :meth:`to_dict` (``aux`` is not restored)."""
        if data.get("schema") != SCHEMA:
            raise SpecificationError(f"not an EstimationResult dictionary of schema {SCHEMA!r}: {data.get('schema')!r}")
        terms = list(data["terms"])
        coef = pd.Series([_dec_float(v) for v in data["coef"]], index=terms, dtype=float)
        vcov = pd.DataFrame([[_dec_float(v) for v in row] for row in data["vcov"]], index=terms, columns=terms, dtype=float)
        inference = {
            name: {
                param: InferenceRecord(
                    _dec_float(r["p_value"]), _dec_float(r["ci_low"]), _dec_float(r["ci_high"]), _decode(r["detail"])
                )
                for param, r in per_param.items()
            }
            for name, per_param in data["inference"].items()
        }
        return cls(
            spec_id=data["spec_id"],
            estimator=data["estimator"],
            outcome=data["outcome"],
            coef=coef,
            vcov=vcov,
            vcov_label=data["vcov_label"],
            nobs=data["nobs"],
            n_clusters=data["n_clusters"],
            n_groups=data["n_groups"],
            outcome_mean=_dec_float(data["outcome_mean"]),
            fixed_effects=tuple(data["fixed_effects"]),
            dropped=tuple(DropRecord(d["reason"], d["level"], d["count"], tuple(d["ids"])) for d in data["dropped"]),
            dist=data["dist"],
            df_resid=None if data["df_resid"] is None else _dec_float(data["df_resid"]),
            inference=inference,
            metadata=_decode(data["metadata"]),
        )

    def to_json(self) -> str:
        """:meth:`to_dict` as canonical JSON text (sorted keys, two-space indent)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "EstimationResult":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


# --------------------------------------------------------------------------- provenance
def data_checksum(frame: pd.DataFrame) -> str:
    """sha256 of a data frame's CSV text (index included, floats at round-trip precision).

    Used for the ``data_checksum`` metadata of a result: the frame passed is the estimation
    sample (rows kept, columns used), so two runs on the same sample give the same checksum.
    """
    text = frame.to_csv(lineterminator="\n")
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec_hash(config: Mapping[str, Any]) -> str:
    """sha256 of a specification's canonical JSON (sorted keys), for the ``spec_hash`` metadata."""
    text = json.dumps(_encode(dict(config), "config"), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- helpers
def _check_inference_name(name: str) -> None:
    if not isinstance(name, str) or not _INFERENCE_NAME.match(name) or name in _RESERVED_NAMES:
        raise SpecificationError(
            f"inference name must be lower-case letters, digits and underscores (e.g. 'wild', 'ri'): {name!r}"
        )


def _enc_float(value: float) -> float | str:
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _dec_float(value: float | str | None) -> float:
    if value is None:
        return math.nan
    return float(value)


def _encode(value: Any, where: str) -> Any:
    """Convert to plain JSON types (non-finite floats as strings); raise on anything else."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _enc_float(float(value))
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SpecificationError(f"{where}: keys must be strings, got {k!r}")
            out[k] = _encode(v, where)
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(v, where) for v in value]
    raise SpecificationError(f"{where}: value of type {type(value).__name__} is not JSON-serialisable: {value!r}")


def _decode(value: Any) -> Any:
    """Inverse of :func:`_encode` for mappings and lists (strings stay strings)."""
    if isinstance(value, Mapping):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
