from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from credit_default import _common as common
from credit_default import preprocess


def _read_split(directory, name):
    path = directory / name / ("%s.csv" % name)
    if name == "test":
        return pd.read_csv(path)
    columns = common.read_json(directory / "params" / preprocess.PARAMS_FILENAME)["outputs"][name]["columns"]
    return pd.read_csv(path, header=None, names=columns)


def test_split_indices_are_stratified_disjoint_and_complete():
    rng = np.random.default_rng(0)
    y = (rng.random(3001) < 0.22).astype(int)
    splits = preprocess.split_indices(y, 0.6, 0.2, 0.2, seed=1)
    together = np.concatenate(list(splits.values()))
    assert len(together) == len(y) and len(np.unique(together)) == len(y)  # disjoint, complete
    overall = y.mean()
    for name, index in splits.items():
        # A stratified split is off by at most one row per class; a random one is not.
        assert abs(y[index].mean() - overall) <= 2.0 / len(index), name
    assert abs(len(splits["train"]) / len(y) - 0.6) < 0.001
    assert abs(len(splits["test"]) / len(y) - 0.2) < 0.001


def test_split_indices_seeded():
    y = np.array([0, 1] * 200)
    a = preprocess.split_indices(y, 0.7, 0.15, 0.15, seed=3)
    b = preprocess.split_indices(y, 0.7, 0.15, 0.15, seed=3)
    c = preprocess.split_indices(y, 0.7, 0.15, 0.15, seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])


@pytest.mark.parametrize("fractions", [(0.7, 0.2, 0.2), (0.8, 0.2, 0.0), (1.2, -0.1, -0.1)])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError):
        preprocess.split_indices(np.array([0, 1] * 50), *fractions, seed=0)


def test_clean_rules_on_hand_built_rows():
    base = {c: 1 for c in common.FEATURE_COLUMNS}
    base.update({"LIMIT_BAL": 50000, "AGE": 30, "SEX": 1, "EDUCATION": 2, "MARRIAGE": 1, "default": 0})
    rows = [
        dict(base),                                   # kept
        dict(base),                                   # exact duplicate -> dropped
        dict(base, EDUCATION=6, AGE=31),              # undocumented code -> 4 "other"
        dict(base, MARRIAGE=0, AGE=32),               # -> 3 "other"
        dict(base, SEX=3, AGE=33),                    # invalid facet -> dropped
        dict(base, default=2, AGE=34),                # invalid label -> dropped
        dict(base, AGE=150),                          # impossible -> missing
        dict(base, PAY_0=11, AGE=35),                 # clipped to 8
        dict(base, PAY_AMT1=-5, AGE=36),              # impossible -> missing
        dict(base, LIMIT_BAL="n/a", AGE=37),          # unparseable -> missing
    ]
    frame = pd.DataFrame(rows)[common.ALL_COLUMNS + []].assign(ID=range(10))
    cleaned, report = preprocess.clean(frame)
    assert len(cleaned) == 7
    assert report["duplicate_rows_dropped"] == 1
    assert report["invalid_label_rows_dropped"] == 1
    assert report["invalid_required_code_rows_dropped"] == {"SEX": 1}
    assert report["category_codes_mapped_to_other"] == {"EDUCATION": 1, "MARRIAGE": 1}
    assert report["dropped_columns"] == ["ID"]
    assert report["unparseable_values_set_missing"] == {"LIMIT_BAL": 1}
    assert cleaned.loc[cleaned["AGE"] == 31, "EDUCATION"].tolist() == [4]
    assert cleaned.loc[cleaned["AGE"] == 32, "MARRIAGE"].tolist() == [3]
    assert cleaned.loc[cleaned["AGE"] == 35, "PAY_0"].tolist() == [8]
    assert cleaned["AGE"].isna().sum() == 1
    assert cleaned["PAY_AMT1"].isna().sum() == 1
    assert cleaned["LIMIT_BAL"].isna().sum() == 1


def test_impute_with_train_median_and_clip_with_train_quantiles():
    train = pd.DataFrame({c: [1.0, 2.0, 3.0, 4.0, np.nan] for c in common.FEATURE_COLUMNS})
    train["BILL_AMT1"] = [0.0, 10.0, 20.0, 30.0, 1000.0]
    fitted = preprocess.fit_transform_params(train, common.FEATURE_COLUMNS, (0.0, 0.75))
    assert fitted["medians"]["LIMIT_BAL"] == 2.5
    assert fitted["medians"]["AGE"] == 3.0  # integer-coded: rounded half up
    assert fitted["clip_bounds"]["BILL_AMT1"] == [0.0, 30.0]
    other = pd.DataFrame({c: [np.nan, 1.0] for c in common.FEATURE_COLUMNS})
    other["BILL_AMT1"] = [5000.0, -10.0]
    out, counts = preprocess.apply_transform(other, common.FEATURE_COLUMNS, fitted)
    assert out["LIMIT_BAL"].tolist() == [2.5, 1.0]
    assert out["BILL_AMT1"].tolist() == [30.0, 0.0]
    assert counts["values_clipped"]["BILL_AMT1"] == 2
    assert counts["missing_values_imputed"]["AGE"] == 1
    assert out["AGE"].dtype.kind == "i"


def test_outputs_layout_and_stratification(preprocessed):
    out, params = preprocessed["dir"], preprocessed["params"]
    splits = {name: _read_split(out, name) for name in ("train", "validation", "test")}
    # train/validation: no header, label first, 0/1
    first_line = (out / "train" / "train.csv").read_text().splitlines()[0]
    assert not first_line.startswith("default")
    features = params["parameters"]["feature_columns"]
    # protected attributes are out of the model by default
    assert features == [c for c in common.FEATURE_COLUMNS if c not in ("SEX", "AGE", "MARRIAGE")]
    facet_columns = ["ID", "SEX", "AGE", "MARRIAGE", "AGE_BAND"]
    assert params["parameters"]["facet_columns"] == facet_columns
    for name, frame in splits.items():
        expected = ["default"] + features + (facet_columns if name == "test" else [])
        assert list(frame.columns) == expected
        assert set(frame["default"].unique()) == {0, 1}
        assert not frame[["default"] + features].isna().any().any()
    overall = params["class_balance"]["clean"]["positive_rate"]
    for name, frame in splits.items():
        assert abs(frame["default"].mean() - overall) <= 2.0 / len(frame)
    # disjoint: no identical row in two splits (rows are unique after de-duplication)
    keys = {name: set(map(tuple, frame[["default"] + features].to_numpy().round(6).tolist())) for name, frame in splits.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"] and not keys["validation"] & keys["test"]
    assert sum(len(f) for f in splits.values()) == params["row_counts"]["clean"]


def test_params_file_complete(preprocessed, raw_csv, raw_frame):
    out = preprocessed["dir"]
    params = common.read_json(out / "params" / preprocess.PARAMS_FILENAME)
    assert params == common.to_jsonable(preprocessed["params"])
    assert params["input"]["sha256"] == hashlib.sha256(raw_csv.read_bytes()).hexdigest()
    for key in ("train_fraction", "validation_fraction", "test_fraction", "seed", "label_column",
                "feature_columns", "clip_quantiles", "category_rules", "domain_bounds"):
        assert key in params["parameters"], key
    assert params["row_counts"]["input"] == len(raw_frame)
    assert params["row_counts"]["clean"] == len(raw_frame) - params["cleaning"]["duplicate_rows_dropped"] - params["cleaning"]["invalid_label_rows_dropped"] - sum(params["cleaning"]["invalid_required_code_rows_dropped"].values())
    assert params["cleaning"]["duplicate_rows_dropped"] == int(raw_frame.duplicated().sum())
    for name in ("train", "validation", "test"):
        frame = _read_split(out, name)
        balance = params["class_balance"][name]
        assert params["row_counts"][name] == balance["rows"] == len(frame)
        assert balance["positives"] == int(frame["default"].sum())
        assert params["outputs"][name]["sha256"] == hashlib.sha256((out / name / ("%s.csv" % name)).read_bytes()).hexdigest()
    assert set(params["fitted_on_train"]["medians"]) == set(common.FEATURE_COLUMNS)
    for key in ("baseline", "train_facets", "validation_facets", "test_facets"):
        path = out / params["outputs"][key]["path"]
        assert params["outputs"][key]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), key


def test_reproducible_with_seed(raw_csv, preprocessed, tmp_path):
    again = preprocess.run(raw_csv, tmp_path / "same", seed=preprocessed["params"]["parameters"]["seed"])
    other = preprocess.run(raw_csv, tmp_path / "other", seed=12345)
    for name in ("train", "validation", "test"):
        assert again["outputs"][name]["sha256"] == preprocessed["params"]["outputs"][name]["sha256"]
        assert other["outputs"][name]["sha256"] != preprocessed["params"]["outputs"][name]["sha256"]


def test_cli_with_excluded_feature_and_passthrough(raw_frame, tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    raw_frame.assign(APP_ID=range(len(raw_frame)), REGION="north").to_csv(data / "part.csv", index=False)
    params = preprocess.main([
        "--input", str(data), "--output-dir", str(tmp_path / "out"), "--train-fraction", "0.6",
        "--validation-fraction", "0.2", "--test-fraction", "0.2", "--seed", "5",
        "--protected-attributes", "", "--exclude-features", "SEX", "--passthrough-columns", "REGION",
        "--id-column", "APP_ID",
    ])
    assert "SEX" not in params["parameters"]["feature_columns"]
    assert "AGE" in params["parameters"]["feature_columns"]  # no protected attribute given
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv", header=None)
    assert train.shape[1] == 1 + len(common.FEATURE_COLUMNS) - 1
    test = pd.read_csv(tmp_path / "out" / "test" / "test.csv")
    assert list(test.columns[-3:]) == ["APP_ID", "SEX", "REGION"] and test.columns[0] == "default"
    assert params["parameters"]["train_fraction"] == 0.6


def test_missing_required_column_is_an_error(raw_frame, tmp_path):
    raw_frame.drop(columns="AGE").to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ValueError, match="AGE"):
        preprocess.run(tmp_path / "x.csv", tmp_path / "out")


def _serving_features():
    """``serving.features`` of the platform configuration: the per-feature drift alarms."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((common_root() / "config" / "platform.yaml").read_text())
    return config["serving"]["features"]


def common_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_baseline_dataset_is_headed_in_the_request_layout_and_names_the_alarmed_features(preprocessed):
    """Finding 2: Model Monitor reads the baseline with ``header: true``; its header must name
    what the endpoint receives -- the protected attributes (for the bias-drift monitor), then
    the model's features -- so every ``feature_baseline_drift_<feature>`` alarm gets data."""
    out, params = preprocessed["dir"], preprocessed["params"]
    baseline = pd.read_csv(out / "baseline" / "baseline.csv")
    features = params["parameters"]["feature_columns"]
    protected = params["parameters"]["protected_attributes"]
    assert list(baseline.columns) == protected + features == params["parameters"]["request_columns"]
    assert params["outputs"]["baseline"]["header"] is True
    train = _read_split(out, "train")
    assert np.array_equal(baseline[features].to_numpy(dtype=float), train[features].to_numpy(dtype=float))
    facets = pd.read_csv(out / "facets" / "train_facets.csv")
    pd.testing.assert_frame_equal(baseline[protected], facets[protected])  # as cleaned, not imputed
    alarmed = _serving_features()
    assert alarmed and set(alarmed) <= set(baseline.columns), "drift alarms on columns the baseline lacks"


def test_serving_archive_holds_the_drop_script_and_the_served_layout(preprocessed, tmp_path):
    """Container 1 of the serving pipeline: code/serve_drop.py (SAGEMAKER_PROGRAM under
    SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) and the column layout it enforces."""
    import tarfile

    out, params = preprocessed["dir"], preprocessed["params"]
    archive = out / params["outputs"]["serving"]["path"]
    assert params["outputs"]["serving"]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    with tarfile.open(archive, "r:gz") as tar:
        assert sorted(tar.getnames()) == ["code/serve_drop.py", "serving_columns.json"]
        tar.extractall(tmp_path)
    assert (tmp_path / "code" / "serve_drop.py").read_bytes() == (common_root() / "ml" / "credit_default" / "serve_drop.py").read_bytes()
    layout = common.read_json(tmp_path / "serving_columns.json")
    assert layout["request_columns"] == params["parameters"]["request_columns"]
    assert [layout["request_columns"][i] for i in layout["drop_positions"]] == ["SEX", "AGE", "MARRIAGE"]
    assert layout["model_features"] == params["parameters"]["feature_columns"]


def test_facet_files_are_row_aligned_and_keep_protected_attributes(preprocessed, raw_frame):
    """Finding 4: protected attributes are not features, but the facet files keep them (and
    the application id and AGE band) row by row beside each split."""
    out, params = preprocessed["dir"], preprocessed["params"]
    assert params["parameters"]["protected_attributes"] == ["SEX", "AGE", "MARRIAGE"]
    assert not set(params["parameters"]["protected_attributes"]) & set(params["parameters"]["feature_columns"])
    for name in ("train", "validation", "test"):
        facets = pd.read_csv(out / "facets" / ("%s_facets.csv" % name))
        assert list(facets.columns) == ["ID", "SEX", "AGE", "MARRIAGE", "AGE_BAND"]
        assert len(facets) == params["row_counts"][name]
        assert facets["ID"].is_unique
    # The test split carries the same columns after its features, in the same order.
    test = pd.read_csv(out / "test" / "test.csv")
    facets = pd.read_csv(out / "facets" / "test_facets.csv")
    pd.testing.assert_frame_equal(test[list(facets.columns)], facets)
    # Row alignment: the facet row holds the raw row's attributes (by application id).
    train_facets = pd.read_csv(out / "facets" / "train_facets.csv")
    raw = raw_frame.drop_duplicates().set_index("ID")
    sample = train_facets.dropna().head(50)
    assert (raw.loc[sample["ID"], "SEX"].to_numpy() == sample["SEX"].to_numpy()).all()
    train = _read_split(out, "train")
    assert (raw.loc[sample["ID"], "default"].to_numpy() == train.loc[sample.index, "default"].to_numpy()).all()
    # Bands: labels from the edges; an impossible age stays missing rather than imputed.
    labels = params["parameters"]["age_bands"]["labels"]
    assert labels == ["<25", "25-34", "35-44", "45-54", "55-64", "65+"]
    assert set(train_facets["AGE_BAND"].dropna()) <= set(labels)
    assert train_facets["AGE"].isna().sum() == train_facets["AGE_BAND"].isna().sum() > 0
    band = common.age_bands(pd.Series([24, 25, 34, 35, 64, 65, 99, None]), [25, 35, 45, 55, 65])
    assert band.tolist() == ["<25", "25-34", "25-34", "35-44", "55-64", "65+", "65+", None]
