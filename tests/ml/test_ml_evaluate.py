from __future__ import annotations

import shutil
import tarfile

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from credit_default import _common as common
from credit_default import evaluate


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_metrics_equal_scikit_learn(threshold):
    rng = np.random.default_rng(1)
    y = (rng.random(700) < 0.25).astype(int)
    # Rounded scores create many ties, which AUC must handle like scikit-learn.
    scores = np.clip(np.round(0.3 * y + rng.normal(0.35, 0.2, 700), 2), 0, 1)
    got = evaluate.binary_metrics(y, scores, threshold)
    predicted = (scores >= threshold).astype(int)
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert got["precision"] == pytest.approx(skm.precision_score(y, predicted, zero_division=0))
    assert got["recall"] == pytest.approx(skm.recall_score(y, predicted))
    assert got["f1"] == pytest.approx(skm.f1_score(y, predicted))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15)))
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted).ravel()
    assert (got["tn"], got["fp"], got["fn"], got["tp"]) == (tn, fp, fn, tp)
    assert got["false_positive_rate"] == pytest.approx(fp / (fp + tn))


def test_threshold_is_inclusive_and_zero_division_gives_zero():
    got = evaluate.binary_metrics([0, 1, 1, 0], [0.5, 0.5, 0.2, 0.1], threshold=0.5)
    assert (got["tp"], got["fp"], got["fn"], got["tn"]) == (1, 1, 1, 1)
    none_predicted = evaluate.binary_metrics([0, 1], [0.1, 0.2], threshold=0.9)
    assert none_predicted["precision"] == 0.0 and none_predicted["f1"] == 0.0


def test_single_class_and_bad_inputs_fail():
    with pytest.raises(ValueError, match="one class"):
        evaluate.roc_auc([1, 1, 1], [0.2, 0.4, 0.9])
    with pytest.raises(ValueError):
        evaluate.binary_metrics([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError):
        evaluate.binary_metrics([0, 1], [0.1, 0.2], threshold=1.5)


def test_report_shape_for_step_functions_and_model_registry(model_dir, test_csv, tmp_path):
    report = evaluate.main(["--model", str(model_dir), "--test", str(test_csv), "--output-dir", str(tmp_path), "--threshold", "0.4"])
    written = common.read_json(tmp_path / "evaluation.json")
    assert written == common.to_jsonable(report)
    for name in ("auc", "accuracy", "precision", "recall", "f1"):
        assert isinstance(written["metrics"][name]["value"], float)
        assert written["binary_classification_metrics"][name]["value"] == written["metrics"][name]["value"]
    assert written["threshold"] == 0.4
    cm = written["confusion_matrix"]
    assert cm["matrix"] == [[cm["true_negative"], cm["false_positive"]], [cm["false_negative"], cm["true_positive"]]]
    assert written["binary_classification_metrics"]["confusion_matrix"]["1"]["0"] == cm["false_negative"]
    test = pd.read_csv(test_csv)
    assert sum(sum(row) for row in cm["matrix"]) == len(test) == written["counts"]["n_samples"]
    assert written["metrics"]["auc"]["value"] > 0.7
    # predictions.csv: test rows + score + predicted label consistent with the threshold
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == len(test)
    assert (predictions["predicted_label"] == (predictions["score"] >= 0.4).astype(int)).all()
    recomputed = evaluate.binary_metrics(predictions["default"], predictions["score"], 0.4)
    assert recomputed["auc"] == pytest.approx(written["metrics"]["auc"]["value"])


def test_model_tarball_as_a_processing_job_receives_it(model_dir, test_csv, tmp_path):
    archive = tmp_path / "in" / "model.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    direct = evaluate.run(model_dir, test_csv, tmp_path / "a")
    from_tar = evaluate.run(archive.parent, test_csv, tmp_path / "b")  # folder holding model.tar.gz
    assert from_tar["metrics"] == direct["metrics"]
    assert from_tar["model"]["archive_sha256"] == common.sha256_file(archive)


def test_unsafe_archive_is_rejected(tmp_path):
    evil = tmp_path / "payload"
    evil.write_text("x")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(evil, arcname="../escape")
    with pytest.raises(ValueError, match="unsafe"):
        common.resolve_model_file(archive)  # extraction checks every member first


def test_feature_layout_is_checked(model_dir, test_csv, tmp_path):
    frame = pd.read_csv(test_csv)
    frame[frame.columns[::-1]].to_csv(tmp_path / "reordered.csv", index=False)
    with pytest.raises(ValueError, match="first column"):
        evaluate.run(model_dir, tmp_path / "reordered.csv", tmp_path / "out")
    frame.iloc[:, :10].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="expects"):
        evaluate.run(model_dir, tmp_path / "short.csv", tmp_path / "out")


def test_train_validation_gap_for_the_gate(model_dir, test_csv, preprocessed, tmp_path):
    processing = preprocessed["dir"]
    report = evaluate.main(["--model", str(model_dir), "--test", str(test_csv), "--output-dir", str(tmp_path),
                            "--train", str(processing / "train"), "--validation", str(processing / "validation")])
    booster, _ = common.load_booster(model_dir)
    features = preprocessed["params"]["parameters"]["feature_columns"]
    expected = {}
    for name in ("train", "validation"):
        frame = pd.read_csv(processing / name / ("%s.csv" % name), header=None, names=["default"] + features)
        expected[name] = skm.roc_auc_score(frame["default"], evaluate.predict_scores(booster, frame, features))
    metrics = common.read_json(tmp_path / "evaluation.json")["metrics"]
    assert metrics["train_auc"]["value"] == pytest.approx(expected["train"], abs=1e-12)
    assert metrics["validation_auc"]["value"] == pytest.approx(expected["validation"], abs=1e-12)
    assert metrics["auc_gap"]["value"] == pytest.approx(expected["train"] - expected["validation"], abs=1e-12)
    assert metrics["train_test_auc_gap"]["value"] == pytest.approx(expected["train"] - metrics["auc"]["value"], abs=1e-12)
    assert report["metrics"] == metrics
    with pytest.raises(ValueError, match="both"):
        evaluate.run(model_dir, test_csv, tmp_path / "x", train_path=processing / "train")
