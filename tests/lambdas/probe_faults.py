"""Transport faults for the probes: botocore's own retries run against them.

Hooks go on a client's ``before-send.<service>.<Operation>`` event, the last step before the
HTTP request leaves (after signing, inside botocore's retry loop), registered *first* so they
run before moto's own ``before-send`` handler. Each attempt of a call reaches the hook, so:

* :class:`DropResponses` lets "the service" (moto) process the request, then loses the
  response (``ReadTimeoutError``): botocore retries, and the retry meets the state the first
  attempt left behind;
* :class:`ServerErrors` answers N attempts with an HTTP error (throttling, 503 SlowDown...)
  before letting the request through, or every attempt when ``times`` is None;
* :class:`MangleBody` lets moto answer and then cuts the body short (``IncompleteReadError``
  when Content-Length is larger than the body) or breaks the stream mid-read
  (``ResponseStreamingError``).

``no_backoff`` removes botocore's retry sleeps (the delays, not the retries).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber
from urllib3.exceptions import ProtocolError


def no_backoff(monkeypatch: Any) -> list[float]:
    """botocore sleeps between attempts with ``time.sleep`` in botocore.endpoint: record the
    delays instead of waiting them out. Returns the recorded delays."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append))
    return delays


def _service_response(event_name: str, request: Any) -> AWSResponse:
    response = botocore_stubber(event_name=event_name, request=request)
    assert response is not None, f"moto did not answer {event_name}"
    return response


class _Raw:
    def __init__(self, data: bytes, break_after: int | None = None) -> None:
        self._data = io.BytesIO(data)
        self._break_after = break_after
        self._read = 0

    def stream(self, chunk: int = 1024, **_: Any) -> Any:
        while True:
            piece = self.read(chunk)
            if not piece:
                return
            yield piece

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        if self._break_after is not None and self._read >= self._break_after:
            raise ProtocolError("Connection broken: IncompleteRead", None)
        data = self._data.read(amt if amt is not None else -1)
        self._read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        pass


ANSWERED_URL = "https://answered-by-a-probe.invalid/"


def answered(request: Any, response: AWSResponse) -> AWSResponse:
    """botocore's before-send emits to every handler and takes the first response; moto's
    handler (after ours) would still process the request. Pointing this attempt's request at
    a host moto does not serve keeps "the service" from performing an attempt we answered."""
    request.url = ANSWERED_URL
    return response


def error_response(url: str, status: int, code: str, message: str, *, xml: bool = False) -> AWSResponse:
    if xml:  # S3 (rest-xml)
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>").encode()
        headers = {"Content-Type": "application/xml"}
    else:  # json protocols (SageMaker, Step Functions)
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1"}
    response = AWSResponse(url, status, headers, _Raw(body))
    response._content = body
    return response


@dataclass
class DropResponses:
    """The service performs the first ``times`` attempts; their responses are lost."""

    times: int = 1
    attempts: int = 0
    dropped: int = 0

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.dropped < self.times:
            _service_response(event_name, request)  # processed by the service...
            self.dropped += 1
            raise ReadTimeoutError(endpoint_url=request.url)  # ...the response never arrives
        return None  # later attempts: to moto as usual


@dataclass
class ServerErrors:
    """``times`` attempts answered with an HTTP error (None: every attempt)."""

    status: int
    code: str
    message: str = "injected"
    times: int | None = None
    xml: bool = False
    attempts: int = 0

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.times is None or self.attempts <= self.times:
            return answered(request, error_response(request.url, self.status, self.code,
                                                    self.message, xml=self.xml))
        return None


@dataclass
class MangleBody:
    """moto answers; then the body is shorter than its Content-Length (``declare_extra``
    bytes missing) or the stream breaks after ``break_after`` bytes."""

    declare_extra: int = 0
    break_after: int | None = None
    declared_length: int | None = None  # announce this Content-Length instead (size probes)
    attempts: int = 0
    bodies_read: list[int] = field(default_factory=list)

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        self.attempts += 1
        response = _service_response(event_name, request)
        body = response.content
        headers = dict(response.headers)
        length = self.declared_length if self.declared_length is not None else len(body) + self.declare_extra
        headers["Content-Length"] = str(length)
        raw = _Raw(body, self.break_after)
        self.bodies_read.append(len(body))
        return answered(request, AWSResponse(response.url, response.status_code, headers, raw))


def inject(client: Any, operation: str, hook: Any, holder: list[tuple[str, Any]] | None = None) -> Any:
    """Register ``hook`` first on ``before-send`` for one operation of ``client``."""
    service = client.meta.service_model.service_id.hyphenize()
    event_name = f"before-send.{service}.{operation}"
    client.meta.events.register_first(event_name, hook)
    if holder is not None:
        holder.append((event_name, hook))
    return hook


def remove(client: Any, holder: list[tuple[str, Any]]) -> None:
    for event_name, hook in holder:
        client.meta.events.unregister(event_name, hook)
    holder.clear()
