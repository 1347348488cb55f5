"""Reviewer mode: cell-by-cell diff, folder check, provenance record, named country sets."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sahel_causal.errors import SchemaError
from sahel_causal.review.check import compare_folders, format_check
from sahel_causal.review.country_sets import country_sets
from sahel_causal.review.diff import diff_tables, format_diff
from sahel_causal.review.provenance import provenance_record, seeds_of


def _table() -> pd.DataFrame:
    return pd.DataFrame({"model": ["lpm", "lpm", "firth"], "term": ["x", "x_f1", "x"],
                         "estimate": [0.015, -0.019, 0.386], "p_value": [0.38, 0.31, np.nan],
                         "fixed_effects": ["iso3+year"] * 3})


def test_identical_tables_have_no_difference() -> None:
    t = _table()
    d = diff_tables(t, t.copy())
    assert d.empty and list(d.columns)[:3] == ["status", "key", "column"]
    assert "no differences" in format_diff(d, "table2")


def test_each_kind_of_difference_is_reported_cell_by_cell() -> None:
    pub = _table()
    new = _table()
    new.loc[0, "estimate"] = 0.016                      # changed number
    new.loc[2, "p_value"] = 0.2                         # missing -> value
    new.loc[1, "fixed_effects"] = "iso3"                # changed text
    new = new.drop(columns="p_value").assign(p_value=new["p_value"], p_ri=0.5)   # added column
    new = pd.concat([new, pd.DataFrame([{"model": "ols2", "term": "x", "estimate": 1.0}])], ignore_index=True)
    d = diff_tables(pub, new)
    got = {(r.status, r.key, r.column) for r in d.itertuples()}
    assert ("changed", "lpm / x", "estimate") in got
    assert ("changed", "firth / x", "p_value") in got
    assert ("changed", "lpm / x_f1", "fixed_effects") in got
    assert ("added column", "", "p_ri") in got and ("added row", "ols2 / x", "") in got
    row = d[(d["key"] == "lpm / x") & (d["column"] == "estimate")].iloc[0]
    assert row["abs_diff"] == pytest.approx(0.001) and row["rel_diff"] == pytest.approx(0.001 / 0.015)
    assert len(d) == 5
    text = format_diff(d, "table2")
    assert "lpm / x | estimate: 0.015 -> 0.016" in text and "added row: ols2 / x" in text
    removed = diff_tables(new, pub)
    assert ("removed row", "ols2 / x", "") in {(r.status, r.key, r.column) for r in removed.itertuples()}


def test_tolerance_ignores_last_digit_noise_only() -> None:
    pub = _table()
    new = _table()
    new.loc[0, "estimate"] = 0.015 * (1 + 1e-12)
    assert diff_tables(pub, new).empty
    new.loc[0, "estimate"] = 0.015 * (1 + 1e-6)
    assert len(diff_tables(pub, new)) == 1


def test_bad_tables_fail_with_a_clear_message() -> None:
    with pytest.raises(SchemaError, match="no key column"):
        diff_tables(_table().drop(columns="term"), _table())
    dup = pd.concat([_table(), _table().head(1)])
    with pytest.raises(SchemaError, match="duplicate keys"):
        diff_tables(dup, _table())


def test_compare_folders(tmp_path) -> None:
    pub, new = tmp_path / "pub", tmp_path / "new"
    for root in (pub, new):
        (root / "tables").mkdir(parents=True)
        (root / "tables" / "same.md").write_text("x\n")
    _table().to_csv(pub / "tables" / "t.csv", index=False)
    changed = _table()
    changed.loc[0, "estimate"] = 0.5
    changed.to_csv(new / "tables" / "t.csv", index=False)
    (pub / "tables" / "gone.tex").write_text("a\n")
    (new / "_runs").mkdir()
    (new / "_runs" / "ignored.csv").write_text("a\n")
    (new / "extra.png").write_bytes(b"\x89PNG")
    rep = compare_folders(pub, new)
    assert rep.different == ("tables/t.csv",) and rep.missing == ("tables/gone.tex",)
    assert rep.extra == ("extra.png",) and rep.same == 1 and not rep.ok
    text = format_check(rep, pub, new)
    assert "DIFFERS  tables/t.csv: 1 cell(s) differ: lpm / x | estimate" in text and text.endswith("(1 identical).")
    assert compare_folders(pub, pub).ok


def test_provenance_record_and_seeds() -> None:
    doc = {"inference": {"wild_bootstrap": {"seed": 1, "draws": 9}, "randomization": {"seed": 2}},
           "model": [{"id": "m", "seed": 3}], "other": {"seed": True}}
    assert seeds_of(doc) == {"inference.randomization.seed": 2, "inference.wild_bootstrap.seed": 1,
                             "model[0].seed": 3}
    rec = provenance_record(commit="abc", dirty=False, package_version="0.1.0", lock_sha256="f" * 64,
                            spec_path="analysis/specs/t.toml", spec_sha256="e" * 64,
                            overrides=["sample.years=[2005,2020]"], panel_sha256="d" * 64, seeds=seeds_of(doc))
    assert rec["spec"]["overrides"] == ["sample.years=[2005,2020]"] and rec["git_commit"] == "abc"
    assert list(rec["seeds"]) == sorted(rec["seeds"])


def test_country_sets_from_reference_tables() -> None:
    countries = pd.DataFrame({"iso3": ["MLI", "NER", "KEN", "DZA", "BFA"],
                              "region": ["West Africa", "West Africa", "East Africa", "North Africa", "West Africa"]})
    programs = pd.DataFrame({"program": ["TSCTP", "TSCTP", "PREACT", "COUP_AID_SUSPENSION", "AFRICOM"],
                             "iso3": ["MLI", "DZA", "KEN", "NER", "*"]})
    sets = country_sets(countries, programs)
    assert sets["west_africa"] == ("BFA", "MLI", "NER") and sets["east_africa"] == ("KEN",)
    assert sets["tsctp"] == ("DZA", "MLI") and sets["preact"] == ("KEN",) and sets["psi"] == ()
    assert sets["sahel_g5"] == ("BFA", "MLI", "NER") and len(sets["africa"]) == 5
    assert not math.isnan(len(sets))


def test_gather_reads_the_working_copy() -> None:
    import hashlib
    import re

    from sahel_causal import __version__
    from sahel_causal.pipeline import PANEL_CSV
    from sahel_causal.paths import ANALYSIS_DIR
    from sahel_causal.review.provenance import gather
    from sahel_causal.specs.io import read_toml

    spec = ANALYSIS_DIR / "specs" / "table2_coups.toml"
    rec = gather(spec, read_toml(spec), PANEL_CSV, overrides=["sample.years=[2005,2020]"])
    assert rec["package_version"] == __version__
    assert rec["spec"]["path"] == "analysis/specs/table2_coups.toml"
    assert rec["spec"]["sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert rec["panel_sha256"] == hashlib.sha256(PANEL_CSV.read_bytes()).hexdigest()
    assert rec["seeds"] == {"inference.randomization.seed": 20230726, "inference.wild_bootstrap.seed": 20240726}
    assert rec["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", rec["git_commit"])
