"""The dated withdrawal / competing-event reference table and its loader."""
from __future__ import annotations

import pytest

from sahel_causal.data import timelines
from sahel_causal.errors import ReferenceDataError


def test_events_load_and_cover_the_issue_list():
    ev = timelines.load_events().set_index("event_id")
    assert {"FRA_MLI_EXIT", "BARKHANE_END", "FRA_BFA_EXIT", "FRA_NER_EXIT", "MINUSMA_DRAW", "MINUSMA_EXIT",
            "US_NER_ANN", "US_NER_EXIT", "FRA_TCD_EXIT", "COUP_MLI_2020", "COUP_MLI_2021", "COUP_BFA_2022A",
            "COUP_BFA_2022B", "COUP_NER_2023", "RUS_MLI_ARR"} <= set(ev.index)
    assert (ev.loc["COUP_NER_2023", "year"], ev.loc["COUP_NER_2023", "month"]) == (2023, 7)  # not P&T's typo
    assert ev.loc["BARKHANE_END", "iso3_list"] == ("BFA", "NER", "TCD")
    assert ev["verified"].isin(["yes", "partial"]).all()


def test_exit_and_arrival_dates_agree_with_external_deployments():
    ev = timelines.load_events()
    dep = timelines.load_deployments()
    for r in ev[ev["deployment_operation"] != ""].itertuples():
        for iso in r.iso3_list:
            rows = dep[(dep["operation"] == r.deployment_operation) & (dep["iso3"] == iso)]
            assert len(rows) == 1, (r.event_id, iso)
            d = rows.iloc[0]
            if r.kind == "arrival":
                assert (d["start_year"], d["start_month"]) == (r.year, r.month), r.event_id
            else:
                assert (d["end_year"], d["end_month"]) == (r.year, r.month), r.event_id


def _write(tmp_path, body: str):
    p = tmp_path / "ev.csv"
    p.write_text("# comment\n" + ",".join(timelines.EVENT_COLUMNS) + "\n" + body + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("row, field", [
    ("x_1,exit_completed,France,MLI,2022,8,15,Op,d,Some source 2022 communique,,yes", "event_id"),
    ("X_1,landing,France,MLI,2022,8,15,Op,d,Some source 2022 communique,,yes", "kind"),
    ("X_1,coup,France,MLI,2022,8,15,,d,Some source 2022 communique,,yes", "actor"),
    ("X_1,exit_completed,France,MLI;XXX,2022,8,15,Op,d,Some source 2022 communique,,yes", "iso3"),
    ("X_1,exit_completed,France,MLI,2022,2,30,Op,d,Some source 2022 communique,,yes", "day"),
    ("X_1,exit_completed,France,MLI,2022,13,1,Op,d,Some source 2022 communique,,yes", "month"),
    ("X_1,exit_completed,France,MLI,2022,8,15,,d,Some source 2022 communique,,yes", "deployment_operation"),
    ("X_1,exit_completed,France,MLI,2022,8,15,Op,d,short,,yes", "source"),
    ("X_1,exit_completed,France,MLI,2022,8,15,Op,d,Some source 2022 communique,,maybe", "verified"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, row, field):
    with pytest.raises(ReferenceDataError, match=rf"ev\.csv, line 3, field '{field}'"):
        timelines.load_events(_write(tmp_path, row))


def test_duplicate_event_id(tmp_path):
    row = "X_1,exit_completed,France,MLI,2022,8,15,Op,d,Some source 2022 communique,,yes"
    with pytest.raises(ReferenceDataError, match="repeats line 3"):
        timelines.load_events(_write(tmp_path, row + "\n" + row))


def test_table6_spec_parses_and_every_event_exists():
    from sahel_causal.tasks.table6 import load_spec

    meta, specs = load_spec()
    ev = set(timelines.load_events()["event_id"])
    assert meta["id"] == "table6_withdrawals" and len(specs) >= 20
    assert {s.event for s in specs} <= ev
    assert {s.role for s in specs} == {"main", "robustness", "competing"}
    assert any(s.frequency == "year" for s in specs) and any(s.augmented for s in specs)


def test_table6_spec_errors_name_the_file(tmp_path):
    from sahel_causal.errors import SpecificationError
    from sahel_causal.tasks.table6 import load_spec

    p = tmp_path / "t6.toml"
    p.write_text('[table]\nid = "x"\ntitle = "t"\n[[model]]\ndesign = "synthetic_control"\nid = "a"\nlabel = "l"\n'
                 'role = "main"\ntreated = ["MLI"]\nevent = "FRA_MLI_EXIT"\noutcome = "acled_pv_events"\n'
                 'pre_periods = "60"\n', encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"t6\.toml: \[model 1\] pre_periods: must be an integer"):
        load_spec(p)
