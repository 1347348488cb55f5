"""Specifications as data: TOML files under ``analysis/specs/`` -> frozen, validated objects."""
from sahel_causal.specs.schema import Derive, InferenceSpec, ModelSpec, SampleSpec, TableSpec
from sahel_causal.specs.io import apply_overrides, load_spec, parse_spec

__all__ = ["Derive", "InferenceSpec", "ModelSpec", "SampleSpec", "TableSpec", "apply_overrides", "load_spec",
           "parse_spec"]
