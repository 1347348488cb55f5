"""Design-specific parts of a model specification: one module per design.

``DESIGNS`` maps a design name (the ``design`` key of a ``[[model]]``) to its ``parse(model, *,
source, where)`` function, which validates the design's own keys strictly and returns a frozen
dataclass. The keys every model has (``id``, ``label``, ``design``, ``sample``, ``note``,
``inference``) are validated by :mod:`sahel_causal.specs.io` and never reach ``parse``.
A new design adds its module here and one line to ``DESIGNS``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sahel_causal.specs.designs import (event_study, multiverse, regression, stacked_event_study, staggered_did,
                                        synthetic_control)

DESIGNS: dict[str, Callable[..., Any]] = {
    "regression": regression.parse,
    "event_study": event_study.parse,
    "staggered_did": staggered_did.parse,
    "stacked_event_study": stacked_event_study.parse,
    "synthetic_control": synthetic_control.parse,
    "multiverse": multiverse.parse,
}

#: the keys of each design (for the generated reference and the ``[defaults]`` table)
DESIGN_KEYS: dict[str, dict[str, tuple[str, str, str]]] = {
    "regression": regression.KEYS,
    "event_study": event_study.KEYS,
}
