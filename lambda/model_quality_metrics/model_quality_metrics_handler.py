"""Lambda entry point of the model-quality check (invoked by Step Functions).

Thin: parse the event, run :func:`model_quality_metrics_check.run_check` on S3 objects,
publish CloudWatch metrics (embedded metric format, through the function's log stream, so no
``cloudwatch:PutMetricData`` call and no monitoring VPC endpoint is needed) and return the
result.

A bad request or a bad file returns ``{"status": "INVALID_INPUT", "error": {...}}`` (never
raises, so Step Functions branches instead of retrying); so does an object too large for the
configured memory (``INPUT_TOO_LARGE``, checked from its size before reading, see
:func:`max_input_bytes`). Transient AWS errors (``SlowDown``, 5xx, throttling, a dropped or
short response body) are raised as ``ModelQualityTransientError``, which the workflow's
``Retry`` lists; other AWS errors (``AccessDenied``, ``NoSuchKey``...) are raised unchanged.

Metrics: namespace ``$POWERTOOLS_METRICS_NAMESPACE``, dimensions exactly
``ModelPackageGroup`` and ``Endpoint`` (``none`` when the event has no endpoint_name).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from model_quality_metrics_check import run_check
from model_quality_metrics_csv import OpenedFile
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    HTTPClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from model_quality_metrics_errors import (
    InputTooLargeError,
    InvalidRequestError,
    ModelQualityInputError,
    ModelQualityTransientError,
)
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


# Memory model (docs/model-quality.md, "Algorithm and memory bound"): 12 B per row at most
# (8 B retained + 4 B of merge buffer), the score buffer sized from the object size with 5 %
# slack, rows of at least 12 bytes of CSV text ("1,0.64818984" + newline is 13), a few parse
# blocks, and the Python runtime with numpy and pyarrow loaded.
RUNTIME_MIB = 160  # interpreter, numpy, pyarrow, boto3, Powertools: measured RSS ~120 MiB
BYTES_OF_MEMORY_PER_INPUT_BYTE = 12 * 1.05 / 12


def max_input_bytes(memory_mb: int) -> int:
    """The largest input object the function's configured memory holds (0 if none)."""
    usable = (memory_mb - RUNTIME_MIB) * 2**20
    return max(0, int(usable / BYTES_OF_MEMORY_PER_INPUT_BYTE))


def _memory_mb() -> int | None:
    try:
        return int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    except (KeyError, ValueError):
        return None  # not in Lambda (local run): no limit


_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "503 SlowDown",
        "KMS.ThrottlingException",
        "KMSInternalException",
        "InternalFailure",
    }
)
_TRANSIENT_FAULTS = (
    BotoConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code in _TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return isinstance(error, _TRANSIENT_FAULTS)


def open_s3(uri: str) -> OpenedFile:
    """Stream an S3 object (the only opener the Lambda uses: local paths are refused).

    Rejects an object larger than :func:`max_input_bytes` of the configured memory with
    ``INPUT_TOO_LARGE`` before reading its body."""
    bucket, key = parse_s3_uri(uri)
    response = _s3().get_object(Bucket=bucket, Key=key)
    size = response.get("ContentLength")
    memory = _memory_mb()
    if memory is not None and isinstance(size, int) and size > max_input_bytes(memory):
        response["Body"].close()
        raise InputTooLargeError(
            f"the object is {size:,} bytes; a function with {memory} MB of memory holds at most "
            f"{max_input_bytes(memory):,} bytes of label,score CSV (about 12 bytes of memory per "
            "row). Raise the function's memory (up to 10,240 MB) or split the evaluation set",
            source=uri,
        )
    return OpenedFile(response["Body"], size)


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
    metrics.add_metric(
        name="BreachedMetrics", unit=MetricUnit.Count, value=len(result["breached_metrics"])
    )
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
    except (ClientError, BotoCoreError) as exc:
        if not is_transient(exc):
            raise
        logger.warning(
            "transient AWS error: raised as ModelQualityTransientError for a retry",
            extra={"error": f"{type(exc).__name__}: {exc}"},
        )
        raise ModelQualityTransientError(f"{type(exc).__name__}: {exc}") from exc
    except MemoryError:
        # Belt and braces: the size check above is the rule; an allocation that still fails
        # is reported the same way, not as a crash.
        too_large = InputTooLargeError("the input did not fit in the function's memory")
        logger.warning("model-quality input rejected", extra={"error": too_large.to_dict()})
        publish_invalid_input(event)
        return {"status": "INVALID_INPUT", "error": too_large.to_dict()}
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
