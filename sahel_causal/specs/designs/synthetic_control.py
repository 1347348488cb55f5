"""Specification of the synthetic-control design (one ``[[model]]`` with ``design = "synthetic_control"``).

Each model is one exit (or competing event) and one outcome: the treated state(s), the dated event in
``data/reference/withdrawal_events.csv`` that starts the post-period, the outcome and its
transformation, seasonality handling, the pre/post window, the donor pool and the estimators. See
:mod:`sahel_causal.designs.synthetic_control` for what ``run`` does with it.

Fields (types checked strictly; unknown keys are errors):

=====================  ======================================================================
``id``                 str, unique in the file (lower case, digits, '_')
``label``              str, the row label in Table 6
``role``               "main" | "robustness" | "competing" (table section)
``treated``            list of ISO3 codes; several are averaged into one treated unit
``event``              an ``event_id`` of withdrawal_events.csv
``lag``                int >= 0: the post-period starts this many months (years) after the event's
                       month (year); default 1 (the first full month after the event)
``outcome``            column of the month panel (frequency "month") or country-year panel ("year")
``frequency``          "month" | "year"
``transform``          "log1p" (log(1 + y)) | "level" | "per_100k" (y per 100,000 inhabitants, yearly data
                       with a ``population`` column only)
``seasonality``        "none" | "month_of_year" (subtract each state's pre-period calendar-month
                       means minus its pre-period mean; monthly only)
``pre_periods``        int >= 4: pre-period length (months or years)
``post_periods``       int >= 1: maximum post-period length (cut at the last complete period)
``donor_pool``         "no_exits" | "no_exits_no_neighbours"
``exclude_donors``     list of ISO3 codes removed from the pool in addition to the rules
``estimators``         list drawn from "synthdid", "sc", "did" (default all three)
``placebo_in_time``    int >= 0: shift (periods) of the in-time placebo; 0 = none
``augmented``          bool: also report the ridge-augmented SC estimate (default false)
=====================  ======================================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sahel_causal.specs import validate as v

DESIGN = "synthetic_control"
Role = Literal["main", "robustness", "competing"]
_ROLES = ("main", "robustness", "competing")
_FREQ = ("month", "year")
_TRANSFORMS = ("log1p", "level", "per_100k")
_SEASON = ("none", "month_of_year")
_POOLS = ("no_exits", "no_exits_no_neighbours")
_ESTIMATORS = ("synthdid", "sc", "did")


@dataclass(frozen=True)
class SyntheticControlSpec:
    """One synthetic-control model (see the module docstring for the fields)."""

    id: str
    label: str
    role: Role
    treated: tuple[str, ...]
    event: str
    outcome: str
    frequency: Literal["month", "year"] = "month"
    transform: Literal["log1p", "level", "per_100k"] = "log1p"
    seasonality: Literal["none", "month_of_year"] = "month_of_year"
    pre_periods: int = 60
    post_periods: int = 24
    lag: int = 1
    donor_pool: Literal["no_exits", "no_exits_no_neighbours"] = "no_exits"
    exclude_donors: tuple[str, ...] = ()
    estimators: tuple[str, ...] = _ESTIMATORS
    placebo_in_time: int = 12
    augmented: bool = False
    design: str = DESIGN


_FIELDS = {"design", "id", "label", "role", "treated", "event", "lag", "outcome", "frequency", "transform",
           "seasonality", "pre_periods", "post_periods", "donor_pool", "exclude_donors", "estimators",
           "placebo_in_time", "augmented"}
_REQUIRED = ("id", "label", "role", "treated", "event", "outcome")


def parse(model: dict[str, Any], *, source: str, where: str) -> SyntheticControlSpec:
    """Validate one ``[[model]]`` table and freeze it; raise SpecificationError naming the field."""

    c = v.Fields(source, where)
    fail = c.fail

    if not isinstance(model, dict):
        raise fail("model", "must be a table of fields")
    unknown = sorted(set(model) - _FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown key; allowed keys are {sorted(_FIELDS)}")
    if model.get("design", DESIGN) != DESIGN:
        raise fail("design", f"must be '{DESIGN}' for this parser, got {model.get('design')!r}")
    for f in _REQUIRED:
        if f not in model:
            raise fail(f, "is required")

    def string(f: str, pattern: str | None = None, choices: tuple[str, ...] | None = None) -> str:
        if choices:
            return c.choice(f, model[f], choices)
        return c.string(f, model[f], re.compile(f"^(?:{pattern})$") if pattern else None)

    def integer(f: str, default: int, lo: int) -> int:
        return c.integer(f, model.get(f, default), lo)

    def codes(f: str, default: tuple[str, ...], allow_empty: bool) -> tuple[str, ...]:
        return c.strings(f, model[f], allow_empty=allow_empty) if f in model else default

    treated = codes("treated", (), allow_empty=False)
    bad = [c for c in treated if not re.fullmatch(r"[A-Z]{3}", c)]
    if bad:
        raise fail("treated", f"{bad} are not ISO3 codes")
    estimators = codes("estimators", _ESTIMATORS, allow_empty=False)
    bad = [e for e in estimators if e not in _ESTIMATORS]
    if bad:
        raise fail("estimators", f"{bad} unknown; use {list(_ESTIMATORS)}")
    frequency = string("frequency", choices=_FREQ) if "frequency" in model else "month"
    seasonality = string("seasonality", choices=_SEASON) if "seasonality" in model else (
        "month_of_year" if frequency == "month" else "none")
    if frequency == "year" and seasonality != "none":
        raise fail("seasonality", "must be 'none' for yearly data")
    exclude = codes("exclude_donors", (), allow_empty=True)
    if model.get("transform") == "per_100k" and frequency != "year":
        raise fail("transform", "'per_100k' needs yearly data (population is a country-year column)")
    augmented = c.boolean("augmented", model.get("augmented", False))
    if augmented and "sc" not in estimators:
        raise fail("augmented", "needs 'sc' among the estimators (the augmentation corrects the SC weights)")
    if set(exclude) & set(treated):
        raise fail("exclude_donors", "lists a treated state")
    spec = SyntheticControlSpec(
        id=string("id", r"[a-z][a-z0-9_]*"), label=string("label"), role=string("role", choices=_ROLES),  # type: ignore[arg-type]
        treated=treated, event=string("event", r"[A-Z][A-Z0-9_]*"), outcome=string("outcome", r"[a-z][a-z0-9_]*"),
        frequency=frequency,  # type: ignore[arg-type]
        transform=string("transform", choices=_TRANSFORMS) if "transform" in model else "log1p",  # type: ignore[arg-type]
        seasonality=seasonality,  # type: ignore[arg-type]
        pre_periods=integer("pre_periods", 60 if frequency == "month" else 10, 4),
        post_periods=integer("post_periods", 24 if frequency == "month" else 3, 1),
        lag=integer("lag", 1, 0),
        donor_pool=string("donor_pool", choices=_POOLS) if "donor_pool" in model else "no_exits",  # type: ignore[arg-type]
        exclude_donors=exclude, estimators=estimators,
        placebo_in_time=integer("placebo_in_time", 12 if frequency == "month" else 0, 0), augmented=augmented)
    if spec.placebo_in_time > spec.pre_periods - 3:
        raise fail("placebo_in_time", f"must leave at least 3 pre-periods (pre_periods = {spec.pre_periods})")
    return spec
