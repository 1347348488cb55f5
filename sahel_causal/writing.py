"""The only place that writes output files: atomically, deterministically, inside allowed folders.

* Every file is written to a temporary file in the same folder and moved into place with
  :func:`os.replace`, so a reader (or a run interrupted at any point) sees the old file or the
  new one, never a mixture.
* Paths must lie inside one of :data:`ALLOWED_ROOTS` (``results/``, ``data/processed/``,
  ``docs/``) or a folder registered with :func:`allow` (tests use temporary folders); anything
  else is refused.
* Names built from specification ids are checked by :func:`safe_id` (letters, digits, ``_``, ``-``).
* :func:`output_lock` keeps two runs from writing the same results at the same time.

Writers are deterministic: ``\\n`` line endings, fixed float format, figures without timestamps.
"""
from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from sahel_causal.errors import SahelCausalError, SpecificationError
from sahel_causal.paths import PROCESSED_DIR, PROJECT_ROOT, RESULTS_DIR

ALLOWED_ROOTS: list[Path] = [RESULTS_DIR.resolve(), PROCESSED_DIR.resolve(), (PROJECT_ROOT / "docs").resolve()]
_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


class OutputError(SahelCausalError):
    """An output cannot be written (outside the output folders, locked, read-only, disk full)."""


def safe_id(value: str, what: str = "id") -> str:
    """``value`` if it is a safe file-name part (letters, digits, ``_``, ``-``), else an error."""
    if not isinstance(value, str) or not _SAFE.match(value):
        raise SpecificationError(f"{what} {value!r} is not allowed in a file name: use only letters, digits, "
                                 "'_' and '-'")
    return value


def allow(root: Path) -> None:
    """Also allow writes under ``root`` (for tests and user-chosen output folders)."""
    r = Path(root).resolve()
    if r not in ALLOWED_ROOTS:
        ALLOWED_ROOTS.append(r)


def _checked(path: Path) -> Path:
    p = Path(path).resolve()
    if not any(p == r or r in p.parents for r in ALLOWED_ROOTS):
        raise OutputError(f"refusing to write {p}: outputs go only under "
                          + ", ".join(str(r) for r in ALLOWED_ROOTS))
    return p


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    target = _checked(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}; check the folder's permissions and "
                          "free space (the previous file, if any, is unchanged)") from exc
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text with ``\\n`` line endings atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Deterministic CSV: fixed float format, ``\\n`` line endings, no index."""
    return write_text(path, df.to_csv(index=False, lineterminator="\n", float_format="%.10g"))


def write_table(table, directory: Path) -> list[Path]:
    """Write a :class:`~sahel_causal.report.tables.Table` as ``.tex``, ``.csv`` and ``.md``."""
    name = safe_id(table.name, "table name")
    return [write_text(directory / f"{name}.tex", table.to_latex()),
            write_text(directory / f"{name}.csv", table.to_csv()),
            write_text(directory / f"{name}.md", table.to_markdown())]


def save_figure(fig, directory: Path, name: str) -> list[Path]:
    """Write ``name.png`` (200 dpi) and ``name.pdf`` with fixed metadata, atomically; close the figure."""
    import matplotlib.pyplot as plt

    import sahel_causal.report.figures  # noqa: F401 - fixes the deterministic rcParams

    name = safe_id(name, "figure name")
    png, pdf = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=200, metadata={"Software": None}, bbox_inches="tight")
    fig.savefig(pdf, format="pdf", metadata={"Creator": None, "Producer": None, "CreationDate": None},
                bbox_inches="tight")
    plt.close(fig)
    return [write_bytes(directory / f"{name}.png", png.getvalue()),
            write_bytes(directory / f"{name}.pdf", pdf.getvalue())]


@contextlib.contextmanager
def output_lock(directory: Path = RESULTS_DIR) -> Iterator[Path]:
    """Hold an exclusive lock on ``directory`` (file ``_runs/.lock``) for the duration of a run."""
    lock = _checked(Path(directory) / "_runs" / ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"another sahel-causal run is writing to {directory} (lock {lock}); wait for it to "
                              "finish and try again") from None
        yield lock
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
