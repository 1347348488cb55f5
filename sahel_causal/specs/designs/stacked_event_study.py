"""Specification of the ``stacked_event_study`` design (events such as successful coups).

A ``[[model]]`` with ``design = "stacked_event_study"`` estimates
:func:`sahel_causal.did.stacked.stacked_event_study` around the country-years where ``event``
is positive. Fields (strict types; unknown keys are errors):

============  ==============================================================  ========
key           meaning                                                         default
============  ==============================================================  ========
``outcome``   outcome column                                                  required
``event``     event column; an event is a country-year with a value > 0       required
``unit``      unit column                                                     iso3
``time``      period column                                                   year
``pre``       periods before the event in the window (int >= 1)               3
``post``      periods after the event (int >= 0)                              3
``ref``       omitted relative period (int, in [-pre, -1])                    -1
``buffer``    extra periods before the window in which controls must have     2
              no event (int >= 0)
``weighting`` ``"none"`` (Cengiz et al.) or ``"wing"`` (Wing et al. 2024)    none
``years``     [first, last] event years kept (list of two ints)               none
============  ==============================================================  ========

General keys ``design``, ``id``, ``label`` are accepted.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from sahel_causal.errors import SpecificationError
from sahel_causal.specs import validate as v

DESIGN = "stacked_event_study"


@dataclass(frozen=True)
class StackedEventStudySpec:
    outcome: str
    event: str
    unit: str = "iso3"
    time: str = "year"
    pre: int = 3
    post: int = 3
    ref: int = -1
    buffer: int = 2
    weighting: str = "none"
    years: tuple[int, int] | None = None
    id: str | None = None
    label: str | None = None


def parse(model: Mapping[str, Any], *, source: str, where: str) -> StackedEventStudySpec:
    """Validate one ``[[model]]`` table into a :class:`StackedEventStudySpec` (strict)."""
    c = v.Fields(source, where)
    err = c.fail
    if not isinstance(model, Mapping):
        raise SpecificationError(f"{source}: [{where}] must be a table")
    known = {f.name for f in fields(StackedEventStudySpec)} | {"design"}
    for k in sorted(set(model) - known):
        raise err(k, f"unknown key (allowed: {', '.join(sorted(known))})")
    if model.get("design", DESIGN) != DESIGN:
        raise err("design", f"must be {DESIGN!r}")
    kw: dict[str, Any] = {}
    for k in ("outcome", "event"):
        if k not in model:
            raise err(k, "is required")
        kw[k] = c.string(k, model[k])
    for k in ("unit", "time", "id", "label"):
        if k in model:
            kw[k] = c.string(k, model[k])
    for k, lo in (("pre", 1), ("post", 0), ("buffer", 0), ("ref", None)):
        if k in model:
            kw[k] = c.integer(k, model[k], lo)
    pre = kw.get("pre", 3)
    ref = kw.get("ref", -1)
    if not -pre <= ref <= -1:
        raise err("ref", f"must lie in [-pre, -1] = [{-pre}, -1], got {ref}")
    if "weighting" in model:
        kw["weighting"] = c.choice("weighting", model["weighting"], ("none", "wing"))
    if "years" in model:
        y = model["years"]
        if not (isinstance(y, list) and len(y) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in y) and y[0] <= y[1]):
            raise err("years", f"must be [first, last] integers with first <= last, got {y!r}")
        kw["years"] = (y[0], y[1])
    return StackedEventStudySpec(**kw)
