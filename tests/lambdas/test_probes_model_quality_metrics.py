"""Fault and hostile-input probes of the model-quality metrics function (issue #17 findings 4, 5).

moto S3 in-process; transport faults on the handler's own S3 client through ``probe_faults``
(botocore's retries run; its backoff sleeps are removed).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

import model_quality_metrics_handler as handler_module
from model_quality_metrics_errors import ModelQualityTransientError
from probe_faults import MangleBody, ServerErrors, inject, no_backoff
from test_model_quality_metrics import BUCKET, FakeContext, s3  # noqa: F401 - fixture

FUNCTION = "model_quality_metrics"
FAULTS = pytest.mark.probe(FUNCTION, "faults")
BAD_INPUT = pytest.mark.probe(FUNCTION, "bad input")
IDEMPOTENCY = pytest.mark.probe(FUNCTION, "idempotency and concurrency")

KEY = "quality/credit-risk-prod/run-1/labelled.csv.out"
ROWS = b"".join(b"%d,0.%06d\n" % (i % 2, (i * 7919) % 1_000_000) for i in range(20_000))


def _event() -> dict[str, Any]:
    return {"data_s3_uri": f"s3://{BUCKET}/{KEY}", "label_column": 0, "score_column": 1,
            "baseline_metrics": {"auc": 0.5}, "tolerances": {"auc": 0.5},
            "model_package_group": "credit-risk", "endpoint_name": "credit-risk-prod"}


@pytest.fixture
def faults(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler's S3 client (created now, inside moto) with a hook list; no backoff sleeps."""
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=ROWS)
    no_backoff(monkeypatch)
    client = handler_module._s3()
    holder: list[tuple[str, Any]] = []
    yield client, holder
    for event_name, hook in holder:
        client.meta.events.unregister(event_name, hook)


# ---- faults ----------------------------------------------------------------------------------

SERVER_FAULTS = {
    "slow-down-503": (503, "SlowDown"),
    "internal-error-500": (500, "InternalError"),
    "service-unavailable-503": (503, "ServiceUnavailable"),
}


@FAULTS
@pytest.mark.parametrize("case", list(SERVER_FAULTS))
def test_persistent_s3_errors_raise_the_named_retried_error(faults, case) -> None:
    """Finding 4: past botocore's attempts, SlowDown and 5xx are ModelQualityTransientError,
    which the workflow's Retry lists (they used to surface as ClientError, not retried)."""
    client, holder = faults
    status, code = SERVER_FAULTS[case]
    errors = inject(client, "GetObject", ServerErrors(status, code, xml=True), holder)
    with pytest.raises(ModelQualityTransientError):
        handler_module.handler(_event(), FakeContext())
    assert errors.attempts >= 3  # botocore retried first


@FAULTS
def test_a_brief_slow_down_is_absorbed_by_botocore(faults) -> None:
    client, holder = faults
    errors = inject(client, "GetObject", ServerErrors(503, "SlowDown", times=2, xml=True), holder)
    assert handler_module.handler(_event(), FakeContext())["status"] == "OK"
    assert errors.attempts == 3


BODY_FAULTS = {
    "incomplete-read": MangleBody(declare_extra=1000),  # IncompleteReadError at the end
    "stream-broken-early": MangleBody(break_after=0),  # ResponseStreamingError
    "stream-broken-midway": MangleBody(break_after=len(ROWS) // 2),
}


@FAULTS
@pytest.mark.parametrize("case", list(BODY_FAULTS))
def test_cut_off_response_bodies_raise_the_named_retried_error(faults, case) -> None:
    """Finding 4: ResponseStreamingError / IncompleteReadError while streaming the body."""
    client, holder = faults
    inject(client, "GetObject", BODY_FAULTS[case], holder)
    with pytest.raises(ModelQualityTransientError):
        handler_module.handler(_event(), FakeContext())


@FAULTS
@pytest.mark.parametrize(("status", "code"), [(404, "NoSuchKey"), (403, "AccessDenied")])
def test_permanent_s3_errors_are_raised_unchanged(faults, status, code) -> None:
    client, holder = faults
    inject(client, "GetObject", ServerErrors(status, code, xml=True), holder)
    with pytest.raises(ClientError) as raised:
        handler_module.handler(_event(), FakeContext())
    assert raised.value.response["Error"]["Code"] == code


@FAULTS
def test_the_workflow_retries_the_named_error() -> None:
    """docs/model-quality.md says Step Functions retries transient S3 errors: it lists the name."""
    pytest.importorskip("aws_cdk", reason="the workflow construct needs the CDK (not in a runtime-only venv)")
    from cdk_constructs._model_quality_workflow import RETRYABLE_ERRORS

    assert "ModelQualityTransientError" in RETRYABLE_ERRORS


# ---- bad input -------------------------------------------------------------------------------

@BAD_INPUT
@pytest.mark.parametrize(("memory_mb", "declared"), [(1024, 2 * 10**9), (1024, 10**12), (256, 200 * 10**6)])
def test_object_larger_than_memory_is_rejected_before_reading(faults, monkeypatch, memory_mb, declared) -> None:
    """Finding 5: a declared 2 GB object used to reserve 1.42 GiB and end in MemoryError."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(memory_mb))
    client, holder = faults
    body = inject(client, "GetObject", MangleBody(declared_length=declared), holder)
    result = handler_module.handler(_event(), FakeContext())
    assert result["status"] == "INVALID_INPUT"
    assert result["error"]["code"] == "INPUT_TOO_LARGE"
    assert f"{memory_mb} MB" in result["error"]["message"]
    assert body.attempts == 1


@BAD_INPUT
def test_object_within_the_limit_is_read(faults, monkeypatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    assert len(ROWS) < handler_module.max_input_bytes(256)
    assert handler_module.handler(_event(), FakeContext())["status"] == "OK"


@BAD_INPUT
def test_the_limit_follows_the_documented_memory_model() -> None:
    """12 bytes of memory per row at most (docs), rows of >= 12 bytes of text, 5 % slack."""
    assert handler_module.max_input_bytes(1024) == pytest.approx((1024 - 160) * 2**20 / 1.05, rel=1e-9)
    assert handler_module.max_input_bytes(128) == 0
    assert handler_module.max_input_bytes(10240) > 10 * handler_module.max_input_bytes(1024)


HOSTILE_EVENTS = {
    "event-is-a-list": ["s3://b/k"],
    "uri-is-a-number": {**_event(), "data_s3_uri": 12},
    "uri-is-not-s3": {**_event(), "data_s3_uri": "https://example.com/x.csv"},
    "threshold-nan": {**_event(), "threshold": float("nan")},
    "threshold-1e20": {**_event(), "threshold": 1e20},
    "baseline-is-a-string": {**_event(), "baseline_metrics": "auc=0.9"},
    "tolerance-negative": {**_event(), "tolerances": {"auc": -1}},
    "group-is-an-object": {**_event(), "model_package_group": {"a": 1}},
}


@BAD_INPUT
@pytest.mark.parametrize("event", list(HOSTILE_EVENTS.values()), ids=list(HOSTILE_EVENTS))
def test_hostile_request_is_invalid_input_not_a_traceback(event) -> None:
    result = handler_module.handler(json.loads(json.dumps(event)) if not isinstance(event, list) else event,
                                    FakeContext())
    assert result["status"] == "INVALID_INPUT"
    assert result["error"]["code"] == "INVALID_REQUEST"


# ---- idempotency and concurrency ----------------------------------------------------------------

@IDEMPOTENCY
def test_repeated_and_concurrent_checks_give_the_same_result(faults) -> None:
    """The check only reads: a Step Functions retry or a duplicate run gives the same answer
    (the retry of a ModelQualityTransientError relies on this)."""
    import threading

    first = handler_module.handler(_event(), FakeContext())
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(handler_module.handler(_event(), FakeContext())))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert first["status"] == "OK"
    assert len(results) == 3
    assert all(r["metrics"] == first["metrics"] and r["degraded"] == first["degraded"] for r in results)
