"""The shared-work engine against the package's own estimator (fe_ols) and independent computations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahel_causal.models.fe_ols import fe_ols
from sahel_causal.multiverse import analysis as A
from sahel_causal.multiverse.engine import design, fit_chunk, plan, within
from sahel_causal.multiverse.grid import expand
from sahel_causal.multiverse.prepare import prepare
from sahel_causal.paths import ANALYSIS_DIR
from sahel_causal.specs.designs.multiverse import load

TOL = 1e-10
MULTIVERSES = sorted((ANALYSIS_DIR / "multiverse").glob("*.toml"))


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def _engine_on(grid_subset, prep):
    chunks = plan(grid_subset, prep, chunk_groups=16)
    return pd.concat([fit_chunk(prep, c).tidy for c in chunks], ignore_index=True)


def _check_against_fe_ols(grid, prep, tidy, indices):
    frame = prep.frame()
    checked = 0
    for i in indices:
        r = grid.loc[grid["spec_index"] == i].iloc[0]
        ctrl = [c for c in r.c_cols.split(",") if c]
        fe = [f for f in r.fe_cols.split("+") if f]
        mine = tidy[tidy["spec_index"] == i].set_index("term")
        if mine["status"].iloc[0] != "ok":
            continue
        ref = fe_ols(frame[prep.masks[r.sample_key]], r.y_col, [r.x_col, *ctrl], fe=fe, cluster="iso3", vcov="CRV1")
        assert ref.nobs == mine["nobs"].iloc[0]
        for name in [r.x_col, *ctrl]:
            term = name.split(":", 1)[1]
            assert _rel(mine.loc[term, "estimate"], ref.coef[name]) < TOL, (i, term)
            assert _rel(mine.loc[term, "std_error"], ref.std_errors[name]) < TOL, (i, term)
        p_ref = ref.tidy().set_index("term").loc[r.x_col, "p_value"]
        assert _rel(mine.loc[r.x_col.split(":", 1)[1], "p_value"], p_ref) < 1e-8
        checked += 1
    return checked


@pytest.mark.parametrize("path", MULTIVERSES, ids=lambda p: p.stem)
def test_random_specifications_match_fe_ols(path, panel):
    """60 random specifications per committed multiverse: coefficients and CRV1 SEs to 1e-10 (relative)."""
    spec = load(path).spec
    grid = expand(spec)
    prep = prepare(spec, panel)
    rng = np.random.default_rng(20261129)
    idx = np.sort(rng.choice(len(grid), 60, replace=False))
    tidy = _engine_on(grid[grid["spec_index"].isin(idx)], prep)
    assert _check_against_fe_ols(grid, prep, tidy, idx) >= 55


def test_every_fixed_effect_structure_matches_fe_ols(panel, small_spec):
    """Two-way, country, year and no fixed effects (intercept), with controls, on the unbalanced panel."""
    grid = expand(small_spec)
    prep = prepare(small_spec, panel)
    picks = []
    for fe, g in grid.groupby("fixed_effects"):
        picks += list(g["spec_index"].iloc[[0, len(g) // 2, len(g) - 1]])
    tidy = _engine_on(grid[grid["spec_index"].isin(picks)], prep)
    assert _check_against_fe_ols(grid, prep, tidy, picks) == len(picks)


@pytest.mark.parametrize("multiverse,table,model_id", [("coups", "table2_coups", "lpm"),
                                                        ("violence", "table3_violence", "ols_log_ucdp")])
def test_headline_reproduces_the_tables(panel, multiverse, table, model_id):
    """The headline specification is the tables' linear model, built through the table-spec machinery."""
    from sahel_causal.specs import load_spec
    from sahel_causal.specs.transform import derive_all, select_sample

    ts = load_spec(ANALYSIS_DIR / "specs" / f"{table}.toml")
    model = next(m for m in ts.models if m.id == model_id)
    data = select_sample(derive_all(panel, ts), model, ts, "iso3").data
    ref = fe_ols(data, model.outcome, [*model.treatments, *model.controls], fe=model.fixed_effects, cluster="iso3")
    spec = load(ANALYSIS_DIR / "multiverse" / f"{multiverse}.toml").spec
    grid = expand(spec)
    prep = prepare(spec, panel)

    class _Run:  # the two attributes headline_index needs
        pass
    run = _Run()
    run.spec, run.grid = spec, grid
    h = A.headline_index(run)
    tidy = _engine_on(grid[grid["spec_index"] == h], prep).set_index("term")
    treat = model.treatments[0]
    assert _rel(tidy.loc["training_cost:per_capita:l1", "estimate"], ref.coef[treat]) < TOL
    assert _rel(tidy.loc["training_cost:per_capita:l1", "std_error"], ref.std_errors[treat]) < TOL
    assert tidy["nobs"].iloc[0] == ref.nobs


def test_two_way_within_equals_dummy_regression():
    rng = np.random.default_rng(3)
    a = np.repeat(np.arange(12), 9)[:100]
    b = np.tile(np.arange(9), 12)[:100]
    keep = rng.random(100) > 0.15                      # unbalanced
    a, b = a[keep], b[keep]
    Z = rng.normal(size=(len(a), 3)) + a[:, None] * 0.3 - b[:, None] * 0.2
    D = np.column_stack([np.ones(len(a)), (a[:, None] == np.arange(1, 12)).astype(float),
                         (b[:, None] == np.arange(1, 9)).astype(float)])
    resid = Z - D @ np.linalg.lstsq(D, Z, rcond=None)[0]
    assert np.max(np.abs(within(Z, [a, b]) - resid)) < 1e-12
    assert np.max(np.abs(within(Z, [b, a]) - resid)) < 1e-12


def test_collinear_treatment_is_reported_not_dropped(panel, small_spec):
    """A treatment constant within country with country FE: status says so, estimates are missing."""
    prep = prepare(small_spec, panel)
    prep.columns["x:const:any:l1"] = np.where(np.isnan(prep.columns["x:training_cost:any:l1"]), np.nan,
                                              prep.fe_codes["iso3"] % 2).astype(float)
    grid = expand(small_spec)
    g = grid[(grid["fixed_effects"] == "country") & (grid["control_set"] == "none")].head(1).copy()
    g["x_col"] = "x:const:any:l1"
    tidy = _engine_on(g, prep)
    assert (tidy["status"] == "collinear regressors").all() and tidy["estimate"].isna().all()


def test_bootstrap_draw_equals_refit_on_null_imposed_data(panel, small_run):
    """b*_s = sum_g w_g h_sg (joint test) equals OLS on (y - b x) with sign-flipped residuals."""
    run = small_run
    tr = A.ok_treatment(run)
    r = tr.iloc[len(tr) // 3]
    rows, fe, y, xs = A._spec_parts(run, int(r.spec_index))
    d = design(run.prepared, rows, fe, y, xs)
    beta = np.linalg.lstsq(d.X, d.y, rcond=None)[0]
    u = d.y - d.X @ beta
    w = np.where(np.arange(len(run.countries)) % 3 == 0, -1.0, 1.0)
    y_star = d.X[:, 1:] @ beta[1:] + u * w[d.cluster]   # effect removed, residuals flipped by country
    b_refit = np.linalg.lstsq(d.X, y_star, rcond=None)[0][0]
    h = run.influence.set_index("spec_index").loc[int(r.spec_index), list(run.countries)].to_numpy()
    assert abs(h @ w - b_refit) < 1e-12 * max(1.0, abs(b_refit))
    assert _rel(beta[0], r.estimate) < TOL


def test_wcr_bootstrap_t_equals_refit(panel, small_run):
    """The vectorised restricted wild-bootstrap t* of Romano-Wolf equals a refit with CRV1 for one draw."""
    from sahel_causal.inference.cluster import crv1

    run = small_run
    idx = A.headline_index(run)
    rows, fe, y, xs = A._spec_parts(run, idx)
    d = design(run.prepared, rows, fe, y, xs)
    W = np.where(np.arange(len(run.countries))[None, :] % 2 == 0, 1.0, -1.0)
    _, t_star = A._wcr_t(run, idx, W)
    ctrl = d.X[:, 1:]
    gamma = np.linalg.lstsq(ctrl, d.y, rcond=None)[0]
    ur = d.y - ctrl @ gamma
    y_star = ctrl @ gamma + ur * W[0, d.cluster]
    b = np.linalg.lstsq(d.X, y_star, rcond=None)[0]
    V = crv1(d.X, y_star - d.X @ b, d.cluster, k_absorbed=d.K - d.X.shape[1])
    assert _rel(t_star[0], b[0] / np.sqrt(V[0, 0])) < 1e-9


def test_romano_wolf_properties(small_run):
    rw = A.romano_wolf(small_run)
    assert (rw["p_value_romano_wolf"] >= rw["p_value_wcr"] - 1e-15).all()
    order = np.argsort(-np.abs(rw["t_stat"].to_numpy()))
    adj = rw["p_value_romano_wolf"].to_numpy()[order]
    assert np.all(np.diff(adj) >= 0)
    assert rw.equals(A.romano_wolf(small_run))          # seeded


def test_degenerate_specifications_have_a_status(small_run):
    """Real degenerate cells of the small multiverse are flagged, never reported as estimates."""
    t = small_run.treatment_rows()
    assert {"collinear regressors", "zero standard error"} <= set(t["status"])
    ok = t[t["status"] == "ok"]
    assert (ok["std_error"] > 0).all() and ok["p_value"].between(0, 1).all()
    bad = t[t["status"] != "ok"]
    assert bad["estimate"].isna().all() and not bad["spec_index"].isin(small_run.influence["spec_index"]).any()
