"""Table 5 and its figures: partnership entry as a staggered treatment, coups as events, and the
arrival of external security actors (the file-writing edge; estimation lives in designs/).

Reads ``analysis/specs/table5_partnership_did.toml`` (and ``table5_appendix_events.toml``),
derives the outcomes declared there on a copy of the panel, runs every model and writes
``results/tables/table5_*.{csv,md,tex}`` and ``results/figures/table5_*.{png,pdf}``.
Deterministic: every random draw is seeded in the spec files.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError
from sahel_causal.paths import PROJECT_ROOT

SPEC = Path("analysis/specs/table5_partnership_did.toml")
APPENDIX_SPEC = Path("analysis/specs/table5_appendix_events.toml")


def _read(path: Path) -> dict[str, Any]:
    p = path if path.is_absolute() else PROJECT_ROOT / path
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as e:
        raise SpecificationError(f"{path}: specification file not found") from e
    except tomllib.TOMLDecodeError as e:
        raise SpecificationError(f"{path}: invalid TOML ({e})") from e


def derive(panel: pd.DataFrame, raw: dict[str, Any], source: str) -> pd.DataFrame:
    """Copy of the panel with the spec's ``[variables.<name>]`` (the specification language's variable
    definitions, validated by :func:`sahel_causal.specs.io._variables`) and its [sample] years applied."""
    from sahel_causal.specs.io import _variables, with_shared_variables
    from sahel_causal.specs.transform import apply_derive

    out = panel.copy()
    # shared definitions (analysis/variables.toml) first, then the spec's own
    for spec in _variables(source, with_shared_variables(raw, source).get("variables", {})):
        if spec.name in out.columns:
            raise SpecificationError(f"{source}: [variables.{spec.name}] would overwrite a panel column")
        out[spec.name] = apply_derive(out, spec, source)
    for name in raw.get("transform", {}).get("asinh", []):
        if name not in out.columns:
            raise SpecificationError(f"{source}: [transform] asinh: unknown variable {name!r}")
        out[name] = np.arcsinh(out[name].astype(float))
    years = raw.get("sample", {}).get("years")
    if years is not None:
        if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) and not isinstance(y, bool) for y in years)):
            raise SpecificationError(f"{source}: [sample] years: must be [first, last] integers, got {years!r}")
        out = out[(out["year"] >= years[0]) & (out["year"] <= years[1])].reset_index(drop=True)
    return out


def _exclude_ever(data: pd.DataFrame, columns: list[str], source: str) -> pd.DataFrame:
    """Drop the untreated units that are ever 1 in any of ``columns`` (e.g. other U.S. CT programs)."""
    if not columns:
        return data
    bad = [c for c in columns if c not in data.columns]
    if bad:
        raise SpecificationError(f"{source}: [[robustness]] exclude_ever: unknown column(s) {bad}")
    ever = data.groupby("iso3")[columns].transform("max").max(axis=1) == 1
    return data[~ever | data["tsctp_entry_year"].notna()].reset_index(drop=True)


def _labels(f: Any, field: str, value: Any, n: int) -> None:
    """``field`` must be a list of ``n`` non-empty strings (one label per entry of the list it labels)."""
    if not isinstance(value, list) or len(value) != n or not all(isinstance(x, str) and x for x in value):
        raise f.fail(field, f"must be a list of {n} non-empty strings, one per entry, got {value!r}")


def _texts(f: Any, field: str, value: Any) -> None:
    """``field`` must be a list of non-empty strings (table notes)."""
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise f.fail(field, f"must be a list of non-empty strings, got {value!r}")


def check_appendix(raw: dict[str, Any], source: str) -> None:
    """Strict checks of the appendix file (Tables 5B-5D): [table] titles and notes, [coups], [actors] and
    the optional [dose], and every model they expand to (stacked event study, staggered DiD)."""
    from sahel_causal.specs import validate as v
    from sahel_causal.specs.designs import stacked_event_study as sspec
    from sahel_causal.specs.designs.staggered_did import parse as parse_did

    t = v.Fields(source, "table")
    tab = raw.get("table")
    if not isinstance(tab, dict):
        raise SpecificationError(f"{source}: [table] is required")
    for k in ("title_coups", "title_actors"):
        t.string(k, tab.get(k))
    for k in ("notes_coups", "notes_actors"):
        _texts(t, k, tab.get(k))
    for section, lists in (("coups", ("outcomes",)), ("actors", ("actors", "outcomes"))):
        f = v.Fields(source, section)
        sec = raw.get(section)
        if not isinstance(sec, dict):
            raise SpecificationError(f"{source}: [{section}] is required and must be a table")
        v.table(sec, {*lists, *(f"{x[:-1]}_labels" for x in lists), "defaults"}, source=source, where=section)
        for k in lists:
            n = len(f.strings(k, sec.get(k), allow_empty=False))
            _labels(f, f"{k[:-1]}_labels", sec.get(f"{k[:-1]}_labels"), n)
        if not isinstance(sec.get("defaults"), dict):
            raise f.fail("defaults", "must be a table of model settings")
    c, a = raw["coups"], raw["actors"]
    for o in c["outcomes"]:
        sspec.parse({**c["defaults"], "outcome": o, "id": f"{o}::stacked"}, source=source, where=f"coups {o}")
    for act in a["actors"]:
        for o in a["outcomes"]:
            parse_did({**a["defaults"], "outcome": o, "cohort": f"{act}_first", "id": f"{o}::{act}"}, source=source,
                      where=f"actors {act} x {o}")
    if raw.get("dose"):
        f = v.Fields(source, "dose")
        dz = v.table(raw["dose"], {"title", "dose", "outcomes", "outcome_labels", "bootstrap", "seed", "notes"},
                     source=source, where="dose")
        f.string("title", dz.get("title"))
        f.string("dose", dz.get("dose"))
        _labels(f, "outcome_labels", dz.get("outcome_labels"), len(f.strings("outcomes", dz.get("outcomes"))))
        f.integer("bootstrap", dz.get("bootstrap"), 0)
        f.integer("seed", dz.get("seed"), 0)
        _texts(f, "notes", dz.get("notes", []))


def _check_layout(raw: dict[str, Any], source: str) -> None:
    """Strict checks of the table-layout sections [grid], [honest] and [[robustness]] (the models they
    expand to are checked by the staggered-DiD parser): every wrong value is an error naming the key."""
    from sahel_causal.specs import validate as v

    g = v.Fields(source, "grid")
    grid = raw.get("grid")
    if not isinstance(grid, dict) or "outcomes" not in grid or "columns" not in grid:
        raise SpecificationError(f"{source}: [grid] needs 'outcomes' and 'columns'")
    v.table(grid, {"outcomes", "outcome_labels", "columns", "figure_estimators"}, source=source, where="grid")
    outcomes = g.strings("outcomes", grid["outcomes"], allow_empty=False)
    _labels(g, "outcome_labels", grid.get("outcome_labels"), len(outcomes))
    columns = grid["columns"]
    if not isinstance(columns, list) or not columns or not all(isinstance(c, dict) for c in columns):
        raise g.fail("columns", f"must be a non-empty array of tables ({{ key = ..., label = ..., estimator = ... }}), "
                                f"got {columns!r}")
    keys = [g.string("columns.key", c.get("key")) for c in columns]
    for c in columns:
        g.string(f"columns.{c['key']}.label", c.get("label", c["key"]))
    if len(set(keys)) != len(keys):
        raise g.fail("columns", f"keys must be distinct, got {keys}")
    if "figure_estimators" in grid:
        g.strings("figure_estimators", grid["figure_estimators"], allowed=keys)
    if "honest" in raw:
        h = v.Fields(source, "honest")
        hon = v.table(raw["honest"], {"outcomes", "pre", "post", "mbar", "m_multiples_of_se"}, source=source,
                      where="honest")
        for k in ("outcomes", "pre", "post", "mbar", "m_multiples_of_se"):
            if k not in hon:
                raise h.fail(k, "is required")
        h.strings("outcomes", hon["outcomes"], allowed=outcomes)
        h.integer("pre", hon["pre"], 1)
        h.integer("post", hon["post"], 1)
        h.numbers("mbar", hon["mbar"], minimum=0)
        h.numbers("m_multiples_of_se", hon["m_multiples_of_se"], minimum=0)
    rob = raw.get("robustness", [])
    if not isinstance(rob, list) or not all(isinstance(c, dict) for c in rob):
        raise SpecificationError(f"{source}: [[robustness]] must be an array of tables, got {rob!r}")
    for i, c in enumerate(rob, start=1):
        r = v.Fields(source, f"robustness #{i}")
        r.string("key", c.get("key"))
        if "exclude_ever" in c:
            r.strings("exclude_ever", c["exclude_ever"])


def partnership_models(raw: dict[str, Any], source: str) -> list[Any]:
    """Check the layout sections and expand [defaults] x [grid] outcomes x columns (+ [[robustness]])
    into parsed specs."""
    from sahel_causal.specs.designs.staggered_did import parse

    _check_layout(raw, source)
    grid = raw["grid"]
    defaults = dict(raw.get("defaults", {}))
    models = []
    for o in grid["outcomes"]:
        for col in grid["columns"]:
            m = {**defaults, **{k: v for k, v in col.items() if k not in ("key", "label")}, "outcome": o,
                 "id": f"{o}::{col['key']}", "label": col.get("label", col["key"])}
            models.append(parse(m, source=source, where=f"grid {o} x {col['key']}"))
    for o in grid["outcomes"]:
        for col in raw.get("robustness", []):
            m = {**defaults, **{k: v for k, v in col.items() if k not in ("key", "label", "exclude_ever")}, "outcome": o,
                 "id": f"{o}::{col['key']}", "label": col.get("label", col["key"])}
            models.append(parse(m, source=source, where=f"robustness {o} x {col['key']}"))
    return models


def make(panel: pd.DataFrame, results_dir: Path, progress: Callable[[str], None] = lambda m: None, *,
         raw: dict[str, Any] | None = None, source: str | None = None, appendix: bool = True) -> list[Path]:
    """Write Table 5 (partnership DiD), its diagnostics, event-study and sensitivity figures, and (with
    ``appendix``) Tables 5B-5C. ``raw``/``source``: a specification document instead of the committed
    ``analysis/specs/table5_partnership_did.toml`` (``sahel-causal run`` with ``--set``)."""
    from sahel_causal.designs.staggered_did import run
    from sahel_causal.pipeline import _write_text, write_csv
    from sahel_causal.report import did_tables as T

    if raw is None:
        raw, source = _read(SPEC), SPEC.as_posix()
    source = source or SPEC.as_posix()
    data = derive(panel, raw, source)
    models = partnership_models(raw, source)
    grid = raw["grid"]
    excl = {c["key"]: c["exclude_ever"] for c in raw.get("robustness", []) if "exclude_ever" in c}
    results = [run(m, _exclude_ever(data, excl.get(m.id.split("::")[1], []), source), progress=progress) for m in models]
    tables = results_dir / "tables"
    figures = results_dir / "figures"
    written: list[Path] = []
    tab = raw["table"]
    labels = dict(zip(grid["outcomes"], grid["outcome_labels"]))
    cols = [(c["key"], c["label"]) for c in grid["columns"]]
    main = [r for r in results if r.model_id.split("::")[1] in dict(cols)]
    written.append(write_csv(T.long_frame(results, labels, dict(cols)), tables / "table5_partnership.csv"))
    grid_df = T.summary_grid(main, grid["outcomes"], grid["outcome_labels"], cols)
    written.append(_write_text(tables / "table5_partnership.md", T.to_markdown(grid_df, tab["title"], tab["notes"])))
    written.append(_write_text(tables / "table5_partnership.tex", T.to_latex(grid_df, tab["title"], tab["notes"])))
    rob = [(c["key"], c.get("label", c["key"])) for c in raw.get("robustness", [])]
    if rob:
        rob_res = [r for r in results if r.model_id.split("::")[1] in dict(rob) or r.model_id.endswith("::cs")]
        rg = T.summary_grid(rob_res, grid["outcomes"], grid["outcome_labels"], [("cs", "CS (Table 5)")] + rob)
        rtitle = "Table 5 (robustness). Partnership entry: comparison group, base period and entry-year coding"
        rnotes = ["As Table 5. Not-yet-treated: countries that enter later serve as controls until they enter. Alternative entry years: PSI partners coded from the start of training (Mali 2003; Chad, Mauritania, Niger 2004) and Burkina Faso from 2009 (tsctp_entry_year_alt). Universal base period: every pre- and post-period compared with the year before entry. Without PREACT/SGI partners: never-partnered controls that took part in the East African CT partnership or the Security Governance Initiative (similar U.S. programs) are dropped (30 controls remain). The sample rows below are those of Table 5's CS column."]
        written.append(_write_text(tables / "table5_robustness.md", T.to_markdown(rg, rtitle, rnotes)))
        written.append(_write_text(tables / "table5_robustness.tex", T.to_latex(rg, rtitle, rnotes)))
    diag = T.diagnostics_frame(results, labels)
    written.append(write_csv(diag, tables / "table5_diagnostics.csv"))
    dd = T.diagnostics_display(diag)
    dnotes = [
        "Goodman-Bacon (2021) decomposition of static TWFE on the balanced subsample (countries observed in every year of the outcome's sample); w = weight of each comparison type (they sum to one), DD = weighted mean 2x2 estimate. 'Later vs earlier' uses already-partnered countries as controls (the forbidden comparison).",
        "dCDH: de Chaisemartin & D'Haultfoeuille (2020) weights of TWFE on treated country-years (full unbalanced sample); negative weights / treated cells; sigma_fe = |TWFE| / sd(weights), the smallest cross-cell SD of effects under which the true ATT could have the opposite sign.",
    ]
    dtitle = "Table 5 (diagnostics). Two-way fixed effects under staggered partnership entry"
    written.append(_write_text(tables / "table5_diagnostics.md", T.to_markdown(dd, dtitle, dnotes)))
    written.append(_write_text(tables / "table5_diagnostics.tex", T.to_latex(dd, dtitle, dnotes)))
    written += _figures(results, raw, labels, figures, data, progress)
    if appendix:
        written += make_appendix(panel, results_dir, progress)
    return written


def _figures(results, raw, labels, figures: Path, data: pd.DataFrame, progress) -> list[Path]:
    from sahel_causal.pipeline import write_csv
    from sahel_causal.report import event_study_figures as F
    from sahel_causal.report.figures import save_figure

    grid = raw["grid"]
    keys = grid.get("figure_estimators", ["cs", "sa", "imputation"])
    names = {c["key"]: c["label"] for c in grid["columns"]}
    out: list[Path] = []
    fig = F.event_study_panels(
        [[r for r in results if r.outcome == o and r.model_id.split("::")[1] in keys] for o in grid["outcomes"]],
        [labels[o] for o in grid["outcomes"]], names, window=(raw["defaults"].get("min_e", -6), raw["defaults"].get("max_e", 10)))
    out += save_figure(fig, figures, "table5_event_study")
    # HonestDiD sensitivity of the Sun & Abraham event study (long differences to e = -1)
    h = raw.get("honest", {})
    rows = []
    for o in h.get("outcomes", []):
        r = next(r for r in results if r.outcome == o and r.model_id.endswith("::sa"))
        rm, sd, ci = honest_frames(r.estimates, h["pre"], h["post"], h["mbar"], h["m_multiples_of_se"])
        rows.append((o, labels[o], rm, sd, ci))
    if rows:
        fig = F.sensitivity_grid([x[1:] for x in rows], f"Mean effect, years 0-{h['post'] - 1}")
        out += save_figure(fig, figures, "table5_honest_sensitivity")
        out.append(write_csv(honest_data(rows, h), figures / "table5_honest_sensitivity_data.csv"))
    return out


def honest_data(rows: list, h: dict) -> pd.DataFrame:
    """The numbers behind the HonestDiD figure, one row per outcome x restriction x bound value:
    ``kind`` original (the pointwise 95% CI of the mean of effects 0..post-1), relative_magnitudes
    (``bound`` = Mbar) or smoothness (``bound`` = M in multiples of the SE of that mean); ``model``
    and ``term`` (outcome::kind, the bound as text) identify a row for numbers.tex."""
    out = []
    for o, label, rm, sd, ci in rows:
        base = {"outcome": o, "label": label, "pre": int(h["pre"]), "post": int(h["post"])}
        out.append({"model": f"{o}::original", "term": "ci", **base, "kind": "original", "bound": float("nan"),
                    "lb": float(ci[0]), "ub": float(ci[1])})
        out += [{"model": f"{o}::relative_magnitudes", "term": f"mbar={float(x.Mbar):g}", **base,
                 "kind": "relative_magnitudes", "bound": float(x.Mbar), "lb": float(x.lb), "ub": float(x.ub)}
                for x in rm.itertuples(index=False)]
        out += [{"model": f"{o}::smoothness", "term": f"m={float(m):g}", **base, "kind": "smoothness",
                 "bound": float(m), "lb": float(x.lb), "ub": float(x.ub)}
                for m, x in zip(h["m_multiples_of_se"], sd.itertuples(index=False))]
    return pd.DataFrame(out)


def first_arrival(panel: pd.DataFrame, column: str, unit: str = "iso3", time: str = "year") -> pd.Series:
    """First period with ``column`` == 1 for each row's unit (0 = never), aligned with ``panel``."""
    if column not in panel.columns:
        raise SpecificationError(f"table5: column {column!r} is not in the panel; see data/processed/codebook.md")
    first = panel.loc[panel[column] == 1].groupby(unit)[time].min()
    return panel[unit].map(first).fillna(0).astype(int)


def make_appendix(panel: pd.DataFrame, results_dir: Path, progress: Callable[[str], None] = lambda m: None, *,
                  raw: dict[str, Any] | None = None, source: str | None = None) -> list[Path]:
    """Tables 5B (coups as events) and 5C (external actors) and the coup event-study figure (``raw``/
    ``source``: a specification document instead of ``analysis/specs/table5_appendix_events.toml``)."""
    from sahel_causal.designs import event_study_coups as coups
    from sahel_causal.designs.staggered_did import run as run_did
    from sahel_causal.pipeline import _write_text, write_csv
    from sahel_causal.report import did_tables as T
    from sahel_causal.report import event_study_figures as F
    from sahel_causal.report.figures import save_figure
    from sahel_causal.specs.designs import stacked_event_study as sspec
    from sahel_causal.specs.designs.staggered_did import parse as parse_did

    if raw is None:
        raw, source = _read(APPENDIX_SPEC), APPENDIX_SPEC.as_posix()
    source = source or APPENDIX_SPEC.as_posix()
    check_appendix(raw, source)
    data = derive(panel, raw, source)
    tab = raw["table"]
    tables, figures = results_dir / "tables", results_dir / "figures"
    written: list[Path] = []
    # --- B: coups as events
    c = raw["coups"]
    cres = []
    for o in c["outcomes"]:
        spec = sspec.parse({**c["defaults"], "outcome": o, "id": f"{o}::stacked"}, source=source, where=f"coups {o}")
        cres.append(coups.run(spec, data, progress=progress))
    wres = []
    for o in c["outcomes"]:
        spec = sspec.parse({**c["defaults"], "weighting": "wing", "outcome": o, "id": f"{o}::stacked_wing"}, source=source,
                           where=f"coups {o} (wing)")
        wres.append(coups.run(spec, data, progress=progress))
    long_b = pd.concat([r.tidy().assign(n_events=r.diagnostics["n_events_used"], n_event_countries=r.diagnostics["n_treated_units"],
                                        pretrend_p=r.diagnostics["pretrend_wald"]["p_value"]) for r in cres + wres], ignore_index=True)
    written.append(write_csv(long_b, tables / "table5_coup_events.csv"))
    disp_b = T.event_grid(cres, c["outcome_labels"], wing=wres)
    written.append(_write_text(tables / "table5_coup_events.md", T.to_markdown(disp_b, tab["title_coups"], tab["notes_coups"])))
    written.append(_write_text(tables / "table5_coup_events.tex", T.to_latex(disp_b, tab["title_coups"], tab["notes_coups"])))
    fig = F.coup_event_panels(cres, c["outcome_labels"], (-c["defaults"].get("pre", 3), c["defaults"].get("post", 3)))
    written += save_figure(fig, figures, "table5_coup_events")
    # --- C: external actors
    a = raw["actors"]
    ares = []
    for act in a["actors"]:
        gcol = f"{act}_first"
        d2 = data.assign(**{gcol: first_arrival(data, act)})
        for o in a["outcomes"]:
            spec = parse_did({**a["defaults"], "outcome": o, "cohort": gcol, "id": f"{o}::{act}"}, source=source,
                             where=f"actors {act} x {o}")
            ares.append(run_did(spec, d2, progress=progress))
    written.append(write_csv(pd.concat([r.tidy().assign(n_treated_units=r.diagnostics["n_treated_units"],
                                                        pretrend_p=r.diagnostics.get("pretrend_wald", {}).get("p_value"))
                                        for r in ares], ignore_index=True), tables / "table5_external_actors.csv"))
    disp_c = T.actor_grid(ares, a["actors"], a["actor_labels"], a["outcomes"], a["outcome_labels"])
    written.append(_write_text(tables / "table5_external_actors.md", T.to_markdown(disp_c, tab["title_actors"], tab["notes_actors"])))
    written.append(_write_text(tables / "table5_external_actors.tex", T.to_latex(disp_c, tab["title_actors"], tab["notes_actors"])))
    # --- D: continuous dose
    dz = raw.get("dose")
    if dz:
        from sahel_causal.did.continuous import was_stayers
        from threadpoolctl import threadpool_limits

        rows = []
        with threadpool_limits(limits=1, user_api="blas"):
            for o, ol in zip(dz["outcomes"], dz["outcome_labels"]):
                r = was_stayers(data, o, "year", "iso3", dz["dose"], bootstrap=dz["bootstrap"], seed=dz["seed"])
                t = r.tidy().iloc[0]
                rows.append({"outcome": o, "label": ol, "estimate": t.estimate, "std_error": t.std_error, "p_value": t.p_value,
                             "ci_low": t.ci_low, "ci_high": t.ci_high, "method": t.method, "n_switchers": r.meta["n_switchers"],
                             "n_stayers": r.meta["n_stayers"], "n_switchers_without_stayers": r.meta["n_switchers_without_stayers"],
                             "n_switching_countries": r.n_treated_units})
        dfd = pd.DataFrame(rows)
        written.append(write_csv(dfd, tables / "table5_dose.csv"))
        disp = T.dose_display(dfd)
        written.append(_write_text(tables / "table5_dose.md", T.to_markdown(disp, dz["title"], dz["notes"])))
        written.append(_write_text(tables / "table5_dose.tex", T.to_latex(disp, dz["title"], dz["notes"])))
    return written


def honest_inputs(res: Any, pre: int, post: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Event-study vector (e = -pre..-2, 0..post-1; reference e = -1 omitted) and its covariance."""
    es = [e for e in range(-pre - 1, -1)] + list(range(post))
    idx = [res.terms.index(f"e={e}") for e in es if f"e={e}" in res.terms]
    npre = sum(1 for e in es if e < 0 and f"e={e}" in res.terms)
    V = res.vcov_matrix()[np.ix_(idx, idx)]
    return np.asarray(res.estimate)[idx], V, npre, len(idx) - npre


def honest_frames(res: Any, pre: int, post: int, mbar: list[float], m_mult: list[float]) -> tuple[pd.DataFrame, pd.DataFrame, tuple[float, float]]:
    """HonestDiD robust CIs for the average of the first ``post`` effects: relative magnitudes
    (Mbar) and smoothness (M in multiples of the SE of that average); plus the original CI."""
    from sahel_causal.did.honest import sensitivity_relative_magnitudes, sensitivity_smoothness

    b, V, npre, npost = honest_inputs(res, pre, post)
    lv = np.full(npost, 1.0 / npost)
    se = float(np.sqrt(lv @ V[npre:, npre:] @ lv))
    est = float(lv @ b[npre:])
    rm = sensitivity_relative_magnitudes(b, V, npre, npost, mbar_vec=mbar, l_vec=lv, seed=20240601)
    sd = sensitivity_smoothness(b, V, npre, npost, m_vec=[m * se for m in m_mult], l_vec=lv)
    return rm, sd, (est - 1.959963984540054 * se, est + 1.959963984540054 * se)
