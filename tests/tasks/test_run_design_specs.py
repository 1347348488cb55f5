"""`sahel-causal run` for the specification files of the designs beyond single regressions (Table 5's
partnership DiD grid, Tables 5B-5C, Table 6's synthetic control): overrides reach the design's own strict
parser, outputs go to the run folder only, and a run without overrides reproduces the published table."""
from __future__ import annotations

import json
import tomllib

import pytest

from sahel_causal import writing
from sahel_causal.errors import SpecificationError
from sahel_causal.paths import ANALYSIS_DIR, RESULTS_DIR
from sahel_causal.pipeline import design_runner, run_table

SPECS = ANALYSIS_DIR / "specs"


def _doc(name):
    return tomllib.loads((SPECS / f"{name}.toml").read_text(encoding="utf-8"))


def test_design_files_are_routed_to_their_tasks():
    assert "Table 5" in design_runner(_doc("table5_partnership_did")).label
    assert "5B" in design_runner(_doc("table5_appendix_events")).label
    table6 = design_runner(_doc("table6_withdrawals"))
    assert "Table 6" in table6.label and table6.own_panel and table6.validate is not None
    assert design_runner(_doc("table2_coups")) is None


def test_synthetic_control_rerun_with_an_override(tmp_path):
    """One Table 6 model with another pre-period length: the override is applied (recorded in the run's
    spec and provenance), the design parser validates it, the table is written to the run folder."""
    writing.allow(tmp_path)
    doc = _doc("table6_withdrawals")
    first = dict(doc["model"][0])
    spec = tmp_path / "one_exit.toml"
    import tomli_w

    spec.write_text(tomli_w.dumps({"table": doc["table"], "model": [first]}), encoding="utf-8")
    files = run_table(str(spec), [f"model.{first['id']}.pre_periods=36"], runs_dir=tmp_path / "runs")
    assert all(tmp_path in f.parents for f in files)
    run_dir = files[0].parent
    assert "pre_periods=36" in (run_dir / f"{doc['table']['id']}.toml").read_text().splitlines()[0]
    md = (run_dir / "tables" / "table6_withdrawals.md").read_text()
    assert "36/" in md  # pre/post periods column of the one model
    assert md.startswith(f"**Rerun of {doc['table']['title']} (--set model.{first['id']}.pre_periods=36)")
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["spec"]["overrides"] == [f"model.{first['id']}.pre_periods=36"]
    assert not list((tmp_path / "runs").glob(".*partial*"))  # the staging folder was renamed


def test_bad_override_names_the_field(tmp_path):
    writing.allow(tmp_path)
    with pytest.raises(SpecificationError, match=r"donor_exclude: unknown key"):
        run_table("table6", ["model.fra_mli_exit.donor_exclude=[]"], runs_dir=tmp_path / "runs")
    with pytest.raises(SpecificationError, match="--panel is not supported"):
        run_table("table6", [], panel_file=tmp_path / "p.csv", runs_dir=tmp_path / "runs")
    assert not list((tmp_path / "runs").glob("table6*")) if (tmp_path / "runs").exists() else True


def test_a_failing_design_run_leaves_no_folder(tmp_path, monkeypatch):
    """An error inside the task (after some files were written) removes the staging folder: no partial run."""
    from sahel_causal.tasks import table6

    writing.allow(tmp_path)

    def boom(*a, **k):
        raise SpecificationError("simulated failure inside the task")

    monkeypatch.setattr(table6, "estimate_all", boom)
    with pytest.raises(SpecificationError, match="simulated failure"):
        run_table("table6", [], runs_dir=tmp_path / "runs")
    assert [p.name for p in (tmp_path / "runs").iterdir()] in ([], ["_runs"])  # only the lock folder


def test_partnership_did_rerun_reproduces_the_published_table(tmp_path):
    writing.allow(tmp_path)
    files = run_table("table5_partnership_did", [], runs_dir=tmp_path / "runs")
    got = next(f for f in files if f.name == "table5_partnership.csv")
    assert got.read_bytes() == (RESULTS_DIR / "tables" / "table5_partnership.csv").read_bytes()
    assert not any(f.name.startswith("table5b") or f.name.startswith("table5c") for f in files)


@pytest.mark.parametrize("spec,override,message", [
    ("table5_partnership_did", "grid.columns=3", r"\[grid\] columns: must be a non-empty array of tables"),
    ("table5_partnership_did", 'honest.pre="x"', r"\[honest\] pre: must be an integer, got the string 'x'"),
    ("table5_partnership_did", 'grid.outcome_labels=["a"]', r"\[grid\] outcome_labels: must be a list of 5"),
    ("table5_partnership_did", 'grid.figure_estimators=["zz"]', r"\[grid\] figure_estimators: \['zz'\] not allowed"),
    ("table5_appendix_events", "actors=3", r"\[actors\] is required and must be a table"),
    ("table5_appendix_events", 'coups.outcome_labels=["x"]', r"\[coups\] outcome_labels: must be a list of 5"),
    ("table5_appendix_events", "dose.seed=-1", r"\[dose\] seed: must be >= 0"),
    ("table5_appendix_events", 'table.notes_coups="x"', r"\[table\] notes_coups: must be a list of non-empty"),
])
def test_bad_table5_layout_values_are_named_before_anything_runs(tmp_path, spec, override, message):
    """Before the layout checks these ended in a TypeError from inside the task."""
    writing.allow(tmp_path)
    with pytest.raises(SpecificationError, match=message):
        run_table(spec, [override], runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
