"""The multiverse design: thousands of linear FE specifications with shared work.

``run(spec, panel, progress=None)`` (the integration contract's entry point) is
:func:`sahel_causal.multiverse.run.estimate`; see ``docs/multiverse.md``.
"""
from __future__ import annotations

from typing import Any


def run(spec: Any, panel: Any, *, progress: Any = None, **kwargs: Any) -> Any:
    """Estimate a :class:`~sahel_causal.specs.designs.multiverse.MultiverseSpec` (serial by default)."""
    from sahel_causal.multiverse.run import estimate

    return estimate(spec, panel, progress=progress, **kwargs)
