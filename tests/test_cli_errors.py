"""Every error a user can cause on the command line: one message, exit code 1, no traceback (--debug shows it)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sahel_causal import pipeline, writing
from sahel_causal.cli import app

runner = CliRunner()


@pytest.fixture
def tmp_results(tmp_path, monkeypatch):
    writing.allow(tmp_path)
    monkeypatch.setattr(pipeline, "RESULTS_DIR", tmp_path)
    return tmp_path


def _spec(tmp_path, text: str, name: str = "s.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


GOOD = ('[table]\nid = "s"\ntitle = "S"\n[data]\nunit = "u"\ntime = "t"\n'
        '[[model]]\nid = "m"\noutcome = "y"\ntreatments = ["x"]\n'
        '[inference]\nwild_bootstrap = false\nrandomization = false\n')


@pytest.mark.parametrize("args,expect", [
    (["run", "table9"], "unknown table 'table9'"),
    (["run", "nosuch.toml"], "does not exist"),
    (["run", "table2", "--set", "variables.train_pc_l1.lag=true"], "[variables.train_pc_l1.lag] must be an integer"),
    (["run", "table2", "--set", "model.lpm.controls=gdp"], "must be a list of names"),
    (["run", "table2", "--set", "table.id=\"../../etc\""], "[table.id]"),
    (["run", "table2", "--set", "nonsense"], "use key=value"),
    (["run", "table2", "--set", "inference.randomization.permutations=100000000000"], "GiB"),
    (["run", "table2", "--panel", "/nonexistent/panel.csv"], "does not exist"),
])
def test_user_errors_end_in_one_message(args, expect, tmp_results):
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert expect in res.output and "Traceback" not in res.output
    assert res.output.count("error:") == 1
    assert not list(tmp_results.rglob("*.csv"))  # nothing written


def test_bad_spec_and_panel_files(tmp_path, tmp_results):
    broken = _spec(tmp_path, "[table\nid = 1", "broken.toml")
    res = runner.invoke(app, ["run", broken])
    assert res.exit_code == 1 and "broken.toml: not valid TOML" in res.output
    latin = tmp_path / "latin.toml"
    latin.write_bytes("[table]\nid = \"s\"\ntitle = \"caf\xe9\"\n".encode("latin-1"))
    res = runner.invoke(app, ["run", str(latin)])
    assert res.exit_code == 1 and "UTF-8" in res.output and "Traceback" not in res.output
    spec = _spec(tmp_path, GOOD)
    xlsx = tmp_path / "panel.xlsx"
    xlsx.write_text("x")
    res = runner.invoke(app, ["run", spec, "--panel", str(xlsx)])
    assert res.exit_code == 1 and "use a .csv or .parquet file" in res.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    res = runner.invoke(app, ["run", spec, "--panel", str(wrong)])
    assert res.exit_code == 1 and "[data] the panel has no column(s) ['u', 't']" in res.output
    assert not (tmp_results / "_runs").exists() or not list((tmp_results / "_runs").rglob("*.csv"))


def test_debug_shows_the_traceback():
    res = runner.invoke(app, ["--debug", "run", "table9"])
    assert res.exit_code != 0 and res.exception is not None and "unknown table" in str(res.exception)


def test_run_with_a_published_id_writes_only_under_runs(tmp_path, tmp_results):
    """A custom spec reusing a published table's id never touches results/tables (issue 13)."""
    import numpy as np
    import pandas as pd

    from sahel_causal.paths import RESULTS_DIR

    rng = np.random.default_rng(1)  # simulated toy panel (test data)
    panel = pd.DataFrame([(f"u{g}", 2000 + t) for g in range(15) for t in range(6)], columns=["u", "t"])
    panel["x"] = rng.normal(size=len(panel))
    panel["y"] = panel["x"] + rng.normal(size=len(panel))
    csv = tmp_path / "toy.csv"
    panel.to_csv(csv, index=False)
    published = RESULTS_DIR / "tables" / "table2_coups.csv"
    before = published.read_bytes()
    spec = _spec(tmp_path, GOOD.replace('id = "s"', 'id = "table2_coups"', 1))
    res = runner.invoke(app, ["run", spec, "--panel", str(csv)])
    assert res.exit_code == 0, res.output
    assert published.read_bytes() == before
    written = list((tmp_results / "_runs").rglob("table2_coups.csv"))
    assert len(written) == 1 and "table2_coups-" in written[0].parent.parent.name


def test_reproduce_check_reports_the_manifest_state():
    res = runner.invoke(app, ["reproduce", "--check", "--manifest-only"])
    assert res.exit_code == 0 and "outputs match results/MANIFEST.json" in res.output, res.output


def test_parquet_panel_is_read_like_csv(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    from sahel_causal.pipeline import read_panel_file

    df = pd.DataFrame({"u": ["a", "b"], "t": [2000, 2001], "y": [1.5, float("nan")]})
    df.to_parquet(tmp_path / "p.parquet")
    df.to_csv(tmp_path / "p.csv", index=False)
    pd.testing.assert_frame_equal(read_panel_file(tmp_path / "p.parquet"), read_panel_file(tmp_path / "p.csv"))


def test_reproduce_check_compares_only_what_reproduce_makes():
    """`reproduce --check` ignores MANIFEST.json (it names the folder it describes) and the calibration
    tables (made by `make calibration`, not by reproduce), and keeps every listed output."""
    from sahel_causal.cli import _only_reproduced
    from sahel_causal.review.check import CheckReport

    r = CheckReport(missing=("tables/calibration.csv", "tables/table2_coups.csv"), extra=(),
                    different=("MANIFEST.json", "figures/figure1_trends.png"), same=80)
    kept = _only_reproduced(r)
    assert kept.missing == ("tables/table2_coups.csv",) and kept.different == ("figures/figure1_trends.png",)
    assert _only_reproduced(CheckReport((), (), ("MANIFEST.json",), 90)).ok
