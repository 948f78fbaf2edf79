"""Run one Choice state of a workflow definition in moto's Step Functions executor.

The workflows are built as plain ASL data; their decisions (which branch a given input
takes) are exercised here by a real ASL interpreter rather than by reading the JSON. Every
target of the Choice becomes a Pass state that returns its own name, so the execution's
output says which branch was taken."""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws

REGION = "eu-west-2"


def branch_taken(choice: dict, state_input: dict, *, timeout_seconds: float = 30) -> str:
    assert choice["Type"] == "Choice"
    targets = {rule["Next"] for rule in choice["Choices"]} | {choice.get("Default")}
    states = {"Decide": json.loads(json.dumps(choice))}
    states.update({t: {"Type": "Pass", "Result": {"branch": t}, "End": True}
                   for t in targets if t})
    definition = json.dumps({"StartAt": "Decide", "States": states})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        arn = sfn.create_state_machine(
            name="decide", definition=definition,
            roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(state_input))
        # moto runs the execution in a background thread: poll, bounded in time.
        deadline = time.monotonic() + timeout_seconds
        while True:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert described["status"] == "SUCCEEDED", described
        return json.loads(described["output"])["branch"]
