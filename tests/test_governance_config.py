"""training.governance: the bias and overfitting gates' thresholds, protected attributes and
the model card's statements are validated at synth time with readable errors."""

from __future__ import annotations

import copy

import pytest

from platform_config import ConfigError, parse_config
from stacks.training_stack import _governance_settings


def _with(sample_config_data: dict, **governance) -> dict:
    data = copy.deepcopy(sample_config_data)
    data["training"].setdefault("governance", {}).update(governance)
    return data


def test_sample_governance(sample_config) -> None:
    governance = sample_config.training.governance
    assert governance.protected_attributes == ["SEX", "AGE", "MARRIAGE"]
    assert governance.bias_gate.conditions()[0] == ("DI_min", "min", 0.8)
    assert governance.bias_gate.arguments()[:2] == ["--di-min", "0.8"]
    assert 0 < governance.max_auc_gap < 0.5
    settings = _governance_settings(sample_config.training)
    assert settings["bias_bounds"] == governance.bias_gate.conditions()
    assert settings["risk_rating"] == "High"


@pytest.mark.parametrize("governance, expected", [
    ({"bias_gate": {"bounds": {"DI_mni": 0.8}}}, ["unknown bias metric 'DI_mni'", "DI_min"]),
    ({"bias_gate": {"bounds": {}}}, ["give at least one bound"]),
    ({"bias_gate": {"bounds": {"DI_min": 1.5}}}, ["bounds.DI_min", "(0.0, 1.0]"]),
    ({"bias_gate": {"bounds": {"DI_max": 0.9}}}, ["bounds.DI_max", "(1.0, 100.0]"]),
    ({"bias_gate": {"bounds": {"RD_max_abs": "low"}}}, ["bounds.RD_max_abs", "valid number"]),
    ({"bias_gate": {"additional_facets": ["AGE BAND"]}}, ["COLUMN=V1,V2", "AGE BAND"]),
    ({"max_auc_gap": 0.0}, ["max_auc_gap", "(0, 0.5)"]),
    ({"max_auc_gap": 0.7}, ["max_auc_gap", "(0, 0.5)"]),
    ({"protected_attributes": ["SEX", "SEX"]}, ["listed twice"]),
    ({"exclude_features": ["SEX"]}, ["SEX in both protected_attributes and exclude_features"]),
    ({"model_card": {"risk_rating": "Severe"}}, ["risk_rating"]),
    ({"model_card": {"decision_threshold": 1.0}}, ["decision_threshold", "(0, 1)"]),
    ({"model_card": {"intended_use": "x"}}, ["intended_use", "10-2000 characters"]),
    ({"bias_gaet": {}}, ["bias_gaet", "unknown key"]),
])
def test_bad_governance_is_refused_with_a_readable_error(sample_config_data, governance,
                                                         expected) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(sample_config_data, **governance))
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, message


def test_drift_alarms_only_on_model_features(sample_config_data) -> None:
    """A protected attribute is not a model feature: the endpoint never receives it, so its
    drift alarm would never get data (issue #14, finding 2)."""
    data = copy.deepcopy(sample_config_data)
    data["serving"]["features"] = ["LIMIT_BAL", "AGE"]
    with pytest.raises(ConfigError, match=r"serving.features \['AGE'\] are protected or excluded"):
        parse_config(data)

