"""Randomization inference for aggregated Callaway & Sant'Anna ATTs (few treated clusters).

Null hypothesis and test. Under the sharp null of no effect for any unit in any period, the
outcome paths do not depend on when (or whether) a unit entered; if entry years were assigned
to units as if at random (exchangeably), every reassignment of the observed entry years across
units is equally likely. The test statistic is the aggregated ATT of :func:`sahel_causal.did.aggte`
(``simple``, ``dynamic``, ``group`` or ``calendar`` overall effect) recomputed under each
reassignment; the two-sided p-value is the share of assignments with
:math:`|\\hat\\theta^{*}| \\ge |\\hat\\theta|` (Fisher 1935; Imbens & Rubin 2015, ch. 5;
MacKinnon & Webb 2020 for DiD with few treated clusters).

Assignments. The multiset of cohorts (how many units entered in each year, how many never) is
held fixed and permuted across the units of the estimation sample; each unit keeps its own
outcome path, missing years and weight. When the number of distinct assignments
:math:`n!/\\prod_g n_g!` is at most ``exact_limit`` all of them are enumerated and the p-value is
exact; otherwise ``draws`` assignments are sampled uniformly (fixed ``seed``) and the p-value is
:math:`(1+\\#\\{|\\hat\\theta^*_b|\\ge|\\hat\\theta|\\})/(1+B)`, which is valid in finite samples.

Computation. Without covariates the 2x2 estimates are differences of weighted means, so each
reassignment only changes which cohort's sums each unit enters: all draws are computed at once
as cohort-by-cell sums (matrix products), tens of thousands of draws per second on a 54 x 30
panel. With covariates the full estimator is re-run per assignment (slow, correct). Cells that
cannot be estimated under a reassignment (no treated or comparison unit observed in both
periods, possible on an unbalanced panel) are left out of that draw's aggregate, the weights
renormalised over the remaining cells.

Assumptions: the sharp null and exchangeable entry timing (conditional on nothing); the test
has exact size under them but is not a test of a zero *average* effect.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from sahel_causal.did.aggte import AggType, aggte
from sahel_causal.did.att_gt import ATTgtResult, _control_mask, cell_plan, estimate
from sahel_causal.errors import SpecificationError

_CHUNK = 512


@dataclass(frozen=True, eq=False)
class RandomizationResult:
    """Observed aggregate, its randomization p-value and the null distribution."""

    type: str
    statistic: float
    p_value: float
    null: np.ndarray
    n_assignments: int
    exact: bool
    seed: int

    def tidy(self) -> dict[str, float | int | bool | str]:
        return {"type": self.type, "att": self.statistic, "p_value": self.p_value,
                "n_assignments": self.n_assignments, "exact": self.exact, "seed": self.seed,
                "method": "randomization (entry years reassigned across units)"}


def n_assignments(G: np.ndarray) -> int:
    """Number of distinct reassignments of the cohort vector ``G`` (multinomial coefficient)."""
    _, counts = np.unique(G, return_counts=True)
    n, out = int(G.size), 1
    for c in counts:
        out *= math.comb(n, int(c))
        n -= int(c)
    return out


def _multiset_permutations(v: np.ndarray) -> np.ndarray:
    """All distinct orderings of a short vector (rows)."""
    vals, counts = np.unique(v, return_counts=True)
    rows: list[np.ndarray] = []

    def rec(free: tuple[int, ...], j: int, cur: np.ndarray) -> None:
        if j == len(vals) - 1:
            out = cur.copy()
            out[list(free)] = vals[j]
            rows.append(out)
            return
        for pos in itertools.combinations(free, int(counts[j])):
            cur2 = cur.copy()
            cur2[list(pos)] = vals[j]
            taken = set(pos)
            rec(tuple(i for i in free if i not in taken), j + 1, cur2)

    rec(tuple(range(v.size)), 0, np.zeros(v.size, dtype=v.dtype))
    return np.array(rows)


def enumerate_assignments(G: np.ndarray) -> np.ndarray:
    """All distinct permutations of ``G`` (rows), the observed one included.

    The most frequent value (never treated, typically) fills the background; the positions of the
    other units are enumerated as combinations and the other values' distinct orderings are
    placed on them.
    """
    G = np.asarray(G)
    vals, counts = np.unique(G, return_counts=True)
    bg = vals[int(np.argmax(counts))]
    others = np.sort(G[G != bg])
    k, n = others.size, G.size
    if k == 0:
        return G[None, :].copy()
    P = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64)
    L = _multiset_permutations(others)
    C, A = P.shape[0], L.shape[0]
    out = np.full((C * A, n), bg, dtype=G.dtype)
    out[np.arange(C * A)[:, None], np.repeat(P, A, axis=0)] = np.tile(L, (C, 1))
    return out


# =========================================================================== fast kernel
class _Kernel:
    """Vectorised ATT(g,t) and aggregate for many cohort assignments (no covariates)."""

    def __init__(self, res: ATTgtResult, type: str, min_e: float, max_e: float, balance_e: int | None):
        d, p = res.design, res.params
        self.plan = [c for c in cell_plan(d, p) if c[1] != c[2]]
        self.cohorts = np.unique(d.G)  # includes 0
        self.w = d.w
        Y, per = d.Y, d.periods
        K = len(self.plan)
        n = Y.shape[0]
        Z = np.zeros((n, K))
        A = np.zeros((n, K))
        ctrl = np.zeros((self.cohorts.size, K))
        self.gidx = np.zeros(K, dtype=int)
        for k, (gv, cur, base, bound) in enumerate(self.plan):
            a = ~np.isnan(Y[:, cur]) & ~np.isnan(Y[:, base])
            A[:, k] = self.w * a
            Z[:, k] = np.where(a, self.w * (Y[:, cur] - Y[:, base]), 0.0)
            ctrl[:, k] = _control_mask(self.cohorts, gv, per[bound], p)
            self.gidx[k] = int(np.searchsorted(self.cohorts, gv))
        self.Z, self.A, self.ctrl = Z, A, ctrl
        self.g = np.array([c[0] for c in self.plan])
        self.t = per[[c[1] for c in self.plan]].astype(float)
        self.type, self.min_e, self.max_e, self.balance_e = type, min_e, max_e, balance_e
        self.tmax, self.tmin = float(per.max()), float(per.min())

    def atts(self, Gs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B x K ATT(g,t), B x cohorts shares) for assignments ``Gs`` (B x n)."""
        B, n = Gs.shape
        C = self.cohorts.size
        idx = np.searchsorted(self.cohorts, Gs)
        H = np.zeros((B, C, n))
        H[np.arange(B)[:, None], idx, np.arange(n)[None, :]] = 1.0
        HZ = H.reshape(B * C, n) @ self.Z
        HA = H.reshape(B * C, n) @ self.A
        S = HZ.reshape(B, C, -1)
        N = HA.reshape(B, C, -1)
        K = S.shape[2]
        ar = np.arange(K)
        St, Nt = S[:, self.gidx, ar], N[:, self.gidx, ar]
        Sc = np.einsum("bck,ck->bk", S, self.ctrl)
        Nc = np.einsum("bck,ck->bk", N, self.ctrl)
        with np.errstate(invalid="ignore", divide="ignore"):
            att = np.where((Nt > 0) & (Nc > 0), St / Nt - Sc / Nc, np.nan)
        pg = (H @ self.w) / n  # B x C
        return att, pg

    def aggregate(self, att: np.ndarray, pg: np.ndarray) -> np.ndarray:
        g, t = self.g, self.t
        pgk = pg[:, self.gidx]
        ok = ~np.isnan(att)
        a0 = np.where(ok, att, 0.0)
        wk = np.where(ok, pgk, 0.0)

        def wmean(mask: np.ndarray) -> np.ndarray:
            num = (a0 * wk * mask).sum(1)
            den = (wk * mask).sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(den > 0, num / den, np.nan)

        if self.type == "simple":
            return wmean((g <= t) & (t <= g + self.max_e))
        if self.type == "dynamic":
            e = t - g
            incl = np.ones_like(g, dtype=bool)
            eseq = np.unique(e)
            if self.balance_e is not None:
                incl = (self.tmax - g) >= self.balance_e
                eseq = np.unique(e[incl])
                eseq = eseq[(eseq <= self.balance_e) & (eseq >= self.balance_e - self.tmax + self.tmin)]
            eseq = eseq[(eseq >= 0) & (eseq >= self.min_e) & (eseq <= self.max_e)]
            vals = np.column_stack([wmean((e == ev) & incl) for ev in eseq])
            return np.nanmean(vals, axis=1)
        if self.type == "group":
            gl = np.unique(g)
            th, pw = [], []
            for gv in gl:
                m = (g == gv) & (gv <= t) & (t <= g + self.max_e)
                if not m.any():
                    continue
                cnt = (ok * m).sum(1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    th.append(np.where(cnt > 0, (a0 * m).sum(1) / cnt, np.nan))
                pw.append(pg[:, int(np.searchsorted(self.cohorts, gv))])
            th_a, pw_a = np.column_stack(th), np.column_stack(pw)
            pw_a = np.where(np.isnan(th_a), 0.0, pw_a)
            return np.nansum(th_a * pw_a, axis=1) / pw_a.sum(1)
        tl = np.unique(t[t >= g.min()])
        vals = np.column_stack([wmean((t == tv) & (g <= t)) for tv in tl if ((t == tv) & (g <= t)).any()])
        return np.nanmean(vals, axis=1)


# =========================================================================== public API
def randomization_inference(
    result: ATTgtResult,
    type: AggType = "simple",  # noqa: A002 - R did's argument name
    draws: int = 9999,
    seed: int | None = None,
    exact_limit: int = 100_000,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
) -> RandomizationResult:
    """Randomization p-value of an aggregated ATT, reassigning entry years across units.

    Exact (all assignments enumerated) when there are at most ``exact_limit`` distinct
    assignments, otherwise ``draws`` uniform draws with the given ``seed`` (default: the
    ``att_gt`` seed). See the module docstring for the null, the assumptions and the algorithm.
    """
    if not isinstance(result, ATTgtResult):
        raise SpecificationError("randomization_inference: result must be the output of att_gt()")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise SpecificationError(f"randomization_inference: draws={draws!r} must be a positive integer")
    seed = result.params.seed if seed is None else seed
    d = result.design
    G = d.G
    obs = aggte(result, type=type, min_e=min_e, max_e=max_e, balance_e=balance_e,
                bstrap=False, na_rm=True).overall_att
    n_assign = n_assignments(G)
    exact = n_assign <= exact_limit
    if exact:
        Gs = enumerate_assignments(G)
    else:
        rng = np.random.default_rng(seed)
        Gs = np.array([rng.permutation(G) for _ in range(draws)])
    if d.X is None:
        ker = _Kernel(result, type, min_e, max_e, balance_e)
        null = np.concatenate([ker.aggregate(*ker.atts(Gs[s:s + _CHUNK]))
                               for s in range(0, Gs.shape[0], _CHUNK)])
    else:
        p = replace(result.params, bstrap=False)
        null = np.empty(Gs.shape[0])
        for b, Gb in enumerate(Gs):
            r = estimate(replace(d, G=Gb.astype(float)), p)
            try:
                null[b] = aggte(r, type=type, min_e=min_e, max_e=max_e, balance_e=balance_e,
                                bstrap=False, na_rm=True).overall_att
            except SpecificationError:
                null[b] = np.nan
    tol = 1e-12 * max(1.0, abs(obs))
    valid = ~np.isnan(null)
    extreme = np.abs(null[valid]) >= abs(obs) - tol
    if exact:
        pval = float(extreme.mean())
    else:
        pval = float((1 + extreme.sum()) / (1 + valid.sum()))
    return RandomizationResult(type=type, statistic=float(obs), p_value=pval, null=null,
                               n_assignments=int(Gs.shape[0]), exact=exact, seed=int(seed))
