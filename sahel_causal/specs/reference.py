"""The specification reference (``docs/specification.md``), generated from the schema and the registries.

``render()`` builds the Markdown from :data:`SECTIONS` (every common key: type, default,
meaning), the design modules' ``KEYS`` (:data:`sahel_causal.specs.designs.DESIGN_KEYS`), the
estimator registry and one validated example per design. ``tests/specs/test_spec_reference.py`` fails
when the committed file differs; regenerate it with::

    python -m sahel_causal.specs.reference > docs/specification.md
"""
from __future__ import annotations

import dataclasses

from sahel_causal import estimators
from sahel_causal.specs.designs import DESIGN_KEYS, DESIGNS
from sahel_causal.specs.schema import BASE_OPS, BOOT_WEIGHTS, COUNTRY_SETS, METHODS, OP_ARITY, VCOV_TYPES

Row = tuple[str, str, str, str]  # key, type, default, meaning

SECTIONS: dict[str, tuple[str, list[Row]]] = {
    "[table]": ("Metadata of the table.", [
        ("id", "string (letters, digits, _ and -)", "required", "Identifier; names the output files."),
        ("title", "string", "required", "Table title (a rerun's title says so and lists its --set overrides)."),
        ("description", "string", '""', "One-sentence description."),
        ("notes", "list of strings", "[]", "Notes printed first under the table; the rest are generated."),
    ]),
    "[data]": ("The panel the specification runs on.", [
        ("path", "string", "the committed panel", "CSV or Parquet file, relative to the spec file "
                                                 "(`run --panel FILE` overrides it)."),
        ("unit", "string", '"iso3"', "Unit column (lags, fixed effects, default cluster)."),
        ("time", "string", '"year"', "Time column (lags, year ranges, event time)."),
    ]),
    "[sample]": ("The table's sample; a model's `sample` table overrides single keys.", [
        ("countries", f"one of {list(COUNTRY_SETS)} or a list of ISO3 codes", '"africa" (all units)',
         "Country set; ISO3 codes must be African states in data/reference/countries.csv."),
        ("years", "[first, last] integers", "[1990, 2100]", "Inclusive period range."),
        ("exclude_suspension_years", "boolean", "false",
         "Drop the *outcome* years of the Section 7008 window (successful coup year and the next). Selects on "
         "the outcome: kept only for comparison; use exclude_lagged_suspension."),
        ("exclude_lagged_suspension", "boolean", "false",
         "Drop rows whose lagged treatment year (t-1) falls in a suspension window (a successful coup year and "
         "the next, or a dated us_aid_suspended year): cuts the reverse channel on the treatment side."),
        ("until_first_event", "string (variable name)", "\"\"",
         "Keep each country only until (and including) its first event of this 0/1 variable (first-coup hazard "
         "sample)."),
        ("drop_if_missing", "list of strings", "[]", "Also drop rows where these variables are missing."),
    ]),
    "[defaults]": ("Defaults for every `regression` model.", [
        ("controls", "list of strings", "[]", "Control variables."),
        ("fixed_effects", "list of strings", "[unit, time]", "Fixed effects."),
        ("estimator", "string", '"ols"', "Estimator."),
    ]),
    "[variables.<name>]": (
        "A derived variable (shared ones live in analysis/variables.toml; redefining one is an error, "
        "change it for a run with `--set variables.<name>.<key>=...`). Exactly one base operation, then "
        "scale, log1p and lag/lead in that order. Only variables a model uses are computed.", [
            *[(op, "string" if OP_ARITY[op] == 1 else f"list of {OP_ARITY[op] or 'one or more'} strings",
               "-", {"from": "copy a column", "sum": "row sum (missing if any is missing)",
                     "ratio": "num / den (den <= 0 -> missing)",
                     "any": "1 if the column is > 0 (missing stays missing)",
                     "interact": "product a * b",
                     "time_since": "periods since the unit's last period with the column > 0",
                     "share_of": "part / total, 0 when both are 0"}[op]) for op in BASE_OPS],
            ("scale", "number", "1", "Multiply by this."),
            ("log1p", "boolean", "false", "Take log(1 + x) (negative values are an error)."),
            ("lag", "integer >= 0", "0", "Value of period t - lag of the same unit (a gap -> missing)."),
            ("lead", "integer >= 0", "0", "Value of period t + lead."),
            ("note", "string", '""', "Meaning; printed in the table notes where the variable is a control."),
        ]),
    "[[model]]": ("One model (a column block of the table). Common keys; the design adds its own (below).", [
        ("id", "string (letters, digits, _ and -)", "required", "Unique within the table."),
        ("label", "string", "the id", "Label in the table."),
        ("design", f"one of {sorted(DESIGNS)}", '"regression"', "The design; selects the keys below."),
        ("sample", "table", "the table's [sample]", "Overrides of single sample keys."),
        ("note", "string", '""', "A note on the model."),
        ("smallest_effect_1sd", "positive number", "none",
         "Headline models: the smallest effect of interest of one within-unit SD of the first treatment, in "
         "outcome units (PPML: log points), for the minimum detectable effect and the equivalence test."),
        ("inference", "table", "the table's [inference]", "This model's inference plan (merged key by key)."),
    ]),
    "[inference]": ("The inference plan: table-wide defaults; `[model.inference]` (or `inference = {...}` in a "
                    "model) overrides single keys for one model.", [
        ("vcov", f"list from {list(VCOV_TYPES)}", '["CRV1", "CRV3"]', "Analytic covariances; CRV1 is required."),
        ("cluster", "string (one variable)", "the unit column", "Cluster variable (a list is an error: no "
                                                               "multiway clustering)."),
        ("alpha", "number in (0, 1)", "0.05", "Level of the confidence intervals."),
        ("wild_bootstrap", "table or false", "on", "Restricted wild cluster bootstrap (score bootstrap for PPML "
                                                   "and the pooled logit); `false` switches it off."),
        ("wild_bootstrap.draws", "integer >= 99", "9999", "Draws (all 2^G sign vectors when fewer); refused when "
                                                          "the memory estimate exceeds 2 GiB."),
        ("wild_bootstrap.weights", f"list from {list(BOOT_WEIGHTS)}", '["rademacher", "webb"]', "Weight types."),
        ("wild_bootstrap.seed", "integer >= 0", "20021124", "Seed."),
        ("randomization", "table or false", "on", "Randomization inference permuting units' treatment paths."),
        ("randomization.permutations", "integer >= 99", "9999", "Permutations (exact when few); memory-checked."),
        ("randomization.seed", "integer >= 0", "20021125", "Seed."),
        ("skip", f"table: method from {list(METHODS[1:])} -> reason", "{}",
         "Switch a method off for the model; the reason is printed in the table note."),
        ("unsupported", f"table: method from {list(METHODS[1:])} -> reason", "{}",
         "Reason printed when a model's estimator does not support a requested method (without it, asking "
         "for an unsupported method is an error)."),
    ]),
}

EXAMPLES: dict[str, str] = {
    "regression": '''[table]
id = "coups_lpm"
title = "Coups on lagged U.S. training"

[sample]
years = [2000, 2021]

[defaults]
controls = ["log_gdp_pc_l1", "polyarchy_l1"]

[[model]]
id = "lpm"
outcome = "coup_any"
treatments = ["train_pc_l1"]

[[model]]
id = "firth"
outcome = "coup_any"
treatments = ["train_pc_l1"]
estimator = "firth"
inference = { vcov = ["CRV1"], wild_bootstrap = false, randomization = false }

[inference]
wild_bootstrap = { draws = 9999, weights = ["webb"], seed = 1 }
randomization = { permutations = 9999, seed = 2 }
''',
    "event_study": '''[table]
id = "mpdta_event_study"
title = "Event study on the mpdta panel"

[data]
unit = "countyreal"
time = "year"

[[model]]
id = "twfe_es"
design = "event_study"
outcome = "lemp"
first_treat = "first.treat"
leads = 3
lags = 3

[inference]
vcov = ["CRV1", "CRV3"]
wild_bootstrap = false
randomization = false
''',
}


def _table(rows: list[Row]) -> list[str]:
    out = ["| key | type | default | meaning |", "|---|---|---|---|"]
    out += [f"| `{k}` | {t} | {d} | {m} |" for k, t, d, m in rows]
    return out


def _design_rows(name: str) -> list[Row]:
    keys = DESIGN_KEYS.get(name)
    if keys:
        return [(k, t, d, m) for k, (t, d, m) in keys.items()]
    # a design without KEYS: list the fields of the dataclass its parse function returns
    import typing

    try:
        cls = typing.get_type_hints(DESIGNS[name]).get("return")
    except Exception:  # noqa: BLE001 - unresolvable annotations: no rows rather than no reference
        cls = None
    fields = dataclasses.fields(cls) if cls is not None and dataclasses.is_dataclass(cls) else ()

    def default(f: dataclasses.Field) -> str:
        if f.default is not dataclasses.MISSING:
            return repr(f.default)
        return "computed" if f.default_factory is not dataclasses.MISSING else "required"

    return [(f.name, str(f.type), default(f), (f.metadata or {}).get("doc", "")) for f in fields]


def render() -> str:
    """The whole reference as Markdown."""
    lines = ["# Specification reference", "",
             "<!-- generated by `python -m sahel_causal.specs.reference > docs/specification.md`; do not edit -->", "",
             "A specification is a TOML file (published tables: `analysis/specs/<id>.toml`). It is validated strictly "
             "when read: unknown keys, values of the wrong type (`\"false\"` is not a boolean, `1.9` not an "
             "integer, `\"x\"` not a list), unknown designs or estimators, and inference methods an estimator does "
             "not support are errors naming the file and the field. `sahel-causal run SPEC --set key=value` "
             "changes any key for one run (values are TOML: `2`, `true`, `[]`, `\"text\"`), e.g. "
             "`--set variables.train_pc_l1.lag=2`, `--set model.lpm.controls=[]` (one model), "
             "`--set model.controls=[]` (every model); reruns are written to `results/_runs/`. The design files "
             "of Tables 5 and 6 (`table5_partnership_did.toml` with its `[grid]`, `table5_appendix_events.toml`, "
             "`table6_withdrawals.toml`) take `--set` the same way, e.g. "
             "`--set 'defaults.base_period=\"universal\"'` or `--set model.fra_mli_exit.pre_periods=36`: the "
             "design's own parser validates the result and the design's task writes the rerun's tables and "
             "figures.", ""]
    for section, (text, rows) in SECTIONS.items():
        lines += [f"## `{section}`", "", text, "", *_table(rows), ""]
    lines += ["## Designs", ""]
    for name in sorted(DESIGNS):
        lines += [f"### `design = \"{name}\"`", "", (DESIGNS[name].__module__ and
                                                     (__import__(DESIGNS[name].__module__, fromlist=["x"]).__doc__
                                                      or "").strip().split("\n\n")[0]), "",
                  *_table(_design_rows(name)), ""]
        if name in EXAMPLES:
            lines += ["Example:", "", "```toml", EXAMPLES[name].rstrip("\n"), "```", ""]
    lines += ["## Estimators", "", "From the registry in `sahel_causal/estimators.py`.", "",
              "| estimator | design | outcomes | inference | label | reference |", "|---|---|---|---|---|---|"]
    for e in sorted(estimators.REGISTRY.values(), key=lambda e: (e.design, e.name)):
        lines.append(f"| `{e.name}` | {e.design} | {', '.join(e.outcomes)} | {', '.join(e.inference)} | {e.label} | "
                     f"{e.reference} |")
    lines += ["", "Outcome kinds are nested: binary < count < nonnegative < continuous (an estimator accepting "
              "`continuous` accepts every numeric outcome).", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
