"""The model-quality check's evidence rule (docs/model-quality.md): it alarms on a real drop,
not on sampling noise, a small sample or a change in the default rate alone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from model_quality_metrics_compare import (
    MIN_CLASS_ROWS,
    MIN_LABELLED_ROWS,
    compare_with_baseline,
    count_metric_standard_error,
)
from model_quality_metrics_core import MetricsAccumulator, delong_standard_error

TOLERANCES = {"auc": 0.02, "accuracy": 0.03}


def _sample(seed: int, rows: int, rate: float, separation: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.random(rows) < rate
    logits = rng.normal(-1.6, 1.0, rows) + separation * labels
    return labels, 1.0 / (1.0 + np.exp(-logits))


def _metrics(labels: np.ndarray, scores: np.ndarray):
    accumulator = MetricsAccumulator(0.5)
    accumulator.update(labels.astype(bool), scores.astype(np.float64))
    return accumulator.result()


def _baseline() -> dict[str, float]:
    reference = _metrics(*_sample(1, 200_000, 0.22, 1.09))
    return {"auc": reference.auc, "accuracy": reference.accuracy}


def _delong_by_definition(labels: np.ndarray, scores: np.ndarray) -> float:
    """DeLong's variance from the pairwise kernel, O(m * n): the textbook formula."""
    pos, neg = scores[labels], scores[~labels]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    return float(np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)))


def test_delong_standard_error_equals_the_pairwise_definition_with_ties() -> None:
    labels, scores = _sample(7, 1500, 0.3, 1.0)
    scores = np.round(scores, 2)  # many ties: counted one half, as in the AUC
    metrics = _metrics(labels, scores)
    assert metrics.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.auc_standard_error == pytest.approx(_delong_by_definition(labels, scores), rel=1e-9)
    assert metrics.to_dict()["auc_standard_error"] == metrics.auc_standard_error
    assert delong_standard_error(np.array([0.4]), np.array([0.1, 0.2])) is None


def test_confusion_metric_standard_errors_are_the_binomial_ones() -> None:
    metrics = _metrics(*_sample(3, 4000, 0.22, 1.09))
    n = metrics.row_count
    acc, rec = metrics.accuracy, metrics.recall
    assert count_metric_standard_error(metrics, "accuracy") == pytest.approx(np.sqrt(acc * (1 - acc) / n), rel=1e-4)
    assert count_metric_standard_error(metrics, "recall") == pytest.approx(
        np.sqrt(rec * (1 - rec) / metrics.positives), rel=1e-4)


def test_a_real_drop_alarms() -> None:
    baseline = _baseline()
    metrics = _metrics(*_sample(11, 2000, 0.22, 0.55))  # the model lost its edge: AUC ~0.65
    decision = compare_with_baseline(metrics, baseline, TOLERANCES, None)
    auc = decision["comparison"]["auc"]
    assert auc["status"] == "BREACHED" and auc["drop_lower_bound"] > TOLERANCES["auc"]
    assert decision["degraded"] is True and decision["breached_metrics"] == ["auc"]
    assert decision["evidence"]["sufficient"] is True


def test_a_pure_change_in_the_default_rate_does_not_alarm() -> None:
    baseline = _baseline()
    metrics = _metrics(*_sample(12, 20_000, 0.40, 1.09))  # same model, more defaulters
    decision = compare_with_baseline(metrics, baseline, TOLERANCES, None)
    # accuracy really moved (the rule sees it), AUC did not: reported, no alarm
    assert decision["comparison"]["accuracy"]["status"] == "BREACHED"
    assert decision["advisory_metrics"] == ["accuracy"]
    assert decision["comparison"]["auc"]["status"] == "OK"
    assert decision["degraded"] is False and decision["breached_metrics"] == []


def test_a_drop_within_sampling_noise_does_not_alarm_but_the_previous_rule_did() -> None:
    baseline = _baseline()
    labels, scores = _sample(13, 200_000, 0.22, 1.09)
    rng = np.random.default_rng(5)
    noisy = None
    for _ in range(200):  # find an unchanged-model sample whose AUC fell by more than 0.02
        pick = rng.integers(0, len(labels), 1000)
        metrics = _metrics(labels[pick], scores[pick])
        if baseline["auc"] - metrics.auc > TOLERANCES["auc"]:
            noisy = metrics
            break
    assert noisy is not None
    decision = compare_with_baseline(noisy, baseline, TOLERANCES, None)
    assert decision["comparison"]["auc"]["status"] == "OK" and decision["degraded"] is False


def test_false_alarm_rate_at_1000_rows_is_at_most_one_percent() -> None:
    """200 resamples of unchanged predictions (the benchmark runs thousands)."""
    baseline = _baseline()
    labels, scores = _sample(14, 200_000, 0.22, 1.09)
    rng = np.random.default_rng(6)
    alarms = sum(
        compare_with_baseline(_metrics(labels[p], scores[p]), baseline, TOLERANCES, None)["degraded"]
        for p in (rng.integers(0, len(labels), 1000) for _ in range(200)))
    assert alarms <= 2


@pytest.mark.parametrize(("rows", "rate", "reason"), [
    (MIN_LABELLED_ROWS - 1, 0.22, "labelled rows"),
    (MIN_LABELLED_ROWS * 4, 0.005, f"needs {MIN_CLASS_ROWS} of each"),
])
def test_too_little_evidence_decides_nothing(rows: int, rate: float, reason: str) -> None:
    metrics = _metrics(*_sample(15, rows, rate, 0.0))  # a useless model, but too little data
    decision = compare_with_baseline(metrics, _baseline(), TOLERANCES, None)
    assert decision["degraded"] is False
    assert decision["evidence"]["sufficient"] is False and reason in decision["evidence"]["reason"]
    assert {e["status"] for e in decision["comparison"].values()} == {"INSUFFICIENT_EVIDENCE"}


def test_boundary_the_lower_bound_must_exceed_the_tolerance() -> None:
    metrics = _metrics(*_sample(16, 3000, 0.22, 1.09))
    z = compare_with_baseline(metrics, {"auc": 0.9}, {"auc": 0.0}, None)["evidence"]["z"]
    at = metrics.auc + 0.02 + z * metrics.auc_standard_error
    assert compare_with_baseline(metrics, {"auc": at}, {"auc": 0.02}, None)["degraded"] is False
    assert compare_with_baseline(metrics, {"auc": at + 1e-6}, {"auc": 0.02}, None)["degraded"] is True


def test_bonferroni_and_confidence_validation() -> None:
    metrics = _metrics(*_sample(17, 3000, 0.22, 1.09))
    one = compare_with_baseline(metrics, {"auc": 0.9}, {"auc": 0.02}, None)["evidence"]["z"]
    two = compare_with_baseline(metrics, {"auc": 0.9, "accuracy": 0.9}, TOLERANCES, None)["evidence"]["z"]
    assert one == pytest.approx(2.3263, abs=1e-3) and two == pytest.approx(2.5758, abs=1e-3)
    with pytest.raises(ValueError, match="confidence"):
        compare_with_baseline(metrics, {"auc": 0.9}, {"auc": 0.02}, None, confidence=1.0)


def test_delong_sample_of_large_classes_is_within_one_percent(monkeypatch) -> None:
    """Beyond DELONG_SAMPLE scores per class, every k-th sorted score estimates the
    placements' variance: the SE stays within 1 % of the exact one."""
    import model_quality_metrics_core as core

    labels, scores = _sample(21, 60_000, 0.3, 1.0)
    exact = _metrics(labels, scores).auc_standard_error
    monkeypatch.setattr(core, "DELONG_SAMPLE", 2_000)
    sampled = _metrics(labels, scores).auc_standard_error
    assert sampled != exact and sampled == pytest.approx(exact, rel=0.01)
