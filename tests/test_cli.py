"""The command line: checks, offline fetch, errors that say what to do."""
from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from sahel_causal.cli import app
from sahel_causal.data import check, fetch
from sahel_causal.pipeline import load_panel

runner = CliRunner()


def test_data_check_passes_on_committed_panel():
    res = runner.invoke(app, ["data", "check"])
    assert res.exit_code == 0, res.output
    assert "checks: all passed" in res.output and "coverage" in res.output


def test_implausible_amount_in_panel_is_reported():
    panel = load_panel()
    bad = panel.copy()
    bad.loc[(bad.iso3 == "KEN") & (bad.year == 2009), "us_training_cost_usd"] = 1.07e18  # the FMTR "trillions"
    problems = check.panel_problems(bad)
    assert any("us_training_cost_usd" in p and "KEN" in p for p in problems)
    dup = pd.concat([panel, panel.iloc[[0]]])
    assert any("duplicated iso3-year" in p for p in check.panel_problems(dup))


def test_fetch_offline_says_so_in_one_line(tmp_path, monkeypatch):
    def no_network(url, sha256, target):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(fetch, "_download", no_network)
    res = runner.invoke(app, ["data", "fetch", "--raw-dir", str(tmp_path), "--source", "powell_thyne"])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) <= 2 and "No internet connection" in res.output


def test_fetch_reports_present_and_non_public_files(tmp_path, monkeypatch, raw_dir):
    import shutil

    src = raw_dir / "us_cpi_bls" / "cpi_u_CUUR0000SA0_monthly_annual.csv"
    (tmp_path / "us_cpi_bls").mkdir()
    shutil.copyfile(src, tmp_path / "us_cpi_bls" / src.name)
    out = fetch.fetch(tmp_path, ["us_cpi", "ucdp_brd"])
    assert [o.status for o in out] == ["present", "no-url"]


def test_unknown_table_is_a_clear_error():
    res = runner.invoke(app, ["run", "table9"])
    assert res.exit_code == 1 and "unknown table 'table9'" in res.output and "table2_coups" in res.output


def test_bad_override_names_the_field():
    res = runner.invoke(app, ["run", "table2", "--set", 'model.lpm.estimator="probit"'])
    assert res.exit_code == 1
    assert "[model #1 (lpm).estimator]" in res.output and "probit" in res.output
