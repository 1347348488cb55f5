"""Benchmark: CPU time per inference method and per table, current implementation against the previous
ones, in one run; and `sahel-causal run table2` end to end against the issue-9 target (12 s of CPU).

Run from the project root::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_inference.py [--draws 9999] [--skip-table]

Prints (writes nothing). CPU seconds are ``time.process_time`` (other processes on the machine do not
count); every "new vs old" pair is checked to agree before its time is printed.

(a) per inference method, on the tables' designs:
    * CRV3 of the Table 2 ``lpm`` (coup_any ~ lagged training per capita + controls | country + year FE,
      54 clusters): closed form on the partialled design (``inference.cluster.crv3``) vs pyfixest;
    * randomization inference, 9,999 permutations: the current blocks (128 permutations, unit means by
      segment sums, a ~25-column basis) vs the previous batched code (0.2.0 before this change: blocks
      of 1,024, the full ~80-column basis, one Python iteration per permutation to draw them) vs one
      permutation at a time -- all three the same permutations and p-value;
    * wild cluster bootstrap test inversion (Webb, 9,999 draws): one sorted pass over the roots of the
      per-draw quartics (the whole confidence set) vs bracketing + grid + bisection (``_ci_bound``);
    * conditional logit CRV3 (``clogit``): analytic Newton vs statsmodels; the padded all-groups
      kernel vs the per-group reference kernel, end to end and Newton only; the sample rule and design on
      integer codes built once (``ClogitRefits``, what CRV3 uses) vs pandas per refit;
    * pooled logit CRV3 (``logit_cubic``): analytic Newton on a design built once vs ``pooled_logit``;
    * PPML CRV3 (Table 3 ``ppml_ucdp``): IRLS with dummies warm-started at the full fit vs ``ppml``;
    * Romano-Wolf family of Table 2: reusing the tables' fits vs refitting every model;
(b) per table (2, 3, 4): ``estimate()`` with every inference method at the specs' draws, with the
    current code and with the previous code paths put back in the same process (the 0.2.0 RI, the
    conditional-logit refits through ``clogit_coefficients`` with the per-group kernel, full pooled-logit
    and PPML refits): time and ratio;
(c) ``sahel-causal run table2`` in a child process (imports, estimation, Romano-Wolf, writing), CPU =
    user + system time of the child, against the 12 s target of issue 9.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
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
        ri_model = dataclasses.replace(model, inference=dataclasses.replace(
            model.inference, randomization=dataclasses.replace(model.inference.randomization,
                                                               permutations=args.draws)))

        def ri():
            return E._attach_ri(res, df, sample, ri_model, regs, ("iso3", "year"), "iso3", spec)

        new, a = cpu(ri)
        with previous_ri(E, R):
            mid, b = cpu(ri)
        with one_at_a_time(E, R):
            old, c = cpu(ri)
        p_values = {x.inference["ri"][regs[0]].p_value for x in (a, b, c)}
        assert len(p_values) == 1, p_values
        rows.append((f"RI, {args.draws} permutations (current vs previous batched)", new, mid))
        rows.append((f"RI, {args.draws} permutations (current vs one at a time)", new, old))

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
        from sahel_causal.inference.clogit_fast import ClogitRefits

        def coded():
            refit = ClogitRefits(cs_, cm.outcome, cregs, group="iso3", time="year", start=start)  # built once
            return [refit.coefficients(cs_[cs_.iso3 != g]) for g in groups]

        new, b_codes = cpu(coded, 3)
        assert all(np.array_equal(p.to_numpy(), q.to_numpy()) for p, q in zip(b_codes, b_new))
        rows.append((f"conditional logit, {len(groups)} refits as CRV3 (codes built once vs per refit)", new,
                     cpu(lambda: refits("padded"), 3)[0]))
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
        # PPML CRV3 (Table 3 ppml_ucdp): warm-started IRLS vs ppml refits
        from sahel_causal.inference.ppml_fast import ppml_refitter
        from sahel_causal.models import ppml

        spec3 = load_spec(ROOT / "analysis" / "specs" / "table3_violence.toml")
        pm = next(m for m in spec3.models if m.id == "ppml_ucdp")
        ps = select_sample(derive_all(panel, spec3), pm, spec3, "iso3").data
        pregs = [*pm.treatments, *pm.controls]

        def pref(d):
            return ppml(d, pm.outcome, pregs, fe=tuple(pm.fixed_effects), cluster="iso3")

        groups = sorted(ps["iso3"].unique())

        def ppml_fast():
            refit = ppml_refitter(ps, pm.outcome, pregs, tuple(pm.fixed_effects), pref)
            return [refit(ps[ps.iso3 != g]).coef[pregs[0]] for g in groups]

        new, fast = cpu(ppml_fast)
        old, slow = cpu(lambda: [pref(ps[ps.iso3 != g]).coef[pregs[0]] for g in groups])
        assert np.allclose(fast, slow, rtol=1e-8, atol=0)
        rows.append((f"PPML, {len(groups)} leave-one-out refits (warm IRLS vs ppml/pyfixest)", new, old))
        # Romano-Wolf family of Table 2 (shared Webb draws): reuse the tables' fits vs refit every model
        from sahel_causal.estimation import estimate
        from sahel_causal.inference.multiple_testing import table_family_pvalues

        fits = estimate(spec, panel, inference=False)
        fitted = {mo.model.id: mo.result for mo in fits.models if mo.model.estimator == "ols"}
        new, f_new = cpu(lambda: table_family_pvalues(spec, panel, fitted=fitted))
        old, f_old = cpu(lambda: table_family_pvalues(spec, panel))
        assert f_new.equals(f_old)
        rows.append(("Romano-Wolf family, Table 2 (reuse the tables' fits vs refit)", new, old))
    print(f"{'method':78s} {'new s':>8s} {'old s':>8s} {'old/new':>8s}")
    for name, new, old in rows:
        print(f"{name:78s} {new:8.3f} {old:8.3f} {old / max(new, 1e-9):8.1f}")
    print(f"wild CI: new set {cs}, old interval {lo}")
    if args.skip_table:
        return
    from sahel_causal.estimation import estimate

    print(f"\n{'table: estimate() with every inference method':50s} {'current s':>10s} {'previous s':>10s} "
          f"{'ratio':>6s}")
    total_new = total_old = 0.0
    for name in ("table2_coups", "table3_violence", "table4_heterogeneity"):
        tspec = load_spec(ROOT / "analysis" / "specs" / f"{name}.toml")
        new, tr_new = cpu(lambda: estimate(tspec, panel))
        with previous_code_paths(E, R):
            old, tr_old = cpu(lambda: estimate(tspec, panel))
        a, b = tr_new.tidy(), tr_old.tidy()
        assert np.allclose(a["estimate"], b["estimate"], rtol=1e-8, equal_nan=True)
        assert np.allclose(a["p_value"], b["p_value"], rtol=1e-6, atol=1e-9, equal_nan=True)
        total_new, total_old = total_new + new, total_old + old
        print(f"{name:50s} {new:10.1f} {old:10.1f} {old / new:6.1f}")
    print(f"{'Tables 2-4':50s} {total_new:10.1f} {total_old:10.1f} {total_old / total_new:6.1f}")
    import resource
    import subprocess
    import sys

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "sahel_causal.cli", "run", "table2"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"\nsahel-causal run table2 (child process, user + system): {used:.1f} s CPU "
          f"(issue 9 target: under 12 s) -> {'met' if used < 12 else 'NOT met'}")


@contextlib.contextmanager
def previous_ri(E, R):
    """Put back the 0.2.0 randomization inference: the full-basis batched statistic in blocks of 1,024
    and one Python iteration per permutation (every stratum, singletons included) to draw them."""
    import math

    saved = (E._ri_batch_statistic, E.randomization_inference, R._random_blocks)

    def old_batch(used, ui, ti, n_years, unit, fe, control_cols, moderators, q, yq, cl, ssc):
        G = int(cl.max()) + 1
        S = np.zeros((G, len(yq)))
        S[cl, np.arange(len(yq))] = 1.0
        qT = np.ascontiguousarray(q.T)

        def batch_fn(block):
            d = np.ascontiguousarray(block[:, ui, ti].T)  # (n, m)
            Xt = [c - q @ (qT @ c) for c in [d, *[d * mod[:, None] for mod in moderators]]]
            k = len(Xt)
            if k == 1:
                x = Xt[0]
                sxx = np.einsum("nm,nm->m", x, x)
                with np.errstate(divide="ignore", invalid="ignore"):
                    beta1 = (yq @ x) / sxx
                    sc1 = S @ (x * (yq[:, None] - x * beta1[None, :]))
                    var1 = ssc * np.einsum("gm,gm->m", sc1, sc1) / (sxx * sxx)
                    t1 = beta1 / np.sqrt(var1)
                return np.where((sxx > 0) & (var1 > 0), t1, math.nan)
            A = np.empty((d.shape[1], k, k))
            b = np.empty((d.shape[1], k))
            for i in range(k):
                b[:, i] = Xt[i].T @ yq
                for j in range(i, k):
                    A[:, i, j] = A[:, j, i] = np.einsum("nm,nm->m", Xt[i], Xt[j])
            out = np.full(d.shape[1], math.nan)
            ok = np.linalg.matrix_rank(A) == k
            inv = np.linalg.inv(A[ok])
            beta = np.einsum("mij,mj->mi", inv, b[ok])
            e = yq[:, None] - sum(Xt[i][:, ok] * beta[:, i][None, :] for i in range(k))
            sc = np.stack([S @ (Xt[i][:, ok] * e) for i in range(k)], axis=2)
            h = np.einsum("mj,gmj->gm", inv[:, 0, :], sc)
            var = ssc * np.einsum("gm,gm->m", h, h)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[ok] = np.where(var > 0, beta[:, 0] / np.sqrt(var), math.nan)
            return out
        return batch_fn

    def old_blocks(rng, n_rows, strata, n_perm, chunk):
        identity = np.arange(n_rows)
        pending = []
        for _ in range(n_perm):
            source = identity.copy()
            for members in strata:
                source[members] = members[rng.permutation(members.shape[0])]
            pending.append(source)
            if len(pending) >= chunk:
                yield np.stack(pending)
                pending = []
        if pending:
            yield np.stack(pending)

    def ri_1024(stat_fn, paths, **kw):
        return saved[1](stat_fn, paths, **{**kw, "batch_size": 1024})

    E._ri_batch_statistic, E.randomization_inference, R._random_blocks = old_batch, ri_1024, old_blocks
    try:
        yield
    finally:
        E._ri_batch_statistic, E.randomization_inference, R._random_blocks = saved


@contextlib.contextmanager
def one_at_a_time(E, R):
    """Randomization inference without the batched statistic (one stat_fn call per permutation)."""
    saved = E.randomization_inference

    def single(stat_fn, paths, **kw):
        kw.pop("batch_stat_fn", None)
        return saved(stat_fn, paths, **kw)

    E.randomization_inference = single
    try:
        yield
    finally:
        E.randomization_inference = saved


@contextlib.contextmanager
def previous_code_paths(E, R):
    """The 0.2.0 code paths of the tables' inference: previous RI, conditional-logit refits through
    ``clogit_coefficients`` (pandas sample rule and design per refit) with the per-group kernel, full refits
    of the pooled logit and PPML for CRV3."""
    from types import SimpleNamespace

    from sahel_causal.inference.clogit_fast import clogit_coefficients

    def old_clogit(ctx, res):
        m = ctx.model
        t = ctx.table.data.time if ctx.table.data.time in ctx.fixed_effects else None
        full = res.aux.get("params_full")
        start = dict(zip(full.index, full.to_numpy()))
        return lambda d: SimpleNamespace(coef=clogit_coefficients(d, m.outcome, list(ctx.regressors),
                                                                  group=ctx.table.data.unit, time=t, start=start,
                                                                  kernel="per_group"))

    saved_fast = dict(E._FAST_REFITS)
    E._FAST_REFITS["conditional_logit"] = old_clogit
    for k in ("logit_cubic", "ppml"):
        E._FAST_REFITS.pop(k, None)
    try:
        with previous_ri(E, R):
            yield
    finally:
        E._FAST_REFITS.clear()
        E._FAST_REFITS.update(saved_fast)


if __name__ == "__main__":
    main()
