"""Retrain trigger: one drift episode starts exactly one training execution (moto Step
Functions + moto DynamoDB for the Powertools idempotency table)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import retrain_trigger_handler as handler_module
from retrain_trigger_events import (
    REASON_ALARM,
    REASON_MONITORING,
    REASON_SCHEDULED,
    Ignored,
    RetrainConfigurationError,
    RetrainRequest,
    classify,
    parse_time,
)

REGION = "eu-west-2"
TABLE = "ml-platform-idempotency"
GROUP = "credit-risk"
ENDPOINT = "credit-risk-prod"


@dataclass
class FakeContext:
    function_name: str = "retrain-trigger"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:retrain-trigger"
    aws_request_id: str = "11111111-1111-1111-1111-111111111111"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# The handler's clock: the sample events are from the morning of 2026-11-27, so "now" is that
# day's noon (a drift signal older than the cool-down is ignored as stale).
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict:
    state = {"now": NOW}
    monkeypatch.setattr(handler_module, "_now", lambda: state["now"])
    # moto stamps executions (startDate) with its own clock: the same one
    monkeypatch.setattr("moto.stepfunctions.models.utcnow", lambda: state["now"].replace(tzinfo=None))
    return state


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, clock: dict):
    with mock_aws():
        handler_module.reset_clients()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="training-workflow",
            definition=json.dumps({"StartAt": "Train", "States": {"Train": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/training-workflow",
        )
        monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", machine["stateMachineArn"])
        monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
        monkeypatch.setenv("RETRAIN_COOLDOWN_HOURS", "24")
        monkeypatch.setenv("MODEL_PACKAGE_GROUP_NAME", GROUP)
        yield {"sfn": sfn, "dynamodb": dynamodb, "arn": machine["stateMachineArn"], "clock": clock}
    handler_module.reset_clients()


def _executions(aws) -> list[dict]:
    return aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"]


def _invoke(event: dict) -> dict:
    return handler_module.handler(event, FakeContext())


def alarm_event(
    *,
    state: str = "ALARM",
    alarm: str = "credit-risk-prod-feature-drift",
    timestamp: str = "2026-11-27T08:15:02.123+0000",
    endpoint: str = ENDPOINT,
    group: str | None = GROUP,
    event_id: str = "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
) -> dict:
    dimensions = {"Endpoint": endpoint}
    if group:
        dimensions["ModelPackageGroup"] = group
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": timestamp[:19] + "Z",
        "region": REGION,
        "resources": [f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": timestamp},
            "previousState": {"value": "OK" if state == "ALARM" else "ALARM", "timestamp": "2026-11-26T08:00:00.000+0000"},
            "configuration": {
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {"namespace": "MlPlatform/ModelQuality", "name": "Degraded", "dimensions": dimensions},
                            "period": 300,
                            "stat": "Maximum",
                        },
                        "returnData": True,
                    }
                ]
            },
        },
    }


def monitoring_event(*, exit_message: str = "CompletedWithViolations: Job completed successfully with 3 violations.",
                     status: str = "Completed", time_: str = "2026-11-27T09:05:11Z") -> dict:
    return {
        "version": "0",
        "id": "7b6f2a9e-0000-4000-8000-000000000001",
        "detail-type": "SageMaker Processing Job State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": time_,
        "region": REGION,
        "resources": [f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/model-monitoring-202611270900-abc"],
        "detail": {
            "ProcessingJobName": "model-monitoring-202611270900-abc",
            "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/model-monitoring-202611270900-abc",
            "ProcessingJobStatus": status,
            "ExitMessage": exit_message,
            "MonitoringScheduleArn": f"arn:aws:sagemaker:{REGION}:123456789012:monitoring-schedule/credit-risk-data-quality",
            "Environment": {
                "sagemaker_endpoint_name": ENDPOINT,
                "sagemaker_monitoring_schedule_name": "credit-risk-data-quality",
            },
        },
    }


def scheduler_payload(scheduled_time: str = "2026-12-01T02:00:00Z") -> dict:
    return {
        "type": "ScheduledRetraining",
        "scheduleArn": f"arn:aws:scheduler:{REGION}:123456789012:schedule/default/credit-risk-monthly",
        "scheduledTime": scheduled_time,
        "modelPackageGroup": GROUP,
        "endpointName": ENDPOINT,
        "executionId": "e-1",
    }


# --------------------------------------------------------------------------- idempotency


def test_same_drift_event_twice_starts_one_execution(aws) -> None:
    first = _invoke(alarm_event())
    second = _invoke(alarm_event())
    executions = _executions(aws)
    assert len(executions) == 1
    assert first["status"] == "STARTED"
    assert second["status"] == "DUPLICATE" and second["firstStatus"] == "STARTED"
    assert second["executionArn"] == first["executionArn"] == executions[0]["executionArn"]

    described = aws["sfn"].describe_execution(executionArn=first["executionArn"])
    workflow_input = json.loads(described["input"])
    assert workflow_input["reason"] == REASON_ALARM
    assert workflow_input["modelPackageGroup"] == GROUP
    assert workflow_input["endpointName"] == ENDPOINT
    assert workflow_input["trigger"]["alarmName"] == "credit-risk-prod-feature-drift"
    assert workflow_input["episode"] == {
        "key": f"drift#{GROUP}#{ENDPOINT}",
        "windowStart": "2026-11-27T00:00:00Z",
        "cooldownHours": 24.0,
    }


def test_repeated_alarm_evaluations_in_one_episode_start_one_execution(aws) -> None:
    # The alarm flaps and another drift alarm on the same model fires within the cool-down,
    # and Model Monitor reports violations for the same endpoint: one drift episode.
    _invoke(alarm_event(timestamp="2026-11-27T08:15:02.123+0000"))
    _invoke(alarm_event(state="OK", timestamp="2026-11-27T08:45:00.000+0000"))
    _invoke(alarm_event(timestamp="2026-11-27T09:15:00.000+0000", event_id="e2"))
    _invoke(alarm_event(alarm="credit-risk-prod-auc-drop", timestamp="2026-11-27T10:00:00.000+0000", event_id="e3"))
    result = _invoke(monitoring_event())
    assert result["status"] == "DUPLICATE"
    assert len(_executions(aws)) == 1


def test_two_different_episodes_start_two_executions(aws) -> None:
    first = _invoke(alarm_event(endpoint="credit-risk-prod"))
    second = _invoke(alarm_event(endpoint="credit-risk-shadow", alarm="credit-risk-shadow-drift"))
    assert first["status"] == second["status"] == "STARTED"
    assert first["executionName"] != second["executionName"]
    assert len(_executions(aws)) == 2


def test_new_episode_after_the_cooldown(aws) -> None:
    aws["clock"]["now"] = datetime(2026, 11, 27, 8, 16, tzinfo=timezone.utc)
    first = _invoke(alarm_event(timestamp="2026-11-27T08:15:02.000+0000"))
    # The cool-down elapses: Powertools treats the record as expired.
    item = aws["dynamodb"].scan(TableName=TABLE)["Items"][0]
    aws["dynamodb"].update_item(
        TableName=TABLE,
        Key={"id": item["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    aws["clock"]["now"] = datetime(2026, 11, 28, 9, 5, tzinfo=timezone.utc)  # 24 h 49 min later
    second = _invoke(alarm_event(timestamp="2026-11-28T09:00:00.000+0000", event_id="next-day"))
    assert second["status"] == "STARTED"
    assert second["executionName"] != first["executionName"]
    assert len(_executions(aws)) == 2


def test_idempotency_record_expires_after_the_cooldown(aws) -> None:
    before = int(time.time())
    _invoke(alarm_event())
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert len(items) == 1
    assert items[0]["id"]["S"].startswith(f"{handler_module.IDEMPOTENCY_KEY_PREFIX}#")
    assert items[0]["status"]["S"] == "COMPLETED"
    expiration = int(items[0]["expiration"]["N"])
    assert before + 24 * 3600 - 5 <= expiration <= int(time.time()) + 24 * 3600 + 5


def test_execution_name_guards_when_the_record_is_lost(aws) -> None:
    first = _invoke(alarm_event())
    aws["dynamodb"].delete_item(TableName=TABLE, Key={"id": aws["dynamodb"].scan(TableName=TABLE)["Items"][0]["id"]})
    # Same event again: same name and same input -> Step Functions returns the same execution.
    again = _invoke(alarm_event())
    assert again["status"] == "STARTED" and again["executionArn"] == first["executionArn"]
    aws["dynamodb"].delete_item(TableName=TABLE, Key={"id": aws["dynamodb"].scan(TableName=TABLE)["Items"][0]["id"]})
    # Another alarm in the same window: same name, other input -> ExecutionAlreadyExists.
    other = _invoke(alarm_event(alarm="credit-risk-prod-auc-drop", event_id="other"))
    assert other["status"] == "ALREADY_STARTED"
    assert other["executionArn"] == first["executionArn"]
    assert len(_executions(aws)) == 1


def test_unrelated_events_start_nothing(aws) -> None:
    assert _invoke(alarm_event(state="OK"))["status"] == "IGNORED"
    assert _invoke(alarm_event(state="INSUFFICIENT_DATA"))["status"] == "IGNORED"
    assert _invoke(monitoring_event(exit_message="Completed: Job completed successfully with no violations."))["status"] == "IGNORED"
    assert _invoke(monitoring_event(status="Failed", exit_message="Error"))["status"] == "IGNORED"
    assert _invoke({"source": "aws.s3", "detail-type": "Object Created", "detail": {}})["status"] == "IGNORED"
    assert _executions(aws) == []
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []


def test_monitoring_violations_start_a_retraining(aws) -> None:
    result = _invoke(monitoring_event())
    assert result["status"] == "STARTED"
    workflow_input = json.loads(aws["sfn"].describe_execution(executionArn=result["executionArn"])["input"])
    assert workflow_input["reason"] == REASON_MONITORING
    assert workflow_input["endpointName"] == ENDPOINT
    assert workflow_input["trigger"]["monitoringSchedule"] == "credit-risk-data-quality"


def test_scheduled_retraining_once_per_scheduled_time(aws) -> None:
    first = _invoke(scheduler_payload("2026-12-01T02:00:00Z"))
    retry = _invoke(scheduler_payload("2026-12-01T02:00:00Z"))  # Scheduler retry of the same run
    drift = _invoke(alarm_event())  # drift is its own episode, independent of the schedule
    next_month = _invoke(scheduler_payload("2027-01-01T02:00:00Z"))
    assert [first["status"], retry["status"], drift["status"], next_month["status"]] == [
        "STARTED",
        "DUPLICATE",
        "STARTED",
        "STARTED",
    ]
    assert len(_executions(aws)) == 3
    workflow_input = json.loads(aws["sfn"].describe_execution(executionArn=first["executionArn"])["input"])
    assert workflow_input["reason"] == REASON_SCHEDULED
    assert workflow_input["trigger"]["scheduledTime"] == "2026-12-01T02:00:00Z"


def test_missing_configuration_raises(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAINING_STATE_MACHINE_ARN")
    with pytest.raises(RetrainConfigurationError, match="TRAINING_STATE_MACHINE_ARN"):
        _invoke(alarm_event())
    monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", aws["arn"])
    monkeypatch.delenv("MODEL_PACKAGE_GROUP_NAME")
    with pytest.raises(RetrainConfigurationError, match="no model package group"):
        _invoke(alarm_event(group=None))
    monkeypatch.setenv("RETRAIN_COOLDOWN_HOURS", "soon")
    with pytest.raises(RetrainConfigurationError, match="RETRAIN_COOLDOWN_HOURS"):
        _invoke(alarm_event())
    assert _executions(aws) == []


def test_aws_errors_propagate_and_leave_no_record(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", aws["arn"].replace("training-workflow", "missing"))
    with pytest.raises(ClientError) as info:
        _invoke(alarm_event())
    assert info.value.response["Error"]["Code"] == "StateMachineDoesNotExist"
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []  # a retry can start it
    monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", aws["arn"])
    assert _invoke(alarm_event())["status"] == "STARTED"


# --------------------------------------------------------------------------- pure logic


def test_execution_names_are_valid_and_deterministic() -> None:
    long_group = "a" * 70 + " with spaces/and:symbols"
    request = classify(alarm_event(group=long_group), default_model_package_group=None)
    assert isinstance(request, RetrainRequest)
    name = request.execution_name(24 * 3600)
    assert len(name) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert name == classify(alarm_event(group=long_group), default_model_package_group=None).execution_name(24 * 3600)
    other = classify(alarm_event(group=long_group + "x"), default_model_package_group=None)
    assert other.execution_name(24 * 3600) != name  # the digest separates truncated names


def test_window_start_is_aligned_to_the_cooldown() -> None:
    request = classify(alarm_event(timestamp="2026-11-27T08:15:02.123+0000"), default_model_package_group=None)
    assert request.window_start(6 * 3600) == datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
    assert request.window_start(24 * 3600) == datetime(2026, 11, 27, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text",
    ["2026-11-27T08:15:02.123+0000", "2026-11-27T08:15:02.123Z", "2026-11-27T08:15:02.123+00:00", 1795767302123],
)
def test_parse_time_accepts_aws_formats(text) -> None:
    assert parse_time(text) == datetime(2026, 11, 27, 8, 15, 2, 123000, tzinfo=timezone.utc)


def test_alarm_group_falls_back_to_the_environment_default() -> None:
    request = classify(alarm_event(group=None), default_model_package_group="fallback-group")
    assert isinstance(request, RetrainRequest) and request.model_package_group == "fallback-group"
    assert isinstance(classify("not an event", default_model_package_group=GROUP), Ignored)


def test_monitoring_execution_summary_shape_is_accepted() -> None:
    event = {
        "source": "ml-platform.monitoring",
        "detail-type": "Monitoring Execution Summary",
        "time": "2026-11-27T09:10:00Z",
        "detail": {
            "MonitoringScheduleName": "credit-risk-model-quality",
            "MonitoringExecutionStatus": "CompletedWithViolations",
            "EndpointName": ENDPOINT,
            "ScheduledTime": "2026-11-27T09:00:00Z",
        },
    }
    request = classify(event, default_model_package_group=GROUP)
    assert isinstance(request, RetrainRequest)
    assert request.reason == REASON_MONITORING
    assert request.episode_key == f"drift#{GROUP}#{ENDPOINT}"
    event["detail"]["MonitoringExecutionStatus"] = "Completed"
    assert isinstance(classify(event, default_model_package_group=GROUP), Ignored)
