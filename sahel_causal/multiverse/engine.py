"""The shared-work engine: linear FE OLS with CRV1 for thousands of specifications at once.

Estimand (per specification): the slopes of :func:`sahel_causal.models.fe_ols.fe_ols` with
clustering by country and ``fe_dof="nested"``, i.e. least squares of ``y`` on the treatment
and controls after absorbing the fixed effects, with the CRV1 variance

.. math:: \\hat V = c\\,\\sum_g h_g h_g', \\qquad h_g = R^{-1} Q_g'\\hat u_g,
          \\qquad c = \\tfrac{G}{G-1}\\,\\tfrac{N-1}{N-K},

where :math:`\\tilde X = QR` is the thin QR decomposition of the within-transformed regressors
(so :math:`h_g = (\\tilde X'\\tilde X)^{-1}\\tilde X_g'\\hat u_g`, the cluster's influence on
:math:`\\hat\\beta`, computed from residual scores without forming :math:`\\tilde X'\\tilde X`)
and :math:`K` counts the fixed effects as fixest's ``k_fixef="nonnested"``: a fixed effect
nested in the clusters (country) counts as one parameter (Berge 2018; Cameron & Miller 2015).
Inference: Student's t with :math:`G-1` degrees of freedom.

Sharing work. Specifications are grouped by their final row set (sample mask, complete cases
of the columns they use, fixed-effect singletons removed iteratively as in ``fe_ols``) and
fixed-effect structure. In each group every needed column is within-transformed once:

* one fixed effect: exact subtraction of group means;
* two fixed effects: exact two-way within transformation (Frisch-Waugh-Lovell): subtract the
  means of the factor with more levels (country), then project out the likewise demeaned
  dummies of the other factor (year) through an orthonormal basis from their SVD (rank
  revealing, so unbalanced and disconnected panels are handled); no iteration, no tolerance;
* none: centring (the intercept).

Specifications in a group that share their regressors share one QR decomposition; their
outcomes are solved together (triangular solves on :math:`Q'Y`), residuals are
:math:`Y - QQ'Y`, and cluster scores are sums of :math:`Q\\odot\\hat u` within clusters
(rows are sorted by country, so clusters are contiguous and ``np.add.reduceat`` sums them).

A specification whose regressors are (numerically) collinear after the transformation, whose
outcome does not vary once the fixed effects are absorbed, whose treatment coefficient has a
zero standard error (identified only from rows where the outcome is constant), or whose sample
has fewer than 2 clusters or no residual degrees of freedom, gets ``status`` other than ``"ok"`` and missing
estimates; nothing is dropped silently.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.multiverse.grid import ENGINE_VERSION
from sahel_causal.multiverse.prepare import Prepared

_COLLINEAR_TOL = 1e-9
RESULT_COLUMNS = ("spec_index", "spec_hash", "term", "role", "estimate", "std_error", "t_stat", "p_value", "ci_low",
                  "ci_high", "std_estimate", "nobs", "n_clusters", "df_t", "status")


@dataclass(frozen=True)
class SpecTask:
    spec_index: int
    spec_hash: str
    y: str
    x: str
    controls: tuple[str, ...]


@dataclass(frozen=True)
class GroupTask:
    """Specifications sharing one row set and fixed-effect structure."""

    rows: np.ndarray
    fe: tuple[str, ...]
    specs: tuple[SpecTask, ...]


@dataclass(frozen=True)
class Chunk:
    """A unit of work (a few dozen groups) with a content hash for resuming."""

    number: int
    groups: tuple[GroupTask, ...]
    hash: str

    @property
    def n_specs(self) -> int:
        return sum(len(g.specs) for g in self.groups)


# --------------------------------------------------------------------------- planning
def plan(grid: pd.DataFrame, prep: Prepared, chunk_groups: int = 64) -> list[Chunk]:
    """Group the specifications of ``grid`` by row set and fixed effects; cut the groups into chunks.

    Deterministic: groups are numbered by their first specification, chunks are consecutive
    groups; each chunk's hash covers the engine version, the prepared data's checksum and the
    specifications' content hashes, so a stored chunk is reused only for identical work.
    """
    notna = {k: ~np.isnan(v) for k, v in prep.columns.items()}
    cache: dict[tuple, np.ndarray] = {}
    single_cache: dict[tuple, np.ndarray] = {}
    groups: dict[tuple, list[SpecTask]] = {}
    group_rows: dict[tuple, np.ndarray] = {}
    for rec in grid[["spec_index", "spec_hash", "y_col", "x_col", "c_cols", "sample_key", "fe_cols"]].itertuples(
            index=False):
        ctrl = tuple(c for c in rec.c_cols.split(",") if c)
        fe = tuple(f for f in rec.fe_cols.split("+") if f)
        key1 = (rec.sample_key, rec.y_col, rec.x_col, ctrl, fe)
        rows = cache.get(key1)
        if rows is None:
            m = prep.masks[rec.sample_key] & notna[rec.y_col] & notna[rec.x_col]
            for c in ctrl:
                m = m & notna[c]
            mkey = (m.tobytes(), fe)
            rows = single_cache.get(mkey)
            if rows is None:
                idx = np.flatnonzero(m)
                if fe and len(idx):
                    idx = idx[~singletons([prep.fe_codes[f][idx] for f in fe])]
                rows = single_cache[mkey] = idx
            cache[key1] = rows
        gkey = (rows.tobytes(), fe)
        if gkey not in groups:
            groups[gkey] = []
            group_rows[gkey] = rows
        groups[gkey].append(SpecTask(int(rec.spec_index), rec.spec_hash, rec.y_col, rec.x_col, ctrl))
    tasks = [GroupTask(group_rows[k], k[1], tuple(v)) for k, v in groups.items()]
    chunks = []
    for i in range(0, len(tasks), chunk_groups):
        part = tuple(tasks[i:i + chunk_groups])
        h = hashlib.sha256(f"{ENGINE_VERSION}|{prep.checksum}".encode())
        for g in part:
            h.update(("+".join(g.fe) + ":" + ",".join(s.spec_hash for s in g.specs)).encode())
        chunks.append(Chunk(len(chunks), part, h.hexdigest()[:20]))
    return chunks


def singletons(codes: list[np.ndarray]) -> np.ndarray:
    """Rows that are alone in a level of some fixed effect, found iteratively (``fe_ols``'s own rule)."""
    from sahel_causal.models.fe_ols import singleton_mask_codes

    return singleton_mask_codes(codes)


# --------------------------------------------------------------------------- within transformation
def _n_levels(codes: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(codes)))


def _dummies(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(codes)
    present = np.flatnonzero(counts)
    lookup = np.zeros(len(counts), dtype=np.int64)
    lookup[present] = np.arange(len(present))
    d = np.zeros((len(codes), len(present)))
    d[np.arange(len(codes)), lookup[codes]] = 1.0
    return d, counts[present].astype(float)


def _demean_one(Z: np.ndarray, D: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return Z - D @ ((D.T @ Z) / counts[:, None])


def within(Z: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
    """Columns of ``Z`` with the fixed effects given by ``codes`` removed exactly (module docstring)."""
    if not codes:
        return Z - Z.mean(axis=0)
    if len(codes) == 1:
        D, cnt = _dummies(codes[0])
        return _demean_one(Z, D, cnt)
    if len(codes) != 2:  # pragma: no cover - the parser allows at most two
        raise ValueError("at most two fixed effects")
    a, b = sorted(codes, key=lambda c: -_n_levels(c))  # demean by the larger, project the smaller
    Da, ca = _dummies(a)
    Db, _ = _dummies(b)
    Z1 = _demean_one(Z, Da, ca)
    B1 = _demean_one(Db, Da, ca)
    U, s, _ = np.linalg.svd(B1, full_matrices=False)
    r = int(np.sum(s > s[0] * 1e-10)) if s.size and s[0] > 0 else 0
    U = U[:, :r]
    return Z1 - U @ (U.T @ Z1)


def _absorbed_k(codes: dict[str, np.ndarray], cluster: np.ndarray) -> int:
    """fixest ``k_fixef="nonnested"``: sum of levels - (F-1) - sum over nested FE of (levels - 1); 1 without FE."""
    if not codes:
        return 1
    levels = {f: _n_levels(c) for f, c in codes.items()}
    k = sum(levels.values()) - (len(codes) - 1)
    for f, c in codes.items():
        pairs = _n_levels(c.astype(np.int64) * (int(cluster.max()) + 1) + cluster)
        if pairs == levels[f]:  # every level inside one cluster: nested
            k -= levels[f] - 1
    return k


# --------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class ChunkResult:
    """Tidy rows (spec x coefficient) and the treatment coefficient's cluster influence per spec."""

    number: int
    tidy: pd.DataFrame
    influence: pd.DataFrame  # spec_index, spec_hash, then one column per country (0 when absent)


def fit_chunk(prep: Prepared, chunk: Chunk, alpha: float = 0.05) -> ChunkResult:
    """Estimate every specification of ``chunk`` (pure; single-threaded BLAS is the caller's job)."""
    parts: list[dict[str, np.ndarray]] = []
    infl_parts: list[tuple[np.ndarray, list[str], np.ndarray]] = []
    n_countries = len(prep.countries)
    for g in chunk.groups:
        _fit_group(prep, g, parts, infl_parts, n_countries)
    tidy = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in parts[0]})
    df_t = tidy["df_t"].to_numpy(dtype=float)
    tval = tidy["t_stat"].to_numpy(dtype=float)
    dfs = np.where(df_t > 0, df_t, 1.0)
    with np.errstate(invalid="ignore"):
        tidy["p_value"] = np.where(np.isfinite(tval), 2.0 * stats.t.sf(np.abs(tval), dfs), np.nan)
        q = np.where(df_t > 0, stats.t.ppf(1 - alpha / 2, dfs), np.nan)
    tidy["ci_low"] = tidy["estimate"] - q * tidy["std_error"]
    tidy["ci_high"] = tidy["estimate"] + q * tidy["std_error"]
    tidy = tidy.sort_values(["spec_index", "position"], kind="mergesort").drop(columns="position")
    tidy = tidy[list(RESULT_COLUMNS)].reset_index(drop=True)
    if infl_parts:
        idx = np.concatenate([a for a, _, _ in infl_parts])
        hashes = [h for _, hs, _ in infl_parts for h in hs]
        mat = np.vstack([m for _, _, m in infl_parts])
    else:
        idx, hashes, mat = np.zeros(0, dtype=np.int64), [], np.zeros((0, n_countries))
    infl = pd.DataFrame(mat, columns=list(prep.countries))
    infl.insert(0, "spec_hash", hashes)
    infl.insert(0, "spec_index", idx.astype(np.int64))
    infl = infl.sort_values("spec_index", kind="mergesort").reset_index(drop=True)
    return ChunkResult(chunk.number, tidy, infl)


def _rows(specs: list[SpecTask], xs: tuple[str, ...], est: np.ndarray | None, se: np.ndarray | None,
          ratio: np.ndarray, nobs: int, G: int, status: str) -> dict[str, np.ndarray]:
    """Tidy rows for ``specs`` sharing regressors ``xs``; ``est``/``se`` are (S, k) or None."""
    S, k = len(specs), len(xs)
    if est is None:
        est = np.full((S, k), np.nan)
        se = np.full((S, k), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
    std = np.full((S, k), np.nan)
    std[:, 0] = est[:, 0] * ratio
    terms = np.array([x.split(":", 1)[1] for x in xs], dtype=object)
    roles = np.array(["treatment"] + ["control"] * (k - 1), dtype=object)
    nan = np.full(S * k, np.nan)
    return {
        "spec_index": np.repeat(np.array([s.spec_index for s in specs], dtype=np.int64), k),
        "spec_hash": np.repeat(np.array([s.spec_hash for s in specs], dtype=object), k),
        "term": np.tile(terms, S), "role": np.tile(roles, S), "position": np.tile(np.arange(k), S),
        "estimate": est.ravel(), "std_error": se.ravel(), "t_stat": t.ravel(), "p_value": nan,
        "ci_low": nan, "ci_high": nan, "std_estimate": std.ravel(),
        "nobs": np.full(S * k, nobs, dtype=np.int64), "n_clusters": np.full(S * k, G, dtype=np.int64),
        "df_t": np.full(S * k, float(max(G - 1, 0))), "status": np.full(S * k, status, dtype=object),
    }


def _fit_group(prep: Prepared, g: GroupTask, parts, infl_parts, n_countries) -> None:
    rows = g.rows
    n = len(rows)
    cl = prep.cluster[rows]
    starts = np.flatnonzero(np.r_[True, cl[1:] != cl[:-1]]) if n else np.zeros(0, dtype=np.int64)
    G = len(starts)
    by_x: dict[tuple[str, ...], list[SpecTask]] = {}
    for s in g.specs:
        by_x.setdefault((s.x, *s.controls), []).append(s)
    if n == 0 or G < 2:
        for xs, specs in by_x.items():
            parts.append(_rows(specs, xs, None, None, np.nan, n, G, "empty sample" if n == 0 else
                               "fewer than 2 clusters"))
        return
    clusters = cl[starts]
    if np.any(np.diff(clusters) <= 0):  # pragma: no cover - rows are sorted by country
        raise RuntimeError("rows are not sorted by cluster")
    cols = list(dict.fromkeys(c for s in g.specs for c in (s.y, s.x, *s.controls)))
    pos = {c: i for i, c in enumerate(cols)}
    Z = np.column_stack([prep.columns[c][rows] for c in cols])
    fe_codes = {f: prep.fe_codes[f][rows] for f in g.fe}
    Zt = within(Z, list(fe_codes.values()))
    sd = Z.std(axis=0, ddof=1)
    raw_norm = np.linalg.norm(Z - Z.mean(axis=0), axis=0)
    yt_norm = np.linalg.norm(Zt, axis=0)
    k_abs = _absorbed_k(fe_codes, cl)
    by_k: dict[int, list[tuple[str, ...]]] = {}
    for xs in by_x:
        by_k.setdefault(len(xs), []).append(xs)
    for k, tuples in by_k.items():
        K = k + k_abs
        xidx = np.array([[pos[c] for c in xs] for xs in tuples])           # (T, k)
        X = np.ascontiguousarray(Zt[:, xidx].transpose(1, 0, 2))          # (T, n, k)
        Q, R = np.linalg.qr(X)                                            # (T, n, k), (T, k, k)
        d = np.abs(np.diagonal(R, axis1=1, axis2=2))
        collinear = np.any(d <= _COLLINEAR_TOL * np.maximum(raw_norm[xidx], 1e-300), axis=1) | (n < k)
        ycols = list(dict.fromkeys(s.y for xs in tuples for s in by_x[xs]))
        yidx = [pos[c] for c in ycols]
        ypos = {c: j for j, c in enumerate(ycols)}
        m = len(ycols)
        Y = Zt[:, yidx]                                                   # (n, m)
        QtY = np.matmul(Q.transpose(0, 2, 1), Y)                          # (T, k, m)
        ok = ~collinear & (n > K)
        Rs = np.where(ok[:, None, None], R, np.eye(k))                   # placeholders keep solves finite
        B = np.linalg.solve(Rs, QtY)                                      # (T, k, m)
        U = Y[None, :, :] - np.matmul(Q, QtY)                             # (T, n, m)
        Sg = np.add.reduceat(Q[:, :, :, None] * U[:, :, None, :], starts, axis=1)  # (T, G, k, m)
        H = np.linalg.solve(Rs[:, None, :, :], Sg)                        # (T, G, k, m): R^{-1} Q_g'u_g
        c = G / (G - 1) * (n - 1) / (n - K) if n > K else np.nan
        SE = np.sqrt(c * np.einsum("tgkm,tgkm->tkm", H, H))
        for t, xs in enumerate(tuples):
            specs = by_x[xs]
            if not ok[t]:
                parts.append(_rows(specs, xs, None, None, np.nan, n, G,
                                   "collinear regressors" if collinear[t] else "no residual degrees of freedom"))
                continue
            flat = [s for s in specs if yt_norm[pos[s.y]] <= _COLLINEAR_TOL * raw_norm[pos[s.y]]]
            if flat:  # outcome constant after absorbing the fixed effects: nothing to estimate
                parts.append(_rows(flat, xs, None, None, np.nan, n, G, "no outcome variation"))
            # identified only from rows where the outcome does not vary: estimate 0 with SE 0, no inference
            zero = [s for s in specs if s not in flat and not SE[t][0, ypos[s.y]] > 0]
            if zero:
                parts.append(_rows(zero, xs, None, None, np.nan, n, G, "zero standard error"))
            specs = [s for s in specs if s not in flat and s not in zero]
            if not specs:
                continue
            js = np.array([ypos[s.y] for s in specs])
            ysd = sd[[pos[s.y] for s in specs]]
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(ysd > 0, sd[pos[xs[0]]] / np.where(ysd > 0, ysd, 1.0), np.nan)
            parts.append(_rows(specs, xs, B[t][:, js].T, SE[t][:, js].T, ratio, n, G, "ok"))
            mat = np.zeros((len(specs), n_countries))
            mat[:, clusters] = H[t, :, 0, :][:, js].T
            infl_parts.append((np.array([s.spec_index for s in specs], dtype=np.int64),
                               [s.spec_hash for s in specs], mat))


# --------------------------------------------------------------------------- single designs
@dataclass(frozen=True)
class Design:
    """Within-transformed data of one specification (what the bootstrap and influence code need)."""

    y: np.ndarray            # (n,) within-transformed outcome
    X: np.ndarray            # (n, k) within-transformed regressors, treatment first
    cluster: np.ndarray      # (n,) global country codes, sorted
    starts: np.ndarray       # first row of each cluster
    K: int                   # parameters in the small-sample factor (regressors + absorbed FE)

    @property
    def n_clusters(self) -> int:
        return len(self.starts)


def sample_rows(prep: Prepared, mask: np.ndarray, fe: tuple[str, ...], columns: tuple[str, ...]) -> np.ndarray:
    """Row numbers of the estimation sample: ``mask``, complete cases of ``columns``, no FE singletons."""
    m = mask.copy()
    for c in columns:
        m &= ~np.isnan(prep.columns[c])
    idx = np.flatnonzero(m)
    if fe and len(idx):
        idx = idx[~singletons([prep.fe_codes[f][idx] for f in fe])]
    return idx


def design(prep: Prepared, rows: np.ndarray, fe: tuple[str, ...], y: str, xs: tuple[str, ...]) -> Design:
    """The within-transformed design of one specification on ``rows`` (sorted row numbers)."""
    cl = prep.cluster[rows]
    Z = np.column_stack([prep.columns[c][rows] for c in (y, *xs)])
    codes = {f: prep.fe_codes[f][rows] for f in fe}
    Zt = within(Z, list(codes.values()))
    starts = np.flatnonzero(np.r_[True, cl[1:] != cl[:-1]])
    return Design(Zt[:, 0], Zt[:, 1:], cl, starts, len(xs) + _absorbed_k(codes, cl))


def fit_rows(prep: Prepared, rows: np.ndarray, fe: tuple[str, ...], y: str, xs: tuple[str, ...],
             alpha: float = 0.05) -> pd.DataFrame:
    """Tidy rows of one specification estimated on ``rows`` (same code path as the grid)."""
    task = GroupTask(np.asarray(rows, dtype=np.int64), tuple(fe), (SpecTask(0, "", y, xs[0], tuple(xs[1:])),))
    return fit_chunk(prep, Chunk(0, (task,), ""), alpha).tidy
