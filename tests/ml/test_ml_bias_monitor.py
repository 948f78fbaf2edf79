"""The bias-drift monitor's baseline written by the training run's bias step
(ml/credit_default/bias_monitor.py): Clarify's monitor analysis config over the served
request layout, and constraints equal to the registration gate's bounds."""

from __future__ import annotations

import pytest

from credit_default import _common as common
from credit_default import bias, bias_monitor

REQUEST = ["SEX", "AGE", "MARRIAGE", "LIMIT_BAL", "PAY_0"]
AGE_BANDS = {"column": "AGE_BAND", "edges": [25, 35, 45, 55, 65], "labels": []}


def _build(specs, thresholds=None, request=REQUEST):
    return bias_monitor.build(
        request_columns=request, label="default", positive_outcome=0, specs=specs,
        thresholds=thresholds or {"DPPL": {"max_abs": 0.1}, "RD": {"max_abs": 0.08}, "DI": {"min": 0.8}},
        age_bands=AGE_BANDS, seen_values={"MARRIAGE": [1, 2, 3]})


def test_config_names_the_captured_columns_the_facets_and_the_favourable_outcome():
    config, constraints, summary = _build([("SEX", [2], None), ("AGE_BAND", None, None), ("MARRIAGE", None, None)])
    assert config["headers"] == REQUEST + ["default"] and config["label"] == "default"
    assert config["label_values_or_threshold"] == [0]
    assert config["facet"] == [
        {"name_or_index": "SEX", "value_or_threshold": [2]},
        *({"name_or_index": "AGE", "value_or_threshold": [edge]} for edge in AGE_BANDS["edges"]),
        {"name_or_index": "MARRIAGE"},  # Clarify: one group per unique value
    ]
    facets = constraints["post_training_bias_metrics"]["facets"]
    assert [g["value_or_threshold"] for g in facets["SEX"]] == ["2"]
    assert [g["value_or_threshold"] for g in facets["AGE"]] == ["25", "35", "45", "55", "65"]
    assert [g["value_or_threshold"] for g in facets["MARRIAGE"]] == ["1", "2", "3"]
    # the gate's max_abs bounds; DI (balanced at 1, not 0) and unbounded AD are not constraints
    assert {m["name"]: m["value"] for m in facets["SEX"][0]["metrics"]} == {"DPPL": 0.1, "RD": 0.08}
    assert summary["metrics"] == ["DPPL", "RD"] and summary["not_monitored"] == []


def test_specs_outside_the_request_are_reported_and_a_monitor_without_facets_is_refused():
    _, _, summary = _build([("SEX", [2], None), ("EDUCATION", None, None)])
    assert summary["not_monitored"] == ["EDUCATION"]
    with pytest.raises(ValueError, match="no bias facet is in the served request layout"):
        _build([("SEX", [2], None)], request=["LIMIT_BAL", "PAY_0"])
    with pytest.raises(ValueError, match="constraints would be empty"):
        _build([("SEX", [2], None)], thresholds={"DI": {"min": 0.8}})
    with pytest.raises(ValueError, match="fewer than two values"):
        bias_monitor.build(request_columns=REQUEST, label="default", positive_outcome=0, specs=[("SEX", None, None)],
                           thresholds={"DPPL": {"max_abs": 0.1}}, age_bands=None, seen_values={"SEX": [1]})


def test_the_bias_step_writes_the_monitor_baseline_from_the_run(preprocessed, tmp_path):
    """As the workflow runs it (preprocess params give the served layout and the age bands)."""
    import pandas as pd

    processing = preprocessed["dir"]
    facets = pd.read_csv(processing / "facets" / "train_facets.csv")
    predictions = tmp_path / "predictions.csv"
    frame = facets.head(400).copy()
    frame["default"] = (frame.index % 4 == 0).astype(int)
    frame["predicted_label"] = (frame.index % 5 == 0).astype(int)
    frame.to_csv(predictions, index=False)
    report = bias.main([
        "--predictions", str(predictions), "--pretraining-data", str(processing / "train"),
        "--pretraining-columns-from", str(processing / "params" / "preprocess_params.json"),
        "--pretraining-facets", str(processing / "facets" / "train_facets.csv"),
        "--output-dir", str(tmp_path / "out"), "--facet-column", "SEX", "--facet-values", "2",
        "--facet", "AGE_BAND", "--facet", "MARRIAGE", "--dppl-max-abs", "0.07",
    ])
    config = common.read_json(tmp_path / "out" / "monitor" / "analysis_config.json")
    constraints = common.read_json(tmp_path / "out" / "monitor" / "analysis.json")
    params = preprocessed["params"]["parameters"]
    assert config["headers"] == params["request_columns"] + ["default"]
    assert [f["name_or_index"] for f in config["facet"]] == ["SEX"] + ["AGE"] * 5 + ["MARRIAGE"]
    sex = constraints["post_training_bias_metrics"]["facets"]["SEX"][0]
    assert {m["name"]: m["value"] for m in sex["metrics"]}["DPPL"] == 0.07  # the gate's bound
    assert report["bias_drift_monitor"]["folder"] == "monitor"
