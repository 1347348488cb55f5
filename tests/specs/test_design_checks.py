"""Every design's parser checks types with the shared checks of sahel_causal.specs.validate: the same
value gets the same words, with the file, the model and the key named."""
from __future__ import annotations

import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.specs.designs import multiverse, stacked_event_study, staggered_did, synthetic_control

CASES = [
    (staggered_did.parse, {"design": "staggered_did", "outcome": "y", "cohort": "g", "estimator": "twfe",
                           "anticipation": True}, "anticipation"),
    (stacked_event_study.parse, {"design": "stacked_event_study", "outcome": "y", "event": "e", "pre": True}, "pre"),
    (synthetic_control.parse, {"design": "synthetic_control", "id": "m", "label": "M", "role": "main",
                               "treated": ["MLI"], "event": "E", "outcome": "y", "lag": True}, "lag"),
]


@pytest.mark.parametrize("parse,model,key", CASES)
def test_a_boolean_where_an_integer_is_needed_is_named_the_same_way(parse, model, key):
    with pytest.raises(SpecificationError) as e:
        parse(model, source="s.toml", where="model 1")
    assert str(e.value) == f"s.toml: [model 1] {key}: must be an integer, got the boolean True"


def test_the_multiverse_parser_uses_the_same_words():
    p = multiverse._P("m.toml", "model 1")
    with pytest.raises(SpecificationError, match=r"^m\.toml: \[model 1\] lags: must be an integer, got the boolean True$"):
        p.integer(True, "lags")
    with pytest.raises(SpecificationError, match=r"\[model 1\] estimators: must be a list of names"):
        p.strings("fe_ols", "estimators")


def test_lists_of_strings_refuse_a_bare_string_duplicates_and_unknown_values():
    model = {"design": "staggered_did", "outcome": "y", "cohort": "g", "estimator": "cs_dr"}
    with pytest.raises(SpecificationError, match=r"covariates: must be a list of names, e\.g\. \['x'\]"):
        staggered_did.parse({**model, "covariates": "x"}, source="s.toml", where="m")
    with pytest.raises(SpecificationError, match="covariates: lists a name twice"):
        staggered_did.parse({**model, "covariates": ["x", "x"]}, source="s.toml", where="m")
    with pytest.raises(SpecificationError, match=r"aggregations: \['nope'\] not allowed"):
        staggered_did.parse({**model, "aggregations": ["nope"]}, source="s.toml", where="m")
    with pytest.raises(SpecificationError, match=r"honest_mbar: every value must be >= 0"):
        staggered_did.parse({**model, "honest_mbar": [-1.0]}, source="s.toml", where="m")
