"""Fault and hostile-input probes of the lineage recorder (issue #17 findings 3, 10, 11;
issue #14 finding 5).

The lineage operations run on test_lineage_recorder.py's shape-checked fake (moto has none);
the model registry on moto. A failing write is the error the SDK raises after its own attempts.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from test_lineage_recorder import (  # noqa: F401 - fixtures
    RAW,
    FakeLambdaContext,
    _ServiceError,
    aws,
    handler_module,
    logic,
    make_event,
    register_model,
)

FUNCTION = "lineage_recorder"
FAULTS = pytest.mark.probe(FUNCTION, "faults")
BAD_INPUT = pytest.mark.probe(FUNCTION, "bad input")
IDEMPOTENCY = pytest.mark.probe(FUNCTION, "idempotency and concurrency")

# 1 context + 6 artifacts + 5 actions + 26 associations + the completion marker
WRITES = 39


def _recorded(aws: Any, logic: Any, run: str = "run1") -> tuple[str, dict[str, Any]]:
    model = register_model(aws.client, run)
    return model, make_event(model, run)


# ---- faults ----------------------------------------------------------------------------------

@FAULTS
@pytest.mark.parametrize("failing_write", [2, 7, 12, 13, 20, 32, 33, 34, 38, WRITES])
def test_interrupted_recording_is_retried_and_queries_say_incomplete(aws, logic, failing_write) -> None:
    """Finding 3: a write throttled past the SDK's attempts used to end as a plain ClientError
    (not retried) and leave a half-written run that provenance_of / models_trained_on answered
    from falsely. Now: a named retried error, an IN_PROGRESS run, queries that refuse to answer
    falsely, and a retry that completes it."""
    model, event = _recorded(aws, logic)
    aws.backend.fail_write = (failing_write, _ServiceError("ThrottlingException", "Rate exceeded"))
    with pytest.raises(logic.LineageTransientError):
        logic.record_event(event, sagemaker=aws.client)

    execution = event["step_functions_execution_arn"]
    with pytest.raises(logic.LineageIncompleteError) as incomplete:
        logic.provenance_of(model, sagemaker=aws.client)
    assert incomplete.value.execution_arns == (execution,)
    train = event["datasets"]["train"]["uri"]
    with pytest.raises(logic.LineageIncompleteError):
        logic.models_trained_on(train, sagemaker=aws.client)
    partial = logic.provenance_of(model, sagemaker=aws.client, allow_incomplete=True)
    assert partial.incomplete_runs == (execution,)

    aws.backend.fail_write = None  # the workflow's Retry runs the function again
    result = logic.record_event(event, sagemaker=aws.client)
    assert result.complete
    provenance = logic.provenance_of(model, sagemaker=aws.client)
    assert provenance.incomplete_runs == ()
    assert len(provenance.datasets) == 4
    assert logic.models_trained_on(train, sagemaker=aws.client) == [model]
    assert aws.backend.counts() == {"artifacts": 6, "contexts": 1, "actions": 5, "associations": 26}


@FAULTS
def test_failure_on_the_first_write_leaves_nothing(aws, logic) -> None:
    model, event = _recorded(aws, logic)
    aws.backend.fail_write = (1, _ServiceError("ThrottlingException", "Rate exceeded"))
    with pytest.raises(logic.LineageTransientError):
        logic.record_event(event, sagemaker=aws.client)
    assert aws.backend.counts() == {"artifacts": 0, "contexts": 0, "actions": 0, "associations": 0}


TRANSIENT = {
    "throttling": _ServiceError("ThrottlingException", "Rate exceeded"),
    "service-unavailable": _ServiceError("ServiceUnavailable", "try again"),
    "internal-failure": _ServiceError("InternalFailure", "oops"),
    "read-timeout": ReadTimeoutError(endpoint_url="https://api.sagemaker.eu-west-2.amazonaws.com"),
}


@FAULTS
@pytest.mark.parametrize("error", list(TRANSIENT.values()), ids=list(TRANSIENT))
def test_transient_errors_become_the_named_retried_error(aws, logic, handler_module, error) -> None:
    model, event = _recorded(aws, logic)
    aws.backend.fail_write = (5, error)
    with pytest.raises(logic.LineageTransientError) as raised:
        handler_module.handler(copy.deepcopy(event), FakeLambdaContext())
    # Step Functions names a Lambda error by the exception's class name
    assert type(raised.value).__name__ == "LineageTransientError"


@FAULTS
def test_permanent_errors_are_not_retried(aws, logic) -> None:
    model, event = _recorded(aws, logic)
    aws.backend.fail_write = (5, _ServiceError("AccessDeniedException", "not authorized"))
    with pytest.raises(ClientError) as raised:
        logic.record_event(event, sagemaker=aws.client)
    assert not isinstance(raised.value, logic.LineageTransientError)


@FAULTS
def test_the_workflow_retries_the_named_error() -> None:
    """The training workflow's RecordLineage state lists LineageTransientError in its Retry."""
    from cdk_constructs._training_workflow_definition import RETRYABLE_ERRORS, _retry

    assert "LineageTransientError" in RETRYABLE_ERRORS
    assert any("LineageTransientError" in r["ErrorEquals"] for r in _retry())


# ---- idempotency and concurrency ----------------------------------------------------------------

@IDEMPOTENCY
@pytest.mark.parametrize("invocations", [2, 4])
def test_concurrent_identical_invocations_leave_one_graph(aws, logic, invocations) -> None:
    """Finding 10: concurrent invocations used to leave up to 10 artifacts instead of 6 and
    provenance_of listed 5-7 datasets instead of 4."""
    model, event = _recorded(aws, logic)
    barrier = threading.Barrier(invocations)
    errors: list[BaseException] = []

    def _record() -> None:
        barrier.wait()
        try:
            logic.record_event(copy.deepcopy(event), sagemaker=aws.client)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=_record) for _ in range(invocations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert aws.backend.counts() == {"artifacts": 6, "contexts": 1, "actions": 5, "associations": 26}
    assert len(logic.provenance_of(model, sagemaker=aws.client).datasets) == 4


@IDEMPOTENCY
def test_a_listing_that_misses_artifacts_still_agrees_on_the_oldest(aws, logic) -> None:
    """Found by the probe above (1 run in 20 with threads switching often): another invocation
    deletes its losing duplicate between two pages of this invocation's listing, and a page
    token that is a position then skips an artifact. Listed newest first, the skipped one was
    the oldest, and this invocation kept a duplicate that another one had lost to; and an
    invocation that did not see its own artifact kept it without comparing. Here, made
    deterministic: four copies of one dataset version, ours the newest; the second-oldest is
    deleted while our listing is between its pages."""
    uri = "s3://bank-ml-processed-123456789012/credit-risk/run9/train/train.csv"
    versions = [{"SourceIdType": "S3Version", "Value": "v9"}]
    arns = [aws.client.create_artifact(Source={"SourceUri": uri, "SourceTypes": versions},
                                       ArtifactType="DataSet")["ArtifactArn"] for _ in range(4)]
    oldest, second, _third, ours = arns
    backend = aws.backend
    real_list = backend._list_artifacts
    deleted = []

    def list_between_deletions(request):
        if request.get("NextToken") and not deleted:  # the next page: someone deleted theirs
            deleted.append(backend.artifacts.pop(second)["ArtifactArn"])
        return real_list(request)

    backend._list_artifacts = list_between_deletions
    writer = logic._Writer(aws.client, logic.RecordResult())
    assert writer._converge(ours, uri, versions) == oldest
    assert deleted == [second]  # the listing really was interrupted
    assert ours not in backend.artifacts and oldest in backend.artifacts


@IDEMPOTENCY
def test_artifact_created_by_another_invocation_in_between_is_converged(aws, logic, monkeypatch) -> None:
    """The interleaving threads may or may not hit: here it is forced. Between this
    invocation's lookup and its create, another one creates the same dataset artifact."""
    model, event = _recorded(aws, logic)
    original = aws.backend._create_artifact
    raced: list[str] = []

    def _racing_create(request: dict[str, Any]) -> dict[str, Any]:
        if not raced and request["ArtifactType"] == "DataSet":
            raced.append(original(copy.deepcopy(request))["ArtifactArn"])  # the other one, first
        return original(request)

    monkeypatch.setattr(aws.backend, "_create_artifact", _racing_create)
    result = logic.record_event(event, sagemaker=aws.client)
    assert result.duplicates_removed == 1
    assert result.dataset_artifact_arns["raw"] == raced[0]  # the older one is canonical
    assert aws.backend.counts()["artifacts"] == 6


@IDEMPOTENCY
def test_recording_again_after_completion_writes_nothing(aws, logic) -> None:
    model, event = _recorded(aws, logic)
    logic.record_event(event, sagemaker=aws.client)
    writes = aws.backend.writes
    again = logic.record_event(event, sagemaker=aws.client)
    assert again.complete and aws.backend.writes == writes


# ---- bad input -------------------------------------------------------------------------------

VALID_KEYS = [
    "credit data/applications 2024-04.csv",  # finding 11: a space
    "crédit/données+v2=final.csv",
    "a/b/c (copy).csv",
]


@BAD_INPUT
@pytest.mark.parametrize("key", VALID_KEYS)
def test_valid_s3_keys_are_accepted(aws, logic, key) -> None:
    model, event = _recorded(aws, logic)
    uri = f"s3://bank-ml-raw-123456789012/{key}"
    event["datasets"]["raw"] = {"uri": uri, "version_id": RAW["version_id"]}
    logic.record_event(event, sagemaker=aws.client)
    assert uri in logic.provenance_of(model, sagemaker=aws.client).dataset_uris


INVALID = {
    "key-with-newline": ("datasets.raw.uri", lambda e: e["datasets"]["raw"].update(uri="s3://bank-ml-raw-1/a\nb.csv")),
    "key-missing": ("datasets.raw.uri", lambda e: e["datasets"]["raw"].update(uri="s3://bank-ml-raw-1/")),
    "key-ends-in-a-space": ("datasets.raw.uri", lambda e: e["datasets"]["raw"].update(uri="s3://bank-ml-raw-1/a ")),
    "bucket-uppercase": ("datasets.raw.uri", lambda e: e["datasets"]["raw"].update(uri="s3://Bank/a.csv")),
    "sha256-not-hex": ("datasets.raw.sha256", lambda e: e["datasets"]["raw"].update(sha256="z" * 64)),
    "no-evaluate-job": ("processing_jobs.evaluate", lambda e: e["processing_jobs"].pop("evaluate")),
    "datasets-is-a-string": ("datasets", lambda e: e.update(datasets="s3://x")),
    "commit-is-a-list": ("commit", lambda e: e.update(commit=["a"])),
}


@BAD_INPUT
@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_event_is_rejected_before_any_write(aws, logic, case) -> None:
    field, mutate = INVALID[case]
    model, event = _recorded(aws, logic)
    mutate(event)
    with pytest.raises(logic.InvalidLineageEventError) as rejected:
        logic.record_event(event, sagemaker=aws.client)
    assert field in rejected.value.fields
    assert aws.backend.writes == 0


# ---- the raw data version (issue #14 finding 5) ------------------------------------------------

RAW_BUCKET = "bank-ml-raw-123456789012"


@pytest.fixture
def raw_bucket(aws: Any) -> Any:
    import boto3

    s3 = boto3.client("s3", region_name="eu-west-2")
    s3.create_bucket(Bucket=RAW_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_bucket_versioning(Bucket=RAW_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@IDEMPOTENCY
@pytest.mark.parametrize("s3_checksum", [False, True])
def test_raw_object_overwritten_during_the_run_is_caught(aws, logic, raw_bucket, s3_checksum) -> None:
    """The version is recorded before preprocessing; the object is then overwritten and the
    preprocessing job reads the new bytes. Their SHA-256 does not match the recorded version:
    nothing is recorded (a wrong version would otherwise be the run's provenance)."""
    key = "credit/applications 2024-04.csv"
    extra = {"ChecksumAlgorithm": "SHA256"} if s3_checksum else {}
    recorded = raw_bucket.put_object(Bucket=RAW_BUCKET, Key=key, Body=b"v1,1\n", **extra)["VersionId"]
    raw_bucket.put_object(Bucket=RAW_BUCKET, Key=key, Body=b"v2,2\n", **extra)  # concurrent overwrite
    model, event = _recorded(aws, logic)
    event["datasets"]["raw"] = {"uri": f"s3://{RAW_BUCKET}/{key}", "version_id": recorded,
                                "sha256": _sha256(b"v2,2\n")}  # what preprocessing read
    with pytest.raises(logic.RawDataMismatchError):
        logic.record_event(event, sagemaker=aws.client, s3=raw_bucket)
    assert aws.backend.writes == 0

    event["datasets"]["raw"]["sha256"] = _sha256(b"v1,1\n")  # preprocessing read the recorded version
    result = logic.record_event(event, sagemaker=aws.client, s3=raw_bucket)
    assert result.complete
    assert result.raw_data_check == ("S3 full-object SHA-256 checksum" if s3_checksum
                                     else "SHA-256 of the version's bytes")
    (raw,) = [d for d in logic.provenance_of(model, sagemaker=aws.client).datasets if d.relations == ("source",)]
    assert raw.version_id == recorded
