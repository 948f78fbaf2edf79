"""Lambda entry point of the model-quality check (invoked by Step Functions).

Thin: parse the event, run :func:`model_quality_metrics_check.run_check` on S3 objects,
publish CloudWatch metrics (embedded metric format, through the function's log stream, so no
``cloudwatch:PutMetricData`` call and no monitoring VPC endpoint is needed) and return the
result.

A bad request or a bad file returns ``{"status": "INVALID_INPUT", "error": {...}}`` (never
raises, so Step Functions branches instead of retrying). AWS errors (``AccessDenied``,
``NoSuchKey``, throttling...) are raised and are retryable.

Metrics: namespace ``$POWERTOOLS_METRICS_NAMESPACE``, dimensions exactly
``ModelPackageGroup`` and ``Endpoint`` (``none`` when the event has no endpoint_name).
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from model_quality_metrics_check import run_check
from model_quality_metrics_csv import OpenedFile
from model_quality_metrics_errors import InvalidRequestError, ModelQualityInputError
from model_quality_metrics_request import parse_request

logger = Logger()
tracer = Tracer()

NO_ENDPOINT = "none"
_s3_client: Any = None


def _s3() -> Any:
    global _s3_client
    if _s3_client is None:
        _s3_client = boto3.client("s3")
    return _s3_client


def reset_clients() -> None:
    """Forget cached boto3 clients (tests)."""
    global _s3_client
    _s3_client = None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise InvalidRequestError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise InvalidRequestError(f"{uri!r} must name an object: s3://bucket/key")
    return bucket, key


def open_s3(uri: str) -> OpenedFile:
    """Stream an S3 object (the only opener the Lambda uses: local paths are refused)."""
    bucket, key = parse_s3_uri(uri)
    response = _s3().get_object(Bucket=bucket, Key=key)
    return OpenedFile(response["Body"], response.get("ContentLength"))


def _new_metrics(model_package_group: str, endpoint_name: str | None) -> EphemeralMetrics:
    # service="" keeps Powertools from adding a "service" dimension: alarms match exactly
    # {ModelPackageGroup, Endpoint}. The namespace comes from POWERTOOLS_METRICS_NAMESPACE.
    metrics = EphemeralMetrics(service="")
    metrics.add_dimension(name="ModelPackageGroup", value=model_package_group)
    metrics.add_dimension(name="Endpoint", value=endpoint_name or NO_ENDPOINT)
    return metrics


def publish_result(result: dict[str, Any]) -> None:
    metrics = _new_metrics(result["model_package_group"], result["endpoint_name"])
    values = result["metrics"]
    if values["auc"] is not None:
        metrics.add_metric(name="AUC", unit=MetricUnit.NoUnit, value=values["auc"])
    for name, key in (
        ("Accuracy", "accuracy"),
        ("Precision", "precision"),
        ("Recall", "recall"),
        ("F1", "f1"),
        ("PositiveRate", "positive_rate"),
        ("PredictedPositiveRate", "predicted_positive_rate"),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=values[key])
    matrix = values["confusion_matrix"]
    for name, key in (
        ("TruePositives", "tp"),
        ("FalsePositives", "fp"),
        ("TrueNegatives", "tn"),
        ("FalseNegatives", "fn"),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=matrix[key])
    metrics.add_metric(name="RowCount", unit=MetricUnit.Count, value=values["row_count"])
    metrics.add_metric(name="Degraded", unit=MetricUnit.Count, value=int(result["degraded"]))
    metrics.add_metric(name="BreachedMetrics", unit=MetricUnit.Count, value=len(result["breached_metrics"]))
    if result.get("model_package_arn"):
        metrics.add_metadata(key="model_package_arn", value=result["model_package_arn"])
    metrics.flush_metrics()


def publish_invalid_input(event: Any) -> None:
    group = event.get("model_package_group") if isinstance(event, dict) else None
    endpoint = event.get("endpoint_name") if isinstance(event, dict) else None
    metrics = _new_metrics(
        group if isinstance(group, str) and group else "unknown",
        endpoint if isinstance(endpoint, str) and endpoint else None,
    )
    metrics.add_metric(name="InvalidInput", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = parse_request(event)
        result = run_check(request, opener=open_s3)
    except ModelQualityInputError as exc:
        logger.warning("model-quality input rejected", extra={"error": exc.to_dict()})
        publish_invalid_input(event)
        return {"status": "INVALID_INPUT", "error": exc.to_dict()}
    logger.info(
        "model-quality check done",
        extra={
            "degraded": result["degraded"],
            "breached_metrics": result["breached_metrics"],
            "metrics": result["metrics"],
            "model_package_group": result["model_package_group"],
        },
    )
    publish_result(result)
    return result
