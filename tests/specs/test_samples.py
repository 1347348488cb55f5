"""Section 7008 sample rules on the treatment side (sahel_causal.specs.samples)."""
from __future__ import annotations

import pandas as pd
import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.specs import parse_spec
from sahel_causal.specs.samples import lagged_treatment_in_window, suspension_window, until_first_event


def _toy():
    """Hand-checkable panel: A has a successful coup in 2003 and a timeline suspension in 2007;
    B a failed coup in 2002 and a successful one in 2005; C none; A misses 2005 (gap)."""
    rows = []
    for iso, years in {"A": [2000, 2001, 2002, 2003, 2004, 2006, 2007, 2008],
                       "B": list(range(2000, 2009)), "C": list(range(2000, 2009))}.items():
        for y in years:
            succ = int((iso, y) in {("A", 2003), ("B", 2005)})
            att = int((iso, y) in {("A", 2003), ("B", 2002), ("B", 2005)})
            rows.append({"iso3": iso, "year": y, "coup_successes": succ, "coup_attempts": att,
                         "us_aid_suspended": int((iso, y) == ("A", 2007))})
    return pd.DataFrame(rows)


def test_suspension_window_and_lagged_rule_by_hand():
    p = _toy()
    w = p.assign(w=suspension_window(p)).set_index(["iso3", "year"])["w"]
    assert {k for k, v in w.items() if v} == {("A", 2003), ("A", 2004), ("A", 2007), ("B", 2005), ("B", 2006)}
    lag = p.assign(l=lagged_treatment_in_window(p)).set_index(["iso3", "year"])["l"]
    # t is dropped when t-1 is in a window; A 2006's previous year 2005 is missing -> kept
    assert {k for k, v in lag.items() if v} == {("A", 2004), ("A", 2008), ("B", 2006), ("B", 2007)}


def test_lagged_rule_never_looks_at_the_outcome_year():
    p = _toy()
    before = lagged_treatment_in_window(p)
    q = p.copy()
    q.loc[(q.iso3 == "C") & (q.year == 2004), ["coup_successes", "coup_attempts"]] = 1  # a coup in t ...
    after = lagged_treatment_in_window(q)
    c04 = (q.iso3 == "C") & (q.year == 2004)
    assert not after[c04].any()  # ... does not remove t itself
    assert after[(q.iso3 == "C") & (q.year == 2005)].all()  # it removes t+1 (its lagged treatment is cut)
    assert (before[~(q.iso3 == "C")] == after[~(q.iso3 == "C")]).all()


def test_until_first_event_keeps_years_up_to_the_first_event_in_the_window():
    p = _toy().assign(coup_any=lambda d: (d.coup_attempts > 0).astype(float))
    keep = p.assign(k=until_first_event(p, "coup_any", (2000, 2008))).set_index(["iso3", "year"])["k"]
    assert [y for (i, y), v in keep.items() if i == "B" and v] == [2000, 2001, 2002]
    assert [y for (i, y), v in keep.items() if i == "A" and v] == [2000, 2001, 2002, 2003]
    assert all(v for (i, _), v in keep.items() if i == "C")
    # the window matters: from 2004 on, B's first event is 2005
    keep = p.assign(k=until_first_event(p, "coup_any", (2004, 2008))).set_index(["iso3", "year"])["k"]
    assert not keep[("B", 2006)] and keep[("B", 2005)]
    with pytest.raises(SpecificationError, match="unknown variable"):
        until_first_event(p, "nope", (2000, 2008))


def _doc(sample):
    return {"table": {"id": "t", "title": "T"}, "variables": {"coup_any": {"any": "coup_attempts"}},
            "model": [{"id": "m", "outcome": "coup_any", "treatments": ["x"], "sample": sample}]}


def test_spec_options_are_validated_strictly():
    spec = parse_spec(_doc({"exclude_lagged_suspension": True, "until_first_event": "coup_any"}), "t.toml")
    s = spec.models[0].sample
    assert s.exclude_lagged_suspension is True and s.until_first_event == "coup_any"
    with pytest.raises(SpecificationError, match="exclude_lagged_suspension"):
        parse_spec(_doc({"exclude_lagged_suspension": 1}), "t.toml")
    with pytest.raises(SpecificationError, match="until_first_event"):
        parse_spec(_doc({"until_first_event": ["coup_any"]}), "t.toml")


def test_table2_designs_keep_events_and_report_them():
    """On the committed panel: the old outcome-side rule keeps 15 of 41 coup events; the treatment-side
    rules keep more, and the kept count is what the table reports."""
    from sahel_causal.estimation import estimate
    from sahel_causal.pipeline import load_panel

    doc = {
        "table": {"id": "t", "title": "T"},
        "sample": {"years": [2000, 2021]},
        "defaults": {"controls": ["log_gdp_pc_l1", "polyarchy_l1"]},
        "variables": {"coup_any": {"any": "coup_attempts"},
                   "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
                   "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1},
                   "polyarchy_l1": {"from": "polyarchy", "lag": 1}},
        "model": [{"id": "all", "outcome": "coup_any", "treatments": ["train_pc_l1"]},
                  {"id": "old", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                   "sample": {"exclude_suspension_years": True}},
                  {"id": "lagged", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                   "sample": {"exclude_lagged_suspension": True}},
                  {"id": "first", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                   "sample": {"until_first_event": "coup_any"}}],
    }
    tr = estimate(parse_spec(doc, "t.toml"), load_panel(), inference=False)
    ev = {mo.model.id: mo.n_events for mo in tr.models}
    assert ev["old"] < ev["lagged"] <= ev["all"] and ev["first"] <= ev["all"]
    for mo in tr.models:  # every event of the window is either used or listed as lost
        assert mo.n_events + len(mo.events_lost) == ev["all"] + len(tr.models[0].events_lost)
