"""Task: Table 6 (exits of French, UN and U.S. forces and political violence) and its figures.

Reads ``analysis/specs/table6_withdrawals.toml``, the country-month panel
(``sahel_causal.pipeline.MONTH_CSV``) and the reference tables; fits every model with
:func:`sahel_causal.designs.synthetic_control.run`; writes ``results/tables/table6_withdrawals.{csv,md,tex}``,
the exact results as JSON without the placebo gap paths (``results/estimates/table6_withdrawals.json``, one model per line) and three figures (event-time gaps with placebos, paths, donor weights).
Deterministic: no random draws, fixed formatting, figures without timestamps.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from sahel_causal.data import timelines
from sahel_causal.designs.synthetic_control import SyntheticControlResult, run
from sahel_causal.errors import SpecificationError
from sahel_causal.paths import ANALYSIS_DIR
from sahel_causal.report import synth_figures, synth_table
from sahel_causal.report.figures import save_figure
from sahel_causal.specs.designs.synthetic_control import DESIGN, SyntheticControlSpec, parse

SPEC = ANALYSIS_DIR / "specs" / "table6_withdrawals.toml"
NAME = "table6_withdrawals"


def load_spec(path: Path = SPEC) -> tuple[dict[str, Any], list[SyntheticControlSpec]]:
    """The ``[table]`` section and the parsed models of a synthetic-control spec file."""
    source = Path(path).name
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecificationError(f"{source}: cannot read the specification ({exc}).") from exc
    return parse_doc(raw, source)


def parse_doc(raw: dict[str, Any], source: str) -> tuple[dict[str, Any], list[SyntheticControlSpec]]:
    """The ``[table]`` section and the parsed models of a synthetic-control specification document."""
    table = raw.get("table")
    if not isinstance(table, dict) or not all(isinstance(table.get(k), str) for k in ("id", "title")):
        raise SpecificationError(f"{source}: [table] needs string fields id and title.")
    notes = table.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise SpecificationError(f"{source}: [table] notes: must be a list of strings.")
    models = raw.get("model")
    if not isinstance(models, list) or not models:
        raise SpecificationError(f"{source}: needs at least one [[model]].")
    specs = []
    for i, m in enumerate(models, start=1):
        if not isinstance(m, dict) or m.get("design") != DESIGN:
            raise SpecificationError(f"{source}: [model {i}] design: must be '{DESIGN}'.")
        specs.append(parse(m, source=source, where=f"model {i}"))
    ids = [s.id for s in specs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SpecificationError(f"{source}: model ids {dup} are used more than once.")
    return table, specs


def estimate_all(specs: list[SyntheticControlSpec], month: pd.DataFrame, year: pd.DataFrame,
                 progress: Callable[[str], None] = lambda m: None) -> list[SyntheticControlResult]:
    """Fit every model (monthly ones on ``month``, yearly ones on ``year``)."""
    events, deployments = timelines.load_events(), timelines.load_deployments()
    return [run(s, month if s.frequency == "month" else year, events=events, deployments=deployments,
                progress=progress) for s in specs]


def make(panel: pd.DataFrame, results_dir: Path, progress: Callable[[str], None] = lambda m: None, *,
         raw: dict[str, Any] | None = None, source: str | None = None) -> list[Path]:
    """Write Table 6 and its figures; return the paths written. ``raw``/``source``: a specification
    document instead of the committed ``analysis/specs/table6_withdrawals.toml`` (``sahel-causal run``
    with ``--set``; its provenance hash is taken from the document written as TOML)."""
    from sahel_causal.pipeline import MONTH_CSV, _write_text, write_csv

    if raw is None:
        table_meta, specs = load_spec(SPEC)
        spec_bytes, spec_name = SPEC.read_bytes(), SPEC.name
    else:
        import tomli_w

        table_meta, specs = parse_doc(raw, source or "<spec>")
        spec_bytes, spec_name = tomli_w.dumps(raw).encode("utf-8"), source or "<spec>"
    month = pd.read_csv(MONTH_CSV)
    results = estimate_all(specs, month, panel, progress)
    spec_sha = hashlib.sha256(spec_bytes).hexdigest()[:12]
    month_sha = hashlib.sha256(Path(MONTH_CSV).read_bytes()).hexdigest()[:12]
    tab = synth_table.table6(results, table_meta["title"], table_meta.get("notes", []),
                             provenance={"spec": f"{spec_name} {spec_sha}", "month panel": month_sha})
    tables = Path(results_dir) / "tables"
    figures = Path(results_dir) / "figures"
    written = [write_csv(tab.raw, tables / f"{NAME}.csv"),
               _write_text(tables / f"{NAME}.md", synth_table.table6_markdown(tab)),
               _write_text(tables / f"{NAME}.tex", synth_table.table6_latex(tab)),
               _write_text(Path(results_dir) / "estimates" / f"{NAME}.json",
                           "[\n" + ",\n".join(json.dumps(r.to_dict(placebo_paths=False), sort_keys=True,
                                                          separators=(",", ":")) for r in results) + "\n]\n")]
    main_month = [r for r in results if r.role == "main" and r.frequency == "month"]
    written += save_figure(synth_figures.event_time_figure(main_month), figures, f"{NAME}_event_time")
    written += save_figure(synth_figures.paths_figure(main_month), figures, f"{NAME}_paths")
    written += save_figure(synth_figures.donor_weights_figure(main_month), figures, f"{NAME}_donor_weights")
    progress(f"wrote {len(written)} files for {NAME}")
    return written
