from __future__ import annotations

import json

import numpy as np
import pytest

from credit_default import _common as common

pytest.importorskip("xgboost", reason="the scikit-learn processing image has no xgboost")
from credit_default import train


def _predict(model_dir, X):
    import xgboost as xgb

    booster, _ = common.load_booster(model_dir)
    return booster.predict(xgb.DMatrix(X))


def test_hyperparameters_from_sagemaker_file_cli_and_defaults(tmp_path):
    config = tmp_path / "hyperparameters.json"
    # Built-in style (plain strings) and script-mode style (JSON-encoded strings) mixed,
    # plus SageMaker's own keys, which must be ignored.
    config.write_text(json.dumps({
        "max_depth": "3", "eta": "0.05", "objective": "\"binary:logistic\"", "num_round": "12",
        "subsample": "1", "sagemaker_program": "\"train.py\"", "sagemaker_region": "\"eu-west-2\"",
        "_tuning_objective_metric": "validation:auc",
    }))
    resolved = train.resolve_hyperparameters({"num_round": "40", "learning_rate": 0.3}, config)
    assert resolved["max_depth"] == 3 and isinstance(resolved["max_depth"], int)
    assert resolved["num_round"] == 40  # explicit override beats the file
    assert resolved["eta"] == 0.3  # alias learning_rate -> eta
    assert resolved["subsample"] == 1.0 and isinstance(resolved["subsample"], float)
    assert resolved["objective"] == "binary:logistic"
    assert resolved["tree_method"] == "hist"  # default kept
    assert resolved["seed"] == 42 and resolved["nthread"] == 1  # seeded -> thread count pinned
    assert "sagemaker_program" not in resolved
    assert train.resolve_hyperparameters({"nthread": "4"}, None)["nthread"] == 4


@pytest.mark.parametrize(
    "bad",
    [{"max_dept": "3"}, {"max_depth": "3.5"}, {"eta": "fast"}, {"subsample": "1.5"}, {"num_round": "0"}],
)
def test_bad_hyperparameters_are_rejected(bad):
    with pytest.raises(ValueError):
        train.resolve_hyperparameters(bad, None)


def test_same_seed_same_model_different_seed_different_model(preprocessed, tmp_path, fast_hyperparameters):
    processing = preprocessed["dir"]
    X_test, _ = train.load_channel(processing / "train")
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        _, metadata = train.run(processing / "train", tmp_path / name, processing / "validation", dict(fast_hyperparameters, seed=seed))
        runs[name] = (_predict(tmp_path / name, X_test), metadata)
    assert np.array_equal(runs["a"][0], runs["b"][0])
    assert runs["a"][1]["model_sha256"] == runs["b"][1]["model_sha256"]
    assert not np.array_equal(runs["a"][0], runs["c"][0])
    assert runs["a"][1]["hyperparameters"]["nthread"] == 1


def test_model_artifacts_and_metadata(model_dir, preprocessed, fast_hyperparameters, model_features):
    assert (model_dir / "xgboost-model").read_bytes().startswith(b"{")  # XGBoost JSON
    # Finding 1: the model folder holds the booster only; the metadata is a separate output.
    assert sorted(p.name for p in model_dir.iterdir()) == ["xgboost-model"]
    metadata = common.read_json(model_dir.parent / "output-data" / "model_metadata.json")
    assert metadata["hyperparameters"]["seed"] == preprocessed["params"]["parameters"]["seed"]
    # early stopping on the validation set is on by default and keeps the best iteration
    assert metadata["hyperparameters"]["early_stopping_rounds"] == train.DEFAULT_EARLY_STOPPING_ROUNDS
    assert metadata["num_boosted_rounds"] == metadata["best_iteration"] + 1 <= fast_hyperparameters["num_round"]
    assert metadata["validation_auc"] == metadata["final_metrics"]["validation-auc"]
    assert metadata["train_auc"] == metadata["final_metrics"]["train-auc"] >= metadata["validation_auc"]
    assert metadata["train_rows"] == preprocessed["params"]["row_counts"]["train"]
    assert metadata["num_features"] == len(model_features)
    assert metadata["final_metrics"]["validation-auc"] > 0.7
    assert metadata["model_sha256"] == common.sha256_file(model_dir / "xgboost-model")


def test_early_stopping_keeps_best_iteration(preprocessed, tmp_path):
    processing = preprocessed["dir"]
    booster, metadata = train.run(
        processing / "train", tmp_path, processing / "validation",
        {"num_round": 300, "eta": 0.5, "max_depth": 6, "early_stopping_rounds": 5, "verbosity": 0},
    )
    assert metadata["best_iteration"] is not None
    assert metadata["num_boosted_rounds"] == metadata["best_iteration"] + 1 < 300
    with pytest.raises(ValueError, match="validation"):
        train.train_model(np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1], np.float32), train.resolve_hyperparameters({"early_stopping_rounds": 3}))


def test_cli_script_mode_arguments_and_sm_model_dir(preprocessed, tmp_path, monkeypatch):
    processing = preprocessed["dir"]
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "sm-model"))
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(processing / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(processing / "validation"))
    config = tmp_path / "hp.json"
    config.write_text(json.dumps({"num_round": "5", "max_depth": "2"}))
    # Exactly what SageMaker script mode passes: --name value pairs.
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "sm-output"))
    features = preprocessed["params"]["parameters"]["feature_columns"]
    metadata = train.main(["--num_round", "9", "--eta", "0.3", "--feature_names", ",".join(features),
                           "--hyperparameters-file", str(config), "--verbosity", "0", "--early_stopping_rounds", "0",
                           "--_tuning_objective_metric", "validation:auc"])  # added by a tuning job
    assert [p.name for p in (tmp_path / "sm-model").iterdir()] == ["xgboost-model"]
    assert common.read_json(tmp_path / "sm-output" / "model_metadata.json")["model_sha256"] == metadata["model_sha256"]
    assert metadata["num_boosted_rounds"] == 9 and metadata["hyperparameters"]["max_depth"] == 2
    booster, _ = common.load_booster(tmp_path / "sm-model")
    assert booster.feature_names == features
    with pytest.raises(ValueError, match="model folder"):
        train.main(["--model-dir", str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "m"), "--num_round", "2"])
    with pytest.raises(SystemExit):
        train.main(["--not-a-hyperparameter", "1"])
    with pytest.raises(SystemExit):
        train.main(["--max_depth", "3", "stray"])


def test_label_column_must_be_binary(tmp_path):
    (tmp_path / "t.csv").write_text("0,1.0,2.0\n3,1.0,2.0\n")
    with pytest.raises(ValueError, match="label"):
        train.load_channel(tmp_path / "t.csv")


def test_model_fn_loads_the_saved_model_for_serving(model_dir, preprocessed):
    import xgboost as xgb

    booster = train.model_fn(str(model_dir))
    X, _ = train.load_channel(preprocessed["dir"] / "validation")
    reference, _ = common.load_booster(model_dir)
    assert np.array_equal(booster.predict(xgb.DMatrix(X)), reference.predict(xgb.DMatrix(X)))
    assert ((booster.predict(xgb.DMatrix(X)) > 0) & (booster.predict(xgb.DMatrix(X)) < 1)).all()
