"""The committed panel and results: integrity, known facts, and reproduction from the sources."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from sahel_causal.data import check, codebook
from sahel_causal.errors import SchemaError
from sahel_causal.paths import PROCESSED_DIR, PROJECT_ROOT, RESULTS_DIR
from sahel_causal.pipeline import PANEL_CSV, PROVENANCE_JSON, load_panel


@pytest.fixture(scope="module")
def panel():
    return load_panel()


def test_committed_panel_passes_all_checks(panel):
    assert check.panel_problems(panel) == []
    assert len(panel) == panel[["iso3", "year"]].drop_duplicates().shape[0]
    assert panel["iso3"].nunique() == 54 and panel["year"].min() == 1990


def test_codebook_covers_every_column(panel):
    cb = pd.read_csv(PROCESSED_DIR / "codebook.csv")
    assert list(cb["name"]) == list(panel.columns)
    fresh = codebook.make_codebook(panel)
    assert fresh["name"].tolist() == cb["name"].tolist()
    assert (cb["meaning"].str.len() > 5).all() and cb["missing"].notna().all()


@pytest.mark.parametrize("iso3,year,attempts,successes", [
    ("MLI", 2012, 2, 1), ("MLI", 2020, 1, 1), ("MLI", 2021, 1, 1), ("BFA", 2022, 2, 2),
    ("GIN", 2021, 1, 1), ("NER", 2023, 1, 1), ("TCD", 2021, 1, 1), ("GAB", 2023, 1, 1), ("SEN", 2012, 0, 0),
])
def test_known_coups_in_panel(panel, iso3, year, attempts, successes):
    row = panel[(panel.iso3 == iso3) & (panel.year == year)].iloc[0]
    assert (row.coup_attempts, row.coup_successes) == (attempts, successes)


def test_missing_means_not_covered(panel):
    assert panel.loc[panel.year == 2024, "coup_attempts"].isna().all()  # Powell & Thyne ends 2023
    fy2006 = panel.loc[panel.year == 2006, "us_training_cost_usd"]
    assert fy2006.isna().all()  # FMTR FY2006 report missing: NaN, not zero
    assert panel.loc[panel.year == 1993, "gtd_fatalities"].isna().all()
    assert panel.loc[panel.year == 2025, "acled_partial_year"].eq(1).all()
    assert panel.loc[(panel.iso3 == "SSD") & (panel.year < 2011)].empty


def test_edited_panel_is_refused(tmp_path):
    copy = tmp_path / "panel_country_year.csv"
    shutil.copyfile(PANEL_CSV, copy)
    prov = json.loads(PROVENANCE_JSON.read_text())
    fake = {"outputs": {copy.name: prov["outputs"]["data/processed/panel_country_year.csv"]}}
    (tmp_path / "provenance.json").write_text(json.dumps(fake))
    load_panel(copy, provenance=tmp_path / "provenance.json")  # untouched copy loads
    copy.write_text(copy.read_text() + "\n")  # one extra byte
    with pytest.raises(SchemaError, match="changed after it was built"):
        load_panel(copy, provenance=tmp_path / "provenance.json")


def test_provenance_records_inputs_and_outputs():
    prov = json.loads(PROVENANCE_JSON.read_text())
    assert len(prov["inputs"]) >= 40 and all(len(i["sha256"]) == 64 for i in prov["inputs"])
    assert "data/processed/panel_country_year.csv" in prov["outputs"]
    assert "data/corrections.csv" in prov["reference_inputs"]


@pytest.mark.raw
def test_rebuild_from_raw_is_identical_to_committed(raw_dir):
    """Rebuild every processed file from ../shared/data/raw and compare bytes with the committed ones."""
    from sahel_causal.data import build, report
    from sahel_causal.data.datalog import DataLog

    log = DataLog()
    built = build.build_panel(raw_dir, log)
    as_csv = lambda df: df.to_csv(index=False, lineterminator="\n", float_format="%.10g")  # noqa: E731
    assert as_csv(built.panel) == PANEL_CSV.read_text(encoding="utf-8")
    assert as_csv(built.country_month) == (PROCESSED_DIR / "panel_country_month.csv").read_text(encoding="utf-8")
    assert as_csv(log.to_frame()) == (PROCESSED_DIR / "data_actions.csv").read_text(encoding="utf-8")
    assert report.data_report(built, log.to_frame()) == (PROCESSED_DIR / "data_report.md").read_text(encoding="utf-8")


def test_data_report_lists_corrections_and_drops():
    text = (PROCESSED_DIR / "data_report.md").read_text()
    assert "Niger's coup against President Bazoum" in text
    assert "## Dropped records" in text and "Government of Southern Sudan" in text
    assert "date merged into the cost" in text.lower() or "merged" in text.lower()


def test_table1_and_figure_data_regenerate_identically(panel):
    from sahel_causal.report.figure1 import figure1_data
    from sahel_causal.report.table1 import make_table1
    from sahel_causal.data.registry import sha256_file
    from sahel_causal.tasks.published import panel_provenance

    t1 = make_table1(panel, panel_provenance(sha256_file(PANEL_CSV)))
    assert t1.to_csv() == (RESULTS_DIR / "tables" / "table1_summary.csv").read_text()
    assert t1.to_latex() == (RESULTS_DIR / "tables" / "table1_summary.tex").read_text()
    f1 = figure1_data(panel).to_csv(index=False, lineterminator="\n", float_format="%.10g")
    assert f1 == (RESULTS_DIR / "figures" / "figure1_trends_data.csv").read_text()


def test_readme_summary_is_generated_from_committed_results():
    from sahel_causal.report.summary import END, START, make_summary
    from sahel_causal.tasks.published import read_summary_tables

    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme[readme.index(START): readme.index(END) + len(END)]
    assert block + "\n" == make_summary(read_summary_tables(RESULTS_DIR))


def test_results_manifest_matches_files():
    from sahel_causal.data.registry import sha256_file

    manifest = json.loads((RESULTS_DIR / "MANIFEST.json").read_text())
    assert len(manifest) >= 20
    for rel, entry in manifest.items():
        assert sha256_file(PROJECT_ROOT / rel) == entry["sha256"], rel
        assert entry["panel_sha256"] == sha256_file(PANEL_CSV)
