"""Reproduce and run: the steps from raw sources to every table and figure, with declared outputs.

``build_processed`` turns the raw sources into ``data/processed/`` (needs the raw directory);
``reproduce`` rebuilds that when the raw directory is present, otherwise starts from the
committed panel (after checking its checksum against ``provenance.json``), then runs the tasks
of :mod:`sahel_causal.tasks.published` (in dependency order, independent ones in parallel) into
``results/`` and writes ``results/MANIFEST.json`` last, tying each output file to the program,
the specification and the panel checksum (the sha256 of the panel file, as in
``provenance.json``) that made it. ``run_table`` estimates one specification, possibly on another
panel and with ``--set`` overrides, and always writes under ``results/_runs/``: only
``reproduce`` writes the published results. Every file is written atomically
(:mod:`sahel_causal.writing`) under a lock. Nothing here depends on the date.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sahel_causal import __version__, writing
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
    """Atomic UTF-8 text (see :func:`sahel_causal.writing.write_text`)."""
    return writing.write_text(path, text)


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Deterministic CSV, written atomically (see :func:`sahel_causal.writing.write_csv`)."""
    return writing.write_csv(df, path)


def build_processed(raw_dir: str | Path | None = None, progress: Progress = lambda _m: None) -> list[Path]:
    """Rebuild ``data/processed/`` from the raw sources; return the files written."""
    from sahel_causal.data import build, codebook, report
    from sahel_causal.data.datalog import DataLog

    raw = require_raw_dir(raw_dir)
    log = DataLog()
    progress(f"building the panel from {raw}")
    built = build.build_panel(raw, log, progress=progress)
    written = [write_csv(built.panel, PANEL_CSV), write_csv(built.country_month, MONTH_CSV)]
    from sahel_causal.data.coup_events import COUP_EVENTS_CSV

    if built.coup_events is not None:  # dated coups (Figure 2), from the raw Powell & Thyne file
        written.append(write_csv(built.coup_events, COUP_EVENTS_CSV))
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
        # provenance.json keys are relative to the project that holds data/processed/provenance.json
        # (elsewhere, e.g. a copy in another folder: relative to the provenance file's folder)
        prov_dir = Path(provenance).resolve().parent
        root = prov_dir.parents[1] if (prov_dir.name, prov_dir.parent.name) == ("processed", "data") else prov_dir
        try:
            key = Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            key = Path(path).name
        verify_output(path, provenance, key)
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


def check_outputs(results_dir: Path = RESULTS_DIR) -> list[str]:
    """Problems with the published outputs: files missing or differing from results/MANIFEST.json."""
    manifest_path = results_dir / "MANIFEST.json"
    if not manifest_path.is_file():
        return [f"{manifest_path} is missing: run `sahel-causal reproduce`"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [f"{manifest_path} is not valid JSON ({exc}): run `sahel-causal reproduce`"]
    problems = []
    for rel, entry in sorted(manifest.items()):
        f = PROJECT_ROOT / rel
        if not f.is_file():
            problems.append(f"{rel}: listed in MANIFEST.json but missing")
        elif sha256_file(f) != entry.get("sha256"):
            problems.append(f"{rel}: differs from MANIFEST.json (changed or half-written): rerun `sahel-causal reproduce`")
    return problems


def reproduce(raw_dir: str | Path | None = None, progress: Progress = lambda _m: None, *, jobs: int = 1,
              tasks: list | None = None, results_dir: Path = RESULTS_DIR, update_readme: bool = True,
              rebuild: bool = True) -> list[Path]:
    """Rebuild ``data/processed/`` when raw data exist, then run every published task; return files written.

    ``jobs`` > 1 runs independent tasks in parallel (byte-identical outputs). MANIFEST.json is
    written last, after every output is in place.
    """
    from sahel_causal.tasks.graph import TaskContext, run_tasks
    from sahel_causal.tasks.published import TASKS

    tasks = TASKS if tasks is None else tasks
    written: list[Path] = []
    # bad input is refused before anything (the lock file included) is written
    if raw_dir is not None and not Path(raw_dir).expanduser().is_dir():
        raise RawDataError(f"raw-data directory {raw_dir} does not exist: check --raw-dir")
    raw = find_raw_dir(raw_dir)
    with writing.output_lock(results_dir):
        if rebuild and raw is not None and raw.is_dir():
            written += build_processed(raw, progress)
        else:
            progress("no raw-data directory: starting from the committed panel in data/processed/")
        panel = load_panel()
        panel_sha = sha256_file(PANEL_CSV)
        ctx = TaskContext(panel=panel, panel_sha256=panel_sha, results_dir=results_dir)
        outputs = run_tasks(tasks, ctx, jobs=jobs, progress=progress)
        manifest: dict[str, dict[str, str]] = {}
        for t in tasks:
            for f in outputs[t.name].files:
                manifest[_rel(f)] = {"sha256": sha256_file(f), "made_by": t.made_by, "spec": t.spec,
                                     "panel_sha256": panel_sha}
                written.append(f)
        summary = outputs.get("summary")
        if update_readme and summary is not None and summary.value is not None:
            from sahel_causal.report.summary import replace_block

            readme = PROJECT_ROOT / "README.md"
            text = readme.read_text(encoding="utf-8")
            new = replace_block(text, summary.value)
            if new != text:
                readme.write_text(new, encoding="utf-8", newline="\n")
                progress("updated the results summary in README.md")
        written.append(writing.write_text(results_dir / "MANIFEST.json",
                                          json.dumps(manifest, indent=2, sort_keys=True) + "\n"))
    return written


def resolve_table_spec(name: str) -> Path:
    """``table2`` / ``table2_coups`` / a path to a .toml file -> the specification file; clear error if unknown."""
    from sahel_causal.errors import SpecificationError
    from sahel_causal.paths import ANALYSIS_DIR

    p = Path(name)
    if p.suffix == ".toml":
        if not p.is_file():
            raise SpecificationError(f"specification file {p} does not exist")
        return p
    specs = sorted((ANALYSIS_DIR / "specs").glob("*.toml"))
    hits = [s for s in specs if s.stem == name or s.stem.split("_")[0] == name]
    if len(hits) != 1:
        raise SpecificationError(f"unknown table {name!r}; available: {[s.stem for s in specs]} or a path to a "
                                 ".toml file")
    return hits[0]


def read_panel_file(path: Path) -> pd.DataFrame:
    """A user's panel: ``.csv`` or ``.parquet``; a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"panel file {path} does not exist")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except ImportError as exc:
        raise SchemaError(f"panel file {path}: reading Parquet needs pyarrow (pip install 'sahel-causal[parquet]'), "
                          "or save the panel as CSV") from exc
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SchemaError(f"panel file {path} cannot be read: {exc}") from exc
    raise SchemaError(f"panel file {path}: use a .csv or .parquet file")


def run_table(name: str, overrides: list[str] | None = None, progress: Progress = lambda _m: None, *,
              panel_file: str | Path | None = None, runs_dir: Path | None = None) -> list[Path]:
    """Estimate one specification and write it to ``results/_runs/<spec id>-<hash>/`` (never to the
    published results), with the resolved specification, on the committed panel, the spec's
    ``[data] path`` or ``panel_file``."""
    import tomli_w

    from sahel_causal.estimation import estimate
    from sahel_causal.results import spec_hash
    from sahel_causal.specs.io import apply_overrides, parse_spec, read_toml, with_shared_variables
    from sahel_causal.tasks.published import write_table_result

    path = resolve_table_spec(name)
    raw = read_toml(path)
    runner = design_runner(raw)
    if runner is not None:
        return _run_design_file(path, raw, runner, overrides or [], progress, panel_file, runs_dir)
    doc = apply_overrides(with_shared_variables(raw, path.name), overrides or [], path.name)
    spec = parse_spec(doc, path.name, overrides=tuple(overrides or ()))
    if panel_file is None and spec.data.path is not None:
        panel_file = (path.parent / spec.data.path)
    panel, panel_path, panel_sha = _run_panel(panel_file)
    tr = estimate(spec, panel, progress=progress, data_sha256=panel_sha)
    h = spec_hash({"spec": doc, "panel_sha256": panel_sha}).split(":")[-1]
    base = runs_dir if runs_dir is not None else RESULTS_DIR / "_runs"
    out = base / f"{writing.safe_id(spec.id, 'table id')}-{h[:10]}"
    with writing.output_lock(RESULTS_DIR if runs_dir is None else runs_dir):
        header = f"# {path.name}" + (f" with --set {' '.join(overrides)}" if overrides else "") + \
            f"; panel {_rel(panel_path)} (sha256 {panel_sha})\n"
        spec_file = writing.write_text(out / f"{spec.id}.toml", header + tomli_w.dumps(doc))
        from sahel_causal.review.provenance import gather

        # what a reviewer needs to trace the rerun: commit, versions, lock file, spec and overrides, panel, seeds
        prov = writing.write_text(out / "provenance.json", json.dumps(
            gather(path, doc, panel_path, tuple(overrides or ())), indent=2, sort_keys=True) + "\n")
        return [spec_file, prov, *write_table_result(tr, out, spec_hash(doc), spec_path=f"{spec.id}.toml",
                                                     panel=panel)]


def _run_panel(panel_file: str | Path | None) -> tuple[pd.DataFrame, Path, str]:
    """The panel a rerun uses (a user's file or the committed one), its path and its sha256."""
    if panel_file is not None:
        panel_path = Path(panel_file)
        panel = read_panel_file(panel_path)
    else:
        panel_path = PANEL_CSV
        panel = load_panel()
    return panel, panel_path, sha256_file(panel_path)


@dataclass(frozen=True)
class DesignRunner:
    """How ``sahel-causal run`` reruns a design file: its task's ``make(panel, results_dir, progress, raw=,
    source=)``, the strict parser that validates an overridden document before anything is written
    (``None``: only the task's own parsing), and the committed panel the task always runs on, if any."""

    label: str
    make: Callable[..., list[Path]]
    validate: Callable[[dict, str], Any] | None = None
    own_panel: str | None = None


def design_runner(raw: dict) -> DesignRunner | None:
    """For a specification file of the designs beyond single regressions, its task: the partnership DiD
    grid (``[grid]``, Table 5), coups as events and external actors (``[coups]``/``[actors]``, Tables
    5B-5C) or synthetic control (every ``[[model]]`` with ``design = "synthetic_control"``, Table 6).
    ``None`` for the regression and event-study language of Tables 2-4."""
    from sahel_causal.tasks import table5, table6

    if "grid" in raw:
        return DesignRunner("partnership DiD (Table 5)", lambda *a, **k: table5.make(*a, appendix=False, **k),
                            table5.partnership_models)
    if "coups" in raw or "actors" in raw:
        return DesignRunner("coups as events and external actors (Tables 5B-5C)", table5.make_appendix,
                            table5.check_appendix)
    models = raw.get("model")
    if isinstance(models, list) and models and all(isinstance(m, dict) and m.get("design") == "synthetic_control"
                                                   for m in models):
        return DesignRunner("synthetic control (Table 6)", table6.make, table6.parse_doc,
                            own_panel="data/processed/panel_country_month.csv")
    return None


def _run_design_file(path: Path, raw: dict, runner: DesignRunner, overrides: list[str],
                     progress: Progress, panel_file: str | Path | None, runs_dir: Path | None) -> list[Path]:
    """``sahel-causal run`` for a design specification file (see :func:`design_runner`): the overrides are
    applied to the document, which the design's own strict parser validates; outputs (tables, figures,
    estimates) go to ``results/_runs/<table id>-<hash>/`` with the resolved specification and provenance."""
    import tomli_w

    from sahel_causal.errors import SpecificationError
    from sahel_causal.results import spec_hash
    from sahel_causal.review.provenance import gather
    from sahel_causal.specs.io import apply_overrides

    doc = apply_overrides(raw, overrides, path.name)
    if runner.validate is not None:
        runner.validate(doc, path.name)  # a bad override fails here, before anything is written
    table = doc.get("table") if isinstance(doc.get("table"), dict) else {}
    table_id = table.get("id") if isinstance(table.get("id"), str) else path.stem
    if panel_file is not None and runner.own_panel:
        raise SpecificationError(f"{path.name}: {runner.label} runs on the committed panel {runner.own_panel}; "
                                 "--panel is not supported for it")
    panel, panel_path, panel_sha = _run_panel(panel_file)
    h = spec_hash({"spec": doc, "panel_sha256": panel_sha}).split(":")[-1]
    base = runs_dir if runs_dir is not None else RESULTS_DIR / "_runs"
    out = base / f"{writing.safe_id(table_id, 'table id')}-{h[:10]}"
    # the task writes as it goes: into a staging folder renamed at the end, so a failure leaves nothing
    stage = base / f".{out.name}.partial-{os.getpid()}"
    task_doc = doc
    if overrides and isinstance(table.get("title"), str):
        # the rerun's tables say what they are, as the regression reruns do
        task_doc = {**doc, "table": {**table, "title": f"Rerun of {table['title']} (--set {' '.join(overrides)})"}}
    progress(f"{path.name}: {runner.label}")
    with writing.output_lock(RESULTS_DIR if runs_dir is None else runs_dir):
        try:
            header = f"# {path.name}" + (f" with --set {' '.join(overrides)}" if overrides else "") + \
                f"; panel {_rel(panel_path)} (sha256 {panel_sha})\n"
            files = [writing.write_text(stage / f"{table_id}.toml", header + tomli_w.dumps(doc)),
                     writing.write_text(stage / "provenance.json", json.dumps(
                         gather(path, doc, panel_path, tuple(overrides)), indent=2, sort_keys=True) + "\n")]
            files += runner.make(panel, stage, progress, raw=task_doc, source=path.name)
            if out.exists():
                shutil.rmtree(out)
            os.replace(stage, out)
        finally:
            if stage.exists():
                shutil.rmtree(stage)
    return [out / f.relative_to(stage) for f in files]
