"""Compare current metrics with the model package's baseline and decide ``degraded``.

The evidence rule (docs/model-quality.md, docs/model-governance.md): the check alarms only
when the labelled sample shows, with stated confidence, that quality dropped by more than
the tolerance. A drop that sampling noise explains is not an alarm.

1. **Enough labelled rows.** With fewer than ``min_labelled_rows`` rows, or fewer than
   ``min_class_rows`` defaults or non-defaults, nothing is decided: every checked metric is
   ``INSUFFICIENT_EVIDENCE``, ``evidence.sufficient`` is false and ``degraded`` is false (the
   workflow tells operations to collect more outcomes).
2. **A confidence bound on the drop.** ``drop = baseline - current``; its one-sided lower
   confidence bound is ``drop - z * SE`` where SE is DeLong's standard error for the AUC and
   the delta-method standard error of the confusion-matrix proportions (multinomial) for
   accuracy, precision, recall and F1. ``z`` is the normal quantile at ``1 - alpha / k``
   (``alpha = 1 - confidence``, ``k`` checked metrics: Bonferroni, so the whole check has a
   false-alarm rate of at most ``alpha``). A metric is ``BREACHED`` when that lower bound
   exceeds its tolerance (a margin of 1e-9 absorbs floating-point noise).
3. **Not on the default rate alone.** Accuracy, precision and F1 move when only the share of
   defaulters changes (the model ranks and separates exactly as before); AUC and recall
   (the true-positive rate) do not. A breach of a prevalence-dependent metric is reported in
   ``advisory_metrics``; ``degraded`` (the alarm and the retraining) needs a breach of AUC or
   recall, or an AUC that cannot be computed.

Tolerances: ``tolerances[metric]``, else ``default_tolerance``; with neither the metric is
``NOT_CHECKED``. ``degraded`` is true exactly when ``breached_metrics`` is not empty.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from model_quality_metrics_core import QualityMetrics
from model_quality_metrics_request import COMPARABLE_METRICS

_EPSILON = 1e-9
MIN_LABELLED_ROWS = 500
MIN_CLASS_ROWS = 30
CONFIDENCE = 0.99
# Unchanged when only the default rate changes (class-conditional scores fixed).
PREVALENCE_INVARIANT = ("auc", "recall")
_DELTA_STEP = 1e-6


def _count_metric(name: str, tp: float, fp: float, fn: float, tn: float) -> float:
    if name == "accuracy":
        return (tp + tn) / (tp + fp + fn + tn)
    if name == "precision":
        return tp / (tp + fp)
    if name == "recall":
        return tp / (tp + fn)
    return 2 * tp / (2 * tp + fp + fn)  # f1


def count_metric_standard_error(metrics: QualityMetrics, name: str) -> float | None:
    """Delta-method standard error of a confusion-matrix metric: the four cells are one
    multinomial sample of ``row_count`` rows. ``None`` where the metric is undefined."""
    n = metrics.row_count
    cells = [metrics.tp / n, metrics.fp / n, metrics.fn / n, metrics.tn / n]
    try:
        gradient = []
        for i in range(4):
            up, down = list(cells), list(cells)
            up[i] += _DELTA_STEP
            down[i] -= _DELTA_STEP
            gradient.append(
                (_count_metric(name, *up) - _count_metric(name, *down)) / (2 * _DELTA_STEP)
            )
    except ZeroDivisionError:
        return None
    mean = sum(g * p for g, p in zip(gradient, cells, strict=True))
    variance = (sum(g * g * p for g, p in zip(gradient, cells, strict=True)) - mean * mean) / n
    return math.sqrt(max(variance, 0.0))


def standard_error(metrics: QualityMetrics, name: str) -> float | None:
    if name == "auc":
        return metrics.auc_standard_error
    return count_metric_standard_error(metrics, name)


def _insufficient(
    metrics: QualityMetrics, min_labelled_rows: int, min_class_rows: int
) -> str | None:
    positives = metrics.positives
    negatives = metrics.row_count - positives
    if metrics.row_count < min_labelled_rows:
        return (
            f"{metrics.row_count} labelled rows; the check decides from {min_labelled_rows} rows on"
        )
    if min(positives, negatives) < min_class_rows:
        return (
            f"{positives} positive and {negatives} negative labels; the check needs "
            f"{min_class_rows} of each"
        )
    return None


def compare_with_baseline(
    metrics: QualityMetrics,
    baseline: dict[str, float],
    tolerances: dict[str, float],
    default_tolerance: float | None,
    *,
    min_labelled_rows: int = MIN_LABELLED_ROWS,
    min_class_rows: int = MIN_CLASS_ROWS,
    confidence: float = CONFIDENCE,
) -> dict[str, Any]:
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence {confidence} must be in (0.5, 1), e.g. 0.99")
    checked = [
        name
        for name in COMPARABLE_METRICS
        if name in baseline and tolerances.get(name, default_tolerance) is not None
    ]
    shortfall = _insufficient(metrics, min_labelled_rows, min_class_rows)
    alpha = (1.0 - confidence) / max(len(checked), 1)
    z = NormalDist().inv_cdf(1.0 - alpha)
    comparison: dict[str, dict[str, Any]] = {}
    breached: list[str] = []
    advisory: list[str] = []
    for name in COMPARABLE_METRICS:
        if name not in baseline:
            continue
        reference = baseline[name]
        current = metrics.value(name)
        tolerance = tolerances.get(name, default_tolerance)
        entry: dict[str, Any] = {
            "baseline": reference,
            "current": current,
            "drop": None if current is None else reference - current,
            "tolerance": tolerance,
            "prevalence_invariant": name in PREVALENCE_INVARIANT,
        }
        if tolerance is None:
            entry["status"] = "NOT_CHECKED"
        elif shortfall is not None:
            entry["status"] = "INSUFFICIENT_EVIDENCE"
        elif current is None:
            entry["status"] = "UNDEFINED"
            entry["reason"] = metrics.undefined.get(name, "metric could not be computed")
            breached.append(name)
        else:
            error = standard_error(metrics, name)
            if error is None:
                error = 0.0  # a degenerate cell (e.g. nothing predicted positive): no noise term
            lower = (reference - current) - z * error
            entry.update(standard_error=error, drop_lower_bound=lower)
            if lower > tolerance + _EPSILON:
                entry["status"] = "BREACHED"
                (breached if name in PREVALENCE_INVARIANT else advisory).append(name)
            else:
                entry["status"] = "OK"
        comparison[name] = entry
    return {
        "comparison": comparison,
        "breached_metrics": breached,
        "advisory_metrics": advisory,
        "degraded": bool(breached),
        "evidence": {
            "sufficient": shortfall is None,
            "reason": shortfall,
            "labelled_rows": metrics.row_count,
            "positive_rate": metrics.positive_rate,
            "min_labelled_rows": min_labelled_rows,
            "min_class_rows": min_class_rows,
            "confidence": confidence,
            "z": z,
            "checked_metrics": checked,
        },
    }
