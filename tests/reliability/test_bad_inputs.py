"""The bad-input corpus (issue 13 item 7): malformed raw files, specifications and processed data.

Every case copies a real file into ``tmp_path`` (``../shared`` is never modified), damages the
copy, and, for raw files, re-pins it (the registry is pointed at the copy with its recomputed
sha256), so that the checksum passes and only the loader's own checks stand between the bad
file and the panel. Each case asserts that the run ends in one of the package's named errors
(what the CLI prints as a one-line message, never a traceback), that the message names the
file or field and says what to do, and that nothing was written (the temporary project holds
only what the test put there; ``data/processed`` and ``results`` of the project are untouched).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sahel_causal import paths
from sahel_causal.data import registry as reg
from sahel_causal.data.datalog import DataLog
from sahel_causal.errors import SahelCausalError

RAW_ROOT = paths.find_raw_dir() if paths.DEFAULT_RAW_DIR.is_dir() else None
needs_raw = pytest.mark.skipif(RAW_ROOT is None, reason="raw-data directory ../shared/data/raw not available")

#: Words of the "what to do" part of every message.
ADVICE = re.compile(r"restore|re-pin|rebuild|correct|add |fix|check|use the registered|is it the", re.I)


# --------------------------------------------------------------------------------------------
# Helpers: copy, damage and re-pin a raw file; snapshot folders


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module", autouse=True)
def project_untouched():
    """No case may write into the project's data/processed or results folders."""
    watched = [paths.PROCESSED_DIR, paths.RESULTS_DIR]
    before = [_tree(d) if d.is_dir() else {} for d in watched]
    yield
    after = [_tree(d) if d.is_dir() else {} for d in watched]
    assert before == after, "a bad-input case wrote into the project's data/processed or results"


def repin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source_id: str, name: str,
          mutate: Callable[[bytes], bytes]) -> Path:
    """Copy the registered file ``name`` of ``source_id`` into ``tmp_path/raw``, damage it, re-pin it."""
    src = reg.registry()[source_id]
    sf = src.file(name)
    raw = tmp_path / "raw"
    target = raw / sf.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(mutate((RAW_ROOT / sf.path).read_bytes()))
    new_files = tuple(dataclasses.replace(f, sha256=reg.sha256_file(target)) if f.path == sf.path else f
                      for f in src.files)
    patched = {**reg.registry(), source_id: dataclasses.replace(src, files=new_files)}
    monkeypatch.setattr(reg, "registry", lambda: patched)
    # Other files of the same source are read from copies of the registered versions.
    for f in src.files:
        if f.path != sf.path:
            (raw / f.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(RAW_ROOT / f.path, raw / f.path)
    return raw


# Mutations of bytes ------------------------------------------------------------------------


def empty(_b: bytes) -> bytes:
    return b""


def header_only(b: bytes) -> bytes:
    return b.split(b"\n", 1)[0] + b"\n"


def truncated(b: bytes) -> bytes:
    """Cut inside a line about halfway through the file (a download that stopped)."""
    cut = len(b) // 2
    nl = b.index(b"\n", cut)
    return b[: nl - max(3, (nl - b.rindex(b"\n", 0, nl)) // 2)]


def utf16(b: bytes) -> bytes:
    return b.decode("latin-1").encode("utf-16")


def garbage(b: bytes) -> bytes:
    return bytes((i * 73 + 41) % 256 for i in range(min(len(b), 4096)))


def truncated_binary(b: bytes) -> bytes:
    return b[: len(b) // 3]


def drop_column(col: str, sep: str = ",") -> Callable[[bytes], bytes]:
    def f(b: bytes) -> bytes:
        rows = _rows(b, sep)
        i = rows[0].index(col)
        return _join([r[:i] + r[i + 1:] for r in rows], sep)
    return f


def _rows(b: bytes, sep: str, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(b.decode(encoding)), delimiter=sep))


def _join(rows: list[list[str]], sep: str, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def set_cell(match: dict[str, str], col: str, value: str, sep: str = ",",
             encoding: str = "utf-8") -> Callable[[bytes], bytes]:
    """Set ``col`` to ``value`` in the first data row whose columns equal ``match``."""
    def f(b: bytes) -> bytes:
        rows = _rows(b, sep, encoding)
        head = rows[0]
        for r in rows[1:]:
            if all(r[head.index(k)] == v for k, v in match.items()):
                r[head.index(col)] = value
                return _join(rows, sep, encoding)
        raise AssertionError(f"no row matches {match}")
    return f


def duplicate_row(match: dict[str, str], sep: str = ",") -> Callable[[bytes], bytes]:
    def f(b: bytes) -> bytes:
        rows = _rows(b, sep)
        head = rows[0]
        hit = next(r for r in rows[1:] if all(r[head.index(k)] == v for k, v in match.items()))
        return _join([*rows, list(hit)], sep)
    return f


def add_row(values: dict[str, str], sep: str = ",") -> Callable[[bytes], bytes]:
    def f(b: bytes) -> bytes:
        rows = _rows(b, sep)
        head = rows[0]
        return _join([*rows, [values.get(c, "") for c in head]], sep)
    return f


def replace_sep(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    return lambda b: b.replace(old, new)


# --------------------------------------------------------------------------------------------
# Raw-file cases: (source id, file name, loader, mutation, words the message must contain)

PT = ("powell_thyne", "powell_thyne_coups_final.txt")
GTD = ("gtd", "gtd_country_year_owid_0522.csv")
BRD = ("ucdp_brd", "ucdpbrds_gw_country_year_1946_2022.csv")
NMC = ("cow_nmc", "cow_nmc.csv")
ARCH = ("archigos", "archigossums.csv")
REIGN = ("reign", "leader_reign.csv")
CPI = ("us_cpi", "cpi_u_CUUR0000SA0_monthly_annual.csv")
CLINE = ("cline_center", "Coup_Data_v2.1.2.csv")


def _loader(module: str, func: str = "load") -> Callable[[Path, DataLog], object]:
    def call(raw: Path, log: DataLog) -> object:
        import importlib

        return getattr(importlib.import_module(f"sahel_causal.data.sources.{module}"), func)(raw, log)
    call.__name__ = f"{module}.{func}"
    return call


LOADERS = {PT: _loader("powell_thyne"), GTD: _loader("gtd"), BRD: _loader("ucdp", "load_battle_deaths"),
           NMC: _loader("cow_nmc"), ARCH: _loader("archigos"), REIGN: _loader("reign", "load_spells"),
           CPI: _loader("us_cpi", "load_monthly"), CLINE: _loader("cline_center", "load_events")}

GENERIC = {
    "empty": (empty, r"empty"),
    "header_only": (header_only, r"no data rows|no .*rows|empty"),
    "truncated": (truncated, r"line \d+|blank|number|fields|truncated"),
    "utf16": (utf16, r"encoding|line \d+|lacks columns"),
    "garbage": (garbage, r"encoding|line \d+|lacks columns|parsed|empty"),
}

RAW_CASES: list = []
for key in (PT, GTD, BRD, NMC, ARCH, REIGN, CPI, CLINE):
    for mname, (mut, words) in GENERIC.items():
        RAW_CASES.append(pytest.param(key, mut, words, id=f"{key[0]}-{mname}"))

SPECIFIC = [
    # Powell & Thyne: the coup list
    ("pt-unknown-cow-code", PT, set_cell({"country": "Mali", "year": "2012"}, "ccode", "499", sep="\t"),
     r"499.*crosswalk|crosswalk.*499"),
    ("pt-blank-cow-code", PT, set_cell({"country": "Mali", "year": "2012"}, "ccode", "", sep="\t"),
     r"'ccode' is blank on line"),
    ("pt-text-cow-code", PT, set_cell({"country": "Mali", "year": "2012"}, "ccode", "Mali", sep="\t"),
     r"'ccode' is not a number on line"),
    ("pt-fractional-cow-code", PT, set_cell({"country": "Mali", "year": "2012"}, "ccode", "432.5", sep="\t"),
     r"'ccode' is not a whole number"),
    ("pt-negative-cow-code", PT, set_cell({"country": "Mali", "year": "2012"}, "ccode", "-432", sep="\t"),
     r"not state codes"),
    ("pt-month-13", PT, set_cell({"country": "Mali", "year": "2012"}, "month", "13", sep="\t"),
     r"invalid event dates"),
    ("pt-day-32", PT, set_cell({"country": "Mali", "year": "2012"}, "day", "32", sep="\t"),
     r"invalid event dates"),
    ("pt-text-year", PT, set_cell({"country": "Mali", "year": "2012"}, "year", "2O12", sep="\t"),
     r"'year' is not a number on line"),
    ("pt-coup-code-3", PT, set_cell({"country": "Mali", "year": "2012"}, "coup", "3", sep="\t"),
     r"coup code other than 1/2"),
    ("pt-duplicate-event", PT, duplicate_row({"country": "Mali", "year": "2012"}, sep="\t"),
     r"share a state and date"),
    ("pt-commas-not-tabs", PT, replace_sep(b"\t", b";"), r"lacks columns"),
    ("pt-missing-column", PT, drop_column("coup", sep="\t"), r"lacks columns \['coup'\]"),
    # GTD: country-year counts by name
    ("gtd-blank-name", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "entity", ""),
     r"'entity' is blank on line|blank country name"),
    ("gtd-unknown-name", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "entity", "Atlantis"),
     r"not in the crosswalk.*Atlantis"),
    ("gtd-text-count", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "terrorism_fatalities", "n/a"),
     r"'terrorism_fatalities' is (blank|not a number) on line"),
    ("gtd-word-count", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "terrorism_fatalities", "many"),
     r"'terrorism_fatalities' is not a number on line"),
    ("gtd-negative-count", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "terrorism_fatalities", "-5"),
     r"'terrorism_fatalities' is negative on line"),
    ("gtd-blank-count", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "terrorist_incidents", ""),
     r"'terrorist_incidents' is blank on line"),
    ("gtd-duplicate-row", GTD, duplicate_row({"entity": "Nigeria", "year": "2014"}),
     r"several entities map to one state-year"),
    ("gtd-row-in-1993", GTD, add_row({"entity": "Mali", "year": "1993", "terrorist_incidents": "1",
                                      "terrorism_fatalities": "1", "terrorism_injuries": "0"}),
     r"outside 1970-2020 or in 1993"),
    ("gtd-year-2031", GTD, set_cell({"entity": "Nigeria", "year": "2014"}, "year", "2031"),
     r"outside 1970-2020"),
    # UCDP battle deaths by Gleditsch-Ward code
    ("brd-unknown-gw-code", BRD, set_cell({"country_name": "Mali", "year": "2013.0"}, "gwcode", "499.0"),
     r"African block not in the crosswalk \[499\]"),
    ("brd-text-deaths", BRD, set_cell({"country_name": "Mali", "year": "2013.0"}, "best", "many"),
     r"'best' is not a number on line"),
    ("brd-negative-deaths", BRD, set_cell({"country_name": "Mali", "year": "2013.0"}, "best", "-10"),
     r"'best' is negative on line"),
    # COW NMC and Archigos by code
    ("nmc-fractional-code", NMC, set_cell({"ccode": "432.0", "year": "2000.0"}, "ccode", "432.5"),
     r"'ccode' is not a whole number"),
    ("nmc-text-milper", NMC, set_cell({"ccode": "432.0", "year": "2000.0"}, "milper", "seven"),
     r"'milper' is not a number on line"),
    ("archigos-unknown-gw-code", ARCH, set_cell({"gwcode": "432.0", "year": "2000.0"}, "gwcode", "499.0"),
     r"African block not in the crosswalk \[499\]"),
    ("reign-unknown-cow-code", REIGN, lambda b: set_cell({"stateabb": "MLI"}, "ccode", "499",
                                                        encoding="latin-1")(b),
     r"African block not in the crosswalk \[499\]"),
    ("cpi-text-value", CPI, set_cell({"year": "2010", "period": "M05"}, "value", "2l8.0"),
     r"'value' is not a number on line"),
    ("cline-unknown-cow-code", CLINE, lambda b: _cline_code(b), r"African block not in the crosswalk \[499\]"),
]


def _cline_code(b: bytes) -> bytes:
    rows = _rows(b, ",")
    i = rows[0].index("cowcode")
    hit = next(r for r in rows[1:] if r[i] == "432")
    hit[i] = "499"
    return _join(rows, ",")


USAID = ("usaid_explorer", "us_foreign_aid_country.csv")
MME = ("troopdata", "mme_v7.csv")
VDEM = ("vdem_wdi", "vdem3_vdem_wdi_1960_2024.csv")
PKO = ("un_pko", "DPPADPOSS-PKO.csv")
FMTR = ("fmtr", "fmtrpt_africa_courses_flat.csv")
LOADERS.update({USAID: _loader("usaid_explorer"), MME: _loader("mme_exercises", "load_participations"),
                VDEM: _loader("vdem_wdi"), PKO: _loader("un_pko", "load_missions"), FMTR: _loader("fmtr", "load_courses")})
SPECIFIC += [
    # An aid or exercise file cut to its header would otherwise give zero aid / no exercises everywhere.
    ("usaid-header-only", USAID, header_only, r"no data rows"),
    ("usaid-truncated", USAID, truncated, r"wrong number of fields"),
    ("mme-header-only", MME, header_only, r"no data rows"),
    ("mme-truncated", MME, truncated, r"wrong number of fields"),
    ("vdem-header-only", VDEM, header_only, r"no data rows"),
    ("fmtr-truncated", FMTR, truncated, r"wrong number of fields"),
    # A loader that resolves two files names the one that is damaged.
    ("pko-missions-utf16", PKO, utf16, r"DPPADPOSS-PKO.csv: line 1 is not valid utf-8"),
    ("pko-missions-empty", PKO, empty, r"DPPADPOSS-PKO.csv: the file is empty"),
]

for cid, key, mut, words in SPECIFIC:
    RAW_CASES.append(pytest.param(key, mut, words, id=cid))


@needs_raw
@pytest.mark.parametrize(("key", "mutate", "words"), RAW_CASES)
def test_malformed_raw_file_stops_with_a_clear_message(key, mutate, words, tmp_path, monkeypatch):
    raw = repin(tmp_path, monkeypatch, key[0], key[1], mutate)
    before = _tree(tmp_path)
    with pytest.raises(SahelCausalError) as exc:
        LOADERS[key](raw, DataLog())
    msg = str(exc.value)
    assert key[0] in msg, msg                       # names the source ...
    assert key[1] in msg or "line" in msg or "column" in msg or "crosswalk" in msg, msg  # ... and the file/record
    assert re.search(words, msg, re.S), msg         # says what is wrong
    assert ADVICE.search(msg), msg                  # and what to do
    assert "Traceback" not in msg
    assert _tree(tmp_path) == before                # nothing written


# Binary sources (workbooks): a truncated or foreign file is refused with the file's name.

XLSX_CASES = [
    pytest.param(("polity5", "p5v2018.xls"), _loader("polity5"), truncated_binary, id="polity5-xls-truncated"),
    pytest.param(("polity5", "p5v2018.xls"), _loader("polity5"), garbage, id="polity5-xls-garbage"),
    pytest.param(("sipri_milex", "SIPRI-Milex-data-1948-2023.xlsx"), _loader("sipri_milex"), truncated_binary,
                 id="sipri-milex-xlsx-truncated"),
    pytest.param(("acled", "number_of_political_violence_events_by_country-month-year_as-of-24Oct2025_0.xlsx"),
                 _loader("acled", "load_country_month"), truncated_binary, id="acled-month-xlsx-truncated"),
    pytest.param(("fsi", "fsi-2015.xlsx"), _loader("fsi"), empty, id="fsi-xlsx-empty"),
]


@needs_raw
@pytest.mark.parametrize(("key", "loader", "mutate"), XLSX_CASES)
def test_damaged_workbook_is_refused(key, loader, mutate, tmp_path, monkeypatch):
    raw = repin(tmp_path, monkeypatch, key[0], key[1], mutate)
    with pytest.raises(SahelCausalError) as exc:
        loader(raw, DataLog())
    msg = str(exc.value)
    assert key[0] in msg and key[1] in msg, msg
    assert re.search(r"truncated|not a spreadsheet|cannot be opened|empty|encoding", msg), msg
    assert ADVICE.search(msg), msg


# --------------------------------------------------------------------------------------------
# The same through the command line: one line, exit code 1, no traceback, nothing written.


@needs_raw
@pytest.mark.parametrize("mutate", [truncated, empty,
                                    set_cell({"country": "Mali", "year": "2012"}, "ccode", "499", sep="\t")],
                         ids=["truncated", "empty", "unknown-code"])
def test_cli_build_on_malformed_file(mutate, tmp_path, monkeypatch):
    from sahel_causal.cli import app

    raw = repin(tmp_path, monkeypatch, *PT, mutate)
    before = _tree(tmp_path)
    result = CliRunner().invoke(app, ["data", "build", "--raw-dir", str(raw)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "error:" in result.output and "powell_thyne" in result.output
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("command", [["data", "check"], ["data", "build"], ["reproduce"]])
def test_raw_dir_that_does_not_exist_is_an_error(command, tmp_path):
    from sahel_causal.cli import app

    missing = tmp_path / "no-such-folder"
    result = CliRunner().invoke(app, [*command, "--raw-dir", str(missing)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "does not exist" in result.output and "no-such-folder" in result.output
    assert not missing.exists() and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Specification files: parsed as the CLI parses them.

BASE_SPEC = """
[table]
id = "t_bad"
title = "A table"

[sample]
countries = "africa"
years = [2000, 2020]

[[model]]
id = "m"
label = "LPM"
outcome = "coup_attempts"
treatments = ["us_trainees"]
fixed_effects = ["iso3", "year"]

[inference]
vcov = ["CRV1"]
cluster = "iso3"
"""



def _spec_case(cid: str, old: str, new: str, words: str, xfail: str | None = None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(old, new, words, id=cid, marks=marks)


SPEC_CASES = [
    _spec_case("unknown-top-key", "[table]", "[tabel]\nx = 1\n[table]", r"top level.*unknown key"),
    _spec_case("unknown-model-key", 'label = "LPM"', 'label = "LPM"\noutcomes = "x"', r"model #1.*unknown key"),
    _spec_case("unknown-estimator", 'label = "LPM"', 'label = "LPM"\nestimator = "lasso"',
               r"estimator.*unknown estimator"),
    _spec_case("missing-outcome", 'outcome = "coup_attempts"\n', "", r"outcome.*required"),
    _spec_case("missing-treatments", 'treatments = ["us_trainees"]\n', "", r"treatments.*required"),
    _spec_case("treatments-not-names", 'treatments = ["us_trainees"]', "treatments = [1, 2]",
               r"treatments.*list of names"),
    _spec_case("years-reversed", "years = [2000, 2020]", "years = [2020, 2000]", r"years.*first <= last"),
    _spec_case("years-three", "years = [2000, 2020]", "years = [2000, 2010, 2020]", r"years"),
    _spec_case("years-float", "years = [2000, 2020]", "years = [2000.5, 2020]", r"years.*integers"),
    _spec_case("unknown-country-set", 'countries = "africa"', 'countries = "asia"', r"unknown country set"),
    _spec_case("missing-title", 'title = "A table"\n', "", r"table.title.*required"),
    _spec_case("suspension-not-bool", 'years = [2000, 2020]',
               'years = [2000, 2020]\nexclude_suspension_years = "yes"', r"true or false"),
    # The type-strict parser (issue 13 item 3).
    _spec_case("seed-float", "[inference]", "[inference]\nrandomization = { permutations = 99, seed = 1.9 }",
               r"seed"),
    _spec_case("draws-absurd", "[inference]",
               "[inference]\nwild_bootstrap = { draws = 100000000000, weights = ['webb'], seed = 1 }",
               r"draws"),
    _spec_case("cluster-list", 'cluster = "iso3"', 'cluster = ["iso3", "year"]', r"cluster"),
    _spec_case("unknown-iso3", 'countries = "africa"', 'countries = ["MLI", "XXX"]', r"XXX"),
    _spec_case("derive-log1p-string", "[[model]]",
               '[variables.d]\nfrom = "gdp_pc"\nlog1p = "false"\n[[model]]', r"log1p"),
    _spec_case("derive-lag-bool", "[[model]]", '[variables.d]\nfrom = "gdp_pc"\nlag = true\n[[model]]',
               r"lag"),
    _spec_case("derive-scale-bool", "[[model]]",
               '[variables.d]\nfrom = "gdp_pc"\nscale = true\n[[model]]', r"scale"),
    _spec_case("id-path", 'id = "t_bad"', 'id = "../../x"', r"id"),
]


@pytest.mark.parametrize(("old", "new", "words"), SPEC_CASES)
def test_bad_specification_is_refused(old, new, words, tmp_path):
    from sahel_causal.specs.io import load_spec

    text = BASE_SPEC.replace(old, new, 1)
    assert text != BASE_SPEC
    path = tmp_path / "bad_spec.toml"
    path.write_text(text, encoding="utf-8")
    before = _tree(tmp_path)
    with pytest.raises(SahelCausalError) as exc:
        load_spec(path)
    msg = str(exc.value)
    assert "bad_spec.toml" in msg, msg
    assert re.search(words, msg, re.S | re.I), msg
    assert _tree(tmp_path) == before


@pytest.mark.parametrize(("content", "words"), [
    (b"[table\nid = 1", r"not valid TOML"),
    (b"\xff\xfe[\x00t\x00a\x00b\x00", r"not valid TOML|UTF-8|encoding"),
    (b"", r"table.id.*required"),
], ids=["toml-syntax", "toml-utf16", "toml-empty"])
def test_unreadable_specification_via_cli(content, words, tmp_path):
    from sahel_causal.cli import app

    path = tmp_path / "bad_spec.toml"
    path.write_bytes(content)
    before = _tree(tmp_path)
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "bad_spec.toml" in result.output
    assert re.search(words, result.output, re.S), result.output
    assert _tree(tmp_path) == before


# --------------------------------------------------------------------------------------------
# Processed data: provenance and the panels' invariants.


@pytest.fixture()
def processed_copy(tmp_path):
    """A copy of the committed panel and a provenance.json recording it (outside the project)."""
    panel = tmp_path / "panel_country_year.csv"
    shutil.copyfile(paths.PROCESSED_DIR / "panel_country_year.csv", panel)
    prov = json.loads((paths.PROCESSED_DIR / "provenance.json").read_text())
    prov["outputs"] = {panel.name: prov["outputs"]["data/processed/panel_country_year.csv"]}
    (tmp_path / "provenance.json").write_text(json.dumps(prov))
    return panel


@pytest.mark.parametrize(("damage", "words"), [
    (lambda p: (p.parent / "provenance.json").unlink(), r"provenance.json is missing"),
    (lambda p: (p.parent / "provenance.json").write_text("{not json"), r"not valid JSON"),
    (lambda p: (p.parent / "provenance.json").write_text('{"outputs": 3}'), r"no 'outputs' table"),
    (lambda p: (p.parent / "provenance.json").write_text('{"outputs": {}}'), r"records no checksum"),
    (lambda p: p.write_text(p.read_text().replace("MLI,Mali,2012,1,2,1,", "MLI,Mali,2012,1,2,0,", 1)),
     r"changed after it was built"),
    (lambda p: p.write_bytes(p.read_bytes() + b"\n"), r"changed after it was built"),
], ids=["provenance-missing", "provenance-not-json", "provenance-no-outputs", "provenance-no-entry",
        "panel-edited-value", "panel-extra-byte"])
def test_panel_is_refused_without_matching_provenance(damage, words, processed_copy):
    from sahel_causal.pipeline import load_panel

    load_panel(processed_copy, provenance=processed_copy.parent / "provenance.json")  # intact copy loads
    damage(processed_copy)
    with pytest.raises(SahelCausalError) as exc:
        load_panel(processed_copy, provenance=processed_copy.parent / "provenance.json")
    msg = str(exc.value)
    assert re.search(words, msg), msg
    assert "sahel-causal data build" in msg or "git" in msg


def _panel() -> pd.DataFrame:
    from sahel_causal.pipeline import load_panel

    return load_panel()


def _month() -> pd.DataFrame:
    from sahel_causal.pipeline import MONTH_CSV, load_panel

    return load_panel(MONTH_CSV)


def _set(df: pd.DataFrame, iso3: str, year: int, col: str, value) -> pd.DataFrame:
    out = df.copy()
    out.loc[(out["iso3"] == iso3) & (out["year"] == year), col] = value
    return out


CY_CASES = [
    pytest.param(lambda d: _set(d, "MLI", 2012, "coup_attempts", -1), r"coup_attempts: 1 negative", id="negative-count"),
    pytest.param(lambda d: _set(d, "MLI", 2012, "coup_successes", 3), r"coup_successes exceeds coup_attempts",
                 id="successes-exceed-attempts"),
    pytest.param(lambda d: pd.concat([d, d.iloc[[5]]]), r"share an iso3-year key", id="duplicate-key"),
    pytest.param(lambda d: d.drop(index=7), r"state-years of the crosswalk are missing", id="missing-state-year"),
    pytest.param(lambda d: _set(d, "MLI", 2024, "coup_attempts", 0), r"outside the coverage window",
                 id="zero-outside-coverage"),
    pytest.param(lambda d: _set(d, "MLI", 2012, "gtd_fatalities", float("nan")), r"inside the coverage window",
                 id="missing-inside-coverage"),
    pytest.param(lambda d: _set(d, "MLI", 2012, "gtd_incidents", 2.5), r"not whole numbers", id="fractional-count"),
    pytest.param(lambda d: pd.concat([d, d.iloc[[0]].assign(iso3="SSD", year=2005)]),
                 r"not state-years of the crosswalk", id="before-independence"),
]


@pytest.mark.parametrize(("damage", "words"), CY_CASES)
def test_country_year_invariants(damage, words):
    from sahel_causal.data.integrity import country_year_problems

    panel = _panel()
    assert country_year_problems(panel) == []
    problems = country_year_problems(damage(panel))
    assert any(re.search(words, p) for p in problems), problems


@pytest.mark.parametrize(("damage", "words"), [
    pytest.param(lambda d: pd.concat([d, d.iloc[[3]]]), r"share an iso3-year-month key", id="duplicate-key"),
    pytest.param(lambda d: d.assign(month=d["month"].where(d.index != 4, 13)), r"months outside 1-12",
                 id="month-13"),
    pytest.param(lambda d: d.assign(acled_pv_events=d["acled_pv_events"].where(d.index != 4, -2)),
                 r"negative or fractional", id="negative-events"),
    pytest.param(lambda d: d.assign(iso3=d["iso3"].where(d.index != 4, "XXX")), r"not in the crosswalk",
                 id="unknown-iso3"),
])
def test_country_month_invariants(damage, words):
    from sahel_causal.data.integrity import country_month_problems

    month = _month()
    assert country_month_problems(month) == []
    problems = country_month_problems(damage(month))
    assert any(re.search(words, p) for p in problems), problems


def test_data_check_exits_nonzero_on_an_edited_panel(monkeypatch, tmp_path):
    """`data check` reports an output that no longer matches provenance.json, with exit code 1."""
    from sahel_causal import pipeline
    from sahel_causal.cli import app

    processed = tmp_path / "data" / "processed"
    shutil.copytree(paths.PROCESSED_DIR, processed)
    panel = processed / "panel_country_year.csv"
    panel.write_text(panel.read_text().replace("MLI,Mali,2012,1,2,1,", "MLI,Mali,2012,1,2,0,", 1))
    monkeypatch.setattr(pipeline, "PANEL_CSV", panel)
    monkeypatch.setattr(pipeline, "MONTH_CSV", processed / "panel_country_month.csv")
    monkeypatch.setattr(pipeline, "PROVENANCE_JSON", processed / "provenance.json")
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv(paths.RAW_DIR_ENV, raising=False)
    result = CliRunner().invoke(app, ["data", "check", "--raw-dir", str(RAW_ROOT or tmp_path)])
    assert result.exit_code == 1, result.output
    assert "data/processed/panel_country_year.csv differs from the checksum" in result.output
    assert "FAIL" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------------------------
# Hostile text in a specification: printed as text in every LaTeX table (issue 13 item 2).


@pytest.mark.parametrize("hostile", [
    r"\input /etc/hostname", r"\input{/etc/hostname}", r"\immediate\write18{rm -rf ~}", r"}\end{table}\begin{x}",
    r"\catcode`\^^M=13", r"$\alpha$ & 100% #1 _x ^2 ~ | < >", "line one\n\nline two",
], ids=["input", "input-braces", "write18", "close-env", "catcode", "specials", "blank-line"])
def test_hostile_spec_text_prints_as_text(hostile, tmp_path):
    from sahel_causal.report.tables import Table
    from sahel_causal.specs.io import load_spec

    path = tmp_path / "hostile.toml"
    text = BASE_SPEC.replace('title = "A table"', f"title = {json.dumps(hostile)}\nnotes = [{json.dumps(hostile)}]")
    path.write_text(text.replace('label = "LPM"', f"label = {json.dumps(hostile)}"), encoding="utf-8")
    spec = load_spec(path)
    body = pd.DataFrame({"Model": [spec.models[0].label], hostile: ["1.000"]})
    tex = Table(name=spec.id, title=spec.title, body=body, notes=spec.notes).to_latex()
    words = set(re.findall(r"\\([A-Za-z]+)", tex))
    assert not words & {"input", "immediate", "write", "catcode", "alpha"}, tex
    assert tex.count(r"\begin{") == 2 and tex.count(r"\end{") == 2, tex   # only table and tabular
    assert "\n\n" not in tex
