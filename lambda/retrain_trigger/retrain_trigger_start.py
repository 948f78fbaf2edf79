"""Start the training workflow for one episode: the second idempotency guard.

``StartExecution`` with a deterministic execution name per episode: Step Functions keeps
execution names unique per state machine (standard workflows, 90 days after the execution
closes), so a second start for the same episode either returns the running execution (same
name and same input) or fails with ``ExecutionAlreadyExists``, which is reported as
``ALREADY_STARTED``. The client is injected (no AWS import here).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


def execution_arn(state_machine_arn: str, name: str) -> str:
    """``arn:aws:states:r:a:stateMachine:SM`` -> ``arn:aws:states:r:a:execution:SM:name``."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def start_workflow(sfn_client: Any, state_machine_arn: str, payload: dict[str, Any]) -> dict[str, Any]:
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
    try:
        response = sfn_client.start_execution(stateMachineArn=state_machine_arn, name=name, input=document)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        return {"status": "ALREADY_STARTED", "executionArn": execution_arn(state_machine_arn, name), **summary}
    return {"status": "STARTED", "executionArn": response["executionArn"], **summary}
