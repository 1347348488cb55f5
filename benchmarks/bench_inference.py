"""Benchmark: CPU time per inference method, new implementation against the previous one, in one run.

Run from the project root::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_inference.py [--draws 9999] [--skip-table]

Prints (writes nothing):

(a) per inference method on the Table 2 ``lpm`` design (coup_any ~ lagged training per capita +
    controls | country + year FE, 54 clusters), CPU seconds (``time.process_time``, so other
    processes on the machine do not count) of the current implementation and of the previous one,
    and their ratio:
    * CRV3: closed-form leave-one-cluster-out on the partialled design (``inference.cluster.crv3``)
      vs fe_ols/pyfixest CRV3;
    * randomization inference, 9,999 permutations: statistics batched as matrix products
      (``batch_stat_fn``) vs one permutation at a time (the same permutations and p-value);
    * wild cluster bootstrap test inversion (Webb, 9,999 draws): one sorted pass over the roots of
      the per-draw quartics (the whole confidence set) vs the previous bracketing + grid + bisection
      (``_ci_bound``, which returns the interval around the estimate only);
    * conditional logit CRV3 (the ``clogit`` model): the 54 leave-one-country-out refits by analytic
      Newton vs statsmodels, and the analytic refits with the vectorised (padded) likelihood kernel vs
      the per-group reference kernel, end to end and Newton only;
    * CRV3 refits of the conditional logit and of the pooled logit (``logit_cubic``), one per country:
      Newton with analytic derivatives (``inference.clogit_fast``, ``inference.logit_fast``) vs the
      full estimators (statsmodels ``ConditionalLogit``; ``pooled_logit``);
(b) CPU seconds of ``estimate()`` for Table 2 (all models and inference, the spec's 9,999 draws).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cpu(fn, repeats: int = 1):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=9999)
    ap.add_argument("--skip-table", action="store_true")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    import sahel_causal.estimation as E
    from sahel_causal.inference import randomization as R
    from sahel_causal.inference import wild_bootstrap as W
    from sahel_causal.inference.cluster import crv3
    from sahel_causal.models import fe_ols, partialled_design
    from sahel_causal.pipeline import load_panel
    from sahel_causal.specs import load_spec
    from sahel_causal.specs.transform import derive_all, select_sample

    panel = load_panel()
    spec = load_spec(ROOT / "analysis" / "specs" / "table2_coups.toml")
    model = next(m for m in spec.models if m.id == "lpm")
    df = derive_all(panel, spec)
    sample = select_sample(df, model, spec, "iso3").data
    regs = [*model.treatments, *model.controls]
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        data, dummies = E._year_dummies(sample)
        d = partialled_design(data, model.outcome, [*regs, *dummies], fe=("iso3",), cluster="iso3")
        new, v_new = cpu(lambda: crv3(d.X_tilde, d.y_tilde, d.cluster_codes), 3)
        old, r_old = cpu(lambda: fe_ols(sample, model.outcome, regs, fe=("iso3", "year"), cluster="iso3",
                                        vcov="CRV3"), 3)
        assert abs(np.sqrt(v_new[0, 0]) / r_old.std_errors[regs[0]] - 1) < 1e-8
        rows.append(("CRV3 (closed form vs pyfixest)", new, old))

        res = fe_ols(sample, model.outcome, regs, fe=("iso3", "year"), cluster="iso3")
        spec_ri = spec.__class__(**{**spec.__dict__, "inference": spec.inference.__class__(
            **{**spec.inference.__dict__, "randomization": spec.inference.randomization.__class__(
                permutations=args.draws, seed=1)})})
        new, a = cpu(lambda: E._attach_ri(res, df, sample, model, regs, ("iso3", "year"), "iso3", spec_ri))
        orig = E.randomization_inference

        def one_at_a_time(stat_fn, paths, **kw):
            kw.pop("batch_stat_fn", None)
            return orig(stat_fn, paths, **kw)

        E.randomization_inference = one_at_a_time
        try:
            old, b = cpu(lambda: E._attach_ri(res, df, sample, model, regs, ("iso3", "year"), "iso3", spec_ri))
        finally:
            E.randomization_inference = orig
        assert a.inference["ri"][regs[0]].p_value == b.inference["ri"][regs[0]].p_value
        rows.append((f"RI, {args.draws} permutations (batched vs one at a time)", new, old))

        setup = W._setup(d.X_tilde, d.y_tilde, d.cluster_codes, 0, 0.0, True, 1, True)
        rng = np.random.default_rng(3)
        stats = W._accumulate(setup, args.draws, lambda buf, s: W._fill_random(buf, "webb", rng), True, False)
        new, cs = cpu(lambda: W._ci_set(setup, stats, 0.05, "symmetric"), 3)
        old, lo = cpu(lambda: (W._ci_bound(setup, stats, 0.05, "symmetric", -1.0),
                               W._ci_bound(setup, stats, 0.05, "symmetric", 1.0)), 3)
        rows.append((f"wild CI inversion, Webb, {args.draws} draws (sorted pass vs bracketing)", new, old))
        # conditional logit CRV3: leave-one-country-out refits, analytic Newton vs statsmodels
        from sahel_causal.inference.clogit_fast import clogit_coefficients
        from sahel_causal.models import conditional_logit
        cm = next(m for m in spec.models if m.id == "clogit")
        cs_ = select_sample(df, cm, spec, "iso3").data
        cregs = [*cm.treatments, *cm.controls]
        groups = sorted(cs_["iso3"].unique())
        new, fast = cpu(lambda: [clogit_coefficients(cs_[cs_.iso3 != g], cm.outcome, cregs, time="year")[cregs[0]]
                                 for g in groups])
        old, slow = cpu(lambda: [conditional_logit(cs_[cs_.iso3 != g], cm.outcome, cregs, group="iso3", time="year",
                                                   cluster="iso3").coef[cregs[0]] for g in groups])
        assert np.allclose(fast, slow, rtol=1e-6)
        rows.append((f"conditional logit, {len(groups)} leave-one-out refits (analytic vs statsmodels)", new, old))
        # the same refits as CRV3 runs them (warm start at the full fit): padded kernel vs per-group reference,
        # end to end (sample rules and design included) and Newton only (designs built beforehand)
        full = conditional_logit(cs_, cm.outcome, cregs, group="iso3", time="year", cluster="iso3").aux["params_full"]
        start = dict(zip(full.index, full.to_numpy()))

        def refits(kernel):
            return [clogit_coefficients(cs_[cs_.iso3 != g], cm.outcome, cregs, time="year", start=start,
                                        kernel=kernel) for g in groups]

        new, b_new = cpu(lambda: refits("padded"), 3)
        old, b_old = cpu(lambda: refits("per_group"), 3)
        assert all(np.allclose(p, q, rtol=1e-10, atol=0) for p, q in zip(b_new, b_old))
        rows.append((f"conditional logit, {len(groups)} refits as CRV3 (padded vs per-group kernel)", new, old))
        from sahel_causal.inference.clogit_fast import clogit_newton
        from sahel_causal.models.logit import ClogitConfig, _clogit_design, _clogit_sample

        cfg = ClogitConfig(cm.outcome, tuple(cregs), "iso3", "year", None, "model", "")
        designs = []
        for g in groups:
            frame = _clogit_sample(cs_[cs_.iso3 != g], cfg)[0].frame
            Xd = _clogit_design(frame, cfg)
            designs.append((Xd.to_numpy(dtype=float), frame[cm.outcome].to_numpy(dtype=float),
                            frame["iso3"].factorize(sort=True)[0], np.array([start[c] for c in Xd.columns])))
        new, _ = cpu(lambda: [clogit_newton(X, y, gr, start=s0) for X, y, gr, s0 in designs], 3)
        old, _ = cpu(lambda: [clogit_newton(X, y, gr, start=s0, kernel="per_group") for X, y, gr, s0 in designs], 3)
        rows.append(("  of which Newton only (padded vs per-group kernel)", new, old))
        # pooled logit (logit_cubic) CRV3: leave-one-country-out refits, analytic Newton vs pooled_logit
        from sahel_causal import estimators
        from sahel_causal.models import time_since_event
        lm = next(m for m in spec.models if m.id == "logit_cubic")
        known = df[df[lm.outcome].notna()]
        ldata = df.assign(_duration=time_since_event(known, "iso3", "year", lm.outcome).reindex(df.index))
        ls_ = select_sample(ldata, lm, spec, "iso3").data
        lctx = estimators.FitContext(data=ls_, full=ldata, model=lm, table=spec, regressors=(*lm.treatments, *lm.controls),
                                     fixed_effects=tuple(lm.fixed_effects), cluster="iso3", alpha=0.05)
        lres = E.fit_logit_cubic(lctx)
        groups = sorted(ls_["iso3"].unique())

        def fast_refits():
            refit = E._refit_logit_cubic_fast(lctx, lres)  # builds the design once
            return [refit(ls_[ls_.iso3 != g]).coef for g in groups]

        new, fast = cpu(fast_refits)
        old, slow = cpu(lambda: [E._refit_logit_cubic(lctx)(ls_[ls_.iso3 != g]).aux["params_full"] for g in groups])
        assert all(np.allclose(a, b, rtol=1e-8, atol=0) for a, b in zip(fast, slow))
        rows.append((f"pooled logit, {len(groups)} leave-one-out refits (analytic vs pooled_logit)", new, old))
    print(f"{'method':70s} {'new s':>8s} {'old s':>8s} {'old/new':>8s}")
    for name, new, old in rows:
        print(f"{name:70s} {new:8.3f} {old:8.3f} {old / max(new, 1e-9):8.1f}")
    print(f"wild CI: new set {cs}, old interval {lo}")
    if not args.skip_table:
        from sahel_causal.estimation import estimate
        t, _ = cpu(lambda: estimate(spec, panel))
        print(f"Table 2, estimate() with all inference ({spec.inference.wild_bootstrap.draws} draws, "
              f"{spec.inference.randomization.permutations} permutations): {t:.1f} s CPU")


if __name__ == "__main__":
    main()
