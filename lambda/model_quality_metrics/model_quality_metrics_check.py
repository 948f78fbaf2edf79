"""The model-quality check: metrics from the files, then the baseline comparison.

Plain Python (no AWS): the handler injects an S3 opener; tests and the benchmark use local
files.
"""

from __future__ import annotations

from typing import Any

from model_quality_metrics_compare import compare_with_baseline
from model_quality_metrics_csv import DEFAULT_BLOCK_SIZE, Opener, open_local
from model_quality_metrics_evaluate import compute_metrics
from model_quality_metrics_request import QualityRequest


def run_check(
    request: QualityRequest,
    *,
    opener: Opener = open_local,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> dict[str, Any]:
    """Return the check result (the ``status: OK`` shape documented in docs/model-quality.md)."""
    metrics = compute_metrics(
        request.inputs, request.threshold, opener=opener, block_size=block_size
    )
    decision = compare_with_baseline(
        metrics, request.baseline, request.tolerances, request.default_tolerance
    )
    return {
        "status": "OK",
        "degraded": decision["degraded"],
        "breached_metrics": decision["breached_metrics"],
        "advisory_metrics": decision["advisory_metrics"],
        "evidence": decision["evidence"],
        "metrics": metrics.to_dict(),
        "comparison": decision["comparison"],
        "model_package_group": request.model_package_group,
        "endpoint_name": request.endpoint_name,
        "model_package_arn": request.model_package_arn,
        "inputs": request.inputs.describe(),
    }
