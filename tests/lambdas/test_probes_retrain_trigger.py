"""Fault and hostile-input probes of the retrain trigger (issue #17 findings 7 and 8).

moto Step Functions and DynamoDB in-process; transport faults through ``probe_faults`` on the
handler's own clients (botocore's retries run); the fixtures of test_retrain_trigger.py.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

import retrain_trigger_handler as handler_module
from probe_faults import DropResponses, ServerErrors, inject, no_backoff
from test_retrain_trigger import (  # noqa: F401 - fixtures
    TABLE,
    FakeContext,
    alarm_event,
    aws,
    clock,
    monitoring_event,
    scheduler_payload,
)

FUNCTION = "retrain_trigger"
FAULTS = pytest.mark.probe(FUNCTION, "faults")
BAD_INPUT = pytest.mark.probe(FUNCTION, "bad input")
IDEMPOTENCY = pytest.mark.probe(FUNCTION, "idempotency and concurrency")


def _executions(aws: dict) -> list[dict]:
    return aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"]


def _metrics(stdout: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                    value if isinstance(value, list) else [value])
    return totals


@pytest.fixture
def invoke(aws: dict, capsys: pytest.CaptureFixture[str]) -> Any:
    def _invoke(event: Any) -> dict[str, Any]:
        capsys.readouterr()
        result = handler_module.handler(event, FakeContext())
        result["metrics"] = _metrics(capsys.readouterr().out)
        return result

    return _invoke


def _at(clock: dict, text: str) -> None:
    clock["now"] = datetime.fromisoformat(text.replace("Z", "+00:00"))


def _forget_idempotency_records(aws: dict) -> None:
    for item in aws["dynamodb"].scan(TableName=TABLE)["Items"]:
        aws["dynamodb"].delete_item(TableName=TABLE, Key={"id": item["id"]})


# ---- idempotency and concurrency ----------------------------------------------------------------

@IDEMPOTENCY
@pytest.mark.parametrize("age_hours", [24.5, 72, 24 * 30])
def test_redriven_old_alarm_is_ignored_as_stale(aws, invoke, age_hours) -> None:
    """Finding 7: an alarm redriven days later (a DLQ or archive replay) starts nothing."""
    _at(aws["clock"], "2026-11-30T08:15:00Z")
    stamp = datetime.fromtimestamp(aws["clock"]["now"].timestamp() - age_hours * 3600, tz=timezone.utc)
    result = invoke(alarm_event(timestamp=stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")))
    assert result["status"] == "IGNORED"
    assert "stale signal" in result["reason"]
    assert result["metrics"]["StaleSignals"] == 1
    assert _executions(aws) == []
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []


@IDEMPOTENCY
def test_signal_just_inside_the_cooldown_still_starts(aws, invoke) -> None:
    _at(aws["clock"], "2026-11-28T08:00:00Z")
    result = invoke(alarm_event(timestamp="2026-11-27T08:15:00.000+0000"))  # 23 h 45 min old
    assert result["status"] == "STARTED"


@IDEMPOTENCY
@pytest.mark.parametrize("record_lost", [False, True])
def test_midnight_window_edge_starts_one_retraining(aws, invoke, record_lost) -> None:
    """Finding 7: 23:59 and 00:01 are two windows of a 24-hour cool-down. With the idempotency
    record lost, the second signal used to get a new execution name and a second retraining."""
    _at(aws["clock"], "2026-11-27T23:59:10Z")
    first = invoke(alarm_event(timestamp="2026-11-27T23:59:00.000+0000"))
    if record_lost:
        _forget_idempotency_records(aws)
    _at(aws["clock"], "2026-11-28T00:01:10Z")
    second = invoke(alarm_event(timestamp="2026-11-28T00:01:00.000+0000", event_id="after-midnight"))
    assert first["status"] == "STARTED"
    assert second["status"] == ("ALREADY_STARTED" if record_lost else "DUPLICATE")
    assert second["executionArn"] == first["executionArn"]
    assert len(_executions(aws)) == 1


@IDEMPOTENCY
def test_after_the_cooldown_the_next_window_starts_again(aws, invoke) -> None:
    """The control of the edge probe: a start more than a cool-down ago does not block."""
    _at(aws["clock"], "2026-11-27T00:00:30Z")
    invoke(alarm_event(timestamp="2026-11-27T00:00:10.000+0000"))
    _forget_idempotency_records(aws)
    _at(aws["clock"], "2026-11-28T00:01:00Z")
    second = invoke(alarm_event(timestamp="2026-11-28T00:00:50.000+0000", event_id="next"))
    assert second["status"] == "STARTED"
    assert len(_executions(aws)) == 2


@IDEMPOTENCY
def test_concurrent_duplicates_start_one_execution(aws) -> None:
    """Four invocations of one signal at once: one execution; the others see the in-progress
    or completed record (Powertools raises IdempotencyAlreadyInProgressError: Lambda retries)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    barrier = threading.Barrier(4)
    outcomes: list[Any] = []

    def _one() -> None:
        barrier.wait()
        try:
            outcomes.append(handler_module.handler(alarm_event(), FakeContext())["status"])
        except IdempotencyAlreadyInProgressError:
            outcomes.append("IN_PROGRESS")

    threads = [threading.Thread(target=_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4
    assert outcomes.count("STARTED") + outcomes.count("ALREADY_STARTED") >= 1
    assert set(outcomes) <= {"STARTED", "ALREADY_STARTED", "DUPLICATE", "IN_PROGRESS"}
    assert len(_executions(aws)) == 1


# ---- bad input -------------------------------------------------------------------------------

def _alarm(mutate: Any) -> dict[str, Any]:
    event = alarm_event()
    mutate(event)
    return event


def _monitoring(mutate: Any) -> dict[str, Any]:
    event = monitoring_event()
    mutate(event)
    return event


def _scheduler(mutate: Any) -> dict[str, Any]:
    event = scheduler_payload()
    mutate(event)
    return event


# Wrongly typed fields that only refine the signal: dropped, the signal is used with the
# function's defaults (the model package group from MODEL_PACKAGE_GROUP_NAME).
TOLERATED = {
    "alarm-configuration-is-a-string": _alarm(lambda e: e["detail"].update(configuration="m1")),
    "alarm-metrics-are-strings": _alarm(lambda e: e["detail"]["configuration"].update(metrics=["m1", 2])),
    "alarm-dimensions-is-a-list": _alarm(
        lambda e: e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(dimensions=["x"])),
    "alarm-previous-state-is-a-string": _alarm(lambda e: e["detail"].update(previousState="OK")),
    "alarm-resources-is-a-string": _alarm(lambda e: e.update(resources="arn:aws:cloudwatch:x")),
    "monitoring-environment-is-a-string": _monitoring(lambda e: e["detail"].update(Environment="prod")),
}


MALFORMED = {
    "alarm-detail-is-a-string": _alarm(lambda e: e.update(detail="ALARM")),
    "alarm-state-is-a-string": _alarm(lambda e: e["detail"].update(state="ALARM")),
    "alarm-timestamps-1e20": _alarm(lambda e: (e["detail"]["state"].update(timestamp=1e20), e.update(time=1e20))),
    "alarm-timestamps-nan": _alarm(lambda e: (e["detail"]["state"].update(timestamp=float("nan")),
                                             e.update(time=float("-inf")))),
    "alarm-timestamp-year-9999-offset": _alarm(lambda e: (e["detail"]["state"].update(
        timestamp="9999-12-31T23:59:59-01:00"), e.update(time="9999-12-31T23:59:59-01:00"))),
    "monitoring-detail-is-a-string": _monitoring(lambda e: e.update(detail="Completed")),
    "monitoring-exit-message-is-an-object": _monitoring(lambda e: e["detail"].update(ExitMessage={"a": 1})),
    "monitoring-time-1e20": _monitoring(lambda e: e.update(time=1e20)),
    "scheduler-time-1e20": _scheduler(lambda e: e.update(scheduledTime=1e20)),
    "scheduler-time-negative": _scheduler(lambda e: e.update(scheduledTime=-1e12)),
    "scheduled-rule-resources-are-objects": {"source": "aws.events", "detail-type": "Scheduled Event",
                                             "time": "2026-11-27T08:00:00Z", "resources": [{"a": 1}]},
    "event-is-a-list": ["not", "an", "event"],
    "detail-type-is-a-list": {"source": "aws.cloudwatch", "detail-type": ["CloudWatch Alarm State Change"]},
    "empty-object": {},
}


@BAD_INPUT
@pytest.mark.parametrize("event", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_event_is_ignored_with_a_reason_and_a_metric(aws, invoke, event) -> None:
    """Finding 8: AttributeError/TypeError/OverflowError used to end the invocation in a
    traceback; now the event is skipped with a reason, logged and counted."""
    result = invoke(copy.deepcopy(event))
    assert result["status"] == "IGNORED", result
    assert result["reason"]
    assert result["metrics"].get("MalformedEvents", 0) + result["metrics"].get("EventsIgnored", 0) == 1
    assert _executions(aws) == []


@BAD_INPUT
@pytest.mark.parametrize("event", list(TOLERATED.values()), ids=list(TOLERATED))
def test_wrongly_typed_refinement_is_tolerated(aws, invoke, event) -> None:
    result = invoke(copy.deepcopy(event))
    assert result["status"] == "STARTED", result
    assert result["modelPackageGroup"] == "credit-risk"
    assert len(_executions(aws)) == 1


@BAD_INPUT
def test_future_signal_is_ignored(aws, invoke) -> None:
    result = invoke(alarm_event(timestamp="2026-12-25T08:00:00.000+0000"))
    assert result["status"] == "IGNORED" and "future" in result["reason"]


@BAD_INPUT
def test_the_control_event_of_the_malformed_table_starts(aws, invoke) -> None:
    result = invoke(alarm_event())
    assert result["status"] == "STARTED"
    assert result["metrics"]["RetrainingsStarted"] == 1


# ---- faults ----------------------------------------------------------------------------------

@pytest.fixture
def sfn_client(aws: dict, monkeypatch: pytest.MonkeyPatch) -> Any:
    no_backoff(monkeypatch)
    client = handler_module._client("stepfunctions")
    holder: list[tuple[str, Any]] = []
    yield client, holder
    for event_name, hook in holder:
        client.meta.events.unregister(event_name, hook)


@FAULTS
def test_lost_start_response_starts_one_execution(aws, invoke, sfn_client) -> None:
    """StartExecution performed, response lost: botocore's retry meets the execution the
    first attempt started (same name and input): still one retraining."""
    client, holder = sfn_client
    drop = inject(client, "StartExecution", DropResponses(times=1), holder)
    result = invoke(alarm_event())
    assert drop.attempts == 2
    assert result["status"] in {"STARTED", "ALREADY_STARTED"}
    assert len(_executions(aws)) == 1


@FAULTS
@pytest.mark.parametrize(("status", "code"), [(400, "ThrottlingException"), (500, "InternalServerError"),
                                              (503, "ServiceUnavailable")])
def test_start_failing_past_the_sdk_attempts_leaves_no_record(aws, invoke, sfn_client, capsys,
                                                              status, code) -> None:
    """The error propagates (the async invocation retries), is counted (RetrainErrors), and no
    idempotency record remains, so the retry can start the execution."""
    client, holder = sfn_client
    errors = inject(client, "StartExecution", ServerErrors(status, code), holder)
    with pytest.raises(ClientError):
        invoke(alarm_event())
    assert _metrics(capsys.readouterr().out).get("RetrainErrors") == 1
    assert errors.attempts >= 3
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []
    errors.times = 0  # the service recovers
    assert invoke(alarm_event())["status"] == "STARTED"
    assert len(_executions(aws)) == 1


@FAULTS
def test_previous_window_check_failing_does_not_start_blindly(aws, invoke, sfn_client) -> None:
    client, holder = sfn_client
    inject(client, "DescribeExecution", ServerErrors(400, "AccessDeniedException", "not authorized"), holder)
    with pytest.raises(ClientError):
        invoke(alarm_event())
    assert _executions(aws) == []


@FAULTS
def test_idempotency_table_throttled_starts_nothing(aws, invoke, monkeypatch) -> None:
    no_backoff(monkeypatch)
    dynamodb = handler_module._client("dynamodb")
    holder: list[tuple[str, Any]] = []
    errors = inject(dynamodb, "PutItem", ServerErrors(400, "ProvisionedThroughputExceededException"), holder)
    try:
        with pytest.raises(Exception):
            invoke(alarm_event())
        assert errors.attempts >= 3
        assert _executions(aws) == []
    finally:
        for event_name, hook in holder:
            dynamodb.meta.events.unregister(event_name, hook)
