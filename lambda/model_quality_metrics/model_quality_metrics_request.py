"""Parse and validate the Step Functions event of the model-quality check.

Event (snake_case; see docs/model-quality.md)::

    {
      "predictions_s3_uri": "s3://bucket/transform/out/test.csv.out",   # layout 1: two files
      "labels_s3_uri": "s3://bucket/data/test_labels.csv",
      "predictions_column": 0,        # optional; needed only if the file has >1 column
      "labels_column": "label",       # optional; idem
      -- or --
      "data_s3_uri": "s3://bucket/eval/joined.csv",                      # layout 2: one file
      "label_column": "label",        # optional, default header "label" or column 0
      "score_column": "score",        # optional, default header "score" or column 1

      "threshold": 0.5,               # optional, default 0.5; positive if score >= threshold
      "baseline_metrics": {"auc": 0.91, "accuracy": 0.88},   # or SageMaker model-quality
                                                             # statistics JSON
      "tolerances": {"auc": 0.02, "accuracy": 0.03},         # max allowed drop per metric
      "default_tolerance": 0.05,      # optional, for baseline metrics without their own tolerance
      "model_package_group": "credit-risk",                  # required (metric dimension)
      "endpoint_name": "credit-risk-prod",                   # optional (metric dimension)
      "model_package_arn": "arn:aws:sagemaker:...:model-package/credit-risk/3"  # optional, echoed
    }
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model_quality_metrics_errors import InvalidRequestError
from model_quality_metrics_evaluate import CombinedFile, InputFiles, SeparateFiles

#: Metrics that can be compared with a baseline; all of them are "higher is better".
COMPARABLE_METRICS = ("auc", "accuracy", "precision", "recall", "f1")
_ALIASES = {"roc_auc": "auc", "auc_roc": "auc", "f1_score": "f1", "f1score": "f1"}
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class QualityRequest:
    inputs: InputFiles
    threshold: float
    baseline: dict[str, float]
    tolerances: dict[str, float]
    default_tolerance: float | None
    model_package_group: str
    endpoint_name: str | None
    model_package_arn: str | None


def _string(event: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = event.get(key)
    if value is None or value == "":
        if required:
            raise InvalidRequestError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{key} must be a string, got {type(value).__name__}")
    return value


def _column(event: Mapping[str, Any], key: str) -> str | int | None:
    value = event.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRequestError(f"{key} must be a column name or a 0-based index")
    if isinstance(value, int) and value < 0:
        raise InvalidRequestError(f"{key} must be >= 0")
    return value


def _number(value: Any, what: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidRequestError(f"{what} must be in [{low:g}, {high:g}], got {value!r}")
    return number


def _metric_name(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise InvalidRequestError(f"{where}: metric names must be strings, got {name!r}")
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def normalise_baseline(raw: Any) -> dict[str, float]:
    """Accept ``{"auc": 0.91}`` or SageMaker's model-quality statistics
    (``{"binary_classification_metrics": {"auc": {"value": 0.91, ...}}}``).

    Only the comparable metrics are kept; other entries (e.g. ``false_positive_rate``) are
    ignored.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidRequestError("baseline_metrics must be a non-empty object")
    if "binary_classification_metrics" in raw:
        raw = raw["binary_classification_metrics"]
        if not isinstance(raw, Mapping):
            raise InvalidRequestError(
                "baseline_metrics.binary_classification_metrics must be an object"
            )
    baseline: dict[str, float] = {}
    for name, value in raw.items():
        key = _metric_name(name, "baseline_metrics")
        if key not in COMPARABLE_METRICS:
            continue
        if isinstance(value, Mapping):
            value = value.get("value")
        baseline[key] = _number(value, f"baseline_metrics.{name}", low=0.0, high=1.0)
    if not baseline:
        raise InvalidRequestError(
            f"baseline_metrics has none of the comparable metrics {list(COMPARABLE_METRICS)}"
        )
    return baseline


def parse_request(event: Any) -> QualityRequest:
    """Validate the event; raises :class:`InvalidRequestError` with a specific message."""
    if not isinstance(event, Mapping):
        raise InvalidRequestError("the event must be a JSON object")
    data_uri = _string(event, "data_s3_uri")
    predictions_uri = _string(event, "predictions_s3_uri")
    labels_uri = _string(event, "labels_s3_uri")
    inputs: InputFiles
    if data_uri is not None:
        if predictions_uri is not None or labels_uri is not None:
            raise InvalidRequestError(
                "give either data_s3_uri (one file) or predictions_s3_uri + labels_s3_uri, not both"
            )
        inputs = CombinedFile(
            data_uri, _column(event, "label_column"), _column(event, "score_column")
        )
    elif predictions_uri is not None and labels_uri is not None:
        inputs = SeparateFiles(
            predictions_uri,
            labels_uri,
            _column(event, "predictions_column"),
            _column(event, "labels_column"),
        )
    else:
        raise InvalidRequestError(
            "the input files are missing: give predictions_s3_uri and labels_s3_uri, or data_s3_uri"
        )

    threshold_value = event.get("threshold")
    threshold = (
        DEFAULT_THRESHOLD
        if threshold_value is None
        else _number(threshold_value, "threshold", low=0.0, high=1.0)
    )
    baseline = normalise_baseline(event.get("baseline_metrics"))

    raw_tolerances = event.get("tolerances") or {}
    if not isinstance(raw_tolerances, Mapping):
        raise InvalidRequestError("tolerances must be an object of metric -> maximum allowed drop")
    tolerances: dict[str, float] = {}
    for name, value in raw_tolerances.items():
        key = _metric_name(name, "tolerances")
        if key not in COMPARABLE_METRICS:
            raise InvalidRequestError(
                f"tolerances.{name}: unknown metric; known metrics are {list(COMPARABLE_METRICS)}"
            )
        if key not in baseline:
            raise InvalidRequestError(f"tolerances.{name}: there is no baseline value for {key}")
        tolerances[key] = _number(value, f"tolerances.{name}", low=0.0, high=1.0)
    default_value = event.get("default_tolerance")
    default_tolerance = (
        None
        if default_value is None
        else _number(default_value, "default_tolerance", low=0.0, high=1.0)
    )
    if not tolerances and default_tolerance is None:
        raise InvalidRequestError(
            "nothing to check: give tolerances for some baseline metrics or a default_tolerance"
        )
    return QualityRequest(
        inputs=inputs,
        threshold=threshold,
        baseline=baseline,
        tolerances=tolerances,
        default_tolerance=default_tolerance,
        model_package_group=_string(event, "model_package_group", required=True),  # type: ignore[arg-type]
        endpoint_name=_string(event, "endpoint_name"),
        model_package_arn=_string(event, "model_package_arn"),
    )
