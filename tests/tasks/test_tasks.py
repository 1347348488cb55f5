"""Tasks and outputs: dependency order, parallel = serial to the byte, atomic writes, safe paths,
the lock, MANIFEST last, and report/ importing neither the pipeline nor the estimation runner."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sahel_causal import writing
from sahel_causal.errors import SahelCausalError, SpecificationError
from sahel_causal.paths import PROJECT_ROOT
from sahel_causal.tasks.graph import Task, TaskContext, TaskOutput, order, run_tasks

_T = "sahel_causal.tasks.published"


def toy_table(ctx: TaskContext, deps) -> TaskOutput:
    """A small estimation task (committed panel, analytic inference only) for the parallel test."""
    from sahel_causal.estimation import estimate
    from sahel_causal.specs import parse_spec
    from sahel_causal.tasks.published import write_table_result

    spec = parse_spec({"table": {"id": "toy_small", "title": "Toy"},
                       "variables": {"coup_any": {"any": "coup_attempts"},
                                     "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1}},
                       "sample": {"years": [2000, 2020]},
                       "model": [{"id": "lpm", "outcome": "coup_any", "treatments": ["train_pc_l1"]}],
                       "inference": {"wild_bootstrap": False, "randomization": False}}, "toy.toml")
    tr = estimate(spec, ctx.panel, data_sha256=ctx.panel_sha256)
    return TaskOutput(write_table_result(tr, ctx.results_dir, "0" * 64), value=tr)


def noted(ctx: TaskContext, deps) -> TaskOutput:
    """Uses the toy task's in-memory result. Written at the published precision (10 significant digits,
    as every CSV and JSON output): fe_ols's last bits can differ between processes (see the report)."""
    tr = deps["toy"]
    return TaskOutput([writing.write_text(ctx.results_dir / "noted.txt", f"{tr.models[0].result.coef.iloc[0]:.10g}\n")])


TASKS = [Task("table1", f"{_T}:table1", "t1", "s", label="Table 1"),
         Task("noted", f"{__name__}:noted", "n", "s", deps=("toy",)),
         Task("figure4", f"{_T}:figure4", "f4", "s"),
         Task("toy", f"{__name__}:toy_table", "toy", "s")]


def test_order_respects_dependencies_and_rejects_cycles():
    assert [t.name for t in order(TASKS)] == ["table1", "figure4", "toy", "noted"]
    with pytest.raises(SahelCausalError, match="cycle"):
        order([Task("a", "m:a", "", "", deps=("b",)), Task("b", "m:b", "", "", deps=("a",))])
    with pytest.raises(SahelCausalError, match="unknown task"):
        order([Task("a", "m:a", "", "", deps=("zzz",))])


def test_parallel_run_is_byte_identical_to_serial(tmp_path):
    from sahel_causal.data.registry import sha256_file
    from sahel_causal.pipeline import PANEL_CSV, load_panel

    sys.path.insert(0, str(Path(__file__).parent))  # the spawned workers import this module by name
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    panel, sha = load_panel(), sha256_file(PANEL_CSV)
    outs = {}
    for jobs in (1, 2):
        d = tmp_path / f"jobs{jobs}"
        writing.allow(d)
        res = run_tasks(TASKS, TaskContext(panel, sha, d), jobs=jobs)
        outs[jobs] = {f.relative_to(d).as_posix(): f.read_bytes() for t in TASKS for f in res[t.name].files}
    assert outs[1].keys() == outs[2].keys() and len(outs[1]) >= 10
    for k in outs[1]:
        assert outs[1][k] == outs[2][k], k


def test_writes_are_atomic_and_stay_inside_output_folders(tmp_path, monkeypatch):
    writing.allow(tmp_path)
    target = tmp_path / "a" / "x.csv"
    writing.write_text(target, "old\n")
    real_replace = os.replace

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(writing.OutputError, match="No space left"):
        writing.write_text(target, "new\n")
    monkeypatch.setattr(os, "replace", real_replace)
    assert target.read_text() == "old\n" and os.listdir(target.parent) == ["x.csv"]  # no temp file left
    with pytest.raises(writing.OutputError, match="refusing to write"):
        writing.write_text(Path("/tmp") / "sahel_causal_outside.txt", "x")
    with pytest.raises(writing.OutputError, match="refusing to write"):
        writing.write_text(tmp_path.parent / "escape.txt", "x")
    with pytest.raises(SpecificationError, match="letters, digits"):
        writing.safe_id("../../x")


def test_lock_keeps_two_runs_apart(tmp_path):
    writing.allow(tmp_path)
    with writing.output_lock(tmp_path):
        code = ("import sys; from pathlib import Path; from sahel_causal import writing; "
                f"writing.allow(Path({str(tmp_path)!r}));\n"
                "try:\n"
                f"    writing.output_lock(Path({str(tmp_path)!r})).__enter__()\n"
                "except writing.OutputError as e:\n    print('LOCKED', e); sys.exit(3)\n")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert r.returncode == 3 and "another sahel-causal run" in r.stdout


def test_reproduce_writes_manifest_last_and_check_outputs(tmp_path, monkeypatch):
    from sahel_causal import pipeline

    writing.allow(tmp_path)
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path)
    seen = []
    real = writing.write_bytes

    def spy(path, data):
        seen.append(Path(path).name)
        return real(path, data)

    monkeypatch.setattr(writing, "write_bytes", spy)
    tasks = [Task("table1", f"{_T}:table1", "t1", "s")]
    files = pipeline.reproduce(None, tasks=tasks, results_dir=tmp_path, update_readme=False, rebuild=False)
    assert seen[-1] == "MANIFEST.json" and files[-1].name == "MANIFEST.json"
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert len(manifest) == 3 and pipeline.check_outputs(tmp_path) == []
    (tmp_path / "tables" / "table1_summary.csv").write_text("half")
    assert any("differs from MANIFEST" in p for p in pipeline.check_outputs(tmp_path))


def test_report_imports_neither_pipeline_nor_estimation():
    mods = ["sahel_causal.report." + p.stem for p in (PROJECT_ROOT / "sahel_causal" / "report").glob("*.py")
            if p.stem != "__init__"]
    code = ("import sys, importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m in ('sahel_causal.pipeline', 'sahel_causal.estimation', "
            "'sahel_causal.tasks.published', 'sahel_causal.tasks.graph') or m.startswith('sahel_causal.models'))\n"
            "print(bad)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    for p in (PROJECT_ROOT / "sahel_causal" / "report").glob("*.py"):
        text = p.read_text()
        for needle in ("open(", ".write_text(", ".read_csv(", ".savefig(", "mkdir("):
            assert needle not in text, f"{p.name} does file I/O ({needle})"


def test_no_import_cycle_between_core_modules():
    code = ("import importlib, sys\n"
            "for m in ['sahel_causal.results', 'sahel_causal.estimators', 'sahel_causal.specs', "
            "'sahel_causal.estimation', 'sahel_causal.tasks.published', 'sahel_causal.pipeline', 'sahel_causal.cli']:\n"
            "    importlib.import_module(m)\n"
            "print('ok')\n")
    for first in ("sahel_causal.pipeline", "sahel_causal.estimation", "sahel_causal.report.results_table"):
        r = subprocess.run([sys.executable, "-c", f"import {first}\n" + code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
        assert r.stdout.strip() == "ok", r.stderr
