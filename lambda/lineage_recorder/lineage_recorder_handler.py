"""Lambda entry point: record the SageMaker ML lineage of one training run.

Invoked by the last state of the Step Functions training workflow with the event described in
``lineage_recorder_logic`` (module docstring) and ``docs/lineage.md``. Thin: Powertools logging,
metrics and tracing, a SageMaker client, and a call to the logic.

Errors propagate so the state fails with the exception name as the Step Functions error:
``InvalidLineageEventError``, ``LineageConflictError`` and ``RawDataMismatchError`` (the raw object
changed during the run: the SHA-256 the preprocessing job read is not the recorded version's)
are not retryable (nothing was written);
``LineageTransientError`` (throttling past the SDK's attempts, 5xx, dropped connections) is in
the RecordLineage state's Retry: recording is idempotent and resumes, and the run context stays
IN_PROGRESS (audit queries say so) until the completion marker is written last.

Environment (read at call time):
    POWERTOOLS_SERVICE_NAME       service dimension / log key (default "lineage-recorder")
    POWERTOOLS_METRICS_NAMESPACE  CloudWatch namespace (default "SecureMlPlatform")
    AWS_REGION                    set by Lambda; the lineage entities are written in this region
Metrics: LineageRecorded, LineageEntitiesCreated, LineageAssociationsAdded, LineageRejected,
LineageConflict, LineageTransientErrors, LineageDuplicatesRemoved (all Count).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

import lineage_recorder_logic as logic

DEFAULT_SERVICE = "lineage-recorder"
DEFAULT_NAMESPACE = "SecureMlPlatform"

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _sagemaker_client() -> Any:
    # ~70 lineage calls per new run: standard retry mode absorbs throttling.
    return boto3.client(
        "sagemaker",
        region_name=os.environ.get("AWS_REGION"),
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )


def _s3_client() -> Any:
    # reads the recorded raw data version to cross-check its SHA-256
    return boto3.client(
        "s3",
        region_name=os.environ.get("AWS_REGION"),
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)
    metrics.service = os.environ.get("POWERTOOLS_SERVICE_NAME", DEFAULT_SERVICE)
    logger.append_keys(service=metrics.service)

    try:
        run = logic.parse_run_event(event)
    except logic.InvalidLineageEventError as error:
        metrics.add_metric(name="LineageRejected", unit=MetricUnit.Count, value=1)
        logger.error(
            "Lineage event rejected", extra={"fields": list(error.fields), "reason": str(error)}
        )
        raise

    # Commit author / message are personal data: kept in SageMaker lineage, not in the logs.
    logger.append_keys(
        model_package_arn=run.model_package_arn,
        step_functions_execution_arn=run.step_functions_execution_arn,
        commit_id=run.commit.id,
    )
    tracer.put_annotation(key="model_package_arn", value=run.model_package_arn)

    try:
        s3 = _s3_client() if run.datasets["raw"].sha256 is not None else None
        result = logic.record_run(run, sagemaker=_sagemaker_client(), s3=s3)
    except logic.RawDataMismatchError:
        metrics.add_metric(name="LineageRawDataMismatch", unit=MetricUnit.Count, value=1)
        logger.exception("The raw data changed during the run: nothing recorded")
        raise
    except logic.LineageConflictError:
        metrics.add_metric(name="LineageConflict", unit=MetricUnit.Count, value=1)
        logger.exception("Execution already recorded with different content")
        raise
    except logic.LineageTransientError:
        metrics.add_metric(name="LineageTransientErrors", unit=MetricUnit.Count, value=1)
        logger.exception("Transient AWS error: the workflow retries, recording resumes")
        raise

    metrics.add_metric(name="LineageRecorded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="LineageEntitiesCreated", unit=MetricUnit.Count, value=result.entities_created
    )
    metrics.add_metric(
        name="LineageAssociationsAdded", unit=MetricUnit.Count, value=result.associations_added
    )
    metrics.add_metric(
        name="LineageDuplicatesRemoved", unit=MetricUnit.Count, value=result.duplicates_removed
    )
    logger.info(
        "Lineage recorded",
        extra={
            "run_context_arn": result.run_context_arn,
            "entities_created": result.entities_created,
            "entities_reused": result.entities_reused,
            "associations_added": result.associations_added,
            "associations_existing": result.associations_existing,
        },
    )
    return result.to_dict()
