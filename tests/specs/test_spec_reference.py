"""docs/specification.md is generated from the schema, covers every key, and its examples are valid."""
from __future__ import annotations

import tomllib

import pytest

from sahel_causal.paths import PROJECT_ROOT
from sahel_causal.specs import io, parse_spec, with_shared_variables
from sahel_causal.specs.designs import DESIGN_KEYS, DESIGNS
from sahel_causal.specs.reference import EXAMPLES, SECTIONS, render

DOC = PROJECT_ROOT / "docs" / "specification.md"


def test_committed_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/specification.md is out of date: run `python -m sahel_causal.specs.reference > docs/specification.md`")


def test_every_key_the_parser_accepts_is_documented():
    documented = {k for _, rows in SECTIONS.values() for k, *_ in rows}
    for allowed in (io._TABLE, io._DATA, io._SAMPLE, io._DEFAULTS, io._VARIABLE, io._MODEL_COMMON, io._INFERENCE):
        assert allowed <= documented, sorted(allowed - documented)
    assert {f"wild_bootstrap.{k}" for k in io._WB} | {f"randomization.{k}" for k in io._RI} <= documented
    for name, keys in DESIGN_KEYS.items():
        assert keys and set(keys) <= set(render().split("`")), name
    text = render()
    assert all(f'design = "{d}"' in text for d in DESIGNS)


@pytest.mark.parametrize("design", sorted(EXAMPLES))
def test_examples_are_valid_specifications(design):
    doc = with_shared_variables(tomllib.loads(EXAMPLES[design]), f"example {design}")
    spec = parse_spec(doc, f"example {design}")
    assert {m.design for m in spec.models} == {design}


def test_a_design_without_keys_is_documented_from_its_dataclass(monkeypatch):
    from sahel_causal.specs import designs, reference
    from sahel_causal.specs.designs import event_study

    monkeypatch.setitem(designs.DESIGNS, "toy_design", event_study.parse)
    monkeypatch.setattr(reference, "DESIGNS", designs.DESIGNS)
    text = reference.render()
    assert 'design = "toy_design"' in text and "| `first_treat` | str | required |" in text
