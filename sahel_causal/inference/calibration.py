"""Calibration of the tables' inference methods on the real design (Monte Carlo of size and power).

Estimand. For each *design* (a table model: its sample of countries and years, outcome, controls,
fixed effects and estimator) and each *inference method* the tables report, the rejection rate
of a 5% test of ``H0: beta = 0`` when the null is true (the *size*), the coverage of the 95%
interval, and the rejection rate when the effect equals the smallest effect of interest
(*power*).

Data-generating process ("placebo treatment", Young 2019; Bertrand, Duflo & Mullainathan 2004):
the real outcome, controls, fixed effects, clusters and imbalance are kept, and the real
treatment *paths* are reassigned across countries at random (only among countries observed in
exactly the same years, as randomization inference does). A reassigned path is independent of the
outcome by construction, so the null holds, while the rarity and skew of the outcome, the
leverage of a few countries' treatment values (e.g. the Seychelles' per-capita training) and
the within-country dependence are the real ones. Under the alternative the outcome becomes
``y + delta * x_reassigned`` (linear designs; ``delta`` = the smallest effect of interest per
within-country SD of the treatment); for the interaction design the effect is put on the
interaction column.

For the linear designs every replicate computes, on the same data, the CRV1 t-test (t(G-1)),
CRV3 by the closed-form leave-one-cluster-out formula (t(G-1)), the restricted wild cluster
bootstrap with Rademacher and Webb weights, and randomization inference with the CRV1 t
(permutations batched as one matrix product). The coverage of a test-inversion interval is the
share of replicates whose interval contains the true value; for these methods it equals
``1 - size`` at the null (reported as computed). Non-linear designs refit the estimator for each
replicate and use fewer replicates (their Monte Carlo standard errors are reported): PPML and the
pooled logit with a cubic in years since the last coup (CRV1, CRV3 by the tables' leave-one-country-out
refits, the wild score bootstrap with Rademacher and Webb weights), the conditional logit (CRV1,
CRV3) and the Firth logit (CRV1).

Reproducibility: one ``numpy.random.SeedSequence(seed)`` spawns an independent stream per
design; the replicate loop is sequential; identical inputs and seed give identical tables.

The verdict rule that uses this table: a method whose measured size at 5% lies outside
``[3%, 7%]`` for a design is shown in the tables but flagged and not used for the verdict
(:func:`calibrated_methods`).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.cluster import crv1_small_sample_factor
from sahel_causal.inference.randomization import _strata
from sahel_causal.inference.wild_bootstrap import wild_cluster_bootstrap

SIZE_BAND = (0.03, 0.07)
LINEAR_METHODS = ("crv1", "crv3", "wild_rademacher", "wild_webb", "ri")


@dataclass(frozen=True)
class CalibrationDesign:
    """One design of the calibration: which table model it mirrors and how the null is drawn."""

    name: str
    label: str
    table: str  # spec file stem in analysis/specs
    model: str  # model id in that spec
    tested: str  # the coefficient tested (treatment or interaction)
    countries: str | None = None  # override of the model's country set (e.g. "sahel_partners")
    smallest_effect_1sd: float = 0.02  # effect of interest per within-country SD of ``tested``
    replications: int = 2000  # full run
    draws: int = 999
    permutations: int = 199


# The designs of issue 9 (the Monte Carlo keeps each model's sample, controls and FE).
DESIGNS: tuple[CalibrationDesign, ...] = (
    CalibrationDesign("africa_lpm", "Africa-wide LPM (54 clusters)", "table2_coups", "lpm", "train_pc_l1"),
    CalibrationDesign("sahel_partners_lpm", "Sahel/TSCTP partners LPM (11 clusters)", "table2_coups", "lpm",
                      "train_pc_l1", countries="sahel_partners"),
    CalibrationDesign("g5_interaction", "Training x Sahel G5 (5 treated clusters)", "table4_heterogeneity",
                      "coup_g5", "train_x_g5"),
    CalibrationDesign("ppml_africa", "PPML, UCDP deaths (54 clusters)", "table3_violence", "ppml_ucdp",
                      "train_pc_l1", smallest_effect_1sd=0.2, replications=150, draws=399),
    CalibrationDesign("ppml_sahel", "PPML, UCDP deaths, Sahel partners (11 clusters)", "table3_violence",
                      "ppml_ucdp", "train_pc_l1", countries="sahel_partners", smallest_effect_1sd=0.2,
                      replications=300, draws=399),
    CalibrationDesign("clogit", "Conditional logit (country and year effects)", "table2_coups", "clogit", "train_pc_l1",
                      replications=200),
    CalibrationDesign("firth", "Firth logit (CRV1)", "table2_coups", "firth", "train_pc_l1", replications=200),
    CalibrationDesign("logit_cubic", "Pooled logit, cubic in years since the last coup (54 clusters)",
                      "table2_coups", "logit_cubic", "train_pc_l1", replications=200, draws=399),
)


# --------------------------------------------------------------------------- the real design


@dataclass(frozen=True)
class _Frame:
    sample: pd.DataFrame  # the model's estimation sample (rows as fitted)
    regs: list[str]
    fe: tuple[str, ...]
    outcome: str
    estimator: str
    tested: str
    base: str  # the treatment whose path is reassigned
    moderator: str | None  # interaction partner of ``base`` (the tested column is base * moderator)
    ui: np.ndarray
    ti: np.ndarray
    paths: np.ndarray
    within_sd: float


def design_frame(design: CalibrationDesign, panel: pd.DataFrame, specs_dir: Path) -> _Frame:
    """The estimation sample of the design's table model (the tables' own derive and sample code)."""
    from sahel_causal.estimation import _used_index
    from sahel_causal.models import fe_ols
    from sahel_causal.specs import load_spec
    from sahel_causal.specs.transform import derive_all, select_sample

    spec = load_spec(specs_dir / f"{design.table}.toml")
    models = {m.id: m for m in spec.models}
    if design.model not in models:
        raise SpecificationError(f"calibration design {design.name}: no model {design.model!r} in {design.table}")
    model = models[design.model]
    if design.countries is not None:
        model = replace(model, sample=replace(model.sample, countries=design.countries))
    df = derive_all(panel, spec)
    if model.estimator == "logit_cubic":  # the years-since-last-coup clock, as the table's fit builds it
        from sahel_causal.models import time_since_event

        known = df[df[model.outcome].notna()]
        df = df.assign(_duration=time_since_event(known, "iso3", "year", model.outcome).reindex(df.index))
    sample = select_sample(df, model, spec, "iso3").data
    regs = [*model.treatments, *model.controls]
    fe = tuple(model.fixed_effects)
    if model.estimator == "ols":  # drop FE singletons exactly as the table's fit does
        res = fe_ols(sample, model.outcome, regs, fe=fe, cluster="iso3")
        sample = sample.loc[_used_index(res, sample)]
    derived = {d.name: d for d in spec.derive}
    base, moderator = design.tested, None
    d = derived.get(design.tested)
    if d is not None and d.op == "interact":
        base = next(a for a in d.args if a in model.treatments)
        moderator = next(a for a in d.args if a != base)
    units = sorted(sample["iso3"].unique())
    years = sorted(sample["year"].unique())
    ui = sample["iso3"].map({u: i for i, u in enumerate(units)}).to_numpy()
    ti = sample["year"].map({t: i for i, t in enumerate(years)}).to_numpy()
    paths = np.full((len(units), len(years)), np.nan)
    paths[ui, ti] = sample[base].to_numpy(float)
    tested = sample[design.tested].to_numpy(float)
    dev = tested - pd.Series(tested, index=sample.index).groupby(sample["iso3"]).transform("mean").to_numpy()
    return _Frame(sample=sample, regs=regs, fe=fe, outcome=model.outcome, estimator=model.estimator,
                  tested=design.tested, base=base, moderator=moderator, ui=ui, ti=ti, paths=paths,
                  within_sd=float(np.std(dev, ddof=1)))


def _reassign(paths: np.ndarray, strata: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    source = np.arange(paths.shape[0])
    for members in strata:
        source[members] = members[rng.permutation(members.shape[0])]
    return source


# --------------------------------------------------------------------------- linear engine


class _LinearEngine:
    """Precomputed pieces of the two-way FE OLS design: country FE partialled out (nested in the
    country clusters), year dummies and controls as explicit columns, as the tables' bootstrap does."""

    def __init__(self, fr: _Frame):
        s = fr.sample
        self.fr = fr
        self.codes = pd.factorize(s["iso3"], sort=True)[0]
        self.G = int(self.codes.max()) + 1
        self.n = len(s)
        controls = [c for c in fr.regs if c not in (fr.base, fr.tested)]
        cols = [s[c].to_numpy(float) for c in controls]
        if "year" in fr.fe:
            yc = pd.factorize(s["year"], sort=True)[0]
            cols += list(np.eye(yc.max() + 1)[yc][:, 1:].T)
        Z = np.column_stack(cols) if cols else np.empty((self.n, 0))
        self.Z = self._within(Z)
        q, r = np.linalg.qr(self.Z)
        d = np.abs(np.diag(r))
        self.q = q[:, d > max(self.Z.shape) * np.finfo(float).eps * d.max()] if d.size else q
        self.moderator = s[fr.moderator].to_numpy(float) if fr.moderator else None
        self.S = np.zeros((self.G, self.n))
        self.S[self.codes, np.arange(self.n)] = 1.0
        k_t = 2 if self.moderator is not None else 1
        self.k = k_t + self.Z.shape[1]
        self.ssc = crv1_small_sample_factor(self.n, self.k, self.G, k_absorbed=1, fe_nested=True)
        self.ref = stats.t(df=self.G - 1)

    def _within(self, A: np.ndarray) -> np.ndarray:
        if A.size == 0:
            return A
        A = np.asarray(A, float)
        one = A.ndim == 1
        A2 = A[:, None] if one else A
        sums = np.zeros((self.G, A2.shape[1]))
        np.add.at(sums, self.codes, A2)
        counts = np.bincount(self.codes, minlength=self.G)[:, None]
        out = A2 - (sums / counts)[self.codes]
        return out[:, 0] if one else out

    def treatment_columns(self, x: np.ndarray) -> np.ndarray:
        """(n, k_t) within-country columns: the tested column first."""
        if self.moderator is None:
            return self._within(x)[:, None]
        return np.column_stack([self._within(x * self.moderator), self._within(x)])

    def design(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([self.treatment_columns(x), self.Z])

    def t_stats_batch(self, y_t: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """CRV1 t of the tested coefficient for many treatment vectors xs (n, P), one matrix product
        per block: FWL against the controls, then the k_t x k_t treatment block per permutation."""
        P = xs.shape[1]
        cols = [self._within(xs * self.moderator[:, None]), self._within(xs)] if self.moderator is not None \
            else [self._within(xs)]
        Xt = [c - self.q @ (self.q.T @ c) for c in cols]  # each (n, P)
        yw = self._within(y_t)
        yt = yw - self.q @ (self.q.T @ yw)
        k = len(Xt)
        A = np.empty((P, k, k))
        b = np.empty((P, k))
        for i in range(k):
            b[:, i] = Xt[i].T @ yt
            for j in range(i, k):
                A[:, i, j] = A[:, j, i] = np.einsum("np,np->p", Xt[i], Xt[j])
        with np.errstate(all="ignore"):
            inv = np.linalg.inv(A)
            beta = np.einsum("pij,pj->pi", inv, b)
            e = yt[:, None] - sum(Xt[i] * beta[:, i][None, :] for i in range(k))
            scores = np.stack([self.S @ (Xt[i] * e) for i in range(k)], axis=2)  # (G, P, k)
            h = np.einsum("pij,gpj->gpi", inv, scores)[:, :, 0]  # first row of the bread times scores
            var = self.ssc * np.einsum("gp,gp->p", h, h)
            return beta[:, 0] / np.sqrt(var)

    def tests(self, y: np.ndarray, src: np.ndarray, *, rng: np.random.Generator, draws: int, perms: int,
              strata: list[np.ndarray], seed: int, alpha: float = 0.05,
              truth: float = 0.0) -> dict[str, tuple[float, bool]]:
        """p-value and CI coverage of ``truth`` for every linear method on one data set; the treatment
        is the path assignment ``src`` (cluster i receives the path of cluster src[i])."""
        paths = self.fr.paths[src]
        x = paths[self.fr.ui, self.fr.ti]
        y_t = self._within(y)
        X = self.design(x)
        bread = np.linalg.inv(X.T @ X)
        beta = bread @ (X.T @ y_t)
        u = y_t - X @ beta
        sc = self.S @ (X * u[:, None])
        V1 = self.ssc * bread @ (sc.T @ sc) @ bread
        se1 = math.sqrt(V1[0, 0])
        q = self.ref.ppf(1 - alpha / 2)
        out: dict[str, tuple[float, bool]] = {}
        t1 = (beta[0] - truth) / se1
        out["crv1"] = (float(2 * self.ref.sf(abs(beta[0] / se1))), abs(t1) <= q)
        # CRV3, closed form: b_(g) = b - (X'X - X_g'X_g)^{-1} X_g'u_g
        XtX = X.T @ X
        dev = np.empty((self.G, X.shape[1]))
        for g in range(self.G):
            m = self.codes == g
            Xg = X[m]
            dev[g] = -np.linalg.solve(XtX - Xg.T @ Xg, Xg.T @ u[m])
        se3 = math.sqrt((self.G - 1) / self.G * float(dev[:, 0] @ dev[:, 0]))
        out["crv3"] = (float(2 * self.ref.sf(abs(beta[0] / se3))), abs(beta[0] - truth) <= q * se3)
        for w in ("rademacher", "webb"):
            r = wild_cluster_bootstrap(X, y_t, self.codes, 0, B=draws, weights=w, seed=seed, ci=False,
                                       k_absorbed=1, fe_nested=True)
            if truth == 0.0:
                cover = r.p_value >= alpha
            else:  # coverage of the truth = the test of beta = truth accepts (test inversion)
                cover = wild_cluster_bootstrap(X, y_t, self.codes, 0, beta0=truth, B=draws, weights=w, seed=seed,
                                               ci=False, k_absorbed=1, fe_nested=True).p_value >= alpha
            out[f"wild_{w}"] = (float(r.p_value), bool(cover))
        # randomization inference: the observed assignment plus `perms` reassignments, one batch
        sources = [np.arange(paths.shape[0])] + [_reassign(paths, strata, rng) for _ in range(perms)]
        xs = np.column_stack([paths[s][self.fr.ui, self.fr.ti] for s in sources])
        ts = self.t_stats_batch(y, xs)
        t_obs = ts[0]
        self.last_ri_t_obs, self.last_crv1_t = float(t_obs), float(beta[0] / se1)
        extreme = (np.abs(ts) >= abs(t_obs) * (1 - 1e-12)) | ~np.isfinite(ts)
        p_ri = float(extreme.mean())
        out["ri"] = (p_ri, p_ri >= alpha)  # RI has no interval here: coverage = acceptance of the sharp null
        return out


# --------------------------------------------------------------------------- runners


@dataclass
class CalibrationRow:
    design: str
    label: str
    method: str
    replications: int
    size: float
    size_se: float
    coverage: float
    power: float
    power_se: float
    smallest_effect_1sd: float
    effect_per_unit: float
    n_clusters: int
    nobs: int
    draws: int
    permutations: int
    seed: int
    seconds: float
    in_band: bool = field(default=False)


def _summ(design: CalibrationDesign, fr: _Frame, method: str, p0: list[float], cov0: list[bool],
          p1: list[float], seed: int, seconds: float, R: int, draws: int, perms: int, delta: float,
          alpha: float = 0.05) -> CalibrationRow:
    p0a, p1a = np.array(p0, float), np.array(p1, float)
    ok0 = np.isfinite(p0a)
    size = float(np.mean(p0a[ok0] < alpha)) if ok0.any() else math.nan
    n0 = int(ok0.sum())
    power = float(np.mean(p1a[np.isfinite(p1a)] < alpha)) if np.isfinite(p1a).any() else math.nan
    n1 = int(np.isfinite(p1a).sum())
    return CalibrationRow(
        design=design.name, label=design.label, method=method, replications=R, size=size,
        size_se=math.sqrt(size * (1 - size) / n0) if n0 else math.nan,
        coverage=float(np.mean(cov0)) if cov0 else math.nan, power=power,
        power_se=math.sqrt(power * (1 - power) / n1) if n1 else math.nan,
        smallest_effect_1sd=design.smallest_effect_1sd, effect_per_unit=delta,
        n_clusters=int(fr.sample["iso3"].nunique()), nobs=len(fr.sample), draws=draws, permutations=perms,
        seed=seed, seconds=round(seconds, 1),
        in_band=bool(SIZE_BAND[0] <= size <= SIZE_BAND[1]) if np.isfinite(size) else False)


def run_linear(design: CalibrationDesign, fr: _Frame, *, R: int, draws: int, perms: int, seed: int,
               progress: Callable[[str], None] = lambda m: None) -> list[CalibrationRow]:
    """Size, coverage and power of every linear method (module docstring)."""
    t0 = time.process_time()
    eng = _LinearEngine(fr)
    strata = _strata(fr.paths, "within_support")
    rng = np.random.default_rng(seed)
    y = fr.sample[fr.outcome].to_numpy(float)
    delta = design.smallest_effect_1sd / fr.within_sd
    res0 = {m: ([], []) for m in LINEAR_METHODS}
    res1 = {m: [] for m in LINEAR_METHODS}
    for r in range(R):
        src = _reassign(fr.paths, strata, rng)
        x = fr.paths[src][fr.ui, fr.ti]
        boot_seed = int(rng.integers(2**31))
        out0 = eng.tests(y, src, rng=rng, draws=draws, perms=perms, strata=strata, seed=boot_seed)
        tested = x * eng.moderator if eng.moderator is not None else x
        out1 = eng.tests(y + delta * tested, src, rng=rng, draws=draws, perms=perms, strata=strata, seed=boot_seed,
                         truth=0.0)
        for m in LINEAR_METHODS:
            res0[m][0].append(out0[m][0])
            res0[m][1].append(out0[m][1])
            res1[m].append(out1[m][0])
        if (r + 1) % 50 == 0:
            progress(f"    {design.name}: {r + 1}/{R}")
    secs = time.process_time() - t0
    return [_summ(design, fr, m, res0[m][0], res0[m][1], res1[m], seed, secs, R, draws, perms, delta)
            for m in LINEAR_METHODS]


def _crv3_from_refits(b: float, draws: list[float]) -> tuple[float, bool]:
    """CRV3 (jackknife, (G-1)/G sum_g (b_(g) - b)^2; normal reference) p-value of ``H0: beta = 0`` and
    whether its 95% interval covers 0, from the full estimate and the leave-one-cluster-out estimates."""
    from sahel_causal.inference.cluster import jackknife_vcov

    se = math.sqrt(float(jackknife_vcov([b], np.asarray(draws, float)[:, None])[0, 0]))
    if not (se > 0 and math.isfinite(se)):
        return math.nan, False
    z = abs(b) / se
    return float(2 * stats.norm.sf(z)), bool(z <= stats.norm.ppf(0.975))


def _nonlinear_crv3(fr: _Frame, dd: pd.DataFrame, res) -> tuple[float, bool]:
    """The tables' CRV3 of a nonlinear model (leave-one-country-out refits with the fast refit paths the
    tables use: warm-started IRLS for PPML, analytic Newton for the conditional and pooled logits)."""
    b = float(res.coef[fr.tested])
    groups = sorted(dd["iso3"].unique())
    full = res.aux.get("params_full") if isinstance(res.aux, dict) else None
    if fr.estimator == "ppml":
        from sahel_causal.inference.ppml_fast import ppml_refitter
        from sahel_causal.models import ppml

        refit = ppml_refitter(dd, fr.outcome, fr.regs, fr.fe,
                              lambda d: ppml(d, fr.outcome, fr.regs, fe=fr.fe, cluster="iso3"))
        draws = [float(refit(dd[dd["iso3"] != g]).coef[fr.tested]) for g in groups]
    elif fr.estimator == "conditional_logit":
        from sahel_causal.inference.clogit_fast import ClogitRefits

        start = dict(zip(full.index, full.to_numpy())) if isinstance(full, pd.Series) else None
        refits = ClogitRefits(dd, fr.outcome, fr.regs, group="iso3", time="year" if "year" in fr.fe else None,
                              start=start)
        draws = [float(refits.coefficients(dd[dd["iso3"] != g])[fr.tested]) for g in groups]
    else:  # logit_cubic
        from sahel_causal.inference.logit_fast import PooledLogitRefits

        refits = PooledLogitRefits(dd, fr.outcome, fr.regs, duration="_duration", dummies=fr.fe, cluster="iso3",
                                   start=full if isinstance(full, pd.Series) else None)
        draws = [float(refits.coefficients(dd[dd["iso3"] != g])[fr.tested]) for g in groups]
    return _crv3_from_refits(b, draws)


NONLINEAR_METHODS = {
    "ppml": ("crv1", "crv3", "wild_rademacher", "wild_webb"),
    "logit_cubic": ("crv1", "crv3", "wild_rademacher", "wild_webb"),
    "conditional_logit": ("crv1", "crv3"),
    "firth": ("crv1",),
}


def run_nonlinear(design: CalibrationDesign, fr: _Frame, *, R: int, draws: int, seed: int,
                  progress: Callable[[str], None] = lambda m: None) -> list[CalibrationRow]:
    """PPML (CRV1, CRV3 and the wild score bootstrap, Webb and Rademacher), the pooled logit with a
    cubic in years since the last coup (the same four), the conditional logit (CRV1, CRV3) and the
    Firth logit (CRV1), each replicate refitted on the sample with a reassigned treatment path. CRV3 uses
    the tables' leave-one-country-out refits; a replicate whose fit or refits fail is undefined (NaN)."""
    from sahel_causal.inference.score_bootstrap import score_bootstrap_logit, score_bootstrap_ppml
    from sahel_causal.models import conditional_logit, firth_logit, pooled_logit, ppml

    t0 = time.process_time()
    strata = _strata(fr.paths, "within_support")
    rng = np.random.default_rng(seed)
    delta = design.smallest_effect_1sd / fr.within_sd
    methods = NONLINEAR_METHODS[fr.estimator]
    p0 = {m: [] for m in methods}
    c0 = {m: [] for m in methods}
    p1 = {m: [] for m in methods}
    y = fr.sample[fr.outcome].to_numpy(float)
    ppml_rng = np.random.default_rng(seed + 1)
    for r in range(R):
        src = _reassign(fr.paths, strata, rng)
        x = fr.paths[src][fr.ui, fr.ti]
        d = fr.sample.copy()
        d[fr.base] = x
        if fr.moderator:
            d[fr.tested] = x * d[fr.moderator].to_numpy(float)
        boot_seed = int(rng.integers(2**31))
        for alt in (False, True):
            dd = d
            if alt:  # effect of interest: log-linear for PPML, on the latent index for logits
                dd = d.copy()
                if fr.estimator == "ppml":
                    dd[fr.outcome] = ppml_rng.poisson(y * np.exp(delta * d[fr.tested].to_numpy(float)))
                else:  # shift the outcome probability by delta * x on the real outcome's base rate
                    pr = np.clip(y.mean() + delta * (d[fr.tested].to_numpy(float) - d[fr.tested].mean()), 0, 1)
                    dd[fr.outcome] = (ppml_rng.random(len(dd)) < pr).astype(float)
            p = {m: math.nan for m in methods}
            cov = {m: False for m in methods}
            try:
                if fr.estimator == "ppml":
                    res = ppml(dd, fr.outcome, fr.regs, fe=fr.fe, cluster="iso3")
                elif fr.estimator == "conditional_logit":
                    res = conditional_logit(dd, fr.outcome, fr.regs, group="iso3",
                                            time="year" if "year" in fr.fe else None, cluster="iso3")
                elif fr.estimator == "logit_cubic":
                    res = pooled_logit(dd, fr.outcome, fr.regs, duration="_duration", dummies=fr.fe, cluster="iso3")
                else:
                    res = firth_logit(dd, fr.outcome, fr.regs, fe=fr.fe, cluster="iso3", vcov="CRV1", profile=False)
                tt = res.tidy()
                row = tt[tt["term"] == fr.tested].iloc[0]
                p["crv1"] = float(row["p_value"])
                cov["crv1"] = bool(row["conf_low"] <= 0 <= row["conf_high"])
                if "crv3" in methods:
                    try:
                        p["crv3"], cov["crv3"] = _nonlinear_crv3(fr, dd, res)
                    except Exception:  # noqa: BLE001 - a failed refit makes this replicate's CRV3 undefined
                        pass
                for w in ("rademacher", "webb") if "wild_webb" in methods else ():
                    if fr.estimator == "ppml":
                        sb = score_bootstrap_ppml(dd, fr.outcome, fr.regs, fr.tested, fe=fr.fe, cluster="iso3",
                                                  B=draws, weights=w, seed=boot_seed, studentization="refit")
                    else:
                        sb = score_bootstrap_logit(dd, fr.outcome, fr.regs, fr.tested, cluster="iso3",
                                                   dummies=fr.fe, duration="_duration", B=draws, weights=w,
                                                   seed=boot_seed, studentization="refit")
                    p[f"wild_{w}"] = float(sb.p_value)
                    cov[f"wild_{w}"] = bool(sb.p_value >= 0.05)
            except Exception:  # noqa: BLE001 - a failed fit or bootstrap: the replicate is undefined (NaN)
                p = {m: math.nan for m in methods}
                cov = {m: False for m in methods}
            for m in methods:
                if alt:
                    p1[m].append(p[m])
                else:
                    p0[m].append(p[m])
                    c0[m].append(cov[m])
        if (r + 1) % 10 == 0:
            progress(f"    {design.name}: {r + 1}/{R}")
    secs = time.process_time() - t0
    return [_summ(design, fr, m, p0[m], c0[m], p1[m], seed, secs, R, draws if m.startswith("wild") else 0, 0, delta)
            for m in methods]


def run_calibration(panel: pd.DataFrame, specs_dir: Path, *, designs: Sequence[CalibrationDesign] = DESIGNS,
                    scale: float = 1.0, seed: int = 20261129,
                    progress: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """Run every design (``scale`` multiplies the replications, e.g. 0.1 for the test suite)."""
    from threadpoolctl import threadpool_limits

    children = np.random.SeedSequence(seed).spawn(len(designs))
    rows: list[CalibrationRow] = []
    with threadpool_limits(limits=1, user_api="blas"):
        for des, ss in zip(designs, children):
            s = int(ss.generate_state(1)[0])
            R = max(10, int(round(des.replications * scale)))
            progress(f"  calibration: {des.name} ({R} replications)")
            fr = design_frame(des, panel, specs_dir)
            if fr.estimator == "ols":
                rows += run_linear(des, fr, R=R, draws=des.draws, perms=des.permutations, seed=s, progress=progress)
            else:
                rows += run_nonlinear(des, fr, R=R, draws=des.draws, seed=s, progress=progress)
    return pd.DataFrame([r.__dict__ for r in rows])


# --------------------------------------------------------------------------- verdict rule


def calibrated_methods(design: str, calibration: pd.DataFrame | Path) -> set[str]:
    """Methods whose measured size at 5% lies in [3%, 7%] for ``design`` (the verdict may use them).

    ``calibration`` is the committed ``results/tables/calibration.csv`` (or its DataFrame). A
    method that is not in the table for the design is not calibrated.
    """
    cal = pd.read_csv(calibration) if isinstance(calibration, (str, Path)) else calibration
    sub = cal[cal["design"] == design]
    return {str(m) for m, s in zip(sub["method"], sub["size"]) if SIZE_BAND[0] <= float(s) <= SIZE_BAND[1]}


def design_of(table: str, model_id: str, estimator: str, treatments: Sequence[str], countries: object) -> str | None:
    """The calibration design a table model's inference is judged by (None: not calibrated)."""
    if estimator == "ppml":
        return "ppml_sahel" if countries == "sahel_partners" else "ppml_africa"
    if estimator == "conditional_logit":
        return "clogit"
    if estimator == "firth":
        return "firth"
    if estimator == "logit_cubic":
        return "logit_cubic"
    if estimator != "ols":
        return None
    if countries == "sahel_partners":
        return "sahel_partners_lpm"
    if any(t.endswith("_g5") for t in treatments):
        return "g5_interaction"
    return "africa_lpm"


TIDY_P_COLUMN = {"crv1": "p_value", "crv3": "p_crv3", "wild_rademacher": "p_wild_rademacher",
                 "wild_webb": "p_wild_webb", "ri": "p_ri"}


def calibrated_verdict(row: pd.Series, design: str | None, calibration: pd.DataFrame | None,
                       alpha: float = 0.05) -> tuple[str, list[str]]:
    """Verdict words for one tidy table row under the calibration rule, and the methods used.

    An association is *detectable* only if every calibrated method (size in [3%, 7%] for the
    row's design) that the row reports rejects at ``alpha``; methods outside the band are shown
    in the tables but ignored here. Without a calibration table, or for a design no method of
    which is calibrated, the verdict is "no calibrated test" unless the fallback rule of the
    uncalibrated tables applies (Webb wild bootstrap and RI both below ``alpha``).
    """
    used: list[str] = []
    if calibration is not None and design is not None:
        ok = calibrated_methods(design, calibration)
        used = [m for m in LINEAR_METHODS if m in ok and pd.notna(row.get(TIDY_P_COLUMN[m], math.nan))]
        if not used:
            return "no calibrated test", []
        ps = [float(row[TIDY_P_COLUMN[m]]) for m in used]
    else:
        ps = [float(row[c]) for c in ("p_wild_webb", "p_ri") if pd.notna(row.get(c, math.nan))] or [float(row["p_value"])]
    if all(p < alpha for p in ps):
        return "a detectable " + ("positive" if row["estimate"] > 0 else "negative") + " association", used
    return "no detectable association", used
