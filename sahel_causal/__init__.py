"""sahel-causal: does U.S. security assistance to African states predict coups and violence?

``sahel_causal.estimate(spec, panel)`` fits a table specification (see
:func:`sahel_causal.estimation.estimate`); it is imported lazily so that the command line starts fast.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["estimate", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "estimate":
        from sahel_causal.estimation import estimate

        return estimate
    raise AttributeError(f"module 'sahel_causal' has no attribute {name!r}")
