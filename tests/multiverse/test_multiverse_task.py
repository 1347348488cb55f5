"""The pipeline task and the CLI function: outputs written, identical bytes twice in a row."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from sahel_causal.multiverse.cli import multiverse_command, resolve_spec
from sahel_causal.tasks.multiverse import make

SMALL = Path(__file__).parent / "data" / "small_multiverse.toml"


def _digest(paths):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_task_writes_everything_identically_twice(tmp_path, panel):
    a = make(panel, tmp_path / "a", specs=[SMALL])
    b = make(panel, tmp_path / "b", specs=[SMALL])
    names = {p.relative_to(tmp_path / "a").as_posix() for p in a}
    assert {"multiverse/multiverse_small.parquet", "tables/multiverse_summary.csv", "tables/multiverse_summary.md",
            "tables/multiverse_summary.tex", "figures/specification_curve.png",
            "figures/specification_curve.pdf", "tables/multiverse_romano_wolf.csv",
            "figures/multiverse_influence.png"} <= names
    assert _digest(a) == _digest(b)
    summary = pd.read_csv(tmp_path / "a" / "tables" / "multiverse_summary.csv")
    stats = summary["statistic"].tolist()
    assert "Specifications (after exclusions)" in stats
    assert any(s.startswith("Romano-Wolf p, headline: coup_attempt") for s in stats)
    assert summary.loc[summary["statistic"] == "Specifications (after exclusions)", "Small"].item() == "672"


def test_cli_function_resumes(tmp_path, panel):
    msgs = []
    out = multiverse_command(str(SMALL), results_dir=tmp_path, chunk_dir=tmp_path / "c", progress=msgs.append)
    first = out[0].read_bytes()
    msgs.clear()
    out2 = multiverse_command(str(SMALL), results_dir=tmp_path, chunk_dir=tmp_path / "c", progress=msgs.append)
    assert out2[0].read_bytes() == first
    assert "0 of" in msgs[-1] and "chunks computed" in msgs[-1]
    assert resolve_spec("coups").name == "coups.toml" and resolve_spec("multiverse_violence").name == "violence.toml"
