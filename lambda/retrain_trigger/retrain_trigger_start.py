"""Start the training workflow for one episode: the second idempotency guard.

``StartExecution`` with a deterministic execution name per episode: Step Functions keeps
execution names unique per state machine (standard workflows, 90 days after the execution
closes), so a second start for the same episode either returns the running execution (same
name and same input) or fails with ``ExecutionAlreadyExists``, which is reported as
``ALREADY_STARTED``. The client is injected (no AWS import here).
"""

from __future__ import annotations

import json
from datetime import datetime, UTC
from typing import Any

from botocore.exceptions import ClientError


def execution_arn(state_machine_arn: str, name: str) -> str:
    """``arn:aws:states:r:a:stateMachine:SM`` -> ``arn:aws:states:r:a:execution:SM:name``."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _started_in_previous_window(
    sfn_client: Any, state_machine_arn: str, payload: dict[str, Any]
) -> str | None:
    """The execution ARN of this episode's start in the previous window, if it began less than
    a cool-down before this signal; else None.

    The idempotency record covers the cool-down from the first start; the execution name, a
    window aligned to the clock (midnight UTC for 24 hours). When the record is lost, a signal
    at 00:01 after a start at 23:59 would otherwise get a new name and a second retraining.
    Step Functions is the record of truth here: DescribeExecution of the previous window's name.
    """
    previous = payload.get("previousExecutionName")
    if not previous:
        return None
    arn = execution_arn(state_machine_arn, previous)
    try:
        described = sfn_client.describe_execution(executionArn=arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return None
        raise
    started = described.get("startDate")
    signal = datetime.fromisoformat(payload["eventTime"].replace("Z", "+00:00"))
    if not isinstance(started, datetime):
        return arn  # it exists: err on the side of one retraining
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return arn if (signal - started).total_seconds() < payload["cooldownSeconds"] else None


def start_workflow(
    sfn_client: Any, state_machine_arn: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Start (or find already started) the execution described by ``payload``.

    ``payload`` is :meth:`RetrainRequest.to_payload`. Returns a JSON-serialisable summary;
    AWS errors other than ``ExecutionAlreadyExists`` propagate (retryable).
    """
    name = payload["executionName"]
    document = json.dumps(payload["input"], sort_keys=True, separators=(",", ":"))
    summary = {
        "executionName": name,
        "episodeKey": payload["episodeKey"],
        "reason": payload["input"]["reason"],
        "modelPackageGroup": payload["input"]["modelPackageGroup"],
    }
    earlier = _started_in_previous_window(sfn_client, state_machine_arn, payload)
    if earlier is not None:
        return {
            "status": "ALREADY_STARTED",
            "executionArn": earlier,
            **summary,
            "note": "started in the previous window less than a cool-down before this signal",
        }
    try:
        response = sfn_client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=document
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        return {
            "status": "ALREADY_STARTED",
            "executionArn": execution_arn(state_machine_arn, name),
            **summary,
        }
    return {"status": "STARTED", "executionArn": response["executionArn"], **summary}
