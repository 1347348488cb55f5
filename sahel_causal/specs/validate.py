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


def fail(source: str, where: str, msg: str, field: str | None = None) -> SpecificationError:
    """The error every check raises: file, table, optionally the key inside it, message."""
    return SpecificationError(f"{source}: [{where}] " + (f"{field}: " if field else "") + msg)


def table(value: Any, allowed: Iterable[str], *, source: str, where: str, field: str | None = None) -> dict[str, Any]:
    """A TOML table whose keys are all in ``allowed``."""
    if not isinstance(value, dict):
        raise fail(source, where, f"must be a table, got {_show(value)}", field=field)
    allowed = set(allowed)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise fail(source, where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}", field=field)
    return value


def string(value: Any, *, source: str, where: str, pattern: re.Pattern[str] | None = None,
           field: str | None = None) -> str:
    """A non-empty string (optionally matching ``pattern``)."""
    if not isinstance(value, str) or not value:
        raise fail(source, where, f"must be a non-empty string, got {_show(value)}", field=field)
    if pattern is not None and not pattern.match(value):
        what = "letters, digits, '_' and '-'" if pattern is SAFE_ID else f"the pattern {pattern.pattern}"
        raise fail(source, where, f"{value!r} is not allowed here: use only {what}", field=field)
    return value


def name_list(value: Any, *, source: str, where: str, allow_empty: bool = True,
              field: str | None = None) -> tuple[str, ...]:
    """A list of variable names (a bare string is an error: write ``["x"]``)."""
    if isinstance(value, str):
        raise fail(source, where, f"must be a list of names, e.g. [{value!r}], got the string {value!r}", field=field)
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise fail(source, where, f"must be a list of names, got {_show(value)}", field=field)
    if not value and not allow_empty:
        raise fail(source, where, "must name at least one variable", field=field)
    if len(set(value)) != len(value):
        raise fail(source, where, f"lists a name twice: {value}", field=field)
    return tuple(value)


def boolean(value: Any, *, source: str, where: str, field: str | None = None) -> bool:
    """``true`` or ``false`` (TOML booleans only)."""
    if not isinstance(value, bool):
        raise fail(source, where, f"must be true or false (without quotes), got {_show(value)}", field=field)
    return value


def integer(value: Any, *, source: str, where: str, minimum: int | None = None,
            maximum: int | None = None, field: str | None = None) -> int:
    """An integer (not a boolean, not a float) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(source, where, f"must be an integer, got {_show(value)}", field=field)
    if minimum is not None and value < minimum:
        raise fail(source, where, f"must be >= {minimum}, got {value}", field=field)
    if maximum is not None and value > maximum:
        raise fail(source, where, f"must be <= {maximum}, got {value}", field=field)
    return value


def number(value: Any, *, source: str, where: str, field: str | None = None) -> float:
    """A finite number (integer or float, not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        raise fail(source, where, f"must be a finite number, got {_show(value)}", field=field)
    return float(value)


def choice(value: Any, options: Iterable[str], *, source: str, where: str, field: str | None = None) -> str:
    """One of ``options``."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise fail(source, where, f"must be one of {list(options)}, got {_show(value)}", field=field)
    return value


class Fields:
    """The checks above bound to one table of a specification (a design's ``[[model]]``): errors read
    ``"<source>: [<where>] <field>: <what is wrong>"``. The designs' parsers use it, so every design
    checks types the same way and words its errors the same way."""

    def __init__(self, source: str, where: str) -> None:
        self.source, self.where = source, where

    def fail(self, field: str, msg: str) -> SpecificationError:
        return fail(self.source, self.where, msg, field=field)

    def string(self, field: str, value: Any, pattern: re.Pattern[str] | None = None) -> str:
        return string(value, source=self.source, where=self.where, pattern=pattern, field=field)

    def opt_string(self, field: str, value: Any) -> str | None:
        return None if value is None else self.string(field, value)

    def choice(self, field: str, value: Any, options: Iterable[str]) -> str:
        return choice(value, options, source=self.source, where=self.where, field=field)

    def integer(self, field: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
        return integer(value, source=self.source, where=self.where, minimum=minimum, maximum=maximum, field=field)

    def opt_integer(self, field: str, value: Any, minimum: int | None = None) -> int | None:
        return None if value is None else self.integer(field, value, minimum)

    def number(self, field: str, value: Any) -> float:
        return number(value, source=self.source, where=self.where, field=field)

    def boolean(self, field: str, value: Any) -> bool:
        return boolean(value, source=self.source, where=self.where, field=field)

    def strings(self, field: str, value: Any, *, allowed: Iterable[str] | None = None,
                allow_empty: bool = True) -> tuple[str, ...]:
        """A list of distinct non-empty strings (names, codes), optionally from ``allowed``."""
        out = name_list(value, source=self.source, where=self.where, allow_empty=allow_empty, field=field)
        if allowed is not None:
            allowed = tuple(allowed)
            bad = [x for x in out if x not in allowed]
            if bad:
                raise self.fail(field, f"{bad} not allowed; use some of {list(allowed)}")
        return out

    def numbers(self, field: str, value: Any, minimum: float | None = None) -> tuple[float, ...]:
        """A list of finite numbers (each at least ``minimum``)."""
        if not isinstance(value, list):
            raise self.fail(field, f"must be a list of numbers, got {_show(value)}")
        out = tuple(self.number(f"{field}[{i}]", x) for i, x in enumerate(value))
        if minimum is not None and any(x < minimum for x in out):
            raise self.fail(field, f"every value must be >= {minimum:g}, got {list(out)}")
        return out


def _show(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "table"}.get(
        type(value), type(value).__name__)
    return f"the {kind} {value!r}"
