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
