"""Strict type checks for specification values, shared by the parser and every design.

Each check takes the value, the file name (``source``) and the field's location (``where``) and
either returns the value in its canonical Python type or raises
:class:`~sahel_causal.errors.SpecificationError` ``"<source>: [<where>] <what is wrong and what
to do>"``. Booleans are only ``true``/``false`` (never strings or numbers), integers are never
booleans or floats, lists are never bare strings.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from sahel_causal.errors import SpecificationError

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def fail(source: str, where: str, msg: str) -> SpecificationError:
    """The error every check raises: file, field, message."""
    return SpecificationError(f"{source}: [{where}] {msg}")


def table(value: Any, allowed: Iterable[str], *, source: str, where: str) -> dict[str, Any]:
    """A TOML table whose keys are all in ``allowed``."""
    if not isinstance(value, dict):
        raise fail(source, where, f"must be a table, got {_show(value)}")
    allowed = set(allowed)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise fail(source, where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return value


def string(value: Any, *, source: str, where: str, pattern: re.Pattern[str] | None = None) -> str:
    """A non-empty string (optionally matching ``pattern``)."""
    if not isinstance(value, str) or not value:
        raise fail(source, where, f"must be a non-empty string, got {_show(value)}")
    if pattern is not None and not pattern.match(value):
        what = "letters, digits, '_' and '-'" if pattern is SAFE_ID else f"the pattern {pattern.pattern}"
        raise fail(source, where, f"{value!r} is not allowed here: use only {what}")
    return value


def name_list(value: Any, *, source: str, where: str, allow_empty: bool = True) -> tuple[str, ...]:
    """A list of variable names (a bare string is an error: write ``["x"]``)."""
    if isinstance(value, str):
        raise fail(source, where, f"must be a list of names, e.g. [{value!r}], got the string {value!r}")
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise fail(source, where, f"must be a list of names, got {_show(value)}")
    if not value and not allow_empty:
        raise fail(source, where, "must name at least one variable")
    if len(set(value)) != len(value):
        raise fail(source, where, f"lists a name twice: {value}")
    return tuple(value)


def boolean(value: Any, *, source: str, where: str) -> bool:
    """``true`` or ``false`` (TOML booleans only)."""
    if not isinstance(value, bool):
        raise fail(source, where, f"must be true or false (without quotes), got {_show(value)}")
    return value


def integer(value: Any, *, source: str, where: str, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """An integer (not a boolean, not a float) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(source, where, f"must be an integer, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise fail(source, where, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise fail(source, where, f"must be <= {maximum}, got {value}")
    return value


def number(value: Any, *, source: str, where: str) -> float:
    """A finite number (integer or float, not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        raise fail(source, where, f"must be a finite number, got {_show(value)}")
    return float(value)


def choice(value: Any, options: Iterable[str], *, source: str, where: str) -> str:
    """One of ``options``."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise fail(source, where, f"must be one of {list(options)}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "table"}.get(
        type(value), type(value).__name__)
    return f"the {kind} {value!r}"
