"""Compare current metrics with the model package's baseline and decide ``degraded``.

Rules (all comparable metrics are "higher is better"):

* every comparable metric present in the baseline is checked with ``tolerances[metric]``,
  else ``default_tolerance``; with neither it is reported as ``NOT_CHECKED``;
* ``drop = baseline - current``; the metric is ``BREACHED`` when ``drop > tolerance``
  (a margin of 1e-9 absorbs floating-point noise, so a drop exactly equal to the
  tolerance passes);
* a metric that cannot be computed (AUC with a single class) is ``UNDEFINED`` and counts as
  breached: quality that cannot be verified is not accepted;
* ``degraded`` is true when at least one metric is breached or undefined.
"""

from __future__ import annotations

from typing import Any

from model_quality_metrics_core import QualityMetrics
from model_quality_metrics_request import COMPARABLE_METRICS

_EPSILON = 1e-9


def compare_with_baseline(
    metrics: QualityMetrics,
    baseline: dict[str, float],
    tolerances: dict[str, float],
    default_tolerance: float | None,
) -> dict[str, Any]:
    comparison: dict[str, dict[str, Any]] = {}
    breached: list[str] = []
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
        }
        if tolerance is None:
            entry["status"] = "NOT_CHECKED"
        elif current is None:
            entry["status"] = "UNDEFINED"
            entry["reason"] = metrics.undefined.get(name, "metric could not be computed")
            breached.append(name)
        elif reference - current > tolerance + _EPSILON:
            entry["status"] = "BREACHED"
            breached.append(name)
        else:
            entry["status"] = "OK"
        comparison[name] = entry
    return {"comparison": comparison, "breached_metrics": breached, "degraded": bool(breached)}
