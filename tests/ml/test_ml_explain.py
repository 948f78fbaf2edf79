from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_default import _common as common
from credit_default import explain

pytestmark = pytest.mark.control("explainability")


@pytest.fixture(scope="module")
def loaded(model_dir, test_csv):
    booster, _ = common.load_booster(model_dir)
    frame = pd.read_csv(test_csv)
    features = common.model_feature_columns(frame, "default", booster)
    return booster, frame, features


def test_contributions_plus_bias_equal_margin_for_every_row(loaded):
    booster, frame, features = loaded
    contributions, bias, margin = explain.shap_values(booster, frame, features)
    assert contributions.shape == (len(frame), len(features))
    assert np.allclose(contributions.sum(axis=1) + bias, margin, rtol=1e-5, atol=1e-5)
    # margin really is the model's output: sigmoid(margin) == predicted probability
    probability = booster.predict(common.make_dmatrix(frame, features, booster))
    assert np.allclose(1 / (1 + np.exp(-margin)), probability, atol=1e-6)
    assert np.ptp(bias) == 0  # one expected value for the whole model


def test_additivity_violation_fails_loudly():
    contributions = np.array([[0.5, -0.25], [1.0, 0.0]])
    bias = np.array([-1.0, -1.0])
    assert explain.check_additivity(contributions, bias, np.array([-0.75, 0.0]))["passed"]
    with pytest.raises(explain.AdditivityError, match="row 1"):
        explain.check_additivity(contributions, bias, np.array([-0.75, 0.5]))


def test_global_ranking_is_consistent(loaded):
    booster, frame, features = loaded
    report = explain.explain_frame(booster, frame, features, "default")
    ranking = report["global_importance"]
    contributions, _, _ = explain.shap_values(booster, frame, features)
    expected = np.abs(contributions).mean(axis=0)
    assert [r["rank"] for r in ranking] == list(range(1, len(features) + 1))
    assert sorted(r["feature"] for r in ranking) == sorted(features)
    values = [r["mean_abs_shap"] for r in ranking]
    assert values == sorted(values, reverse=True)
    assert ranking[0]["feature"] == features[int(np.argmax(expected))]
    for r in ranking:
        assert r["mean_abs_shap"] == pytest.approx(expected[features.index(r["feature"])])
    assert sum(r["share"] for r in ranking) == pytest.approx(1.0)
    # On this data the most recent repayment status drives the label.
    assert ranking[0]["feature"] == "PAY_0"


def test_top_reasons_push_toward_default():
    row = np.array([0.3, -0.5, 0.9, 0.0, 0.1])
    reasons = explain.top_reasons(row, [1, 2, 3, 4, 5], ["a", "b", "c", "d", "e"], top_k=2)
    assert [(r["feature"], r["value"], r["contribution"]) for r in reasons] == [("c", 3.0, 0.9), ("a", 1.0, 0.3)]
    assert [r["feature"] for r in explain.top_reasons(row, [0] * 5, list("abcde"), top_k=10)] == ["c", "a", "e"]


def test_decisions_selected_rows_and_values(loaded):
    booster, frame, features = loaded
    report = explain.explain_frame(booster, frame, features, "default", top_k=3, threshold=0.5, max_rows=4)
    scores = booster.predict(common.make_dmatrix(frame, features, booster))
    flagged = np.flatnonzero(scores >= 0.5)
    assert 0 < len(report["decisions"]) == min(4, len(flagged))
    assert [d["row"] for d in report["decisions"]] == sorted(flagged.tolist(), key=lambda r: -scores[r])[:4]
    contributions, _, _ = explain.shap_values(booster, frame, features)
    for decision in report["decisions"]:
        r = decision["row"]
        assert decision["predicted_label"] == 1 and decision["label"] == int(frame["default"].iloc[r])
        assert 1 <= len(decision["top_reasons"]) <= 3
        for reason in decision["top_reasons"]:
            i = features.index(reason["feature"])
            assert reason["contribution"] == pytest.approx(contributions[r, i]) and reason["contribution"] > 0
            assert reason["value"] == pytest.approx(frame[reason["feature"]].iloc[r])
        # the listed reasons are the largest positive contributions
        assert decision["top_reasons"][0]["contribution"] == pytest.approx(contributions[r].max())
    explicit = explain.explain_frame(booster, frame, features, "default", rows=[3, 0])
    assert [d["row"] for d in explicit["decisions"]] == [3, 0]
    with pytest.raises(ValueError, match="out of range"):
        explain.explain_frame(booster, frame, features, rows=[len(frame)])


def test_cli_writes_json_and_markdown(model_dir, test_csv, tmp_path):
    report = explain.main(["--model", str(model_dir), "--data", str(test_csv), "--output-dir", str(tmp_path),
                           "--top-k", "2", "--rows", "1,2"])
    written = common.read_json(tmp_path / "explainability.json")
    assert written["additivity_check"]["passed"] is True
    assert written["method"] == "xgboost_tree_shap" and written["n_rows"] == len(pd.read_csv(test_csv))
    assert [d["row"] for d in written["decisions"]] == [1, 2]
    assert written["model"]["model_sha256"] == common.sha256_file(model_dir / "xgboost-model")
    markdown = (tmp_path / "explainability_report.md").read_text()
    assert "Global importance" in markdown and report["global_importance"][0]["feature"] in markdown
    assert "Row 1" in markdown and "Row 2" in markdown


def test_decisions_carry_the_application_id_and_grouped_reason_codes(loaded):
    """Adverse-action reasons: the id passed through from the input, and reason codes per
    feature family (their summed SHAP), with values in business units."""
    booster, frame, features = loaded
    report = explain.explain_frame(booster, frame, features, "default", top_k=3, threshold=0.0, max_rows=40)
    contributions, _, _ = explain.shap_values(booster, frame, features)
    assert report["decisions"]
    for decision in report["decisions"]:
        row = decision["row"]
        assert decision["application_id"] == int(frame["ID"].iloc[row])  # passed through from the input
        codes = decision["reason_codes"]
        assert 1 <= len(codes) <= 3
        assert [c["contribution"] for c in codes] == sorted((c["contribution"] for c in codes), reverse=True)
        for code in codes:
            members = [features.index(f) for f in code["features"]]
            assert code["contribution"] == pytest.approx(float(contributions[row, members].sum()))
            assert code["contribution"] > 0
            if code["family"] == "repayment_status":
                assert code["code"] == "RC01" and set(code["features"]) <= set(common.PAY_STATUS_COLUMNS)
                assert "latest month:" in code["value_text"]
            if code["family"] == "bill_amount":
                assert code["features"] == common.BILL_AMOUNT_COLUMNS and "NT$" in code["value_text"]
            if code["family"] == "payment_amount":
                assert code["features"] == common.PAY_AMOUNT_COLUMNS and "NT$" in code["value_text"]
    families = {c["family"] for d in report["decisions"] for c in d["reason_codes"]}
    assert "repayment_status" in families


def test_reason_code_texts_in_business_units():
    features = ["LIMIT_BAL", "PAY_0", "PAY_2", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2", "EDUCATION"]
    values = [50000, 2, -1, 45000, 41000, 0, 1500, 3]
    contributions = np.array([0.1, 0.9, 0.2, 0.3, 0.1, 0.05, 0.05, -0.2])
    codes = explain.reason_codes(contributions, values, features, top_k=5)
    assert [c["code"] for c in codes] == ["RC01", "RC02", "RC03", "RC04"]  # EDUCATION pushes away
    assert codes[0]["contribution"] == pytest.approx(1.1)
    assert codes[0]["value_text"] == "latest month: 2 months late; 2 months ago: paid in full; worst in the period: 2 months late"
    assert codes[1]["value_text"] == "latest statement balance NT$ 45,000; average balance over 2 months NT$ 43,000"
    assert codes[2]["value_text"] == "latest payment NT$ 0; total repaid over 2 months NT$ 1,500"
    assert codes[3]["value_text"] == "credit limit NT$ 50,000"


def test_contributions_equal_the_shap_package(loaded):
    """XGBoost's built-in TreeSHAP against the ``shap`` package's TreeExplainer (installed in
    the XGBoost 1.7-1 image venv by make test; skipped where shap is missing)."""
    shap = pytest.importorskip("shap")
    booster, frame, features = loaded
    rows = frame.head(200)
    contributions, bias, _ = explain.shap_values(booster, rows, features)
    explainer = shap.TreeExplainer(booster)
    expected = explainer.shap_values(rows[features].to_numpy(dtype=np.float32))
    assert np.allclose(contributions, expected, atol=1e-4)
    assert float(np.ravel(explainer.expected_value)[0]) == pytest.approx(float(bias[0]), abs=1e-4)
