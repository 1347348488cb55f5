"""Derived columns and sample masks of a multiverse, computed once from the panel (pure).

Every variable any specification uses becomes one float column of a :class:`Prepared` data
set (rows = the panel's country-years, sorted by country then year): outcomes, treatments at
every scaling and lag, controls. Sample masks are computed once per (region, years, exclusion,
lag). Scalings are applied in the treatment year and then lagged by calendar year within
country (a gap in the panel gives a missing lag; ``sahel_causal.specs.transform`` semantics).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.multiverse.grid import control_column, outcome_column, sample_key, treatment_column
from sahel_causal.specs.designs.multiverse import MultiverseSpec, Region, VariableDef
from sahel_causal.specs.transform import SAHEL_G5


@dataclass(frozen=True)
class Prepared:
    """Columns and masks the engine reads (plain numpy arrays: cheap to ship to workers)."""

    columns: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    fe_codes: dict[str, np.ndarray]
    countries: tuple[str, ...]
    years: tuple[int, ...]
    checksum: str

    @property
    def cluster(self) -> np.ndarray:
        return self.fe_codes["iso3"]

    def frame(self) -> pd.DataFrame:
        """The prepared data as a data frame (iso3, year and every derived column)."""
        out = pd.DataFrame({"iso3": np.asarray(self.countries)[self.fe_codes["iso3"]],
                            "year": np.asarray(self.years)[self.fe_codes["year"]]})
        for k, v in self.columns.items():
            out[k] = v
        return out


def _lag(values: np.ndarray, codes: np.ndarray, year: np.ndarray, k: int) -> np.ndarray:
    """Value in year - k of the same country (NaN when that country-year is not in the panel)."""
    key = pd.Index(codes.astype(np.int64) * 10_000 + year.astype(np.int64))
    idx = key.get_indexer(codes.astype(np.int64) * 10_000 + year.astype(np.int64) - k)
    out = np.full(len(values), np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def _col(panel: pd.DataFrame, name: str, source: str) -> np.ndarray:
    if name not in panel.columns:
        raise SpecificationError(f"{source}: unknown panel variable {name!r}; see data/processed/codebook.md")
    return pd.to_numeric(panel[name], errors="coerce").to_numpy(dtype=float)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _derive(panel: pd.DataFrame, d: VariableDef, codes: np.ndarray, year: np.ndarray, source: str) -> np.ndarray:
    a = [_col(panel, c, f"{source} [{d.name}]") for c in d.args]
    if d.op == "from":
        s = a[0]
    elif d.op == "sum":
        s = np.sum(a, axis=0)  # NaN if any part is missing
    elif d.op == "ratio":
        s = _ratio(a[0], a[1])
    elif d.op == "share_of":
        s = np.where((a[0] == 0) & (a[1] == 0), 0.0, _ratio(a[0], a[1]))
    elif d.op == "any":
        s = np.where(np.isnan(a[0]), np.nan, (a[0] > 0).astype(float))
    else:  # pragma: no cover - validated by the parser
        raise SpecificationError(f"{source}: [{d.name}] unknown operation {d.op}")
    s = s * d.scale
    if d.log1p:
        if np.nanmin(s) < 0:
            raise SpecificationError(f"{source}: [{d.name}] log1p of negative values; drop log1p or rescale")
        s = np.log1p(s)
    return _lag(s, codes, year, d.lag) if d.lag else s


def scale_treatment(raw: np.ndarray, scaling: str, population: np.ndarray, milper: np.ndarray) -> np.ndarray:
    """A treatment measured in year t with ``scaling`` (before lagging)."""
    if scaling == "per_capita":
        return _ratio(raw, population)
    if scaling == "per_1000_milper":
        return _ratio(raw, milper) * 1000.0
    if scaling in ("log1p_millions", "log1p"):
        if np.nanmin(raw) < 0:
            raise SpecificationError(f"scaling {scaling!r} of a treatment with negative values; use per_capita")
        return np.log1p(raw * (1e-6 if scaling == "log1p_millions" else 1.0))
    if scaling == "any":
        return np.where(np.isnan(raw), np.nan, (raw > 0).astype(float))
    raise SpecificationError(f"unknown scaling {scaling!r}")  # pragma: no cover - validated by the parser


def region_mask(panel: pd.DataFrame, r: Region) -> np.ndarray:
    iso = panel["iso3"].to_numpy()
    if isinstance(r.countries, tuple):
        m = np.isin(iso, r.countries)
    elif r.countries == "sahel_g5":
        m = np.isin(iso, SAHEL_G5)
    elif r.countries == "sahel_partners":
        ever = set(panel.loc[panel["tsctp_entry_year"].notna(), "iso3"]) if "tsctp_entry_year" in panel else set()
        m = np.isin(iso, list(SAHEL_G5) + sorted(ever))
    else:
        m = np.ones(len(panel), dtype=bool)
    return m & ~np.isin(iso, r.exclude)


def prepare(spec: MultiverseSpec, panel: pd.DataFrame) -> Prepared:
    """Compute every column and sample mask ``spec`` needs from ``panel`` (not modified)."""
    for c in ("iso3", "year", "population", "coup_successes"):
        if c not in panel.columns:
            raise SchemaError(f"the panel lacks column {c!r}, which the multiverse needs")
    df = panel.sort_values(["iso3", "year"], kind="mergesort").reset_index(drop=True)
    if df.duplicated(["iso3", "year"]).any():
        raise SchemaError("the panel has duplicated iso3-year rows")
    countries = tuple(sorted(df["iso3"].unique()))
    years_all = tuple(int(y) for y in sorted(df["year"].unique()))
    codes = pd.Index(countries).get_indexer(df["iso3"]).astype(np.int64)
    year = df["year"].to_numpy(dtype=np.int64)
    ycodes = pd.Index(years_all).get_indexer(year).astype(np.int64)
    src = spec.source
    cols: dict[str, np.ndarray] = {}
    for o in spec.outcomes:
        cols[outcome_column(o.name)] = _derive(df, o, codes, year, src)
    for c in spec.controls:
        cols[control_column(c.name)] = _derive(df, c, codes, year, src)
    pop = _col(df, "population", src)
    milper = _col(df, "milper", src) if any("per_1000_milper" in t.scalings for t in spec.treatments) else pop
    for t in spec.treatments:
        raw = np.sum([_col(df, s, f"{src} [treatment {t.name}]") for s in t.source], axis=0)
        for s in t.scalings:
            scaled = scale_treatment(raw, s, pop, milper)
            for lag in spec.lags:
                cols[treatment_column(t.name, s, lag)] = _lag(scaled, codes, year, lag)
    # Section 7008 window (transform.suspension_window): successful-coup year and the next
    succ = np.nan_to_num(_col(df, "coup_successes", src)) > 0
    prev = np.nan_to_num(_lag(succ.astype(float), codes, year, 1)) > 0
    window = (succ | prev).astype(float)
    masks: dict[str, np.ndarray] = {}
    for r in spec.regions:
        rm = region_mask(df, r)
        for yw in spec.years:
            ym = rm & (year >= yw.start) & (year <= yw.end)
            for ex in spec.exclusions:
                for lag in spec.lags:
                    key = sample_key(r.name, yw.name, ex, lag)
                    if key in masks:
                        continue
                    if ex == "section7008_treatment":
                        in_window = np.nan_to_num(_lag(window, codes, year, lag)) > 0
                        masks[key] = ym & ~in_window
                    else:
                        masks[key] = ym.copy()
    h = hashlib.sha256()
    for k in sorted(cols):
        h.update(k.encode())
        h.update(np.ascontiguousarray(cols[k]).tobytes())
    for k in sorted(masks):
        h.update(k.encode())
        h.update(masks[k].tobytes())
    h.update(codes.tobytes())
    h.update(ycodes.tobytes())
    return Prepared(cols, masks, {"iso3": codes, "year": ycodes}, countries, years_all, h.hexdigest()[:16])
