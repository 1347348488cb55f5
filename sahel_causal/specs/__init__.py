"""Specifications as data: TOML files under ``analysis/specs/`` -> frozen, validated objects."""
from sahel_causal.specs.schema import (DataSpec, Derive, InferenceSpec, ModelSpec, SampleSpec,
                                       TableSpec)
from sahel_causal.specs.io import apply_overrides, load_spec, parse_spec, with_shared_variables

__all__ = ["DataSpec", "Derive", "InferenceSpec", "ModelSpec", "SampleSpec", "TableSpec", "apply_overrides",
           "load_spec", "parse_spec", "with_shared_variables"]
