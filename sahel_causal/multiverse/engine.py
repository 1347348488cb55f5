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

A specification whose regressors are (numerically) collinear after the transformation, or
whose sample has fewer than 2 clusters or no residual degrees of freedom, gets ``status`` other
than ``"ok"`` and missing estimates; nothing is dropped silently.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import solve_triangular

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
    """Rows that are alone in a level of some fixed effect, found iteratively (as ``fe_ols.singleton_mask``)."""
    keep = np.ones(len(codes[0]), dtype=bool)
    while True:
        changed = False
        for c in codes:
            counts = np.bincount(c[keep], minlength=int(c.max()) + 1)
            single = keep & (counts[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
        if not changed:
            return ~keep


# --------------------------------------------------------------------------- within transformation
def _dummies(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    levels, inv = np.unique(codes, return_inverse=True)
    d = np.zeros((len(codes), len(levels)))
    d[np.arange(len(codes)), inv] = 1.0
    return d, d.sum(axis=0)


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
    a, b = sorted(codes, key=lambda c: -len(np.unique(c)))  # demean by the larger, project the smaller
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
    k = sum(len(np.unique(c)) for c in codes.values()) - (len(codes) - 1)
    for c in codes.values():
        pairs = np.unique(np.column_stack([c, cluster]), axis=0)
        if len(pairs) == len(np.unique(c)):  # every level inside one cluster
            k -= len(np.unique(c)) - 1
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
    out: dict[str, list] = {c: [] for c in RESULT_COLUMNS}
    infl_idx: list[int] = []
    infl_hash: list[str] = []
    infl_rows: list[np.ndarray] = []
    n_countries = len(prep.countries)
    for g in chunk.groups:
        _fit_group(prep, g, out, infl_idx, infl_hash, infl_rows, n_countries)
    tidy = pd.DataFrame(out)
    df_t = tidy["df_t"].to_numpy(dtype=float)
    tval = tidy["t_stat"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        tidy["p_value"] = np.where(np.isfinite(tval), 2.0 * stats.t.sf(np.abs(tval), np.where(df_t > 0, df_t, 1)),
                                   np.nan)
        q = np.where(df_t > 0, stats.t.ppf(1 - alpha / 2, np.where(df_t > 0, df_t, 1)), np.nan)
    tidy["ci_low"] = tidy["estimate"] - q * tidy["std_error"]
    tidy["ci_high"] = tidy["estimate"] + q * tidy["std_error"]
    tidy = tidy.sort_values(["spec_index", "role", "term"], kind="mergesort",
                            key=lambda s: s.map({"treatment": 0, "control": 1}) if s.name == "role" else s)
    tidy = tidy.reset_index(drop=True)
    infl = pd.DataFrame(np.vstack(infl_rows) if infl_rows else np.zeros((0, n_countries)), columns=list(prep.countries))
    infl.insert(0, "spec_hash", infl_hash)
    infl.insert(0, "spec_index", np.asarray(infl_idx, dtype=np.int64))
    infl = infl.sort_values("spec_index", kind="mergesort").reset_index(drop=True)
    return ChunkResult(chunk.number, tidy, infl)


def _emit(out: dict[str, list], s: SpecTask, terms: list[str], est, se, sd_ratio, nobs, G, df_t, status) -> None:
    for j, term in enumerate(terms):
        out["spec_index"].append(s.spec_index)
        out["spec_hash"].append(s.spec_hash)
        out["term"].append(term.split(":", 1)[1])
        out["role"].append("treatment" if j == 0 else "control")
        e = float(est[j]) if est is not None else np.nan
        v = float(se[j]) if se is not None else np.nan
        out["estimate"].append(e)
        out["std_error"].append(v)
        out["t_stat"].append(e / v if est is not None and v > 0 else np.nan)
        out["p_value"].append(np.nan)
        out["ci_low"].append(np.nan)
        out["ci_high"].append(np.nan)
        out["std_estimate"].append(e * sd_ratio if j == 0 else np.nan)
        out["nobs"].append(nobs)
        out["n_clusters"].append(G)
        out["df_t"].append(df_t)
        out["status"].append(status)


def _fit_group(prep: Prepared, g: GroupTask, out, infl_idx, infl_hash, infl_rows, n_countries) -> None:
    rows = g.rows
    n = len(rows)
    cl = prep.cluster[rows]
    G = int(len(np.unique(cl))) if n else 0
    if n == 0 or G < 2:
        for s in g.specs:
            _emit(out, s, [s.x, *s.controls], None, None, np.nan, n, G, float(max(G - 1, 0)),
                  "empty sample" if n == 0 else "fewer than 2 clusters")
        return
    cols = list(dict.fromkeys(c for s in g.specs for c in (s.y, s.x, *s.controls)))
    pos = {c: i for i, c in enumerate(cols)}
    Z = np.column_stack([prep.columns[c][rows] for c in cols])
    fe_codes = {f: prep.fe_codes[f][rows] for f in g.fe}
    Zt = within(Z, list(fe_codes.values()))
    sd = Z.std(axis=0, ddof=1)
    raw_norm = np.linalg.norm(Z - Z.mean(axis=0), axis=0)
    k_abs = _absorbed_k(fe_codes, cl)
    starts = np.flatnonzero(np.r_[True, cl[1:] != cl[:-1]])
    clusters = cl[starts]
    if len(clusters) != G:  # pragma: no cover - rows are sorted by country
        raise RuntimeError("rows are not sorted by cluster")
    by_x: dict[tuple[str, ...], list[SpecTask]] = {}
    for s in g.specs:
        by_x.setdefault((s.x, *s.controls), []).append(s)
    for xs, specs in by_x.items():
        xi = [pos[c] for c in xs]
        k = len(xi)
        K = k + k_abs
        X = Zt[:, xi]
        Q, R = np.linalg.qr(X)
        d = np.abs(np.diag(R))
        collinear = bool(np.any(d <= _COLLINEAR_TOL * np.maximum(raw_norm[xi], 1e-300))) or n < k
        if collinear or n <= K:
            for s in specs:
                _emit(out, s, list(xs), None, None, np.nan, n, G, float(G - 1),
                      "collinear regressors" if collinear else "no residual degrees of freedom")
            continue
        yi = [pos[s.y] for s in specs]
        Y = Zt[:, yi]
        QtY = Q.T @ Y
        B = solve_triangular(R, QtY)                       # (k, m)
        U = Y - Q @ QtY                                    # (n, m)
        S = np.add.reduceat(Q[:, :, None] * U[:, None, :], starts, axis=0)  # (G, k, m)
        m = len(specs)
        H = solve_triangular(R, S.transpose(1, 0, 2).reshape(k, G * m)).reshape(k, G, m)
        c = G / (G - 1) * (n - 1) / (n - K)
        SE = np.sqrt(c * np.einsum("kgm,kgm->km", H, H))
        for j, s in enumerate(specs):
            ratio = sd[pos[s.x]] / sd[pos[s.y]] if sd[pos[s.y]] > 0 else np.nan
            _emit(out, s, list(xs), B[:, j], SE[:, j], ratio, n, G, float(G - 1), "ok")
            row = np.zeros(n_countries)
            row[clusters] = H[0, :, j]
            infl_idx.append(s.spec_index)
            infl_hash.append(s.spec_hash)
            infl_rows.append(row)
