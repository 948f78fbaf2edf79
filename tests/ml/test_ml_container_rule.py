"""Finding 1: model.tar.gz holds only what the XGBoost 1.7-1 container loads.

``credit_default.container_rule`` restates the container's rule (every non-dot file of the
model folder is loaded as a booster); these tests show the rule rejects the old archive
layout and serves the new one, with the xgboost the interpreter has (1.7.4 in the image venv).
"""

from __future__ import annotations

import shutil
import tarfile

import numpy as np
import pandas as pd
import pytest

from credit_default import _common as common

pytest.importorskip("xgboost", reason="the scikit-learn processing image has no xgboost")
from credit_default import container_rule, evaluate, pipeline_local


def test_the_training_output_folder_is_loadable_by_the_container(model_dir):
    assert [p.name for p in container_rule.model_files(model_dir)] == ["xgboost-model"]
    boosters = container_rule.load_like_container(model_dir)
    assert len(boosters) == 1


def test_a_metadata_file_beside_the_model_breaks_loading(model_dir, tmp_path):
    """The layout before the fix: model_metadata.json beside xgboost-model -> /ping fails."""
    folder = tmp_path / "old-layout"
    shutil.copytree(model_dir, folder)
    common.write_json(folder / "model_metadata.json", {"step": "train"})
    with pytest.raises(container_rule.ContainerLoadError, match="model_metadata.json"):
        container_rule.load_like_container(folder)
    # a dot-file is skipped by the container, as the rule says
    (folder / "model_metadata.json").rename(folder / ".model_metadata.json")
    assert [p.name for p in container_rule.model_files(folder)] == ["xgboost-model"]


def test_served_scores_equal_the_evaluation_scores(model_dir, preprocessed, tmp_path):
    archive = pipeline_local._package_model(model_dir, tmp_path / "model.tar.gz")
    with tarfile.open(archive, "r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
    features = preprocessed["params"]["parameters"]["feature_columns"]
    test = pd.read_csv(preprocessed["dir"] / "test" / "test.csv").head(5)
    payload = "\n".join(",".join(repr(float(v)) for v in row) for row in test[features].to_numpy())
    loaded, scores = container_rule.serve_archive(archive, tmp_path / "serve", payload)
    assert loaded == ["xgboost-model"]
    booster, _ = common.load_booster(model_dir)
    expected = evaluate.predict_scores(booster, test, features)
    assert np.allclose(scores, expected, rtol=0, atol=1e-6)


def test_pipeline_serves_through_the_drop_container_and_refuses_a_features_only_request(preprocessed, model_dir, tmp_path):
    """The endpoint's two containers: the scikit-learn container imports serve_drop.py from
    its archive's code/ folder; its CSV answer is the XGBoost container's request."""
    import tarfile as _tarfile

    from credit_default import serve_drop

    params = preprocessed["params"]
    archive = tmp_path / "model.tar.gz"
    with _tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    serving = preprocessed["dir"] / params["outputs"]["serving"]["path"]
    features = params["parameters"]["feature_columns"]
    row = [str(i) for i in range(len(features))]
    served = container_rule.serve_pipeline(serving, archive, tmp_path / "a", "2,41,1," + ",".join(row))
    assert served["forwarded"] == ",".join(row) + "\n"
    direct = container_rule.predict_like_container(container_rule.load_like_container(model_dir), ",".join(row))
    assert float(served["scores"][0]) == float(direct[0])
    # (the container imports its own copy of the module: its error class, same name)
    with pytest.raises(ValueError, match="expects %d" % (len(features) + 3)) as raised:
        container_rule.serve_pipeline(serving, archive, tmp_path / "b", ",".join(row))
    assert type(raised.value).__name__ == serve_drop.RequestError.__name__


def test_the_batch_transform_check_sends_the_pipeline_the_request_layout(preprocessed, model_dir, tmp_path):
    """The scheduled model-quality check (cdk_constructs/model_quality_workflow.py) batch-
    transforms labelled.csv rows (label, then the request layout) through the served model:
    its InputFilter drops the label only, so the two-container pipeline gets a full request
    row; its OutputFilter joins the label and the pipeline's one score. A labelled file in
    the old layout (label, then model features only) is refused, not scored shifted."""
    pytest.importorskip("aws_cdk", reason="the workflow definition is built with the CDK app")
    import tarfile as _tarfile

    from cdk_constructs._model_quality_workflow import ModelQualitySettings, build_model_quality_definition

    states = build_model_quality_definition(ModelQualitySettings(
        name_prefix="mlp-prod", endpoint_name="e", model_package_group_arn="g", model_package_group="grp",
        validation_metrics_bucket="models", monitoring_bucket="mon", monitoring_key_arn="k",
        instance_type="ml.m5.large", tolerances={"auc": 0.02}, metrics_function_arn="f",
        operations_topic_arn="o", model_risk_topic_arn="r"))["States"]
    processing = states["Transform"]["Parameters"]["DataProcessing"]
    assert (processing["InputFilter"], processing["JoinSource"], processing["OutputFilter"]) == ("$[1:]", "Input", "$[0,-1]")
    params = preprocessed["params"]
    request = params["parameters"]["request_columns"]
    archive = tmp_path / "model.tar.gz"
    with _tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    serving = preprocessed["dir"] / params["outputs"]["serving"]["path"]
    labelled = ["1"] + ["2", "41", "1"] + [str(i) for i in range(len(request) - 3)]
    served = container_rule.serve_pipeline(serving, archive, tmp_path / "a", ",".join(labelled[1:]))  # $[1:]
    joined = labelled + [str(float(served["scores"][0]))]  # JoinSource: Input
    label, score = joined[0], float(joined[-1])  # $[0,-1]
    assert label == "1" and 0.0 < score < 1.0
    old_layout = ["1"] + [str(i) for i in range(len(request) - 3)]
    with pytest.raises(ValueError, match="expects %d" % len(request)):
        container_rule.serve_pipeline(serving, archive, tmp_path / "b", ",".join(old_layout[1:]))
