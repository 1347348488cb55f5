"""The README summary's bullets for Tables 5-6, the multiverse and the calibration (report/summary.py).

Small frames with the real column names of the result CSVs: each test changes a number and checks
that the sentence (size, sign, verdict) follows it, so a typed-in number or verdict would fail.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from sahel_causal.report import summary as S

OUTCOMES = ("coup_any", "coup_success_any", "log_ucdp_orgviol", "log_acled_fatalities")


def _partnership(est: float = 0.08, ri_p: float = 0.5, alt: float = -0.02) -> pd.DataFrame:
    """table5_partnership.csv rows: ATT by estimator and method for every outcome."""
    rows = []
    for o in OUTCOMES:
        for column, estimator, methods in (("cs", "cs_dr", ("analytic", "bootstrap", "ri")), ("twfe", "twfe", ("crv1", "ri")),
                                           ("imputation", "imputation", ("gmm_cluster", "ri")),
                                           ("dcdh", "dcdh", ("cluster_bootstrap",)),
                                           ("cs_alt", "cs_dr", ("analytic", "ri"))):
            b = alt if column == "cs_alt" else est
            for m in methods:
                rows.append({"outcome": o, "column": column, "estimator": estimator, "term": "ATT", "method": m,
                             "estimate": b, "std_error": None if m == "ri" else 0.01,
                             "p_value": ri_p if m == "ri" else 0.001,
                             "ci_low": None if m == "ri" else b - 0.02, "ci_high": None if m == "ri" else b + 0.02,
                             "n_treated_units": 11, "n_control_units": 43, "n_obs": 1812})
            rows.append({"outcome": o, "column": "cs", "estimator": "cs_dr", "term": "e=1", "method": "analytic",
                         "estimate": 9.0, "std_error": 1.0, "p_value": 0.5, "ci_low": 7.0, "ci_high": 11.0,
                         "n_treated_units": 11, "n_control_units": 43, "n_obs": 1812})
    return pd.DataFrame(rows)


def test_partnership_bullet_follows_the_estimates_and_the_ri_verdict():
    pos = S.partnership_lines({"table5_partnership": _partnership(0.0813, ri_p=0.01)})[0]
    assert "the 11 PSI/TSCTP partner countries" in pos and "the 43 never-partnered" in pos
    assert "coup attempts +8.1 percentage points a year" in pos and "detectable with every estimator" in pos
    assert "RI p = 0.01 (CS), 0.01 (two-way FE), 0.01 (imputation)" in pos
    assert "all 4 estimators' 95% CIs exclude a decrease" in pos
    assert "fragile: coding the first PSI partners" in pos
    assert "reverses the CS coup-attempt effect from +8.1 points to -2.0 points" in pos
    neg = S.partnership_lines({"table5_partnership": _partnership(-0.046, ri_p=0.3)})[0]
    assert "coup attempts -4.6 percentage points a year" in neg and "not detectable" in neg and "detectable with" not in neg
    assert "all 4 estimators' 95% CIs exclude an increase" in neg
    assert "changes the CS coup-attempt effect from -4.6 points to -2.0 points" in neg  # same sign: no reversal
    assert "fragile" in neg  # but moved by more than half
    same = S.partnership_lines({"table5_partnership": _partnership(-0.025, ri_p=0.3)})[0]
    assert "does not hinge on the entry coding" in same and "fragile" not in same
    # log outcomes in log points with the percentage change
    assert "UCDP organized-violence deaths -0.05 log points (-4%)" in neg


def test_partnership_verdict_names_the_estimators_that_reject():
    t = _partnership(1.5, ri_p=0.3)
    t.loc[(t["column"] == "cs") & (t["method"] == "ri") & (t["outcome"] == "log_ucdp_orgviol"), "p_value"] = 0.004
    text = S.partnership_lines({"table5_partnership": t})[0]
    assert "RI p = 0.004 (CS), 0.30 (two-way FE), 0.30 (imputation), detectable with CS only" in text
    # an estimator's interval straddling zero is counted
    t.loc[(t["column"] == "twfe") & (t["method"] == "crv1"), "ci_low"] = -0.5
    assert "span -0.50 to +1.52 log points and 3 of them exclude zero" in S.partnership_lines({"table5_partnership": t})[0]


def _honest(lbs: list[float]) -> pd.DataFrame:
    rows = [{"outcome": "log_acled_fatalities", "label": "ACLED fatalities (log)", "pre": 5, "post": 5, "kind": "original",
             "bound": float("nan"), "lb": 0.2, "ub": 1.8}]
    rows += [{"outcome": "log_acled_fatalities", "label": "ACLED fatalities (log)", "pre": 5, "post": 5,
              "kind": "relative_magnitudes", "bound": m, "lb": lb, "ub": 2.0} for m, lb in zip((0.0, 0.5, 1.0), lbs)]
    return pd.DataFrame(rows)


def test_honest_sentence_reports_the_breakdown_value():
    t = {"table5_partnership": _partnership(), "table5_honest_sensitivity_data": _honest([0.3, 0.1, -0.4])}
    text = S.partnership_lines(t)[0]
    assert "mean effect of years 0-4" in text
    assert "excludes zero only up to Mbar = 0.5 (+0.10 to +2.00 log points), not at Mbar = 1" in text
    t["table5_honest_sensitivity_data"] = _honest([-0.1, -0.2, -0.4])
    assert "the robust set includes zero for every Mbar from 0 to 1" in S.partnership_lines(t)[0]
    t["table5_honest_sensitivity_data"] = _honest([0.3, 0.2, 0.1])
    assert "excludes zero for every Mbar up to 1" in S.partnership_lines(t)[0]


def test_diagnostics_sentence_follows_the_weights():
    d = pd.DataFrame({"outcome": ["Coup attempt", "UCDP"], "w_treated_vs_never": [0.958, 0.936],
                      "w_later_vs_earlier": [0.02, 0.046], "dcdh_cells": [209, 220], "dcdh_negative": [0, 0]})
    text = S.partnership_lines({"table5_partnership": _partnership(), "table5_diagnostics": d})[0]
    assert "94-96% of its weight" in text and "no treated country-year gets a negative weight" in text
    assert "staggered timing is not what separates" in text
    d["dcdh_negative"] = [3, 0]
    text = S.partnership_lines({"table5_partnership": _partnership(), "table5_diagnostics": d})[0]
    assert "up to 3 of the 209-220 treated country-years" in text and "staggered timing can bias it" in text


def _coup_events(train: float, p: float, pretrend: float) -> pd.DataFrame:
    rows = []
    for model, b in (("asinh_training_k", train), ("asinh_mil_aid_k", train), ("asinh_aid_total_k", 0.16),
                     ("log_ucdp_orgviol", 0.18), ("log_acled_fatalities", 0.43)):
        for term, x in (("e=-2", 0.0), ("e=0", b), ("e=1", b), ("e=3", b), ("ATT", b)):
            rows.append({"term": term, "estimate": x, "std_error": 0.5, "p_value": p if term == "ATT" else 0.5,
                         "ci_low": x - 1, "ci_high": x + 1, "method": "crv1", "model": f"{model}::stacked",
                         "estimator": "stacked", "outcome": model, "n_events": 20, "n_event_countries": 15,
                         "pretrend_p": pretrend})
    return pd.DataFrame(rows)


def test_coup_events_bullet_reads_the_section_7008_cut_from_the_numbers():
    cut = S.coup_event_lines({"table5_coup_events": _coup_events(-1.601, 0.002, 0.44)})[0]
    assert "20 successful coups in 15 countries" in cut
    assert "training falls by 80% on average over the coup year and the 3 years after (-1.60 asinh points, p = 0.002" in cut
    assert "Section 7008 restriction (and its policy equivalents) biting" in cut
    assert "No assistance series moves before the coups (lead tests p = 0.44)" in cut
    rise = S.coup_event_lines({"table5_coup_events": _coup_events(0.5, 0.2, 0.44)})[0]
    assert "training rises by 65%" in rise and "does not show as a clean post-coup cut" in rise
    lead = S.coup_event_lines({"table5_coup_events": _coup_events(-1.6, 0.002, 0.01)})[0]
    assert "already moves before some coups" in lead and "biting" not in lead


def _actors(pretrend: float) -> pd.DataFrame:
    rows = []
    for actor, b in (("actor_un", -2.502), ("actor_g5_jf", 1.897)):
        for outcome in ("log_ucdp_orgviol", "log_acled_fatalities"):
            for m, p in (("analytic", 0.001), ("ri", 0.007)):
                rows.append({"term": "ATT", "estimate": b, "std_error": 0.8, "p_value": p, "ci_low": b - 1,
                             "ci_high": b + 1, "method": m, "model": f"{outcome}::{actor}", "estimator": "cs_dr",
                             "outcome": outcome, "n_treated_units": 5, "pretrend_p": pretrend})
    return pd.DataFrame(rows)


def test_external_actor_bullet_counts_pre_trend_failures():
    fail = S.external_actor_lines({"table5_external_actors": _actors(0.0003)})[0]
    assert "reject parallel trends (p < 0.05) in 4 of 4 actor-outcome pairs" in fail
    assert "UN peacekeeping -2.5/-2.5 (UCDP/ACLED; RI p = 0.007/0.007; pre-trend p = <0.001/<0.001)" in fail
    ok = S.external_actor_lines({"table5_external_actors": _actors(0.39)})[0]
    assert "in 0 of 4 actor-outcome pairs" in ok and "pre-trend p = 0.39/0.39" in ok


def _withdrawals(p_exit: float, comp: float) -> pd.DataFrame:
    rows = []
    for term, label, role, b in (("fra_mli_exit", "France leaves Mali", "main", 0.417),
                                 ("fra_tcd_exit", "France leaves Chad", "main", -0.056),
                                 ("russia_mli", "Wagner arrives in Mali", "competing", comp)):
        for m, scale in (("synthdid", 1.0), ("sc", 0.5), ("did", 1.2)):
            rows.append({"term": term, "label": label, "role": role, "outcome": "acled_pv_events", "frequency": "month",
                         "method": m, "estimate": b * scale, "std_error": 0.49,
                         "p_value": p_exit if term == "fra_mli_exit" else 0.47, "n_donors": 36})
    rows.append({"term": "fra_mli_fat", "label": "France leaves Mali", "role": "main", "outcome": "acled_fatalities",
                 "frequency": "year", "method": "synthdid", "estimate": 0.12, "std_error": 0.8, "p_value": 0.97,
                 "n_donors": 35})
    return pd.DataFrame(rows)


def test_withdrawal_bullet_follows_placebo_p_values_and_competing_events():
    none = S.withdrawal_lines({"table6_withdrawals": _withdrawals(0.081, 0.36)})[0]
    assert "France leaves Mali +0.42 (p = 0.08; SC +0.21, p = 0.08)" in none
    assert "None of the 2 exits stands out" in none and "smallest attainable p is 0.027" in none
    assert "do not show that the exits changed violence" in none
    assert "placebo-SE 95% interval of -0.54 to +1.38 log points: a fall of more than 42% is ruled out" in none
    assert "SDID +0.12 to +0.12 log points (p = 0.97)" in none
    assert "the same range as the exits" in none
    one = S.withdrawal_lines({"table6_withdrawals": _withdrawals(0.027, -0.9)})[0]
    assert "1 of the 2 exits stand out from the placebos at the 5% level with SDID and 1 with SC" in one
    assert "do not show" not in one and "outside the range of the exit estimates" in one


def _multiverse(p_share: float, p_med: float, pos: str = "8.6%", neg: str = "7.9%") -> dict[str, pd.DataFrame]:
    summ = pd.DataFrame({"statistic": ["Estimated (full rank, >= 2 clusters)", "Share significant positive (5%, CRV1)",
                                       "Share significant negative (5%, CRV1)"],
                         "Coups": ["16,200", pos, neg], "Political violence": ["100", "1.0%", "2.0%"]})
    jt = pd.DataFrame({"multiverse": ["multiverse_coups"] * 3,
                       "statistic": ["share_significant_dominant", "abs_median_std_estimate", "abs_mean_t"],
                       "observed": [0.1, 0.01, 0.2], "null_median": 0.0, "null_q95": 0.1,
                       "p_value": [p_share, p_med, 0.6], "draws": 1999, "seed": 1})
    var = pd.DataFrame({"multiverse": "multiverse_coups", "dimension": ["fixed_effects", "scaling"],
                        "options": 3, "eta_squared": [0.11, 0.17], "unique_share": 0.1,
                        "lowest_option": ["year", "per_capita"], "lowest_mean": [-0.005, -0.0016],
                        "highest_option": ["country+year", "log1p_millions"], "highest_mean": [0.035, 0.054],
                        "r2_all_main_effects": 0.4})
    rw = pd.DataFrame({"multiverse": "multiverse_coups", "outcome": ["a", "b"], "p_value_romano_wolf": [0.66, 0.25]})
    return {"multiverse_joint_test": jt, "multiverse_summary": summ, "multiverse_variance": var,
            "multiverse_romano_wolf": rw}


def test_multiverse_bullet_verdict_and_dimension_follow_the_tables():
    chance = S.multiverse_lines(_multiverse(0.122, 0.348, pos="2.6%", neg="3.8%"))[0]
    assert "of 16,200 specifications, 2.6% give a significantly positive and 3.8% a significantly negative" in chance
    assert "p = 0.12 for the share significant in the negative direction and p = 0.35" in chance
    assert "neither exceeds what chance produces" in chance
    assert "Romano-Wolf adjusted p-values of the headline specifications 0.25-0.66" in chance
    assert "the treatment scaling moves the estimate most (eta-squared 0.17" in chance
    assert "then the fixed effects (0.11)" in chance
    assert "Political violence" not in chance  # no joint test rows for it
    share = S.multiverse_lines(_multiverse(0.0375, 0.583))[0]
    assert "in the positive direction" in share and "more significant results than chance produces, but not" in share
    both = S.multiverse_lines(_multiverse(0.0005, 0.002))[0]
    assert "p = <0.001 for the share" in both and "both exceed what chance produces" in both


def test_calibration_sentence_lists_the_methods_outside_the_band():
    cal = pd.DataFrame({"label": ["Sahel/TSCTP partners LPM (11 clusters)"] * 2 + ["Africa-wide LPM (54 clusters)"],
                        "method": ["crv1", "ri", "crv3"], "size": [0.121, 0.047, 0.019]})
    text = S.calibration_sentence(cal)
    assert "over-reject -- Sahel/TSCTP partners LPM (11 clusters): CRV1 12.1%" in text
    assert "too conservative -- Africa-wide LPM (54 clusters): CRV3 1.9%" in text and "RI" not in text
    cal["size"] = [0.05, 0.047, 0.04]
    assert "every method's size lies in [3%, 7%]" in S.calibration_sentence(cal)


def test_absent_tables_leave_their_bullets_out():
    assert S.partnership_lines({}) == [] and S.coup_event_lines({}) == [] and S.external_actor_lines({}) == []
    assert S.withdrawal_lines({}) == [] and S.multiverse_lines({}) == [] and S.calibration_sentence(None) == ""
    # the HonestDiD and diagnostics sentences are optional parts of the Table 5 bullet
    assert "HonestDiD" not in S.partnership_lines({"table5_partnership": _partnership()})[0]


def test_read_summary_tables_takes_design_tables_from_this_run_only(tmp_path):
    from sahel_causal.paths import RESULTS_DIR
    from sahel_causal.tasks.published import read_summary_tables

    src = RESULTS_DIR / "tables"
    if not all((src / f"{k}.csv").is_file() for k in S.SUMMARY_TABLES + ("table6_withdrawals",)):
        pytest.skip("results/tables lacks the committed Tables 2-4 and 6 (run `sahel-causal reproduce`)")
    (tmp_path / "tables").mkdir()
    for k in S.SUMMARY_TABLES:
        shutil.copy(src / f"{k}.csv", tmp_path / "tables" / f"{k}.csv")
    got = read_summary_tables(tmp_path)
    assert not set(S.DESIGN_TABLES + S.FIGURE_DATA) & set(got)  # a partial run: no stale published numbers
    shutil.copy(src / "table6_withdrawals.csv", tmp_path / "tables" / "table6_withdrawals.csv")
    assert "table6_withdrawals" in read_summary_tables(tmp_path)


def test_summary_task_runs_after_the_design_tasks():
    from sahel_causal.tasks.graph import order
    from sahel_causal.tasks.published import TASKS

    summ = next(t for t in TASKS if t.name == "summary")
    assert {"table5", "table6", "multiverse", "inference_extras"} <= set(summ.deps)
    names = [t.name for t in order(TASKS)]
    assert all(names.index(d) < names.index("summary") for d in ("table5", "table6", "multiverse"))


def test_honest_figure_data_rows_have_unique_keys_and_feed_the_sentence():
    from sahel_causal.report.numbers import key_columns
    from sahel_causal.tasks.table5 import honest_data

    h = {"pre": 5, "post": 5, "m_multiples_of_se": [0.0, 0.5]}
    rm = pd.DataFrame({"lb": [0.24, -0.19], "ub": [1.82, 2.47], "method": "C-LF", "Delta": "DeltaRM", "Mbar": [0.0, 0.25]})
    sd = pd.DataFrame({"lb": [-0.05, -1.3], "ub": [2.45, 5.1], "method": "FLCI", "Delta": "DeltaSD", "M": [0.0, 0.4]})
    d = honest_data([("log_acled_fatalities", "ACLED fatalities (log)", rm, sd, (0.23, 1.83))], h)
    assert key_columns(d) == ("model", "term") and len(d) == 5
    assert d.loc[d["kind"] == "smoothness", "bound"].tolist() == [0.0, 0.5]  # multiples of the SE, not M itself
    text = S.partnership_lines({"table5_partnership": _partnership(), "table5_honest_sensitivity_data": d})[0]
    assert "pointwise 95% CI +0.23 to +1.83 log points" in text
    assert "excludes zero only up to Mbar = 0 (+0.24 to +1.82 log points), not at Mbar = 0.25" in text
    assert "under smoothness the robust set includes zero for every M from 0 to 0.5" in text


def test_firth_p_value_carries_its_calibrated_size():
    """The Firth logit's CRV1 p-value rests on a test whose calibrated size is far from 5%: the summary
    says so, with the size taken from the calibration table (and nothing without one)."""
    import pandas as pd

    from sahel_causal.report.summary import _size_caveat

    cal = pd.DataFrame({"design": ["firth", "africa_lpm"], "method": ["crv1", "crv1"], "size": [0.425, 0.045]})
    assert "42.5%" in _size_caveat(cal, "firth", "crv1") and "not informative" in _size_caveat(cal, "firth", "crv1")
    assert _size_caveat(cal, "africa_lpm", "crv1") == "" and _size_caveat(None, "firth", "crv1") == ""
