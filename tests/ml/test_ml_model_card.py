"""The model card content: what a model-risk approver reads in the Model Registry.

Validated against AWS's model package model card schema (tests/ml/data/, from the SageMaker
Developer Guide) with ``jsonschema``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credit_default import _common as common
from credit_default import bias, evaluate, explain, model_card

SCHEMA = Path(__file__).resolve().parent / "data" / "model_package_model_card_schema.json"


@pytest.fixture(scope="module")
def reports(model_dir, preprocessed, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    processing = preprocessed["dir"]
    evaluate.run(model_dir, processing / "test", out / "evaluation", 0.5,
                 train_path=processing / "train", validation_path=processing / "validation")
    explain.run(model_dir, processing / "test", out / "explainability", max_rows=5)
    bias.main([
        "--predictions", str(out / "evaluation" / "predictions.csv"), "--pretraining-data", str(processing / "train"),
        "--pretraining-columns-from", str(processing / "params" / "preprocess_params.json"),
        "--pretraining-facets", str(processing / "facets" / "train_facets.csv"), "--output-dir", str(out / "bias"),
    ])
    return out, processing


def _card(reports, tmp_path, *extra):
    out, processing = reports
    return model_card.main([
        "--evaluation", str(out / "evaluation"), "--bias", str(out / "bias" / "bias_report.json"),
        "--explainability", str(out / "explainability"), "--preprocess-params", str(processing / "params"),
        "--output-dir", str(tmp_path), "--model-artifact", "s3://models/runs/r1/model.tar.gz",
        "--dataset", "s3://raw/credit.csv", "--gate", "quality=auc 0.80 >= 0.75",
    ] + list(extra))


def test_card_is_valid_against_aws_schema_and_says_what_a_reviewer_needs(reports, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    card = _card(reports, tmp_path, "--threshold-rationale", "Referral capacity: 10% of applicants.")
    written = json.loads((tmp_path / model_card.MODEL_CARD_FILENAME).read_text())
    assert written == common.to_jsonable(card)
    jsonschema.validate(written, json.loads(SCHEMA.read_text()))
    assert written["intended_uses"]["risk_rating"] == "High"
    assert written["intended_uses"]["explanations_for_risk_rating"]
    details = written["additional_information"]["custom_details"]
    assert details["decision_threshold"] == "0.5"
    assert details["threshold_rationale"] == "Referral capacity: 10% of applicants."
    assert details["gate_quality"] == "auc 0.80 >= 0.75"
    assert "not model inputs" in written["additional_information"]["ethical_considerations"]
    assert written["additional_information"]["caveats_and_recommendations"]
    sections = {s["name"]: s for s in written["evaluation_details"]}
    assert set(sections) == {"Model quality (test set)", "Bias (SageMaker Clarify metrics)", "Explainability (SHAP)"}
    quality = {m["name"]: m["value"] for m in sections["Model quality (test set)"]["metric_groups"][0]["metric_data"]}
    evaluation = common.read_json(reports[0] / "evaluation" / "evaluation.json")
    assert quality["auc"] == evaluation["metrics"]["auc"]["value"] and "auc_gap" in quality
    bias_groups = {g["name"] for g in sections["Bias (SageMaker Clarify metrics)"]["metric_groups"]}
    assert {"SEX = 2", "MARRIAGE = 1", "AGE_BAND = 25-34"} <= bias_groups
    observations = written["training_details"]["training_observations"]
    assert "Protected attributes kept out of the features and evaluated as bias facets: SEX, AGE, MARRIAGE" in observations


def test_schema_check_rejects_a_wrong_risk_rating(reports, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    card = _card(reports, tmp_path)
    card["intended_uses"]["risk_rating"] = "Severe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(card, json.loads(SCHEMA.read_text()))
    with pytest.raises(SystemExit):
        _card(reports, tmp_path, "--risk-rating", "Severe")


def test_documented_threshold_must_be_the_evaluated_one(reports, tmp_path):
    with pytest.raises(ValueError, match="evaluate at the threshold you document"):
        _card(reports, tmp_path, "--threshold", "0.3")
