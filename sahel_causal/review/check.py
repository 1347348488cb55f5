"""``reproduce --check``: compare a fresh run's result folder with the committed results.

Files are compared by content (sha256 of the bytes): the study's outputs are byte-reproducible,
so any difference is a real one. Folders listed in ``ignore`` (reviewers' reruns in ``_runs``)
are skipped. For a CSV that differs, the report names the first differing cells (via
:func:`sahel_causal.review.diff.diff_tables` when the table has ``model`` and ``term`` columns).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

IGNORE = ("_runs",)


@dataclass(frozen=True)
class CheckReport:
    """Files only in the published folder, only in the rerun, and present in both but different."""

    missing: tuple[str, ...]
    extra: tuple[str, ...]
    different: tuple[str, ...]
    same: int

    @property
    def ok(self) -> bool:
        """True when the rerun reproduces every published file byte for byte (extra files allowed)."""
        return not self.missing and not self.different


def _files(root: Path, ignore: tuple[str, ...]) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            if rel.split("/")[0] not in ignore:
                out[rel] = p
    return out


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def compare_folders(published: Path, rerun: Path, ignore: tuple[str, ...] = IGNORE) -> CheckReport:
    """Compare every file under ``published`` with the same relative path under ``rerun``."""
    a, b = _files(Path(published), ignore), _files(Path(rerun), ignore)
    missing = tuple(k for k in a if k not in b)
    extra = tuple(k for k in b if k not in a)
    different = tuple(k for k in a if k in b and _sha(a[k]) != _sha(b[k]))
    same = sum(1 for k in a if k in b) - len(different)
    return CheckReport(missing=missing, extra=extra, different=different, same=same)


def describe_difference(published: Path, rerun: Path, max_cells: int = 5) -> str:
    """One line saying how two versions of a file differ (first differing cells for result CSVs)."""
    from sahel_causal.review.diff import diff_tables

    if published.suffix == ".csv":
        try:
            pa, pb = pd.read_csv(published), pd.read_csv(rerun)
        except (pd.errors.ParserError, UnicodeDecodeError):
            return "content differs"
        if {"model", "term"} <= set(pa.columns) and {"model", "term"} <= set(pb.columns):
            d = diff_tables(pa, pb)
            cells = [f"{r.key} | {r.column}" for r in d.head(max_cells).itertuples()]
            return f"{len(d)} cell(s) differ: " + "; ".join(cells) if len(d) else "same values, different bytes"
        if pa.shape != pb.shape:
            return f"shape {pa.shape} -> {pb.shape}"
        return "values differ"
    la = published.read_bytes().splitlines()
    lb = rerun.read_bytes().splitlines()
    for i, (x, y) in enumerate(zip(la, lb), start=1):
        if x != y:
            return f"first difference at line {i}"
    return f"length differs ({len(la)} vs {len(lb)} lines)"


def format_check(report: CheckReport, published: Path | None = None, rerun: Path | None = None) -> str:
    """Plain-text report for the terminal; the last line says whether the check passed."""
    lines = []
    for rel in report.different:
        why = describe_difference(published / rel, rerun / rel) if published and rerun else "content differs"
        lines.append(f"DIFFERS  {rel}: {why}")
    lines += [f"MISSING  {rel}: published but not produced by the rerun" for rel in report.missing]
    lines += [f"NEW      {rel}: produced by the rerun, not in the published results" for rel in report.extra]
    verdict = ("OK: every published output was reproduced byte for byte" if report.ok
               else f"FAILED: {len(report.different)} differing and {len(report.missing)} missing output(s)")
    lines.append(f"{verdict} ({report.same} identical).")
    return "\n".join(lines)
