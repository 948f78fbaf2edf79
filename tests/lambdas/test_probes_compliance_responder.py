"""Fault and hostile-input probes of the compliance responder (issue #17 findings 1, 2, 6, 8, 9).

moto in-process; transport faults through ``probe_faults`` (botocore's retries run); the
fixtures and request builders of test_compliance_responder.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import compliance_responder_logic as logic
from probe_faults import DropResponses, ServerErrors, answered, error_response, inject, no_backoff
from test_compliance_responder import (  # noqa: F401 - fixtures
    ACCOUNT,
    DROP,
    REGION,
    REQUESTS,
    Aws,
    FakeContext,
    aws,
    changed,
    clients,
    cloudtrail_event,
    create,
    handler_module,
    job_status,
    run,
    set_status,
    stop_job_like_aws,
)

FUNCTION = "compliance_responder"
SECURITY = pytest.mark.probe(FUNCTION, "security of the corrective control")
FAULTS = pytest.mark.probe(FUNCTION, "faults")
BAD_INPUT = pytest.mark.probe(FUNCTION, "bad input")
IDEMPOTENCY = pytest.mark.probe(FUNCTION, "idempotency and concurrency")

OTHER_ACCOUNT = "999999999999"
STOPS = {"CreateTrainingJob": "StopTrainingJob", "CreateProcessingJob": "StopProcessingJob",
         "CreateTransformJob": "StopTransformJob",
         "CreateHyperParameterTuningJob": "StopHyperParameterTuningJob"}
# What a crafted event leaves out to look non-compliant, per job kind.
STRIPPED = {"CreateTrainingJob": {"VpcConfig": DROP},
            "CreateProcessingJob": {"NetworkConfig": DROP},
            "CreateTransformJob": {"TransformOutput.KmsKeyId": DROP},
            "CreateHyperParameterTuningJob": {"TrainingJobDefinition.VpcConfig": DROP}}


def _scoped(event: dict[str, Any], *, account: str | None = None, region: str | None = None,
            detail_only: bool = False) -> dict[str, Any]:
    event = copy.deepcopy(event)
    if account is not None:
        event["detail"]["recipientAccountId"] = account
        if not detail_only:
            event["account"] = account
    if region is not None:
        event["detail"]["awsRegion"] = region
        if not detail_only:
            event["region"] = region
    return event


def _running_compliant_job(aws: Aws, event_name: str, name: str) -> str:
    arn = create(aws, event_name, REQUESTS[event_name](name))
    set_status(aws, event_name, name, "InProgress")
    return arn


# ---- security of the corrective control ----------------------------------------------------

SCOPES = {
    "same-account-and-region": {},
    "other-account": {"account": OTHER_ACCOUNT},
    "other-account-in-detail-only": {"account": OTHER_ACCOUNT, "detail_only": True},
    "other-region": {"region": "eu-west-1"},
    "other-region-in-detail-only": {"region": "us-east-1", "detail_only": True},
}


@SECURITY
@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("event_name", list(STOPS))
def test_crafted_event_cannot_stop_a_running_compliant_job(aws, run, event_name, scope) -> None:
    """Finding 1: an event that claims the job was created without VPC/KMS, naming a running
    compliant job, from this or another account/region: the job keeps running."""
    name = f"victim-{abs(hash((event_name, scope))) % 10**6}"
    arn = _running_compliant_job(aws, event_name, name)
    stops = stop_job_like_aws(aws, event_name, STOPS[event_name])
    crafted = cloudtrail_event(event_name, changed(REQUESTS[event_name](name), STRIPPED[event_name]))
    result = run(_scoped(crafted, **SCOPES[scope]))

    assert result["status"] in {"NO_ACTION", "SKIPPED"}, result
    assert job_status(aws, event_name, name) == "InProgress"
    assert stops == []
    assert "ml-platform:compliance-violation" not in aws.tags(arn)
    assert aws.messages() == []
    assert result["metrics"]["ResourcesRemediated"] == 0


@SECURITY
@pytest.mark.parametrize("scope", [s for s in SCOPES if s != "same-account-and-region"])
def test_event_of_another_scope_is_skipped_before_any_aws_call(aws, run, scope) -> None:
    """The code's own account/region check (the rule has the same filter): nothing is even
    described for an event of another account or region, a non-compliant resource included."""
    params = changed(REQUESTS["CreateModel"]("m-elsewhere"), {"VpcConfig": DROP})
    create(aws, "CreateModel", params)
    calls: list[str] = []

    def _record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    aws.sm.meta.events.register("before-call.sagemaker", _record)
    aws.hooks.append(("before-call.sagemaker", _record))
    result = run(_scoped(cloudtrail_event("CreateModel", params), **SCOPES[scope]))
    assert result["status"] == "SKIPPED"
    assert "not this function's" in result["reason"]
    assert calls == []
    assert result["metrics"]["EventsSkipped"] == 1


@SECURITY
def test_without_its_own_account_the_function_acts_on_nothing(aws) -> None:
    params = changed(REQUESTS["CreateModel"]("m-no-context"), {"VpcConfig": DROP})
    create(aws, "CreateModel", params)
    outcome = logic.process_event(cloudtrail_event("CreateModel", params), context=None)
    assert outcome.status == "SKIPPED"
    assert aws.sm.describe_model(ModelName="m-no-context")


TUNING_DEFINITIONS = {
    "no-definition": {"TrainingJobDefinition": DROP},
    "definition-is-a-string": {"TrainingJobDefinition": "HIDDEN_DUE_TO_SECURITY_REASONS"},
    "definitions-empty-list": {"TrainingJobDefinition": DROP, "TrainingJobDefinitions": []},
    "definitions-of-strings": {"TrainingJobDefinition": DROP, "TrainingJobDefinitions": ["x", 3]},
    "definitions-is-an-object": {"TrainingJobDefinition": DROP, "TrainingJobDefinitions": {"a": 1}},
}


@SECURITY
@pytest.mark.parametrize("case", list(TUNING_DEFINITIONS))
def test_tuning_event_without_a_usable_definition_is_judged_on_the_live_job(aws, run, case) -> None:
    """Finding 6: such an event used to be "compliant" without a Describe (fail open). Now the
    live job decides: a non-compliant live job is stopped."""
    name = f"hpo-{case}"[:32]
    live = changed(REQUESTS["CreateHyperParameterTuningJob"](name), {"TrainingJobDefinition.VpcConfig": DROP})
    create(aws, "CreateHyperParameterTuningJob", live)
    set_status(aws, "CreateHyperParameterTuningJob", name, "InProgress")
    stops = stop_job_like_aws(aws, "CreateHyperParameterTuningJob", "StopHyperParameterTuningJob")
    event_params = changed(REQUESTS["CreateHyperParameterTuningJob"](name), TUNING_DEFINITIONS[case])
    result = run(cloudtrail_event("CreateHyperParameterTuningJob", event_params))
    assert result["status"] == "REMEDIATED"
    assert result["violations"] == ["NO_VPC"]  # the live job's violation, not the event's
    assert len(stops) == 1


@SECURITY
def test_tuning_event_without_definition_spares_a_compliant_live_job(aws, run) -> None:
    name = "hpo-live-ok"
    create(aws, "CreateHyperParameterTuningJob", REQUESTS["CreateHyperParameterTuningJob"](name))
    set_status(aws, "CreateHyperParameterTuningJob", name, "InProgress")
    stops = stop_job_like_aws(aws, "CreateHyperParameterTuningJob", "StopHyperParameterTuningJob")
    params = changed(REQUESTS["CreateHyperParameterTuningJob"](name), {"TrainingJobDefinition": DROP})
    result = run(cloudtrail_event("CreateHyperParameterTuningJob", params))
    assert result["status"] == "NO_ACTION"
    assert stops == [] and aws.messages() == []


# ---- faults ----------------------------------------------------------------------------------

@pytest.fixture
def injected(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Transport faults on the function's SageMaker client; botocore's backoff sleeps removed."""
    no_backoff(monkeypatch)
    holder: list[tuple[str, Any]] = []
    yield holder
    for event_name, hook in holder:
        aws.sm.meta.events.unregister(event_name, hook)


def _stop_after_service_state(aws: Aws) -> Any:
    """The service's answer to StopNotebookInstance on a notebook that is no longer InService
    (moto stops it again silently; AWS answers ValidationException)."""

    def _hook(request: Any, event_name: str, **_: Any) -> Any:
        status = aws.backend.notebook_instances["nb-lost"].status
        if status != "InService":
            return answered(request, error_response(
                request.url, 400, "ValidationException",
                f"Status ({status}) not in ([InService]). Unable to transition to (Stopping) for "
                "Notebook Instance"))
        return None

    return _hook


@FAULTS
@pytest.mark.parametrize("lost", [1, 2])
def test_stop_whose_response_was_lost_is_reported_as_remediated(aws, run, injected, lost) -> None:
    """Finding 2: the service stopped the notebook but the response was lost; botocore's
    retry meets "Status (Stopped)". Reported: notification, metric, tag."""
    params = changed(REQUESTS["CreateNotebookInstance"]("nb-lost"), {"RootAccess": "Enabled"})
    arn = create(aws, "CreateNotebookInstance", params)
    # hooks registered first run in registration order: the lost responses, then the
    # service's answer to a Stop on a notebook that is no longer InService
    drop = inject(aws.sm, "StopNotebookInstance", DropResponses(times=lost), injected)
    inject(aws.sm, "StopNotebookInstance", _stop_after_service_state(aws), injected)
    result = run(cloudtrail_event("CreateNotebookInstance", params))

    assert drop.attempts == lost + 1  # botocore retried after each lost response
    assert result["status"] == "REMEDIATED", result
    assert f"retried {lost} time(s)" in result["reason"]
    assert result["metrics"]["ResourcesRemediated"] == 1
    assert aws.backend.notebook_instances["nb-lost"].status == "Stopped"
    assert aws.tags(arn)["ml-platform:compliance-violation"] == "ROOT_ACCESS"
    (message,) = aws.messages()
    assert message["body"]["status"] == "REMEDIATED"


@FAULTS
@pytest.mark.parametrize("event_name", ["CreateModel", "CreateEndpointConfig"])
def test_delete_whose_response_was_lost_is_reported(aws, run, injected, event_name) -> None:
    """Finding 2: the model is deleted, the response lost, the retry says "Could not find":
    no tag survives a deleted model, so the notification is the audit record."""
    name = "gone-after-delete"
    violating = {"CreateModel": {"VpcConfig": DROP}, "CreateEndpointConfig": {"KmsKeyId": DROP}}
    params = changed(REQUESTS[event_name](name), violating[event_name])
    arn = create(aws, event_name, params)
    operation = {"CreateModel": "DeleteModel", "CreateEndpointConfig": "DeleteEndpointConfig"}
    drop = inject(aws.sm, operation[event_name], DropResponses(times=1), injected)
    result = run(cloudtrail_event(event_name, params))

    assert drop.attempts == 2
    assert result["status"] == "REMEDIATED", result
    assert result["metrics"]["ResourcesRemediated"] == 1
    (message,) = aws.messages()
    assert message["body"]["resourceArn"] == arn
    assert message["body"]["actionResult"] == "SUCCEEDED"


NOT_FOUND_MESSAGES = [
    ("ValidationException", "Requested resource not found."),
    ("ValidationException", "Could not find training job 'x'."),
    ("ResourceNotFound", "Amazon SageMaker can't find a training job with name x"),
]


@FAULTS
@pytest.mark.parametrize(("code", "message"), NOT_FOUND_MESSAGES)
def test_a_vanished_job_is_no_action_not_a_failure(aws, run, injected, code, message) -> None:
    """Finding 9: "Requested resource not found." is not-found: no REMEDIATION FAILED, no DLQ."""
    params = changed(REQUESTS["CreateTrainingJob"]("tj-vanished"), {"VpcConfig": DROP})
    inject(aws.sm, "DescribeTrainingJob", ServerErrors(400, code, message), injected)
    result = run(cloudtrail_event("CreateTrainingJob", params))
    assert result["status"] == "NO_ACTION"
    assert result["metrics"]["RemediationErrors"] == 0
    assert aws.messages() == []


@FAULTS
@pytest.mark.parametrize(("status", "code"), [(400, "ThrottlingException"), (500, "InternalFailure"),
                                              (503, "ServiceUnavailable")])
def test_persistent_service_errors_fail_loudly_for_a_retry(aws, handler_module, injected, status, code) -> None:
    """Past botocore's attempts the invocation fails (Lambda retries, then the DLQ) after a
    REMEDIATION FAILED notification; the metric counts it."""
    params = changed(REQUESTS["CreateModel"]("m-throttled"), {"VpcConfig": DROP})
    create(aws, "CreateModel", params)
    errors = inject(aws.sm, "DeleteModel", ServerErrors(status, code), injected)
    with pytest.raises(logic.RemediationFailedError):
        handler_module.handler(cloudtrail_event("CreateModel", params), FakeContext())
    assert errors.attempts >= 2  # botocore's own retries ran
    (message,) = aws.messages()
    assert message["body"]["status"] == "REMEDIATION_FAILED"
    assert aws.sm.describe_model(ModelName="m-throttled")  # not deleted


@FAULTS
def test_transient_throttling_is_absorbed_by_botocore(aws, run, injected) -> None:
    params = changed(REQUESTS["CreateModel"]("m-blip"), {"VpcConfig": DROP})
    create(aws, "CreateModel", params)
    errors = inject(aws.sm, "DescribeModel", ServerErrors(400, "ThrottlingException", times=2), injected)
    result = run(cloudtrail_event("CreateModel", params))
    assert errors.attempts == 3
    assert result["status"] == "REMEDIATED"


# ---- bad input -------------------------------------------------------------------------------

def _model_event() -> dict[str, Any]:
    return cloudtrail_event("CreateModel", changed(REQUESTS["CreateModel"]("m-hostile"), {"VpcConfig": DROP}))


def _nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _hostile(mutate: Any) -> dict[str, Any]:
    event = _model_event()
    mutate(event)
    return event


# Fields that only inform the notification: a wrong type is dropped, the event is judged.
TOLERATED = {
    "user-identity-is-a-string": _hostile(lambda e: e["detail"].update(userIdentity="root")),
    "vpc-config-is-a-string": _hostile(lambda e: e["detail"]["requestParameters"].update(vpcConfig="vpc-1")),
    "event-time-is-1e20": _hostile(lambda e: e["detail"].update(eventTime=1e20)),
    "event-time-is-nan": _hostile(lambda e: e["detail"].update(eventTime=float("nan"))),
    "source-ip-is-an-object": _hostile(lambda e: e["detail"].update(sourceIPAddress={"ip": 1})),
}
HOSTILE = {
    "detail-is-a-string": _hostile(lambda e: e.update(detail="CreateModel")),
    "event-name-is-a-list": _hostile(lambda e: e["detail"].update(eventName=["CreateModel"])),
    "event-name-is-an-object": _hostile(lambda e: e["detail"].update(eventName={"a": 1})),
    "resource-name-is-a-number": _hostile(lambda e: e["detail"]["requestParameters"].update(modelName=7)),
    "aws-region-not-a-region": _hostile(lambda e: e["detail"].update(awsRegion="not a region!")),
    "envelope-region-not-a-region": _hostile(lambda e: e.update(region="not a region!")),
    "account-is-a-number": _hostile(lambda e: e.update(account=int(ACCOUNT))),
    "request-parameters-deeply-nested": _hostile(
        lambda e: e["detail"]["requestParameters"].update(tags=_nested(5000))),
    "event-id-is-a-list": _hostile(lambda e: e["detail"].update(eventID=["a"])),
    "resource-name-not-a-sagemaker-name": _hostile(
        lambda e: e["detail"]["requestParameters"].update(modelName="m-hostile/../x" + "a" * 5000)),
}


@BAD_INPUT
@pytest.mark.parametrize("event", list(HOSTILE.values()), ids=list(HOSTILE))
def test_malformed_event_is_skipped_with_a_reason_and_a_metric(aws, run, event) -> None:
    """Finding 8: never a traceback; the model the event names is untouched."""
    create(aws, "CreateModel", changed(REQUESTS["CreateModel"]("m-hostile"), {"VpcConfig": DROP}))
    result = run(event)
    assert result["status"] == "SKIPPED", result
    assert result["reason"]
    assert result["metrics"]["EventsSkipped"] == 1
    assert result["metrics"]["RemediationErrors"] == 0
    assert aws.sm.describe_model(ModelName="m-hostile")
    assert aws.messages() == []


@BAD_INPUT
@pytest.mark.parametrize("event", list(TOLERATED.values()), ids=list(TOLERATED))
def test_wrongly_typed_informational_field_is_tolerated(aws, run, event) -> None:
    """The decision rests on the live model (non-compliant here), not on these fields."""
    create(aws, "CreateModel", changed(REQUESTS["CreateModel"]("m-hostile"), {"VpcConfig": DROP}))
    result = run(event)
    assert result["status"] == "REMEDIATED"
    (message,) = aws.messages()
    assert message["body"]["cloudTrail"]["eventID"] == event["detail"]["eventID"]


@BAD_INPUT
def test_the_control_event_of_the_hostile_table_is_acted_on(aws, run) -> None:
    create(aws, "CreateModel", changed(REQUESTS["CreateModel"]("m-hostile"), {"VpcConfig": DROP}))
    assert run(_model_event())["status"] == "REMEDIATED"


# ---- idempotency and concurrency ----------------------------------------------------------------

@IDEMPOTENCY
@pytest.mark.parametrize("event_name", list(STOPS))
def test_replayed_job_event_stops_and_reports_once(aws, run, event_name) -> None:
    name = f"replay-{STOPS[event_name].lower()}"[:40]
    params = changed(REQUESTS[event_name](name), STRIPPED[event_name])
    create(aws, event_name, params)
    set_status(aws, event_name, name, "InProgress")
    if event_name != "CreateProcessingJob":  # moto implements StopProcessingJob only
        stop_job_like_aws(aws, event_name, STOPS[event_name])
    event = cloudtrail_event(event_name, params)
    statuses = [run(event)["status"] for _ in range(3)]
    assert statuses == ["REMEDIATED", "NO_ACTION", "NO_ACTION"]
    assert len(aws.messages()) == 1


@IDEMPOTENCY
def test_duplicate_invocation_that_stops_first_is_reported_once_each(aws, run) -> None:
    """Two invocations of the same event: the second finds the notebook already stopped by
    the first before its own Describe and does nothing (one notification)."""
    params = changed(REQUESTS["CreateNotebookInstance"]("nb-dup"), {"DirectInternetAccess": "Enabled"})
    create(aws, "CreateNotebookInstance", params)
    event = cloudtrail_event("CreateNotebookInstance", params)
    assert [run(event)["status"], run(event)["status"]] == ["REMEDIATED", "NO_ACTION"]
    assert len(aws.messages()) == 1
