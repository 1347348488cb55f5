"""Journal layout of Tables 1-4: models in columns, SE below, fixed notation, panels, notes."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from sahel_causal.report.labels import derive_label, spec_labels
from sahel_causal.report.results_table import (
    MAX_COLUMNS, JournalTable, ModelMeta, build_panels, decimals_for, fmt_fixed, fmt_p, wrap)
from sahel_causal.report.table1 import make_table1, summary_statistics
from sahel_causal.specs.schema import Derive


def _tidy(n_models: int) -> tuple[pd.DataFrame, list[ModelMeta]]:
    rows, meta = [], []
    for i in range(n_models):
        mid = f"m{i}"
        meta.append(ModelMeta(id=mid, label=f"Model number {i}", outcome="coup_any",
                              estimator="ols" if i % 2 == 0 else "firth"))
        rows.append({"model": mid, "term": "train_pc_l1", "estimate": 0.01 * (i + 1) - 0.02,
                     "std_error": 0.005, "p_value": 0.04, "p_crv3": 0.05, "p_wild_rademacher": 0.06,
                     "p_wild_webb": 0.07, "p_ri": math.nan if i % 2 else 0.08, "effect_1sd": 0.001,
                     "within_sd": 0.1, "margin": 0.002 if i % 2 else math.nan, "nobs": 1096 + i,
                     "n_countries": 54, "fixed_effects": "iso3+year" if i else "", "controls": "gdp",
                     "outcome_mean": 0.0374})
    rows.append({"model": "m0", "term": "tiny", "estimate": -8.1e-06, "std_error": 8.9e-05, "p_value": 0.9})
    return pd.DataFrame(rows), meta


def test_fixed_notation_never_uses_exponents() -> None:
    for x in (-8.105860761e-06, 1.234e-9, 123456.7, 0.5, -0.0004):
        text = fmt_fixed(x, decimals_for(x))
        assert "e" not in text.lower()
        assert float(text.replace(",", "")) == pytest.approx(x, rel=0.06)  # two significant digits kept
    assert fmt_fixed(-0.00001, 3) == "0.000"  # no negative zero
    assert fmt_p(0.0004) == "<0.001" and fmt_p(0.0123) == "0.012" and fmt_p(math.nan) == "--"


def test_models_in_columns_with_se_below_and_panels() -> None:
    tidy, meta = _tidy(13)
    labels = {"train_pc_l1": "U.S. training per capita, t-1", "coup_any": "Any coup attempt"}
    panels = build_panels(tidy, meta, labels)
    assert len(panels) == math.ceil(13 / MAX_COLUMNS)
    assert all(len(p.columns) <= MAX_COLUMNS for p in panels)
    assert [c[0] for p in panels for c in p.columns] == [f"({i})" for i in range(1, 14)]
    first = panels[0]
    stubs = [r[1] for r in first.rows]
    k = stubs.index("U.S. training per capita, t-1")
    assert first.rows[k][2][0] == "-0.0100" and first.rows[k + 1][2][0] == "(0.0050)"
    tiny = stubs.index("tiny")
    assert first.rows[tiny][2][0] == "-0.0000081" and first.rows[tiny][2][1] == ""
    p_rows = {r[1]: r[2] for r in first.rows if r[0].startswith("p-values")}
    assert p_rows["Jackknife (CRV3)"][0] == "0.050" and p_rows["Randomization inference"][1] == "--"
    sample = {r[1]: r[2] for r in first.rows}
    assert sample["Observations"][0] == "1,096" and sample["Country fixed effects"][:2] == ("No", "Yes")
    assert sample["Effect on the probability"][:2] == ("--", "0.0020")


def test_latex_and_markdown_render_deterministically() -> None:
    tidy, meta = _tidy(8)
    panels = tuple(build_panels(tidy, meta, {"coup_any": "Any coup attempt"}))
    t = JournalTable(name="t", title="Table 9. A & B", panels=panels, notes=("Note with 50% & $.",), raw=tidy)
    tex = t.to_latex()
    assert tex == t.to_latex()
    assert tex.count(r"\begin{table}") == len(panels) and "(continued)" in tex
    assert r"\caption*{Table 9. A \& B}" in tex and r"50\% \& \$." in tex
    assert not re.search(r"\d[eE][-+]\d", tex)
    assert "|" not in re.search(r"\\begin\{tabular\*\}\{\\linewidth\}\{([^\n]*)\}", tex).group(1)
    assert r"\makecell{(1)\\Model\\number 0}" in tex
    assert "$-$0.0100" in tex  # typographic minus
    md = t.to_markdown()
    assert "| (1) Model number 0 |" in md.replace(" | (2)", " |") or "(1) Model number 0" in md
    assert "@@" not in md and "@@" not in tex
    assert t.to_csv().splitlines()[0].startswith("model,term,estimate")


def test_wrap_breaks_at_spaces() -> None:
    assert wrap("LPM, no 7008 years", 10) == "LPM, no@@7008 years"
    assert wrap("short", 10) == "short"


def test_labels_from_derive_definitions() -> None:
    ds = [Derive(name="train_pc_l1", op="ratio", args=("us_training_cost_usd", "population"), lag=1),
          Derive(name="log_train_l1", op="from", args=("us_training_cost_usd",), scale=1e-6, log1p=True, lag=1),
          Derive(name="sec", op="share_of", args=("us_military_aid_usd", "us_aid_total_usd")),
          Derive(name="x", op="interact", args=("train_pc_l1", "sahel_g5")),
          Derive(name="lead", op="ratio", args=("us_trainees", "milper"), scale=1000, lead=1)]
    lab = spec_labels(ds)
    assert lab["train_pc_l1"] == "U.S. training per capita, t-1"
    assert lab["log_train_l1"] == "log(1 + U.S. training (US$ m)), t-1"
    assert lab["sec"] == "U.S. military aid / U.S. aid"
    assert lab["x"] == "U.S. training per capita, t-1 \u00d7 Sahel G5"
    assert lab["lead"] == "U.S. trainees per 1,000 military, t+1"
    assert derive_label(Derive(name="q", op="from", args=("unknown_col",)), {}) == "unknown_col"


def test_table1_statistics_and_estimation_sample() -> None:
    rng = np.random.default_rng(5)
    panel = pd.DataFrame({"iso3": np.repeat(["AAA", "BBB", "CCC"], 10), "year": np.tile(range(2000, 2010), 3),
                          "coup_attempts": rng.integers(0, 3, 30).astype(float),
                          "acled_fatalities": rng.exponential(100, 30)})
    panel.loc[3, "acled_fatalities"] = np.nan
    sample = panel.loc[panel["iso3"] != "CCC", ["iso3", "year"]]
    st = summary_statistics(panel, sample)
    full = st[(st["sample"].str.startswith("Panel A")) & (st["variable"] == "acled_fatalities")].iloc[0]
    v = panel["acled_fatalities"].dropna()
    assert full["median"] == pytest.approx(v.median()) and full["n"] == 29 and full["mean"] == pytest.approx(v.mean())
    sub = st[(st["sample"].str.startswith("Panel B")) & (st["variable"] == "coup_attempts")].iloc[0]
    assert sub["n"] == 20 and sub["n_countries"] == 2
    assert sub["median"] == pytest.approx(panel.loc[panel["iso3"] != "CCC", "coup_attempts"].median())
    t = make_table1(panel, {"panel": "x"}, sample=sample, sample_label="test model")
    tex = t.to_latex()
    assert "Panel B. Estimation sample of test model: 20 country-years, 2 states" in tex
    assert "Median" in tex and tex == make_table1(panel, {"panel": "x"}, sample, "test model").to_latex()
