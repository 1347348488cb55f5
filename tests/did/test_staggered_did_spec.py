"""Strict parser of the staggered_did design specification."""
from __future__ import annotations

import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.specs.designs.staggered_did import ESTIMATORS, StaggeredDidSpec, parse

BASE = {"design": "staggered_did", "outcome": "coup_attempt", "cohort": "tsctp_entry", "estimator": "cs_dr"}


def _p(**kw):
    return parse({**BASE, **kw}, source="analysis/specs/t5.toml", where="model 1")


def test_defaults_and_att_gt_kwargs():
    s = _p(covariates=["lpop", "gdp"], control_group="notyettreated", anticipation=1)
    assert isinstance(s, StaggeredDidSpec)
    kw = s.att_gt_kwargs()
    assert kw["xformla"] == "~ lpop + gdp" and kw["est_method"] == "dr"
    assert kw["control_group"] == "notyettreated" and kw["anticipation"] == 1
    assert s.aggregations == ("simple", "dynamic") and s.seed == 20211
    assert set(ESTIMATORS) >= {"cs_dr", "cs_ipw", "cs_reg", "sun_abraham", "imputation", "twfe", "dcdh"}
    assert _p(estimator="twfe").est_method is None
    assert _p(estimator="dcdh", treatment="tsctp_active").treatment == "tsctp_active"
    assert s.treatment is None


@pytest.mark.parametrize("kw, field", [
    ({"anticipation": True}, "anticipation"),
    ({"anticipation": 1.0}, "anticipation"),
    ({"anticipation": -1}, "anticipation"),
    ({"bootstrap": 1}, "bootstrap"),
    ({"covariates": "lpop"}, "covariates"),
    ({"estimator": "cs"}, "estimator"),
    ({"aggregations": ["simple", "cohort"]}, "aggregations"),
    ({"control_group": "never"}, "control_group"),
    ({"alpha": 1.5}, "alpha"),
    ({"min_e": 3, "max_e": 1}, "min_e"),
    ({"honest_mbar": [0.5, "1"]}, "honest_mbar"),
    ({"typo_key": 1}, "typo_key"),
    ({"treatment": 1}, "treatment"),
    ({"design": "regression"}, "design"),
])
def test_strict_errors_name_source_and_field(kw, field):
    with pytest.raises(SpecificationError) as e:
        _p(**kw)
    assert str(e.value).startswith("analysis/specs/t5.toml: [model 1] ")
    assert field in str(e.value)


def test_missing_required():
    with pytest.raises(SpecificationError, match="cohort: is required"):
        parse({"outcome": "y", "estimator": "cs_dr"}, source="f.toml", where="model 2")
