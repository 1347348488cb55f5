"""Schema validation of loader outputs, with one error message for every source.

Every loader checks the tables it returns against a pandera schema. :func:`validate_frame`
runs the check lazily (all failures at once) and turns pandera's errors into
:class:`sahel_causal.errors.SchemaError` with a message that names the source and the table
and says what to do.
"""
from __future__ import annotations

import functools
import re
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError as PanderaSchemaError
from pandera.errors import SchemaErrors as PanderaSchemaErrors

from sahel_causal.errors import RawDataError, SahelCausalError, SchemaError

#: What to do when a loader's output fails its schema (the default advice).
ADVICE = ("The raw file or the loader changed; check the file against MANIFEST.md and fix the loader.")


def validate_frame(df: pd.DataFrame, schema: pa.DataFrameSchema, source_id: str,
                   what: str = "country-year table", *, advice: str = ADVICE) -> pd.DataFrame:
    """``df`` validated by ``schema`` (lazily: all failures are reported together).

    Raises :class:`SchemaError` with the message ``"<source_id>: <what> fails its schema:
    <pandera report>. <advice>"``; ``advice`` defaults to :data:`ADVICE` (check the file
    against MANIFEST.md and fix the loader).
    """
    try:
        return schema.validate(df, lazy=True)
    except (PanderaSchemaError, PanderaSchemaErrors) as exc:
        raise SchemaError(f"{source_id}: {what} fails its schema: {exc}. {advice}") from None


# --- Malformed raw files: one message naming the file, the line and what to do -------------

#: What to do when a raw file that passed its checksum cannot be read.
MALFORMED_ADVICE = (
    "A file that passes its pinned checksum can only be malformed if it was re-pinned in "
    "data/sources.toml: restore the registered version (see MANIFEST.md next to the raw data, or run "
    "`sahel-causal data fetch`), or, for a new release, check the file against MANIFEST.md and adapt the loader."
)

_ADVISES = re.compile(r"restore|re-pin|rebuild|add a documented|correct the|fix the|add it to|add each", re.I)
_TOKEN = re.compile(r"""(?:string to float|literal for int\(\) with base \d+|parse string|"""
                    r"""Unable to parse string|could not convert)[^'"]*['"]([^'"]{1,80})['"]""")


def _first_line_with(path: Path, token: str) -> int | None:
    """1-based number of the first line of a text file that contains ``token`` (None if none)."""
    try:
        with open(path, "rb") as fh:
            needle = token.encode("utf-8", "replace")
            for n, line in enumerate(fh, start=1):
                if needle in line:
                    return n
    except OSError:
        return None
    return None


def _first_undecodable_line(path: Path, encoding: str) -> int | None:
    try:
        with open(path, "rb") as fh:
            for n, line in enumerate(fh, start=1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError:
                    return n
    except (OSError, LookupError):
        return None
    return None


def describe_read_error(exc: BaseException, path: Path | None) -> str:
    """What is wrong with the file, in words, with the line when it can be found."""
    if isinstance(exc, pd.errors.EmptyDataError):
        return "the file is empty (no header and no rows)"
    if isinstance(exc, UnicodeDecodeError):
        line = _first_undecodable_line(path, exc.encoding) if path is not None else None
        where = f"line {line}" if line else f"byte {exc.start}"
        return (f"{where} is not valid {exc.encoding} text: the file is in another encoding "
                "(or truncated inside a character)")
    if isinstance(exc, pd.errors.ParserError):
        return f"the table cannot be parsed ({str(exc).strip()}): a row has the wrong number of fields " \
               "(a truncated or edited file?)"
    if (isinstance(exc, (zipfile.BadZipFile, EOFError))
            or type(exc).__name__ in {"XLRDError", "InvalidFileException", "CompDocError"}
            or "Excel file format cannot be determined" in str(exc)
            or (path is not None and path.suffix.lower() in {".xls", ".xlsx"}
                and isinstance(exc, (IndexError, AssertionError, struct.error)))):
        return f"the workbook cannot be opened ({exc}): the file is truncated or not a spreadsheet"
    text = str(exc).strip() or type(exc).__name__
    m = _TOKEN.search(text)
    if m and path is not None and path.suffix.lower() in {".csv", ".txt", ".tsv"}:
        line = _first_line_with(path, m.group(1))
        if line:
            return f"line {line}: value {m.group(1)!r} where a number or date is required ({text})"
    if isinstance(exc, KeyError):
        return f"an expected column or value is missing ({text})"
    return f"{type(exc).__name__}: {text}"


def _culprit(exc: BaseException, seen: list[tuple[str, Path]]) -> tuple[str, Path | None]:
    """The (source, file) an exception most likely comes from, among the files a loader resolved.

    One file: that file. Several: the one the evidence points to (an empty file for an empty-data
    error, a text file with an undecodable line for a decoding error, a workbook for a workbook
    error, a text file holding the offending value); ``None`` when it cannot be told apart.
    """
    if len(seen) == 1:
        return seen[0]
    source = seen[-1][0]
    text = [(s, p) for s, p in seen if p.suffix.lower() in {".csv", ".txt", ".tsv"}]
    books = [(s, p) for s, p in seen if p.suffix.lower() in {".xls", ".xlsx"}]
    if isinstance(exc, pd.errors.EmptyDataError):
        hits = [(s, p) for s, p in seen if p.is_file() and (p.stat().st_size == 0 or b"\n" not in p.read_bytes()[:65536])]
    elif isinstance(exc, UnicodeDecodeError):
        hits = [(s, p) for s, p in text if _first_undecodable_line(p, exc.encoding)]
    elif isinstance(exc, (zipfile.BadZipFile, EOFError)) or type(exc).__name__ in {"XLRDError", "InvalidFileException",
                                                                                    "CompDocError"}:
        hits = books
    else:
        m = _TOKEN.search(str(exc))
        hits = [(s, p) for s, p in text if m and _first_line_with(p, m.group(1))]
    return hits[0] if len(hits) == 1 else (source, None)


F = TypeVar("F", bound=Callable[..., Any])


def fails_loudly(func: F) -> F:
    """Decorator for loaders ``f(raw_dir, ...)``: a malformed raw file ends in one clear error.

    Errors of the package (:class:`~sahel_causal.errors.SahelCausalError`) keep their type; the
    raw file is added to the message when it does not name it. Any other exception raised after a
    raw file was resolved (pandas parser errors, an empty file, another encoding, a non-numeric
    count, a truncated workbook) becomes :class:`~sahel_causal.errors.RawDataError` naming the
    source, the file, the line when it can be found, and what to do; the original exception is
    chained for debugging. An exception raised before any raw file was resolved is a programming
    error and passes unchanged.
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sahel_causal.data.registry import resolved_mark, resolved_since

        mark = resolved_mark()
        try:
            return func(*args, **kwargs)
        except SahelCausalError as exc:
            seen = resolved_since(mark)
            msg = str(exc)
            if not seen or any(str(p) in msg or p.name in msg for _, p in seen):
                raise
            # A loader's own check (dates, codes, duplicates): add the file it was reading.
            files = ", ".join(dict.fromkeys(str(p) for _, p in seen))
            advice = "" if _ADVISES.search(msg) else f" {MALFORMED_ADVICE}"
            raise type(exc)(f"{msg} (raw file: {files}).{advice}") from exc
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # noqa: BLE001 - converted into one clear error, chained
            seen = list(dict.fromkeys(resolved_since(mark)))
            if not seen:
                raise  # no raw file was opened: not a malformed file but a programming error
            source, path = _culprit(exc, seen)
            what = describe_read_error(exc, path)
            if path is None:
                where = "one of " + ", ".join(str(p) for _, p in seen)
            else:
                where = str(path)
            raise RawDataError(f"{source}: cannot read {where}: {what}. {MALFORMED_ADVICE}") from exc

    return wrapper  # type: ignore[return-value]


def _ragged_records(path: Path, sep: str, encoding: str, header_lines: int) -> str:
    """Describe the records of a delimited text file whose field count differs from the header's ('' if none)."""
    import csv

    if Path(path).suffix.lower() not in {".csv", ".txt", ".tsv"}:
        return ""
    bad: list[str] = []
    with open(path, newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=sep)
        width = None
        for n, rec in enumerate(reader, start=1):
            if n < header_lines:
                continue
            if width is None:
                width = len(rec)
                continue
            if rec and len(rec) != width:
                bad.append(f"line {reader.line_num} has {len(rec)} fields, the header {width}")
                if len(bad) >= 5:
                    break
    return ("records with the wrong number of fields (a truncated or edited line): " + "; ".join(bad)) if bad else ""


def check_raw_columns(raw: pd.DataFrame, path: Path, source_id: str, *, integer: Sequence[str] = (),
                      numeric: Sequence[str] = (), required: Sequence[str] = (),
                      nonnegative: Sequence[str] = (), header_lines: int = 1, sep: str = ",",
                      encoding: str = "utf-8") -> None:
    """Refuse an empty table and blank, non-numeric, non-integer or negative values in named columns.

    ``required`` columns may not be blank; ``numeric`` columns must be numbers (blank allowed
    unless also required); ``integer`` columns must be whole numbers and not blank;
    ``nonnegative`` columns (numeric) may not be below 0. The error lists the first offending
    lines (line = row position + ``header_lines`` + 1) and the values. For a text file, every
    record must have as many fields as the header (``sep``, ``encoding`` as the loader reads it):
    a shorter record is a truncated or edited line, never silently padded with missing values.
    """
    problems: list[str] = []
    short = _ragged_records(path, sep, encoding, header_lines)
    if short:
        problems.append(short)
    if raw.empty:
        raise SchemaError(f"{source_id}: {path} has a header but no data rows (truncated or emptied file). "
                          f"{MALFORMED_ADVICE}")

    def lines(mask: pd.Series) -> str:
        pos = [int(i) + header_lines + 1 for i in range(len(mask)) if mask.iloc[i]]
        shown = ", ".join(map(str, pos[:8])) + (f" and {len(pos) - 8} more" if len(pos) > 8 else "")
        return f"line(s) {shown}"

    for col in dict.fromkeys([*integer, *numeric, *required, *nonnegative]):
        if col not in raw.columns:
            problems.append(f"column {col!r} is missing")
            continue
        s = raw[col]
        text = s.astype("string").str.strip()
        blank = s.isna() | (text == "")
        if (col in required or col in integer) and blank.any():
            problems.append(f"column {col!r} is blank on {lines(blank)}")
        if col in numeric or col in integer or col in nonnegative:
            num = pd.to_numeric(s.where(~blank), errors="coerce")
            neg = num < 0
            if col in nonnegative and neg.any():
                problems.append(f"column {col!r} is negative on {lines(neg)} "
                                f"(e.g. {s[neg].astype(str).head(3).tolist()})")
            bad = num.isna() & ~blank
            if bad.any():
                problems.append(f"column {col!r} is not a number on {lines(bad)} "
                                f"(e.g. {s[bad].astype(str).head(3).tolist()})")
            if col in integer:
                frac = (num % 1 != 0) & num.notna()
                if frac.any():
                    problems.append(f"column {col!r} is not a whole number on {lines(frac)} "
                                    f"(e.g. {s[frac].astype(str).head(3).tolist()})")
    if problems:
        raise SchemaError(f"{source_id}: {path}: " + "; ".join(problems) + f". {MALFORMED_ADVICE}")
