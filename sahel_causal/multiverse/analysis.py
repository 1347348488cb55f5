"""What the multiverse shows: shares, the joint test, variance decomposition, influence, Romano-Wolf.

All functions are pure and deterministic given the seeds recorded in the specification.

* :func:`shares`: the share of specifications with each sign and with each sign *and*
  significance (CRV1, t with G-1 df, level ``alpha``), on the treatment coefficient.
* :func:`joint_test`: the specification-curve joint test of Simonsohn, Simmons & Nelson (2020,
  Nature Human Behaviour 4, 1208-1214) by a bootstrap under the null. The null "no effect in any
  specification" is imposed as in the paper, by removing each specification's estimated effect
  (y - b x); the null-imposed data are resampled with a wild cluster bootstrap whose Rademacher
  weights are drawn once per country and draw and *shared by every specification*, so the
  dependence between specifications is kept. For linear models the draw of specification s is
  exactly :math:`b^*_s = \\sum_g w_g h_{sg}` with :math:`h_{sg}` the country's CRV1 influence on
  :math:`\\hat b_s` (stored by the engine), so no refit is needed. Three statistics, each compared
  with its bootstrap distribution (p = (1 + #{T* >= T}) / (B + 1)): the share of specifications
  significant in the dominant direction, the absolute median standardized estimate, and the
  absolute mean t. The t statistics keep each specification's observed CRV1 standard error as a
  fixed scale (recomputing it in each draw would cost G^2 per specification and draw); the test
  is valid for that statistic, which is computed identically on the data and on every draw.
* :func:`variance_decomposition`: which dimension moves the standardized estimate most:
  eta-squared of each dimension alone, and its unique share (R^2 of all main effects minus R^2
  without that dimension).
* :func:`leave_one_out`: the headline specification re-estimated without each country and
  without each year (same engine code path).
* :func:`romano_wolf`: step-down adjusted p-values (Romano & Wolf 2005, Econometrica 73(4);
  Clarke, Romano & Wolf 2020, Stata Journal 20(4)) for the family of headline specifications,
  one per outcome, from a studentized restricted wild cluster bootstrap (null imposed by the
  restricted fit, Rademacher weights per country shared across hypotheses, CRV1 recomputed in
  every draw).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.multiverse.engine import design, fit_rows, sample_rows
from sahel_causal.multiverse.run import MultiverseRun
from sahel_causal.specs.designs.multiverse import DIMENSIONS

_BLOCK = 250


def ok_treatment(run: MultiverseRun) -> pd.DataFrame:
    """Treatment coefficients of the specifications with status ``ok``, in specification order."""
    t = run.treatment_rows()
    return t[t["status"] == "ok"].reset_index(drop=True)


def shares(treat: pd.DataFrame, alpha: float, n_specs: int) -> dict[str, float]:
    """Counts and shares by sign and significance (see the module docstring)."""
    est, p = treat["estimate"].to_numpy(), treat["p_value"].to_numpy()
    n = len(treat)
    sig = p < alpha
    return {
        "specifications": float(n_specs), "estimated": float(n),
        "share_positive": float(np.mean(est > 0)) if n else np.nan,
        "share_negative": float(np.mean(est < 0)) if n else np.nan,
        "share_significant_positive": float(np.mean(sig & (est > 0))) if n else np.nan,
        "share_significant_negative": float(np.mean(sig & (est < 0))) if n else np.nan,
        "median_std_estimate": float(np.median(treat["std_estimate"])) if n else np.nan,
        "median_t": float(np.median(treat["t_stat"])) if n else np.nan,
    }


def rademacher(seed: int, stream: int, draws: int, n_countries: int) -> np.ndarray:
    """(draws, countries) Rademacher weights from ``numpy.random.default_rng([seed, stream])``."""
    rng = np.random.default_rng([seed, stream])
    return rng.integers(0, 2, size=(draws, n_countries)).astype(float) * 2.0 - 1.0


def joint_test(treat: pd.DataFrame, influence: pd.DataFrame, countries: tuple[str, ...], *, alpha: float,
               draws: int, seed: int) -> pd.DataFrame:
    """Specification-curve joint test under the null (module docstring); one row per statistic."""
    infl = influence.set_index("spec_index").loc[treat["spec_index"], list(countries)].to_numpy()
    est = treat["estimate"].to_numpy()
    se = treat["std_error"].to_numpy()
    ratio = treat["std_estimate"].to_numpy() / np.where(est != 0, est, np.nan)
    ratio = np.where(np.isfinite(ratio), ratio, 0.0)
    crit = stats.t.ppf(1 - alpha / 2, treat["df_t"].to_numpy())
    S = len(treat)
    t_obs = est / se
    pos, neg = int(np.sum(t_obs > crit)), int(np.sum(t_obs < -crit))
    observed = {"share_significant_dominant": max(pos, neg) / S,
                "abs_median_std_estimate": abs(float(np.median(est * ratio))),
                "abs_mean_t": abs(float(np.mean(t_obs)))}
    W = rademacher(seed, 1, draws, len(countries))
    boot = {k: np.empty(draws) for k in observed}
    for a in range(0, draws, _BLOCK):
        b = W[a:a + _BLOCK] @ infl.T                      # (block, S): b*_s per draw
        t = b / se
        boot["share_significant_dominant"][a:a + _BLOCK] = np.maximum((t > crit).sum(1), (t < -crit).sum(1)) / S
        boot["abs_median_std_estimate"][a:a + _BLOCK] = np.abs(np.median(b * ratio, axis=1))
        boot["abs_mean_t"][a:a + _BLOCK] = np.abs(t.mean(axis=1))
    rows = []
    for k, v in observed.items():
        bs = boot[k]
        rows.append({"statistic": k, "observed": v, "null_median": float(np.median(bs)),
                     "null_q95": float(np.quantile(bs, 0.95)),
                     "p_value": (1.0 + float(np.sum(bs >= v - 1e-12 * max(1.0, abs(v))))) / (draws + 1.0),
                     "draws": draws, "seed": seed})
    return pd.DataFrame(rows)


def variance_decomposition(treat: pd.DataFrame, value: str = "std_estimate") -> pd.DataFrame:
    """Share of the variance of ``value`` explained by each dimension (module docstring)."""
    y = treat[value].to_numpy(dtype=float)
    dims = [d for d in DIMENSIONS if treat[d].nunique() > 1]
    tss = float(np.sum((y - y.mean()) ** 2))

    def r2(ds: list[str]) -> float:
        if not ds or tss == 0:
            return 0.0
        X = pd.get_dummies(treat[ds].astype(str), drop_first=True, dtype=float).to_numpy()
        X = np.column_stack([np.ones(len(y)), X])
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        return 1.0 - float(np.sum((y - X @ beta) ** 2)) / tss

    full = r2(dims)
    rows = []
    for d in dims:
        means = treat.groupby(treat[d].astype(str), sort=True)[value].mean()
        rows.append({"dimension": d, "options": int(treat[d].nunique()), "eta_squared": r2([d]),
                     "unique_share": full - r2([x for x in dims if x != d]),
                     "lowest_option": str(means.idxmin()), "lowest_mean": float(means.min()),
                     "highest_option": str(means.idxmax()), "highest_mean": float(means.max())})
    out = pd.DataFrame(rows).sort_values(["eta_squared", "dimension"], ascending=[False, True], kind="mergesort")
    out["r2_all_main_effects"] = full
    return out.reset_index(drop=True)


def headline_index(run: MultiverseRun, outcome: str | None = None) -> int:
    """spec_index of the headline specification for ``outcome`` (default: the family's first outcome)."""
    head = run.spec.family.headline_dict()
    g = run.grid
    m = g["outcome"] == (outcome or run.spec.family.outcomes[0])
    for dim, v in head.items():
        m &= g[dim].astype(str) == v
    hits = g.index[m]
    if len(hits) != 1:
        from sahel_causal.errors import SpecificationError

        raise SpecificationError(f"{run.spec.source}: [model {run.spec.id}] family.headline matches {len(hits)} "
                                 f"specifications for outcome {outcome!r} (excluded?); it must match exactly one")
    return int(g.loc[hits[0], "spec_index"])


def _spec_parts(run: MultiverseRun, idx: int) -> tuple[np.ndarray, tuple[str, ...], str, tuple[str, ...]]:
    r = run.grid.loc[run.grid["spec_index"] == idx].iloc[0]
    fe = tuple(f for f in r.fe_cols.split("+") if f)
    xs = (r.x_col, *(c for c in r.c_cols.split(",") if c))
    rows = sample_rows(run.prepared, run.prepared.masks[r.sample_key], fe, (r.y_col, *xs))
    return rows, fe, r.y_col, xs


def leave_one_out(run: MultiverseRun, idx: int) -> pd.DataFrame:
    """The specification ``idx`` re-estimated without each country and each year (one row each)."""
    prep = run.prepared
    rows, fe, y, xs = _spec_parts(run, idx)
    base = fit_rows(prep, rows, fe, y, xs, run.spec.alpha).iloc[0]
    out = [{"left_out": "none", "unit": "", "estimate": base.estimate, "std_error": base.std_error,
            "p_value": base.p_value, "nobs": int(base.nobs), "status": base.status}]
    for kind, codes, labels in (("country", prep.fe_codes["iso3"], prep.countries),
                                ("year", prep.fe_codes["year"], prep.years)):
        for code in np.unique(codes[rows]):
            keep = sample_rows(prep, np.isin(np.arange(len(codes)), rows) & (codes != code), fe, (y, *xs))
            r = fit_rows(prep, keep, fe, y, xs, run.spec.alpha).iloc[0]
            out.append({"left_out": kind, "unit": str(labels[code]), "estimate": r.estimate,
                        "std_error": r.std_error, "p_value": r.p_value, "nobs": int(r.nobs), "status": r.status})
    df = pd.DataFrame(out)
    df["change"] = df["estimate"] - base.estimate
    return df


def _wcr_t(run: MultiverseRun, idx: int, W: np.ndarray) -> tuple[float, np.ndarray]:
    """Observed t and restricted wild-cluster-bootstrap t* (CRV1 recomputed per draw) of the treatment."""
    rows, fe, y, xs = _spec_parts(run, idx)
    d = design(run.prepared, rows, fe, y, xs)
    n, k = d.X.shape
    G = d.n_clusters
    c = G / (G - 1) * (n - 1) / (n - d.K)
    Q, R = np.linalg.qr(d.X)
    r1 = np.linalg.solve(R.T, np.eye(k)[:, 0])          # first row of R^{-1}
    a = Q @ r1                                          # influence weights of b_1
    qty = Q.T @ d.y
    u = d.y - Q @ qty
    b1 = float(r1 @ qty)
    se1 = np.sqrt(c * np.sum(np.add.reduceat(a * u, d.starts) ** 2))
    if k > 1:                                           # restricted residuals (treatment excluded)
        Qr, _ = np.linalg.qr(d.X[:, 1:])
        ur = d.y - Qr @ (Qr.T @ d.y)
    else:
        ur = d.y.copy()
    UW = ur[:, None] * W[:, d.cluster].T                # (n, B)
    QtUW = Q.T @ UW
    b_star = r1 @ QtUW
    U_star = UW - Q @ QtUW
    se_star = np.sqrt(c * np.sum(np.add.reduceat(a[:, None] * U_star, d.starts, axis=0) ** 2, axis=0))
    return b1 / se1, b_star / se_star


def romano_wolf(run: MultiverseRun) -> pd.DataFrame:
    """Romano-Wolf step-down p-values for the family (one headline specification per outcome)."""
    spec = run.spec
    W = rademacher(spec.seed, 2, spec.bootstrap_draws, len(run.countries))
    idxs = [headline_index(run, o) for o in spec.family.outcomes]
    t_obs, t_star = [], []
    for i in idxs:
        t, ts = _wcr_t(run, i, W)
        t_obs.append(abs(t))
        t_star.append(np.abs(ts))
    T = np.array(t_obs)
    TS = np.vstack(t_star)                              # (J, B)
    B = TS.shape[1]
    single = (1.0 + np.sum(TS >= T[:, None], axis=1)) / (B + 1.0)
    order = np.argsort(-T, kind="mergesort")
    adj = np.empty(len(T))
    prev = 0.0
    for s, j in enumerate(order):
        mx = TS[order[s:]].max(axis=0)
        p = (1.0 + np.sum(mx >= T[j])) / (B + 1.0)
        prev = max(prev, p)
        adj[j] = prev
    tr = run.treatment_rows().set_index("spec_index")
    return pd.DataFrame({
        "outcome": list(spec.family.outcomes), "spec_index": idxs, "spec_hash": [tr.loc[i, "spec_hash"] for i in idxs],
        "estimate": [tr.loc[i, "estimate"] for i in idxs], "std_error": [tr.loc[i, "std_error"] for i in idxs],
        "t_stat": [float(np.sign(tr.loc[i, "estimate"])) * t for i, t in zip(idxs, T)],
        "p_value_crv1": [tr.loc[i, "p_value"] for i in idxs], "p_value_wcr": single, "p_value_romano_wolf": adj,
        "draws": B, "seed": spec.seed,
    })


@dataclass(frozen=True)
class MultiverseSummary:
    """Everything the report shows for one multiverse (pure values; no figures)."""

    id: str
    label: str
    alpha: float
    curve: pd.DataFrame          # treatment rows with status ok (estimate, std_estimate, CI, p, dimensions)
    shares: dict[str, float]
    joint: pd.DataFrame
    variance: pd.DataFrame
    headline: int
    influence: pd.DataFrame      # leave-one-country-out and leave-one-year-out
    romano_wolf: pd.DataFrame


def summarize(run: MultiverseRun) -> MultiverseSummary:
    """All analyses of the module docstring for ``run`` (seeds from the specification)."""
    spec = run.spec
    tr = ok_treatment(run)
    h = headline_index(run)
    return MultiverseSummary(
        id=spec.id, label=spec.label, alpha=spec.alpha, curve=tr, shares=shares(tr, spec.alpha, len(run.grid)),
        joint=joint_test(tr, run.influence, run.countries, alpha=spec.alpha, draws=spec.bootstrap_draws,
                         seed=spec.seed),
        variance=variance_decomposition(tr), headline=h, influence=leave_one_out(run, h),
        romano_wolf=romano_wolf(run))
