"""Lambda entry point: judge one SageMaker CloudTrail event and contain a non-compliant resource.

Invoked asynchronously by an EventBridge rule ("AWS API Call via CloudTrail", source
aws.sagemaker; see docs/compliance-responder.md for the pattern). Thin: Powertools logging,
metrics and tracing around ``compliance_responder_logic.process_event``.

Failure policy: an event it does not understand is logged, counted (EventsSkipped) and the
invocation succeeds (a retry could not help). An AWS error while remediating is logged, counted
(RemediationErrors), reported on the security topic as REMEDIATION FAILED, and then this handler
raises ``RemediationFailedError`` so the invocation is recorded as failed, retried by Lambda's
async retries (safe: processing is idempotent) and finally sent to the DLQ / on-failure
destination. Failures are visible, never swallowed.

Environment (read at call time):
    SECURITY_TOPIC_ARN            SNS topic for the security team (required to notify)
    APPROVED_SUBNET_IDS           comma-separated subnet ids (empty: presence-only check)
    APPROVED_SECURITY_GROUP_IDS   comma-separated security group ids (empty: presence-only)
    APPROVED_KMS_KEY_ARNS         comma-separated KMS key ARNs (empty: presence-only)
    REQUIRE_NETWORK_ISOLATION     "true" (default) / "false"
    NOTEBOOK_PENDING_MAX_WAIT_SECONDS  wait for a Pending notebook (default 600)
    NOTEBOOK_PENDING_POLL_SECONDS      Describe interval while waiting (default 20)
    POWERTOOLS_SERVICE_NAME       service dimension / log key (default "compliance-responder")
    POWERTOOLS_METRICS_NAMESPACE  CloudWatch namespace (default "SecureMlPlatform")
Metrics (Count, every invocation): ViolationsFound, ResourcesRemediated, EventsSkipped,
RemediationErrors.

Runtime: the PlatformFunction runtime (Python 3.14) with the Powertools for AWS Lambda v3 layer
(Powertools is not bundled).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import compliance_responder_logic as logic

DEFAULT_SERVICE = "compliance-responder"
DEFAULT_NAMESPACE = "SecureMlPlatform"

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# The logic module logs through the standard library: give it the same JSON output.
copy_config_to_registered_loggers(source_logger=logger, include={logic.LOGGER_NAME})


def _add_metrics(outcome: logic.Outcome) -> None:
    # All four are emitted on every invocation (zeros included) so alarms always have data.
    metrics.add_metric(name="ViolationsFound", unit=MetricUnit.Count, value=len(outcome.codes))
    metrics.add_metric(
        name="ResourcesRemediated",
        unit=MetricUnit.Count,
        value=1 if outcome.status == logic.REMEDIATED else 0,
    )
    metrics.add_metric(
        name="EventsSkipped",
        unit=MetricUnit.Count,
        value=1 if outcome.status == logic.SKIPPED else 0,
    )
    metrics.add_metric(
        name="RemediationErrors", unit=MetricUnit.Count, value=outcome.remediation_errors
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)
    metrics.service = os.environ.get("POWERTOOLS_SERVICE_NAME", DEFAULT_SERVICE)
    logger.append_keys(service=metrics.service)

    try:
        outcome = logic.process_event(event, context)
    except Exception:
        # A bug or an unexpected error: counted and re-raised, never swallowed.
        metrics.add_metric(name="RemediationErrors", unit=MetricUnit.Count, value=1)
        logger.exception("unexpected error while processing the event")
        raise
    _add_metrics(outcome)
    result = outcome.to_dict()
    logger.info("event processed", extra={"outcome": result})
    if outcome.must_fail:
        # The FAILED notification (if SNS allowed it) is already out; now make the invocation
        # fail so Lambda retries it and then sends it to the DLQ / on-failure destination.
        raise logic.RemediationFailedError(
            f"{outcome.status} {outcome.resource_type} {outcome.resource_name}: "
            f"{outcome.error or outcome.reason} (notified={outcome.notified})"
        )
    return result
