"""Hand-coded reference timelines (issue 4): schema checks, cited facts, derived panel columns, figure."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from sahel_causal.data import countries, timelines  # noqa: E402
from sahel_causal.errors import DuplicateKeyError, ReferenceDataError, SchemaError  # noqa: E402
from sahel_causal.report.timeline_figure import plot_timeline  # noqa: E402

YEARS = range(1990, 2026)


@pytest.fixture(scope="module")
def programs() -> pd.DataFrame:
    return timelines.load_us_programs()


@pytest.fixture(scope="module")
def deployments() -> pd.DataFrame:
    return timelines.load_deployments()


@pytest.fixture(scope="module")
def prog_cy(programs) -> pd.DataFrame:
    return timelines.program_country_years(programs, YEARS).set_index(["iso3", "year"])


@pytest.fixture(scope="module")
def dep_cy(deployments) -> pd.DataFrame:
    return timelines.deployment_country_years(deployments, YEARS).set_index(["iso3", "year"])


# ------------------------------------------------------------------ every row is cited
@pytest.mark.parametrize("table", ["programs", "deployments"])
def test_every_row_has_source_note_and_verification_flag(table, programs, deployments):
    df = programs if table == "programs" else deployments
    assert len(df) > 30
    assert (df["source"].str.len() >= 15).all()
    assert df["source"].str.contains(r"\d").all()
    assert (df["note"].str.len() > 0).all()
    assert set(df["verified"]) <= {"yes", "partial", "no"}


@pytest.mark.parametrize("table", ["programs", "deployments"])
def test_alternative_years_are_explained_in_the_note(table, programs, deployments):
    df = programs if table == "programs" else deployments
    alt = df[df["alt_start_year"].notna() | df["alt_end_year"].notna()]
    assert len(alt) >= 3
    assert alt["note"].str.contains("alternative", case=False).all()


def test_file_headers_document_the_rules():
    for path in (timelines.PROGRAMS_CSV, timelines.DEPLOYMENTS_CSV):
        header = "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#"))
        assert "RULE 1 (presence)" in header and "any part of" in header
        assert "disagreeing sources" in header and "alt_start_year" in header


def test_un_rows_cite_security_council_resolutions(deployments):
    un = deployments[deployments["actor"] == "UN"]
    assert un["source"].str.contains(r"UNSC res\. \d{3,4} \(\d{4}\)").all()


def test_eu_rows_cite_council_acts(deployments):
    eu = deployments[deployments["actor"] == "EU"]
    pattern = r"Council (?:Joint Action|Decision) (?:\(CFSP\) )?\d{4}/\d+"
    assert eu["source"].str.contains(pattern).all()


# ------------------------------------------------------------------ coding against cited facts
def test_psi_has_the_four_original_partners_from_2002(programs):
    psi = programs[programs["program"] == "PSI"]
    assert set(psi["iso3"]) == {"MLI", "NER", "TCD", "MRT"}
    assert (psi["start_year"] == 2002).all() and (psi["end_year"] == 2004).all()


def test_tsctp_2005_expansion_matches_gao_08_860(programs):
    # GAO-08-860: TSCTP established in FY2005 with nine partner countries.
    first = programs[(programs["program"] == "TSCTP") & (programs["start_year"] == 2005)]
    assert set(first["iso3"]) == {"MLI", "NER", "TCD", "MRT", "DZA", "MAR", "TUN", "NGA", "SEN"}
    assert first["source"].str.contains("GAO-08-860").all()


def test_later_tsctp_entries(programs):
    tsctp = programs[programs["program"] == "TSCTP"].set_index("iso3")
    assert tsctp.loc["BFA", "start_year"] == 2008 and tsctp.loc["BFA", "start_month"] == 12
    assert tsctp.loc["BFA", "alt_start_year"] == 2009  # disputed year, kept for robustness
    assert "09OUAGADOUGOU2" in tsctp.loc["BFA", "source"]
    assert tsctp.loc["CMR", "start_year"] == 2014
    assert "LBY" not in tsctp.index  # no dated source found


def test_sgi_and_preact(programs):
    sgi = programs[programs["program"] == "SGI"]
    assert set(sgi["iso3"]) == {"GHA", "KEN", "MLI", "NER", "NGA", "TUN"} and (sgi["start_year"] == 2014).all()
    preact = programs[programs["program"] == "PREACT"]
    assert len(preact) == 12 and preact["source"].str.contains("GAO-14-502").all()


def test_mali_suspension_2012_2013(programs):
    s = programs[(programs["program"] == "COUP_AID_SUSPENSION") & (programs["iso3"] == "MLI")]
    spell = s[s["start_year"] == 2012].iloc[0]
    assert (spell["start_month"], spell["end_year"], spell["end_month"]) == (3, 2013, 9)


def test_exits_in_scope(deployments):
    d = deployments.set_index(["actor", "operation", "iso3"])
    assert d.loc[("France", "Operation Barkhane", "MLI"), "end_year"] == 2022
    assert d.loc[("France", "Task Force Sabre (special forces)", "BFA"), "end_year"] == 2023
    assert d.loc[("France", "French forces in Niger (post-Barkhane partnership)", "NER"), "end_year"] == 2023
    minusma = d.loc[("UN", "MINUSMA", "MLI")]
    assert (minusma["start_year"], minusma["end_year"], minusma["end_month"]) == (2013, 2023, 12)
    assert "2690" in minusma["note"] and "2100" in minusma["source"]
    us_niger = d.loc[("US", "U.S. forces in Niger (Air Base 101 Niamey; Air Base 201 Agadez)", "NER")]
    assert (us_niger["end_year"], us_niger["end_month"]) == (2024, 9)
    g5 = deployments[deployments["actor"] == "G5_JF"].set_index("iso3")["end_year"]
    assert g5["MLI"] == 2022 and g5["BFA"] == 2023 and g5["NER"] == 2023


# ------------------------------------------------------------------ derived panel columns
def test_tsctp_partner_counts_psi_and_entry_year(prog_cy):
    assert prog_cy.loc[("MLI", 2003), "tsctp_partner"] == 1  # PSI counted
    assert prog_cy.loc[("MLI", 2003), "psi_partner"] == 1
    assert prog_cy.loc[("MLI", 2001), "tsctp_partner"] == 0
    assert prog_cy.loc[("MLI", 1995), "tsctp_entry_year"] == 2002
    assert prog_cy.loc[("DZA", 2010), "tsctp_entry_year"] == 2005
    assert prog_cy.loc[("DZA", 2004), "tsctp_partner"] == 0
    assert pd.isna(prog_cy.loc[("KEN", 2010), "tsctp_entry_year"])
    assert prog_cy.loc[("KEN", 2010), "preact_partner"] == 1


def test_suspension_switches_off_tsctp_active_only(prog_cy):
    assert prog_cy.loc[("MLI", 2012), "tsctp_partner"] == 1
    assert prog_cy.loc[("MLI", 2012), "us_aid_suspended"] == 1
    assert prog_cy.loc[("MLI", 2012), "tsctp_active"] == 0
    assert prog_cy.loc[("MLI", 2015), "tsctp_active"] == 1


def test_alternative_coding_moves_disputed_years(programs):
    alt = timelines.program_country_years(programs, YEARS, alternative=True).set_index(["iso3", "year"])
    assert alt.loc[("BFA", 2010), "tsctp_entry_year"] == 2009
    assert alt.loc[("BFA", 2008), "tsctp_partner"] == 0
    assert alt.loc[("MLI", 2002), "psi_partner"] == 0 and alt.loc[("MLI", 2003), "psi_partner"] == 1


def test_africom_is_a_time_marker_excluding_egypt(prog_cy):
    assert prog_cy.loc[("NER", 2006), "africom_aor"] == 0
    assert prog_cy.loc[("NER", 2007), "africom_aor"] == 1
    assert prog_cy.loc[("ZAF", 2015), "africom_aor"] == 1
    assert prog_cy.xs("EGY", level="iso3")["africom_aor"].eq(0).all()


def test_external_actor_counts(dep_cy):
    # Mali 2015: France (Barkhane), UN (MINUSMA), EU (EUTM, EUCAP) -> 3 distinct actors.
    assert dep_cy.loc[("MLI", 2015), "external_security_actors"] == 3
    # Mali 2019: the G5 Sahel Joint Force is not external for its members, but counts in the broad measure.
    assert dep_cy.loc[("MLI", 2019), "actor_g5_jf"] == 1
    assert dep_cy.loc[("MLI", 2019), "external_security_actors"] == 3
    assert dep_cy.loc[("MLI", 2019), "external_security_actors_broad"] == 4
    assert dep_cy.loc[("MLI", 2010), "external_security_actors"] == 0
    assert dep_cy.loc[("MLI", 2021), "actor_russia"] == 1 and dep_cy.loc[("MLI", 2020), "actor_russia"] == 0


def test_exit_years_in_the_panel(dep_cy):
    assert dep_cy.loc[("MLI", 2022), "actor_france"] == 1 and dep_cy.loc[("MLI", 2023), "actor_france"] == 0
    assert dep_cy.loc[("MLI", 2023), "actor_un"] == 1 and dep_cy.loc[("MLI", 2024), "actor_un"] == 0
    assert dep_cy.loc[("BFA", 2023), "actor_france"] == 1 and dep_cy.loc[("BFA", 2024), "actor_france"] == 0
    assert dep_cy.loc[("NER", 2023), "actor_france"] == 1 and dep_cy.loc[("NER", 2024), "actor_france"] == 0
    assert dep_cy.loc[("NER", 2024), "actor_us"] == 1 and dep_cy.loc[("NER", 2025), "actor_us"] == 0


def test_add_timelines_keeps_rows_and_does_not_mutate(programs, deployments):
    panel = countries.state_years(2000, 2024)
    before = panel.copy()
    out = timelines.add_timelines(panel, programs, deployments)
    assert len(out) == len(panel)
    pd.testing.assert_frame_equal(panel, before)
    assert set(timelines.TIMELINE_COLUMNS) <= set(out.columns)
    assert out["tsctp_partner"].isna().sum() == 0


def test_add_timelines_rejects_duplicate_keys_and_clashes(programs, deployments):
    panel = countries.state_years(2010, 2012)
    with pytest.raises(DuplicateKeyError, match="iso3-year"):
        timelines.add_timelines(pd.concat([panel, panel.head(1)]), programs, deployments)
    with pytest.raises(SchemaError, match="tsctp_partner"):
        timelines.add_timelines(panel.assign(tsctp_partner=0), programs, deployments)


def test_codebook_covers_every_derived_column():
    names = [d["name"] for d in timelines.TIMELINE_CODEBOOK]
    assert sorted(names) == sorted(timelines.TIMELINE_COLUMNS)
    for d in timelines.TIMELINE_CODEBOOK:
        assert set(d) == {"name", "meaning", "unit", "source", "transformation", "missing"}
        assert all(str(v).strip() for v in d.values())


# ------------------------------------------------------------------ schema failures
HEAD = ",".join(timelines.PROGRAM_COLUMNS)
GOOD = 'TSCTP,MLI,2005,,,,,,,,"GAO, GAO-08-860 (31 Jul 2008)",test row,yes'


def _write(tmp_path: Path, *rows: str) -> Path:
    p = tmp_path / "us_programs.csv"
    p.write_text("# test data\n" + HEAD + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_a_good_file_loads(tmp_path):
    df = timelines.load_us_programs(_write(tmp_path, GOOD))
    assert len(df) == 1 and df.loc[0, "start_year"] == 2005 and df.loc[0, "line"] == 3


@pytest.mark.parametrize("row,field", [
    ("TSCTP,MLI,2005,,,,,,,,,test row,yes", "source"),
    ("TSCTP,XXX,2005,,,,,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "iso3"),
    ("TSCTP,MLI,1900,,,,,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "start_year"),
    ("TSCTP,MLI,2010,,2005,,left,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "end_year"),
    ("TSCTP,MLI,2005,13,,,,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "start_month"),
    ("TSCTP,MLI,2005,,2007,,,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "end_type"),
    ("FOO,MLI,2005,,,,,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "program"),
    ("TSCTP,MLI,2005,,,,,,,,\"GAO, GAO-08-860 (2008)\",n,maybe", "verified"),
    ("TSCTP,*,2005,,,,,,,,\"GAO, GAO-08-860 (2008)\",n,yes", "iso3"),
])
def test_bad_rows_are_reported_with_file_line_and_field(tmp_path, row, field):
    path = _write(tmp_path, GOOD.replace("MLI", "NER"), row)
    with pytest.raises(ReferenceDataError) as exc:
        timelines.load_us_programs(path)
    msg = str(exc.value)
    assert "us_programs.csv" in msg and "line 4" in msg and f"'{field}'" in msg


def test_overlapping_duplicate_rows_are_rejected(tmp_path):
    path = _write(tmp_path, GOOD, 'TSCTP,MLI,2008,,,,,,,,"GAO, GAO-14-518 (2014)",dup,yes')
    with pytest.raises(ReferenceDataError, match="overlaps the row on line 3"):
        timelines.load_us_programs(path)


def test_wrong_header_is_rejected(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("program,iso3\nTSCTP,MLI\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="header"):
        timelines.load_us_programs(p)


# ------------------------------------------------------------------ cross-check with the raw UN file
def test_un_rows_match_the_official_un_mission_list(raw_dir, deployments):
    """Years of every coded UN mission agree with UN DPPA/DPO's DPPADPOSS-PKO file (raw data)."""
    pko = pd.read_csv(raw_dir / "un_peacekeeping_missions" / "DPPADPOSS-PKO.csv", dtype=str)
    pko = pko.set_index("mission_acronym")
    un = deployments[deployments["actor"] == "UN"]
    checked = 0
    for op, grp in un.groupby("operation"):
        if op not in pko.index:
            assert op == "UNTAG", f"{op} is missing from the UN file"
            continue
        start = int(str(pko.loc[op, "start_date"])[:4])
        end_raw = pko.loc[op, "end_date"]
        assert (grp["start_year"] == start).all(), op
        if pd.isna(end_raw) or end_raw == "":
            # ongoing in the Feb 2024 copy; MINUSMA closed on 31 Dec 2023 (res. 2690), hard-coded.
            assert grp["end_year"].isna().all() or op == "MINUSMA", op
        else:
            assert (grp["end_year"] == int(end_raw[:4])).all(), op
        checked += 1
    assert checked == un["operation"].nunique() - 1  # all but UNTAG
    xwalk = pd.read_excel(raw_dir / "un_peacekeeping_missions" / "unpko_country_crosswalk.xlsx")
    hosts = xwalk.dropna(subset=["iso3c"]).groupby("mission_acronym")["iso3c"].agg(set)
    for op, grp in un.groupby("operation"):
        if op in hosts.index:
            assert set(grp["iso3"]) <= hosts[op], op


# ------------------------------------------------------------------ figure
def test_plot_timeline_returns_a_figure_with_one_row_per_country(programs, deployments):
    # Hand-made TEST DATA, not the Powell & Thyne coding.
    coups = pd.DataFrame({"iso3": ["MLI", "MLI", "NER", "BFA"], "year": [2012, 2020, 2023, 2015],
                          "successful": [1, 1, 1, 0]})
    codes = ["MRT", "MLI", "BFA", "NER", "TCD", "SEN", "NGA"]
    fig = plot_timeline(programs, deployments, coups, codes, range(2000, 2026))
    try:
        assert isinstance(fig, matplotlib.figure.Figure)
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert len(labels) == len(codes)
        assert labels[0] == "Mauritania" and labels[-1] == "Nigeria"
        # successful coups: filled triangles ("v"); failed attempts: open circles ("o") (issue 14)
        markers = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() in ("v", "o")]
        assert len(markers) == len(coups)
        filled = [ln.get_markerfacecolor() for ln in markers]
        assert sum(1 for c in filled if c in ("white", (1.0, 1.0, 1.0, 1.0))) == 1
    finally:
        plt.close(fig)


def test_plot_timeline_requires_coup_columns(programs, deployments):
    with pytest.raises(ValueError, match="successful"):
        plot_timeline(programs, deployments, pd.DataFrame({"iso3": ["MLI"], "year": [2012]}), ["MLI"])


def test_sources_name_stable_identifiers(programs):
    ids = r"(?:GAO-\d{2}-\d+|RL\d{5}|R\d{5}|cable|Country Reports on Terrorism|Fact Sheet|statement|letter|spokes)"
    assert programs["source"].apply(lambda s: bool(re.search(ids, s, re.IGNORECASE))).all()
