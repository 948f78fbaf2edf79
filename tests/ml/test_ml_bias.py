from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from credit_default import _common as common
from credit_default import bias

pytestmark = pytest.mark.control("explainability")

# Hand-built case. Group d = SEX 2 (4 rows), group a = SEX 1 (6 rows).
# The positive (favourable) outcome is 0 = no default.
#   a: label [0,0,0,1,1,0]  predicted [0,0,1,1,0,0]
#   d: label [0,1,1,0]      predicted [0,1,1,1]
SEX = [1, 2, 1, 1, 2, 1, 2, 1, 1, 2]
LABEL = [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
PRED = [0, 0, 0, 1, 1, 1, 1, 0, 0, 1]


def tiny_frame():
    return pd.DataFrame({"SEX": SEX, "default": LABEL, "predicted_label": PRED})


def test_group_assignment_of_the_hand_built_case():
    frame = tiny_frame()
    a, d = frame[frame.SEX == 1], frame[frame.SEX == 2]
    assert a["default"].tolist() == [0, 0, 0, 1, 1, 0] and a["predicted_label"].tolist() == [0, 0, 1, 1, 0, 0]
    assert d["default"].tolist() == [0, 1, 1, 0] and d["predicted_label"].tolist() == [0, 1, 1, 1]


def test_metrics_exact_on_hand_built_case():
    report = bias.build_bias_report("SEX", "default", predictions=tiny_frame(), facet_values=[2])
    m = {k: v["value"] for k, v in report["metrics"].items()}
    n_a, n_d = 6, 4
    q_a, q_d = 4 / 6, 2 / 4            # share of label 0
    qp_a, qp_d = 4 / 6, 1 / 4          # share of predicted 0
    recall_a, recall_d = 3 / 4, 1 / 2  # of the actual 0s, predicted 0
    acc_a, acc_d = 4 / 6, 3 / 4
    assert m["CI"] == pytest.approx((n_a - n_d) / (n_a + n_d))  # 0.2
    assert m["DPL"] == pytest.approx(q_a - q_d)                 # 1/6
    assert m["DI"] == pytest.approx(qp_d / qp_a)                # 0.375
    assert m["DPPL"] == pytest.approx(qp_a - qp_d)              # 5/12
    assert m["RD"] == pytest.approx(recall_a - recall_d)        # 0.25
    assert m["AD"] == pytest.approx(acc_a - acc_d)              # -1/12
    flags = {k: v["flag"] for k, v in report["metrics"].items()}
    assert flags == {"CI": "pass", "DPL": "warn", "DI": "warn", "DPPL": "warn", "RD": "warn", "AD": "pass"}
    assert report["overall_flag"] == "warn" and len(report["warnings"]) == 4
    assert report["groups"]["post_training"] == {"n": 10, "n_a": 6, "n_d": 4}
    assert report["metrics"]["DI"]["definition"].startswith("q'_d / q'_a")


def test_positive_outcome_flips_the_sign():
    flipped = bias.build_bias_report("SEX", "default", predictions=tiny_frame(), facet_values=[2], positive_outcome=1)
    assert flipped["metrics"]["DPL"]["value"] == pytest.approx(2 / 6 - 2 / 4)
    assert flipped["metrics"]["DI"]["value"] == pytest.approx((3 / 4) / (2 / 6))
    assert flipped["metrics"]["CI"]["value"] == pytest.approx(0.2)  # CI ignores the label


def test_thresholds_are_configurable():
    loose = {"DPL": {"max_abs": 0.2}, "DI": {"min": 0.3}, "DPPL": {"max_abs": 0.5}, "RD": {"max_abs": 0.3}}
    report = bias.build_bias_report("SEX", "default", predictions=tiny_frame(), facet_values=[2], thresholds=loose)
    assert report["overall_flag"] == "pass"
    assert report["metrics"]["DI"]["threshold"] == {"min": 0.3, "max": 1.25}
    with pytest.raises(ValueError):
        bias.merge_thresholds({"XYZ": {"max_abs": 1}})
    with pytest.raises(ValueError):
        bias.merge_thresholds({"DI": {"max_abs": 1}})


def test_di_zero_denominator_is_null_with_reason():
    # No row of group a is predicted the favourable outcome 0: q'_a = 0.
    frame = pd.DataFrame({"SEX": [1, 1, 1, 2, 2], "default": [0, 1, 0, 0, 1], "predicted_label": [1, 1, 1, 0, 1]})
    report = bias.build_bias_report("SEX", "default", predictions=frame, facet_values=[2])
    di = report["metrics"]["DI"]
    assert di["value"] is None and "q'_a = 0" in di["reason"] and di["flag"] == "warn"
    assert report["metrics"]["DPPL"]["value"] == pytest.approx(0 - 1 / 2)
    assert any(w.startswith("DI:") for w in report["warnings"])
    json.dumps(common.to_jsonable(report), allow_nan=False)  # still valid JSON


def test_recall_difference_undefined_when_a_group_has_no_positive_outcome():
    frame = pd.DataFrame({"SEX": [1, 1, 2, 2], "default": [0, 1, 1, 1], "predicted_label": [0, 1, 0, 1]})
    rd = bias.build_bias_report("SEX", "default", predictions=frame, facet_values=[2])["metrics"]["RD"]
    assert rd["value"] is None and "d" in rd["reason"] and rd["flag"] == "warn"


def test_missing_facet_value_column_and_empty_groups_are_errors():
    frame = tiny_frame()
    with pytest.raises(bias.BiasConfigError, match="not present"):
        bias.build_bias_report("SEX", "default", predictions=frame, facet_values=[3])
    with pytest.raises(bias.BiasConfigError, match="lacks column"):
        bias.build_bias_report("GENDER", "default", predictions=frame, facet_values=[2])
    with pytest.raises(bias.BiasConfigError, match="advantaged group a is empty"):
        bias.build_bias_report("SEX", "default", predictions=frame, facet_values=[1, 2])
    with pytest.raises(bias.BiasConfigError, match="group d is empty"):
        bias.build_bias_report("SEX", "default", predictions=frame, facet_threshold=5)
    with pytest.raises(bias.BiasConfigError, match="exactly one"):
        bias.build_bias_report("SEX", "default", predictions=frame)


def test_threshold_facet_and_string_facet_and_missing_facet_rows():
    frame = pd.DataFrame({"AGE": [25, 45, 61, 70, np.nan], "default": [0, 0, 1, 0, 0]})
    report = bias.build_bias_report("AGE", "default", pretraining=frame, facet_threshold=60)
    assert report["groups"]["pre_training"] == {"n": 4, "n_a": 2, "n_d": 2}
    assert report["facet"]["rows_excluded_missing_facet"] == {"pre_training": 1}
    assert report["metrics"]["DPL"]["value"] == pytest.approx(1.0 - 0.5)
    assert "DI" not in report["metrics"]  # no predictions: pre-training only
    strings = pd.DataFrame({"gender": ["F", "M", "M", "F"], "default": [1, 0, 0, 0]})
    report = bias.build_bias_report("gender", "default", pretraining=strings, facet_values=["F"])
    assert report["metrics"]["DPL"]["value"] == pytest.approx(1.0 - 0.5)


def test_cli_with_headerless_training_data_and_clarify_sections(preprocessed, tmp_path):
    predictions = tmp_path / "predictions.csv"
    tiny_frame().to_csv(predictions, index=False)
    processing = preprocessed["dir"]
    report = bias.main([
        "--predictions", str(predictions), "--pretraining-data", str(processing / "train"),
        "--pretraining-columns-from", str(processing / "params" / "preprocess_params.json"),
        "--pretraining-facets", str(processing / "facets" / "train_facets.csv"),
        "--output-dir", str(tmp_path / "out"), "--facet-values", "2", "--di-min", "0.3",
    ])
    written = common.read_json(tmp_path / "out" / "bias_report.json")
    assert written == common.to_jsonable(report)
    # SEX is not in train.csv (a protected attribute, kept out of the model): it comes from
    # the row-aligned facet file (finding 4).
    params = common.read_json(processing / "params" / "preprocess_params.json")
    assert "SEX" not in params["outputs"]["train"]["columns"]
    facets = pd.read_csv(processing / "facets" / "train_facets.csv")
    n_d, n_a = int((facets.SEX == 2).sum()), int((facets.SEX == 1).sum())
    assert written["metrics"]["CI"]["value"] == pytest.approx((n_a - n_d) / (n_a + n_d))
    assert written["metrics"]["DI"]["value"] == pytest.approx(0.375) and written["metrics"]["DI"]["flag"] == "pass"
    assert written["inputs"]["pretraining_source"] == "pretraining_data"
    facet_entry = written["post_training_bias_metrics"]["facets"]["SEX"][0]
    assert facet_entry["value_or_threshold"] == "2"
    assert [m["name"] for m in facet_entry["metrics"]] == ["DI", "DPPL", "RD", "AD"]
    assert [m["name"] for m in written["pre_training_bias_metrics"]["facets"]["SEX"][0]["metrics"]] == ["CI", "DPL"]
