"""The result family: :class:`EstimationResult` (one model) and :class:`TableResult` (a table).

Every result of the package follows the :class:`Result` protocol: ``tidy()`` returns one row
per term and inference method with the stable columns :data:`TIDY_COLUMNS` (``term, method,
estimate, std_error, p_value, ci_low, ci_high`` at least), and ``to_dict()``/``from_dict()``
round-trip exactly through JSON. (:meth:`EstimationResult.tidy` keeps its historical wide layout,
one row per term with a column block per method; :meth:`EstimationResult.tidy_long` is its
family form.)

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
from typing import Any, Literal, Mapping, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError

SCHEMA = "sahel_causal.EstimationResult/1"
TABLE_SCHEMA = "sahel_causal.TableResult/1"
#: the columns every ``tidy()`` of the family starts with, in this order
TIDY_COLUMNS = ("term", "method", "estimate", "std_error", "p_value", "ci_low", "ci_high")
#: p-values are flagged when a model has fewer clusters than this, or a term (interaction,
#: indicator treatment, event-time dummy) fewer treated clusters than FEW_TREATED
FEW_CLUSTERS = 12
FEW_TREATED = 10


@runtime_checkable
class Result(Protocol):
    """What every result of the package offers."""

    def tidy(self) -> pd.DataFrame: ...

    def to_dict(self) -> dict[str, Any]: ...
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
    coefficients, including fixed-effect dummies, for average marginal effects, or influence
    functions). It is not part of equality or the text summary; ``to_dict(include_aux=True)``
    writes it exactly (numpy arrays, Series and DataFrames of numbers, JSON values), and
    :meth:`from_dict` restores it.
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
            # a confidence set of disjoint intervals (test inversion): ci_low/ci_high hold its hull, and
            # ci_<name>_set lists the intervals (empty when the set is one interval)
            sets = [_ci_set_text(per_param[t].detail) if t in per_param else "" for t in out["term"]]
            if any(sets):
                out[f"ci_{name}_set"] = sets
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
    def tidy_long(self, alpha: float = 0.05) -> pd.DataFrame:
        """The family form of :meth:`tidy`: one row per term and method (``CRV1`` = the model's
        own vcov, then every attached method), columns :data:`TIDY_COLUMNS`."""
        wide = self.tidy(alpha)
        rows = []
        for _, r in wide.iterrows():
            rows.append({"term": r["term"], "method": self.vcov_label.split(" ")[0] or "model",
                         "estimate": r["estimate"], "std_error": r["std_error"], "p_value": r["p_value"],
                         "ci_low": r["conf_low"], "ci_high": r["conf_high"]})
            for name, per_param in self.inference.items():
                rec = per_param.get(r["term"])
                if rec is None:
                    continue
                se = rec.detail.get("se", math.nan) if isinstance(rec.detail, Mapping) else math.nan
                rows.append({"term": r["term"], "method": name, "estimate": r["estimate"],
                             "std_error": _dec_float(se) if isinstance(se, (int, float, str)) else math.nan,
                             "p_value": rec.p_value, "ci_low": rec.ci_low, "ci_high": rec.ci_high})
        return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))

    def to_dict(self, include_aux: bool = False) -> dict[str, Any]:
        """JSON-serialisable dictionary (no timestamps; floats round-trip exactly).

        With ``include_aux`` the ``aux`` arrays (design matrices, full coefficient vectors,
        influence functions) are written too, exactly (see :func:`encode_aux`).
        """
        out = self._to_dict()
        if include_aux:
            out["aux"] = encode_aux(self.aux)
        return out

    def _to_dict(self) -> dict[str, Any]:
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
        """Rebuild a result written by :meth:`to_dict` (``aux`` too when it was written)."""
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
            aux=decode_aux(data["aux"]) if "aux" in data else {},
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


# --------------------------------------------------------------------------- aux (exact arrays)
def encode_aux(aux: Mapping[str, Any]) -> dict[str, Any]:
    """``aux`` as JSON types: numpy arrays, Series and DataFrames of numbers are tagged and written
    element by element (floats by shortest repr), so :func:`decode_aux` restores them bit for bit."""
    return {str(k): _enc_aux(v, f"aux.{k}") for k, v in aux.items()}


def _enc_aux(value: Any, where: str) -> Any:
    if isinstance(value, pd.DataFrame):
        return {"__frame__": {"index": _encode(list(value.index), where), "columns": _encode(list(value.columns), where),
                              "dtypes": [str(t) for t in value.dtypes],
                              "columns_data": [_enc_aux(value[c].to_numpy(), where) for c in value.columns]}}
    if isinstance(value, pd.Series):
        return {"__series__": {"index": _encode(list(value.index), where), "name": _encode(value.name, where),
                               "values": _enc_aux(value.to_numpy(), where)}}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            raise SpecificationError(f"{where}: arrays of dtype {value.dtype} cannot be serialised")
        flat = [_enc_float(x) if value.dtype.kind == "f" else (bool(x) if value.dtype.kind == "b" else int(x))
                for x in value.ravel().tolist()]
        return {"__ndarray__": {"dtype": value.dtype.str, "shape": list(value.shape), "data": flat}}
    if isinstance(value, Mapping):
        return {str(k): _enc_aux(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_enc_aux(v, where) for v in value]
    return _encode(value, where)


def decode_aux(data: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_aux`."""
    return {k: _dec_aux(v) for k, v in data.items()}


def _dec_aux(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "__ndarray__" in value:
            a = value["__ndarray__"]
            return np.array([_dec_float(x) if np.dtype(a["dtype"]).kind == "f" else x for x in a["data"]],
                            dtype=np.dtype(a["dtype"])).reshape(a["shape"])
        if "__series__" in value:
            s = value["__series__"]
            return pd.Series(_dec_aux(s["values"]), index=_decode(s["index"]), name=_decode(s["name"]))
        if "__frame__" in value:
            f = value["__frame__"]
            cols = _decode(f["columns"])
            return pd.DataFrame({c: pd.Series(_dec_aux(d), dtype=t) for c, d, t in
                                 zip(cols, f["columns_data"], f["dtypes"])}, columns=cols).set_axis(
                _decode(f["index"]), axis=0)
        return {k: _dec_aux(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec_aux(v) for v in value]
    return value


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class ModelOutcome:
    """One fitted model of a table: its result, marginal effects (logits) and the sample bookkeeping.

    ``terms`` are the terms the table reports (the treatments of a regression, the event-time
    terms of an event study); ``treated_clusters`` counts, for interactions and indicator
    treatments, the clusters with a non-zero value (few treated clusters -> unreliable p-values).
    """

    model: Any  # sahel_causal.specs.schema.ModelSpec
    result: EstimationResult
    margins: EstimationResult | None
    sample_drops: tuple[tuple[str, int], ...]
    n_countries: int
    n_events: int | None
    events_lost: tuple[str, ...]
    within_sd: Mapping[str, float] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    treated_clusters: Mapping[str, int] = field(default_factory=dict)

    @property
    def reported_terms(self) -> tuple[str, ...]:
        return self.terms or tuple(self.model.treatments)

    def few_clusters(self, term: str) -> bool:
        """True when p-values for ``term`` rest on few clusters (see :mod:`sahel_causal.estimation`)."""
        G = self.result.n_clusters
        if G is not None and G < FEW_CLUSTERS:
            return True
        n_treated = self.treated_clusters.get(term)
        return n_treated is not None and n_treated < FEW_TREATED

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.id, "result": self.result.to_dict(include_aux=True),
                "margins": None if self.margins is None else self.margins.to_dict(include_aux=True),
                "sample_drops": [[r, int(n)] for r, n in self.sample_drops], "n_countries": int(self.n_countries),
                "n_events": None if self.n_events is None else int(self.n_events),
                "events_lost": list(self.events_lost),
                "within_sd": {k: _enc_float(v) for k, v in self.within_sd.items()}, "terms": list(self.terms),
                "treated_clusters": {k: int(v) for k, v in self.treated_clusters.items()}}


@dataclass(frozen=True)
class TableResult:
    """All models of one table specification, with the checksum of the panel file they were fitted on.

    ``data_sha256`` is the sha256 of the panel file as written (``provenance.json``), or
    ``frame:<hash>`` when the panel did not come from a file.
    """

    spec: Any  # sahel_causal.specs.schema.TableSpec
    models: tuple[ModelOutcome, ...]
    data_sha256: str

    def tidy(self) -> pd.DataFrame:
        """One row per model, reported term and inference method (:data:`TIDY_COLUMNS` after the
        model columns), with the sample size, the number of clusters and the few-cluster flag."""
        frames = []
        for mo in self.models:
            t = mo.result.tidy_long(mo.model.inference.alpha)
            t = t[t["term"].isin(mo.reported_terms)].copy()
            t.insert(0, "model", mo.model.id)
            t.insert(1, "label", mo.model.label)
            t.insert(2, "design", mo.model.design)
            t.insert(3, "estimator", mo.model.estimator)
            t["nobs"] = mo.result.nobs
            t["n_clusters"] = mo.result.n_clusters
            t["few_clusters"] = [mo.few_clusters(term) for term in t["term"]]
            frames.append(t)
        return pd.concat(frames, ignore_index=True)

    def table_frame(self) -> pd.DataFrame:
        """The wide frame of the published tables: one row per model and reported term, with every
        attached inference side by side, the sample and the marginal effects."""
        frames = []
        for mo in self.models:
            t = mo.result.tidy(mo.model.inference.alpha)
            t = t[t["term"].isin(mo.reported_terms)].copy()
            t.insert(0, "model", mo.model.id)
            t.insert(1, "label", mo.model.label)
            t.insert(2, "estimator", mo.model.estimator)
            t["nobs"] = mo.result.nobs
            t["n_countries"] = mo.n_countries
            t["n_clusters"] = mo.result.n_clusters
            t["fixed_effects"] = "+".join(mo.model.fixed_effects)
            t["controls"] = "+".join(mo.model.controls)
            t["outcome_mean"] = mo.result.outcome_mean
            t["within_sd"] = [mo.within_sd.get(term, math.nan) for term in t["term"]]
            t["effect_1sd"] = t["estimate"] * t["within_sd"]
            if mo.margins is not None:
                me = mo.margins.tidy()
                me = me.set_index("term")
                t["margin"] = [me["estimate"].get(term, math.nan) for term in t["term"]]
                t["margin_se"] = [me["std_error"].get(term, math.nan) for term in t["term"]]
            frames.append(t)
        out = pd.concat(frames, ignore_index=True)
        flags = {(mo.model.id, term): (mo.treated_clusters.get(term), mo.few_clusters(term))
                 for mo in self.models for term in mo.reported_terms}
        out["n_treated_clusters"] = [flags.get((m, t), (None, False))[0] for m, t in zip(out["model"], out["term"])]
        out["n_treated_clusters"] = out["n_treated_clusters"].astype("Int64")
        out["few_clusters"] = [flags.get((m, t), (None, False))[1] for m, t in zip(out["model"], out["term"])]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON types; the specification is stored as its resolved document and re-validated on read."""
        return {"schema": TABLE_SCHEMA, "data_sha256": self.data_sha256,
                "spec": {"document": _encode(dict(self.spec.document), "spec"), "source_file": self.spec.source_file,
                         "overrides": list(self.spec.overrides)},
                "models": [mo.to_dict() for mo in self.models]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TableResult":
        """Inverse of :meth:`to_dict`."""
        from sahel_causal.specs.io import parse_spec

        if data.get("schema") != TABLE_SCHEMA:
            raise SpecificationError(f"not a TableResult dictionary of schema {TABLE_SCHEMA!r}: {data.get('schema')!r}")
        s = data["spec"]
        spec = parse_spec(_decode(s["document"]), s["source_file"], overrides=tuple(s["overrides"]))
        by_id = {m.id: m for m in spec.models}
        models = tuple(ModelOutcome(
            model=by_id[m["model"]], result=EstimationResult.from_dict(m["result"]),
            margins=None if m["margins"] is None else EstimationResult.from_dict(m["margins"]),
            sample_drops=tuple((r, n) for r, n in m["sample_drops"]), n_countries=m["n_countries"],
            n_events=m["n_events"], events_lost=tuple(m["events_lost"]),
            within_sd={k: _dec_float(x) for k, x in m["within_sd"].items()}, terms=tuple(m["terms"]),
            treated_clusters=dict(m["treated_clusters"])) for m in data["models"])
        return cls(spec=spec, models=models, data_sha256=data["data_sha256"])

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`. Keys keep their (deterministic) insertion order: the order of the
        inference methods is the order of the table's columns, so it must survive the round trip."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "TableResult":
        return cls.from_dict(json.loads(text))


def _ci_set_text(detail: Mapping[str, Any]) -> str:
    """``"[a, b] U [c, d]"`` for a confidence set reported as its hull, else ``""``."""
    if not detail or not detail.get("ci_is_hull") or not detail.get("ci_set"):
        return ""
    return " U ".join(f"[{float(lo):.6g}, {float(hi):.6g}]" for lo, hi in detail["ci_set"])
