"""A record of every action taken on the data: corrections, recoveries, drops, fills.

Loaders take an optional :class:`DataLog` and append one :class:`Action` per decision, with
the number of records touched and the reason. The data report (``data check``) and
``data/processed/data_report.md`` are written from it, so every correction and every dropped
record is listed with its reason.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

ActionKind = Literal["correct", "recover", "drop", "fill", "flag", "note", "aggregate"]


@dataclass(frozen=True)
class Action:
    """One data action: what was done to how many records of which source, and why."""

    source: str
    kind: ActionKind
    n_records: int
    reason: str
    detail: str = ""


@dataclass
class DataLog:
    """Accumulates :class:`Action` records in the order they happen."""

    actions: list[Action] = field(default_factory=list)

    def record(self, source: str, kind: ActionKind, n_records: int, reason: str, detail: str = "") -> None:
        """Append one action."""
        self.actions.append(Action(source, kind, int(n_records), reason, detail))

    def to_frame(self) -> pd.DataFrame:
        """The actions as a DataFrame (columns source, kind, n_records, reason, detail)."""
        cols = ["source", "kind", "n_records", "reason", "detail"]
        return pd.DataFrame([asdict(a) for a in self.actions], columns=cols)

    def for_source(self, source: str) -> list[Action]:
        """Actions recorded for one source."""
        return [a for a in self.actions if a.source == source]
