"""Reproduce: the steps from raw sources to every table and figure, with declared outputs.

``build_processed`` turns the raw sources into ``data/processed/`` (needs the raw directory);
``reproduce`` rebuilds that when the raw directory is present, otherwise starts from the
committed panel (after checking its checksum against ``provenance.json``), then writes every
table and figure into ``results/`` and a ``results/MANIFEST.json`` that ties each output file
to the specification and the panel checksum that made it. Nothing here depends on the date.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sahel_causal import __version__
from sahel_causal.data.registry import sha256_file
from sahel_causal.errors import RawDataError, SchemaError
from sahel_causal.paths import PROCESSED_DIR, PROJECT_ROOT, RESULTS_DIR, find_raw_dir, require_raw_dir

PANEL_CSV = PROCESSED_DIR / "panel_country_year.csv"
MONTH_CSV = PROCESSED_DIR / "panel_country_month.csv"
CODEBOOK_CSV = PROCESSED_DIR / "codebook.csv"
CODEBOOK_MD = PROCESSED_DIR / "codebook.md"
PROVENANCE_JSON = PROCESSED_DIR / "provenance.json"
DATA_REPORT_MD = PROCESSED_DIR / "data_report.md"
ACTIONS_CSV = PROCESSED_DIR / "data_actions.csv"

Progress = Callable[[str], None]


def _rel(p: Path) -> str:
    try:
        return p.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return p.name


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Deterministic CSV: fixed float format, ``\\n`` line endings, no index."""
    return _write_text(path, df.to_csv(index=False, lineterminator="\n", float_format="%.10g"))


def build_processed(raw_dir: str | Path | None = None, progress: Progress = lambda _m: None) -> list[Path]:
    """Rebuild ``data/processed/`` from the raw sources; return the files written."""
    from sahel_causal.data import build, codebook, report
    from sahel_causal.data.datalog import DataLog

    raw = require_raw_dir(raw_dir)
    log = DataLog()
    progress(f"building the panel from {raw}")
    built = build.build_panel(raw, log, progress=progress)
    written = [write_csv(built.panel, PANEL_CSV), write_csv(built.country_month, MONTH_CSV)]
    cb = codebook.make_codebook(built.panel, built.column_sources)
    written.append(write_csv(cb, CODEBOOK_CSV))
    written.append(_write_text(CODEBOOK_MD, codebook.codebook_markdown(cb)))
    actions = log.to_frame()
    written.append(write_csv(actions, ACTIONS_CSV))
    written.append(_write_text(DATA_REPORT_MD, report.data_report(built, actions)))
    prov = {
        "package_version": __version__,
        "command": "sahel-causal data build",
        "inputs": [{"source": s, "path": p, "sha256": h} for s, p, h in built.inputs],
        "reference_inputs": {_rel(p): sha256_file(p) for p in build.reference_files()},
        "outputs": {_rel(p): sha256_file(p) for p in written},
    }
    written.append(_write_text(PROVENANCE_JSON, json.dumps(prov, indent=2, sort_keys=True) + "\n"))
    return written


def load_panel(path: Path = PANEL_CSV, verify: bool = True, provenance: Path = PROVENANCE_JSON) -> pd.DataFrame:
    """Read the committed panel; with ``verify``, refuse it unless provenance.json exists and records its sha256."""
    from sahel_causal.data.integrity import verify_output

    if not path.is_file():
        raise RawDataError(f"{path} is missing: run `sahel-causal data build` (needs the raw data).")
    if verify:
        verify_output(path, provenance, _rel(path))
    return pd.read_csv(path, dtype={"iso3": str, "country": str})


def check_data(raw_dir: str | Path | None = None) -> tuple[str, bool]:
    """Validate raw sources (if present), provenance.json and both committed panels; return (report text, ok)."""
    from sahel_causal.data import check, integrity
    from sahel_causal.data.registry import verify_all

    lines: list[str] = []
    ok = True
    raw = find_raw_dir(raw_dir)  # a configured directory that does not exist is an error
    if raw is None:
        lines.append("raw sources: not checked (no raw-data directory)")
    else:
        rows = verify_all(raw)
        bad = [r for r in rows if r[2] != "ok"]
        lines.append(f"raw sources: {len(rows) - len(bad)}/{len(rows)} files verified in {raw}")
        for r in bad:
            ok = False
            lines.append(f"  FAIL {r[0]} {r[1]}: {r[2]}")
    problems = integrity.provenance_problems(PROVENANCE_JSON, PROJECT_ROOT)
    panel = load_panel(PANEL_CSV, verify=False)
    month = load_panel(MONTH_CSV, verify=False)
    problems += integrity.country_year_problems(panel) + integrity.country_month_problems(month)
    lines.append("processed data: " + ("provenance and panel invariants hold" if not problems
                                       else f"{len(problems)} problem(s)"))
    lines += [f"  FAIL {p}" for p in problems]
    text, panel_ok = check.panel_report(panel)
    lines.append(text)
    return "\n".join(lines), ok and panel_ok and not problems


def reproduce(raw_dir: str | Path | None = None, progress: Progress = lambda _m: None) -> list[Path]:
    """Rebuild ``data/processed/`` when raw data exist, then write every result; return files written."""
    from sahel_causal.report import outputs

    written: list[Path] = []
    raw = find_raw_dir(raw_dir)
    if raw is not None and raw.is_dir():
        written += build_processed(raw, progress)
    else:
        progress("no raw-data directory: starting from the committed panel in data/processed/")
    panel = load_panel()
    panel_sha = sha256_file(PANEL_CSV)
    manifest: dict[str, dict[str, str]] = {}
    for step in outputs.steps():
        progress(f"making {step.name}")
        files = step.run(panel)
        for f in files:
            manifest[_rel(f)] = {"sha256": sha256_file(f), "made_by": step.made_by,
                                 "spec": step.spec, "panel_sha256": panel_sha}
        written += files
    from sahel_causal.report.summary import make_summary, update_readme

    summary = make_summary(RESULTS_DIR)
    written.append(_write_text(RESULTS_DIR / "summary.md", summary))
    manifest[_rel(RESULTS_DIR / "summary.md")] = {"sha256": sha256_file(RESULTS_DIR / "summary.md"),
                                                  "made_by": "sahel_causal/report/summary.py",
                                                  "spec": "results/tables/table2-4 CSVs", "panel_sha256": panel_sha}
    if update_readme(PROJECT_ROOT / "README.md", summary):
        progress("updated the results summary in README.md")
    written.append(_write_text(RESULTS_DIR / "MANIFEST.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n"))
    return written


def resolve_table_spec(name: str) -> Path:
    """``table2`` / ``table2_coups`` / a path -> the specification file; clear error if unknown."""
    from sahel_causal.paths import ANALYSIS_DIR

    p = Path(name)
    if p.suffix == ".toml" and p.is_file():
        return p
    specs = sorted((ANALYSIS_DIR / "specs").glob("*.toml"))
    hits = [s for s in specs if s.stem == name or s.stem.split("_")[0] == name]
    if len(hits) != 1:
        from sahel_causal.errors import SpecificationError

        raise SpecificationError(f"unknown table {name!r}; available: {[s.stem for s in specs]}")
    return hits[0]


def run_table(name: str, overrides: list[str] | None = None, progress: Progress = lambda _m: None) -> list[Path]:
    """Estimate one table. Without overrides, write to ``results/`` (as ``reproduce`` does); with
    ``--set key=value`` overrides, write to ``results/_runs/<spec id>-<hash>/`` together with the
    overridden specification, so that the published results are never overwritten."""
    import tomli_w

    from sahel_causal.estimation import estimate
    from sahel_causal.report.outputs import write_table_result
    from sahel_causal.specs.io import apply_overrides, parse_spec, read_toml, spec_hash

    path = resolve_table_spec(name)
    raw = read_toml(path)
    doc = apply_overrides(raw, overrides or [], path.name)
    spec = parse_spec(doc, path.name)
    panel = load_panel()
    tr = estimate(spec, panel, progress=progress)
    if overrides:
        h = spec_hash(doc)
        out = RESULTS_DIR / "_runs" / f"{spec.id}-{h[:10]}"
        out.mkdir(parents=True, exist_ok=True)
        spec_file = out / path.name
        spec_file.write_text("# " + path.name + " with --set " + " ".join(overrides) + "\n" + tomli_w.dumps(doc),
                             encoding="utf-8")
        return [spec_file, *write_table_result(tr, out, h)]
    return write_table_result(tr, RESULTS_DIR, sha256_file(path))
