from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from credit_default import _common as common
from credit_default import pipeline_local

pytestmark = pytest.mark.control("reproducibility")

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "ml" / "credit_default"
STEP_SCRIPTS = ["synthetic.py", "preprocess.py", "train.py", "evaluate.py", "explain.py", "bias.py", "model_card.py",
                "pipeline_local.py"]


def test_end_to_end_rehearsal_gates_card_package_and_serving(tmp_path):
    """preprocess -> train -> evaluate -> gates -> explain -> bias -> model card -> package
    contents -> a prediction through the XGBoost container's loading rule."""
    pytest.importorskip("xgboost", reason="the scikit-learn processing image has no xgboost")
    summary = pipeline_local.main(["--work-dir", str(tmp_path), "--rows", "3000", "--num-round", "60", "--seed", "3"])
    assert summary["status"] == "completed"
    assert {name: gate["passed"] for name, gate in summary["gates"].items()} == {"quality": True, "auc_gap": True, "bias": True}
    for name, path in summary["artifacts"].items():
        assert Path(path).is_file() and Path(path).stat().st_size > 0, name
    assert {"evaluation", "explainability", "explainability_report", "bias_report", "model_archive", "model_card",
            "preprocess_params", "train", "validation", "test", "baseline", "train_facets", "model"} <= set(summary["artifacts"])
    evaluation = common.read_json(summary["artifacts"]["evaluation"])
    assert evaluation["metrics"]["auc"]["value"] == summary["gate"]["auc"] > 0.7
    assert evaluation["metrics"]["auc_gap"]["value"] == summary["gates"]["auc_gap"]["auc_gap"]
    explainability = common.read_json(summary["artifacts"]["explainability"])
    assert explainability["additivity_check"]["passed"] is True
    assert all(d["application_id"] is not None and d["reason_codes"] for d in explainability["decisions"])
    bias_report = common.read_json(summary["artifacts"]["bias_report"])
    assert set(bias_report["metrics"]) == {"CI", "DPL", "DI", "DPPL", "RD", "AD"}
    assert set(bias_report["by_facet"]) == {"SEX", "AGE_BAND", "MARRIAGE"}
    # the bias-drift monitor's baseline, over the served request layout
    monitor = common.read_json(tmp_path / "bias" / "monitor" / "analysis_config.json")
    assert monitor["headers"][:3] == ["SEX", "AGE", "MARRIAGE"] and monitor["label"] == "default"
    assert (tmp_path / "bias" / "monitor" / "analysis.json").is_file()
    # the evaluation came from the tarball, as a SageMaker processing job would load it
    assert evaluation["model"]["archive_sha256"] == common.sha256_file(Path(summary["artifacts"]["model_archive"]))
    metadata = common.read_json(summary["artifacts"]["model_metadata"])
    params = common.read_json(summary["artifacts"]["preprocess_params"])
    assert metadata["feature_names"] == params["parameters"]["feature_columns"]  # from string hyperparameters
    assert summary["model_registry"]["model_metrics"]["ModelQuality"]["Statistics"] == summary["artifacts"]["evaluation"]
    # Finding 1: the package holds only what the container loads, and it serves.
    assert summary["model_package"]["archive_members"] == ["xgboost-model"]
    assert summary["serving_check"]["loaded_files"] == ["xgboost-model"]
    assert summary["serving_check"]["matches_evaluation"] is True
    # The served request carries the protected attributes (for the bias-drift monitor's
    # facets); container 1 (serve_drop.py in the scikit-learn container) forwards only the
    # model features to container 2.
    check = summary["serving_check"]
    assert check["request_columns"] == ["SEX", "AGE", "MARRIAGE"] + params["parameters"]["feature_columns"]
    sent = check["payload"].split(",")
    assert len(sent) == len(check["request_columns"]) and check["forwarded"].split(",") == sent[3:]
    assert [c["image"] for c in summary["model_package"]["containers"]] == ["sagemaker-scikit-learn", "sagemaker-xgboost"]
    card = common.read_json(summary["artifacts"]["model_card"])
    assert card["intended_uses"]["risk_rating"] == "High"
    assert card["additional_information"]["custom_details"]["decision_threshold"] == "0.5"
    assert common.read_json(tmp_path / "pipeline_summary.json")["status"] == "completed"


def test_gate_rejection_skips_explain_and_bias(tmp_path):
    pytest.importorskip("xgboost", reason="the scikit-learn processing image has no xgboost")
    summary = pipeline_local.run_pipeline(tmp_path, rows=800, num_round=5, min_auc=0.99)
    assert summary["status"] == "rejected_by_gate" and summary["gate"]["passed"] is False
    assert not (tmp_path / "explainability").exists() and not (tmp_path / "bias").exists()
    assert (tmp_path / "evaluation" / "evaluation.json").is_file()


@pytest.mark.parametrize("script", STEP_SCRIPTS)
def test_each_step_imports_as_a_plain_script(script, monkeypatch):
    """SageMaker runs ``python train.py`` from the code folder: no package, sibling imports."""
    monkeypatch.syspath_prepend(str(PACKAGE_DIR))
    before = set(sys.modules)
    try:
        namespace = runpy.run_path(str(PACKAGE_DIR / script), run_name="sagemaker_entry_point")
        assert callable(namespace["main"]) and callable(namespace["build_parser"])
        assert namespace["common"].__name__ == "_common"  # the script-mode import path was taken
        assert namespace["build_parser"]().prog
    finally:
        for name in set(sys.modules) - before:
            if name in ("_common", "bias", "container_rule", "evaluate", "explain", "model_card", "preprocess",
                        "synthetic", "train", "serve_drop", "bias_monitor"):
                del sys.modules[name]
