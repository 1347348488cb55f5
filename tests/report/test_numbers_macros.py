"""results/numbers.tex: one macro per number, formatted like the tables, keys traceable to CSV cells."""
from __future__ import annotations

import math

import pandas as pd

from sahel_causal.report.numbers import defined_keys, format_number, key_columns, numbers_from_csv, numbers_tex


def _tidy() -> pd.DataFrame:
    return pd.DataFrame({"model": ["lpm", "lpm"], "term": ["train_pc_l1", "train_pc_f1"],
                         "estimate": [0.01520854053, -0.019], "p_value": [0.3811863125, 0.0001],
                         "p_ri": [0.4788, math.nan], "nobs": [1096, 1096], "outcome_mean": [0.03740875912] * 2,
                         "controls": ["a+b", "a+b"]})


def test_keys_and_values_follow_the_table_formatting() -> None:
    nums = numbers_from_csv("table2_coups", _tidy())
    assert nums["table2_coups/lpm/train_pc_l1/estimate"] == "0.015"
    assert nums["table2_coups/lpm/train_pc_l1/p_value"] == "0.381"
    assert nums["table2_coups/lpm/train_pc_f1/p_value"] == "<0.001"
    assert nums["table2_coups/lpm/train_pc_l1/nobs"] == "1,096"
    assert nums["table2_coups/lpm/train_pc_l1/outcome_mean_pct"] == "3.74"
    assert nums["table2_coups/lpm/train_pc_f1/p_ri"] == "--"
    assert not any(k.endswith("/controls") for k in nums)  # text columns are keys or skipped, never numbers


def test_tex_file_defines_every_key_once_with_minus_signs() -> None:
    tex = numbers_tex({"table2_coups": _tidy()})
    keys = defined_keys(tex)
    assert "table2_coups/lpm/train_pc_f1/estimate" in keys and "meta/alpha" in keys
    assert r"\csname sc@table2_coups/lpm/train_pc_f1/estimate\endcsname{$-$0.019}" in tex
    assert r"{\textless{}0.001}" in tex
    assert tex == numbers_tex({"table2_coups": _tidy()})
    assert len(keys) == sum(1 for ln in tex.splitlines() if ln.startswith(r"\expandafter"))
    assert "e-0" not in tex


def test_generic_csv_keys_and_fixed_notation() -> None:
    df = pd.DataFrame({"sample": ["Panel A: full panel"], "variable": ["acled_fatalities"], "median": [20.0],
                       "sd": [3198.3], "tiny": [3.2e-07]})
    assert key_columns(df) == ("sample", "variable")
    nums = numbers_from_csv("table1_summary", df)
    assert nums["table1_summary/panel_a_full_panel/acled_fatalities/median"] == "20.00"
    assert nums["table1_summary/panel_a_full_panel/acled_fatalities/sd"] == "3,198"
    assert nums["table1_summary/panel_a_full_panel/acled_fatalities/tiny"] == "0.00000032"
    assert format_number("n", 54.0) == "54"


def test_verdict_rule_and_panel_facts() -> None:
    from sahel_causal.report.numbers import panel_numbers, verdict, verdicts_from_csv

    assert verdict(0.01, math.nan) == "a detectable association"
    assert verdict(0.01, 0.2) == "no detectable association" and verdict(0.3, 0.01) == "no detectable association"
    df = _tidy().assign(p_wild_webb=[0.02, 0.5])
    v = verdicts_from_csv("table2_coups", df)
    assert v["table2_coups/lpm/train_pc_l1/verdict"] == "no detectable association"  # p_ri 0.48
    assert v["table2_coups/lpm/train_pc_f1/verdict"] == "no detectable association"
    panel = pd.DataFrame({"iso3": ["A", "A", "B"], "year": [1990, 1991, 1990]})
    assert panel_numbers(panel) == {"panel/n_rows": "3", "panel/n_states": "2", "panel/first_year": "1990",
                                    "panel/last_year": "1991"}


def test_text_key_columns_read_by_pandas_are_found_and_minimal() -> None:
    """pandas >= 3 reads text as the ``str`` dtype, not ``object``: every row of a generic CSV must still
    get its own key (a regression collapsed all rows of calibration.csv into one key, the last row's)."""
    import io

    csv = ("design,label,method,size,in_band\n"
           "africa,Africa-wide LPM,crv1,0.044,True\n"
           "africa,Africa-wide LPM,wild,0.03,True\n"
           "sahel,Sahel partners,crv1,0.121,False\n")
    df = pd.read_csv(io.StringIO(csv))
    assert key_columns(df) == ("design", "method")
    nums = numbers_from_csv("calibration", df)
    assert nums["calibration/africa/crv1/size"] == "0.044"
    assert nums["calibration/sahel/crv1/size"] == "0.12"
    assert "calibration/size" not in nums


def test_text_only_tables_and_leave_one_out_extremes() -> None:
    from sahel_causal.report.numbers import loo_extremes

    summ = pd.DataFrame({"statistic": ["Share with positive estimate", "Leave one country out: range"],
                         "Coups": ["59.7%", "0.0026 (without GAB) to 0.025 (without MRT)"]})
    nums = numbers_from_csv("multiverse_summary", summ)
    assert nums["multiverse_summary/share_with_positive_estimate/coups"] == r"59.7\%"
    assert nums["multiverse_summary/leave_one_country_out_range/coups"].endswith("(without MRT)")
    loo = pd.DataFrame({"model": ["lpm"] * 3, "country_left_out": ["AGO", "GAB", "MRT"],
                        "effect_1sd_without": [0.004, 0.001, 0.007]})
    ext = loo_extremes("influence_loo", loo)
    assert ext["influence_loo/lpm/min/unit"] == "GAB" and ext["influence_loo/lpm/max/unit"] == "MRT"
    assert ext["influence_loo/lpm/min/effect_1sd_without_pct"] == "0.10"
    tex = numbers_tex({"multiverse_summary": summ, "influence_loo": loo})
    assert r"{59.7\%}" in tex and "influence_loo/lpm/max/effect_1sd_without" in defined_keys(tex)
