"""Fast PPML leave-one-cluster-out refits (issue 9, speed) against the reference ``ppml`` refits:
the real Table 3 design, a subsample that loses a fixed-effect level to an all-zero outcome, and a
subsample with separation (which must fall back to the reference)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sahel_causal.inference.ppml_fast import ppml_refitter
from sahel_causal.models import ppml


def _reference(outcome, regs, fe):
    calls = []

    def fit(d):
        calls.append(len(d))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ppml(d, outcome, regs, fe=fe, cluster="iso3")
    return fit, calls


def _compare(sample, outcome, regs, fe, clusters):
    ref, calls = _reference(outcome, regs, fe)
    fast = ppml_refitter(sample, outcome, regs, fe, ref)
    n_setup = len(calls)
    worst = 0.0
    for g in clusters:
        d = sample[sample.iso3 != g]
        a = fast(d).coef[regs].to_numpy(float)
        b = ref(d).coef[regs].to_numpy(float)
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-8))))
    return worst, len(calls) - n_setup - len(clusters)  # reference calls made by the fast path


def test_real_table3_refits_match_the_reference():
    from sahel_causal.pipeline import load_panel
    from sahel_causal.specs import load_spec
    from sahel_causal.specs.transform import derive_all, select_sample

    spec = load_spec("analysis/specs/table3_violence.toml")
    m = next(m for m in spec.models if m.id == "ppml_ucdp")
    sample = select_sample(derive_all(load_panel(), spec), m, spec, "iso3").data
    regs = [*m.treatments, *m.controls]
    clusters = sorted(sample.iso3.unique())[::4]  # 14 of 54 countries (the reference takes ~70 ms a refit)
    worst, fallbacks = _compare(sample, m.outcome, regs, tuple(m.fixed_effects), clusters)
    assert fallbacks == 0  # the regular path was used
    assert worst < 1e-8


def _panel(seed=1, G=10, T=8):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(G):
        a = rng.normal()
        for t in range(T):
            x = rng.normal()
            rows.append({"iso3": f"C{g:02d}", "year": 2000 + t, "x": x, "z": rng.normal(),
                         "y": float(rng.poisson(np.exp(0.5 + a + 0.3 * x)))})
    return pd.DataFrame(rows)


def test_a_year_whose_only_positive_outcome_is_left_out_is_dropped_as_in_ppml():
    df = _panel()
    df.loc[df.year == 2003, "y"] = 0.0
    df.loc[(df.year == 2003) & (df.iso3 == "C04"), "y"] = 3.0  # without C04, year 2003 is all zero
    worst, fallbacks = _compare(df, "y", ["x", "z"], ("iso3", "year"), ["C04", "C01"])
    assert fallbacks == 0
    assert worst < 1e-8


def test_separation_in_a_subsample_falls_back_to_the_reference():
    df = _panel(seed=2)
    # d > 0 only in zero-outcome rows once C03 (positive outcomes with d = 1 and d = 0) is left out:
    # separation in that subsample only
    df["d"] = 0.0
    df.loc[df.index[:60:7], "d"] = 1.0
    df.loc[df.d > 0, "y"] = 0.0
    c03 = df.index[df.iso3 == "C03"]
    df.loc[c03, "d"] = np.r_[np.ones(4), np.zeros(4)]  # d varies within C03, with positive outcomes
    df.loc[c03, "y"] = 2.0
    ref, calls = _reference("y", ["x", "d"], ("iso3", "year"))
    fast = ppml_refitter(df, "y", ["x", "d"], ("iso3", "year"), ref)
    before = len(calls)
    sub = df[df.iso3 != "C03"]
    got = fast(sub)
    assert len(calls) == before + 1  # IRLS could not converge: the reference handled the subsample
    want = ref(sub)
    assert got.coef["x"] == pytest.approx(want.coef["x"], rel=1e-10)
    assert any("separated" in r.reason for r in got.dropped)
    # and the regular subsamples still take the fast path
    before = len(calls)
    fast(df[df.iso3 != "C05"])
    assert len(calls) == before


def test_identified_rows_equal_drop_unidentified():
    """The integer-code sample rule equals models.ppml.drop_unidentified on random sparse panels with
    chains of drops (a zero-outcome level creates a singleton, which empties another level...)."""
    from sahel_causal.inference.ppml_fast import _identified_rows
    from sahel_causal.models.ppml import drop_unidentified

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(5, 40))
        df = pd.DataFrame({"a": rng.integers(0, 6, n), "b": rng.integers(0, 5, n),
                           "y": rng.poisson(0.4, n).astype(float)})
        want, _ = drop_unidentified(df, "y", ("a", "b"))
        keep = _identified_rows([pd.factorize(df[f].to_numpy())[0] for f in ("a", "b")], df["y"].to_numpy())
        assert list(df.index[keep]) == list(want.index)
