"""Classify an incoming event into "start a retraining for this episode" or "ignore".

Plain Python, no AWS calls. Accepted events (see docs/model-quality.md):

1. EventBridge ``source: aws.cloudwatch``, ``detail-type: CloudWatch Alarm State Change``
   whose new state is ``ALARM`` (any other state is ignored: e.g. the alarm going back to
   ``OK``). Model package group and endpoint come from the alarm metric's dimensions
   ``ModelPackageGroup`` and ``Endpoint``/``EndpointName`` when present.
2. Model Monitor results. SageMaker publishes no dedicated "monitoring execution" event: a
   monitoring execution is a processing job, so the real event is ``source: aws.sagemaker``,
   ``detail-type: SageMaker Processing Job State Change`` with ``ProcessingJobStatus:
   Completed`` and an ``ExitMessage`` starting ``CompletedWithViolations`` (the monitoring
   execution status). Also accepted: any event whose ``detail`` is a monitoring execution
   summary (``MonitoringExecutionStatus: CompletedWithViolations``, ``MonitoringScheduleName``,
   ``EndpointName``, ``ScheduledTime``), the shape ``ListMonitoringExecutions`` returns.
3. Scheduled retraining: the EventBridge Scheduler payload defined here, e.g.::

       {"type": "ScheduledRetraining",
        "scheduleArn": "<aws.scheduler.schedule-arn>",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
        "modelPackageGroup": "credit-risk", "endpointName": "credit-risk-prod"}

   and, for the classic EventBridge scheduled rule, ``detail-type: Scheduled Event``.

Drift episodes: every drift signal (alarm or monitoring violations) for the same model
package group and endpoint within the cool-down is one episode, whichever alarm or monitor
raised it: the episode key is ``drift#<group>#<endpoint>``. A scheduled run is its own
episode: ``scheduled#<schedule>#<scheduled time>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, UTC
from typing import Any

ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
PROCESSING_JOB_DETAIL_TYPE = "SageMaker Processing Job State Change"
SCHEDULED_EVENT_DETAIL_TYPE = "Scheduled Event"
SCHEDULER_PAYLOAD_TYPE = "ScheduledRetraining"
VIOLATIONS_STATUS = "CompletedWithViolations"

REASON_ALARM = "DRIFT_ALARM"
REASON_MONITORING = "MONITORING_VIOLATIONS"
REASON_SCHEDULED = "SCHEDULED"

_MAX_NAME = 80
_MAX_CLOCK_SKEW_SECONDS = 3600
# datetime covers years 1-9999; a CloudWatch/EventBridge time is after 2000 and before 2200.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class RetrainConfigurationError(RuntimeError):
    """The function is mis-configured (missing environment variable, no model package group)."""


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class RetrainRequest:
    """One retraining episode, derived deterministically from the event."""

    reason: str
    episode_key: str
    event_time: datetime
    model_package_group: str
    endpoint_name: str | None
    trigger: dict[str, Any] = field(default_factory=dict)
    #: drift episodes are windowed by the cool-down; scheduled ones by their scheduled time
    windowed: bool = True

    def window_start(self, cooldown_seconds: int) -> datetime:
        if not self.windowed:
            return self.event_time
        epoch = int(self.event_time.timestamp())
        return datetime.fromtimestamp(epoch - epoch % cooldown_seconds, tz=UTC)

    def execution_name(self, cooldown_seconds: int) -> str:
        """Deterministic Step Functions execution name (<= 80 chars, [A-Za-z0-9_-])."""
        return self.execution_name_for(self.window_start(cooldown_seconds))

    def previous_execution_name(self, cooldown_seconds: int) -> str | None:
        """The name this episode had in the window before this one (drift episodes only): a
        start there less than a cool-down ago is the same episode seen across a window edge
        (e.g. 23:59 and 00:01 with a 24-hour cool-down)."""
        if not self.windowed:
            return None
        start = self.window_start(cooldown_seconds)
        return self.execution_name_for(
            datetime.fromtimestamp(start.timestamp() - cooldown_seconds, tz=UTC)
        )

    def staleness(self, now: datetime, cooldown_seconds: int) -> str | None:
        """Why a drift signal is not acted on because of its time (None: it is current).

        A signal older than the cool-down (e.g. an alarm redriven days later from a DLQ or an
        archive) describes drift a retraining may already have answered, and its own window
        no longer overlaps any idempotency record: it is ignored, never started."""
        if not self.windowed:
            return None  # a scheduled run is keyed by its scheduled time
        age = (now - self.event_time).total_seconds()
        if age > cooldown_seconds:
            return (
                f"stale signal: {self.reason} from {_iso(self.event_time)} is "
                f"{age / 3600:.1f} h old, older than the {cooldown_seconds / 3600:g} h cool-down"
            )
        if age < -_MAX_CLOCK_SKEW_SECONDS:
            return f"signal time {_iso(self.event_time)} is in the future"
        return None

    def execution_name_for(self, window_start: datetime) -> str:
        stamp = window_start.strftime("%Y%m%dT%H%M%SZ")
        digest = hashlib.sha256(f"{self.episode_key}|{stamp}".encode()).hexdigest()[:12]
        kind = "drift" if self.windowed else "sched"
        prefix = f"retrain-{kind}-"
        suffix = f"-{stamp}-{digest}"
        slug = _NAME_UNSAFE.sub("-", self.model_package_group).strip("-")
        slug = slug[: _MAX_NAME - len(prefix) - len(suffix)].rstrip("-") or "model"
        return f"{prefix}{slug}{suffix}"

    def workflow_input(self, cooldown_seconds: int) -> dict[str, Any]:
        """Input of the training workflow; a function of the event only (no clock reads), so
        re-delivering the same event re-sends byte-identical input (StartExecution idempotency)."""
        return {
            "reason": self.reason,
            "modelPackageGroup": self.model_package_group,
            "endpointName": self.endpoint_name,
            "episode": {
                "key": self.episode_key,
                "windowStart": _iso(self.window_start(cooldown_seconds)),
                "cooldownHours": cooldown_seconds / 3600,
            },
            "trigger": self.trigger,
        }

    def to_payload(self, cooldown_seconds: int) -> dict[str, Any]:
        """JSON payload handed to the idempotent starter (``episodeKey`` is hashed)."""
        return {
            "episodeKey": self.episode_key,
            "executionName": self.execution_name(cooldown_seconds),
            "previousExecutionName": self.previous_execution_name(cooldown_seconds),
            "eventTime": _iso(self.event_time),
            "cooldownSeconds": cooldown_seconds,
            "input": self.workflow_input(cooldown_seconds),
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_OFFSET = re.compile(r"([+-]\d{2}):?(\d{2})$")


def parse_time(value: Any) -> datetime | None:
    """Parse the timestamps AWS puts in events (``...Z``, ``...+0000``, fractions, epoch ms)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        if not _EARLIEST.timestamp() <= seconds < _LATEST.timestamp():  # also NaN, 1e20, inf
            return None
        return datetime.fromtimestamp(seconds, tz=UTC)
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _OFFSET.sub(r"\1:\2", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00
        return None
    return moment if _EARLIEST <= moment < _LATEST else None


def _obj(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a string, list or number where
    the event should hold an object is treated as absent, never dereferenced)."""
    return value if isinstance(value, Mapping) else {}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _group(explicit: Any, default: str | None, what: str) -> str:
    group = _text(explicit) or default
    if not group:
        raise RetrainConfigurationError(
            f"{what}: no model package group in the event and MODEL_PACKAGE_GROUP_NAME is not set"
        )
    return group


def _episode_key_drift(group: str, endpoint: str | None) -> str:
    return f"drift#{group}#{endpoint or '-'}"


def _alarm_dimensions(detail: Mapping[str, Any]) -> dict[str, str]:
    metrics = _obj(detail.get("configuration")).get("metrics")
    for metric in metrics if isinstance(metrics, list) else []:
        dimensions = _obj(_obj(_obj(metric).get("metricStat")).get("metric")).get("dimensions")
        if isinstance(dimensions, Mapping) and dimensions:
            return {str(k): v for k, v in dimensions.items() if isinstance(v, str) and v}
    return {}


def _from_alarm(event: Mapping[str, Any], default_group: str | None) -> RetrainRequest | Ignored:
    detail = _obj(event.get("detail"))
    name = _text(detail.get("alarmName")) or "<unnamed alarm>"
    state = _obj(detail.get("state"))
    value = state.get("value")
    if value != "ALARM":
        return Ignored(f"alarm {name} changed to {str(value)[:64]}, not ALARM")
    dimensions = _alarm_dimensions(detail)
    group = _group(dimensions.get("ModelPackageGroup"), default_group, f"alarm {name}")
    endpoint = dimensions.get("Endpoint") or dimensions.get("EndpointName")
    moment = parse_time(state.get("timestamp")) or parse_time(event.get("time"))
    if moment is None:
        return Ignored(f"alarm {name}: no usable timestamp")
    return RetrainRequest(
        reason=REASON_ALARM,
        episode_key=_episode_key_drift(group, endpoint),
        event_time=moment,
        model_package_group=group,
        endpoint_name=endpoint,
        trigger={
            **_envelope(event),
            "alarmName": name,
            "alarmArn": _text(_first(event.get("resources"))),
            "state": value,
            "previousState": _obj(detail.get("previousState")).get("value"),
            "stateReason": state.get("reason"),
            "stateTimestamp": state.get("timestamp"),
        },
    )


def _envelope(event: Mapping[str, Any]) -> dict[str, Any]:
    """What every trigger record keeps of the EventBridge envelope."""
    return {
        "source": event.get("source"),
        "detailType": event.get("detail-type"),
        "eventId": event.get("id"),
        "time": event.get("time"),
    }


def _schedule_name_from_arn(arn: str | None) -> str | None:
    if arn and "monitoring-schedule/" in arn:
        return arn.rsplit("/", 1)[-1]
    return None


def _from_processing_job(
    event: Mapping[str, Any], default_group: str | None
) -> RetrainRequest | Ignored:
    detail = _obj(event.get("detail"))
    job = _text(detail.get("ProcessingJobName")) or "<unnamed job>"
    status = detail.get("ProcessingJobStatus")
    exit_message = _text(detail.get("ExitMessage")) or ""
    if status != "Completed" or not exit_message.startswith(VIOLATIONS_STATUS):
        return Ignored(f"processing job {job}: status {str(status)[:64]}, no monitoring violations")
    environment = _obj(detail.get("Environment"))
    schedule = _schedule_name_from_arn(_text(detail.get("MonitoringScheduleArn"))) or _text(
        environment.get("sagemaker_monitoring_schedule_name")
    )
    endpoint = _text(environment.get("sagemaker_endpoint_name"))
    group = _group(None, default_group, f"monitoring job {job}")
    moment = parse_time(event.get("time")) or parse_time(detail.get("ProcessingEndTime"))
    if moment is None:
        return Ignored(f"processing job {job}: no usable timestamp")
    return RetrainRequest(
        reason=REASON_MONITORING,
        episode_key=_episode_key_drift(group, endpoint),
        event_time=moment,
        model_package_group=group,
        endpoint_name=endpoint,
        trigger={
            **_envelope(event),
            "processingJobName": job,
            "processingJobArn": detail.get("ProcessingJobArn"),
            "monitoringSchedule": schedule,
            "exitMessage": str(exit_message)[:512],
        },
    )


def _from_monitoring_summary(
    event: Mapping[str, Any], default_group: str | None
) -> RetrainRequest | Ignored:
    detail = _obj(event.get("detail"))
    schedule = _text(detail.get("MonitoringScheduleName")) or "<unnamed schedule>"
    status = detail.get("MonitoringExecutionStatus")
    if status != VIOLATIONS_STATUS:
        return Ignored(f"monitoring schedule {schedule}: execution status {str(status)[:64]}")
    endpoint = _text(detail.get("EndpointName"))
    group = _group(
        detail.get("ModelPackageGroup"), default_group, f"monitoring schedule {schedule}"
    )
    moment = parse_time(detail.get("ScheduledTime")) or parse_time(event.get("time"))
    if moment is None:
        return Ignored(f"monitoring schedule {schedule}: no usable timestamp")
    return RetrainRequest(
        reason=REASON_MONITORING,
        episode_key=_episode_key_drift(group, endpoint),
        event_time=moment,
        model_package_group=group,
        endpoint_name=endpoint,
        trigger={
            **_envelope(event),
            "monitoringSchedule": schedule,
            "scheduledTime": detail.get("ScheduledTime"),
            "processingJobArn": detail.get("ProcessingJobArn"),
            "status": status,
        },
    )


def _from_scheduler(
    event: Mapping[str, Any], default_group: str | None
) -> RetrainRequest | Ignored:
    schedule = _text(event.get("scheduleArn")) or _text(event.get("scheduleName"))
    moment = parse_time(event.get("scheduledTime"))
    if schedule is None or moment is None:
        return Ignored("scheduled retraining payload needs scheduleArn and a valid scheduledTime")
    group = _group(event.get("modelPackageGroup"), default_group, f"schedule {schedule}")
    return RetrainRequest(
        reason=REASON_SCHEDULED,
        episode_key=f"scheduled#{schedule}#{_iso(moment)}",
        event_time=moment,
        model_package_group=group,
        endpoint_name=_text(event.get("endpointName")),
        trigger={
            "source": "aws.scheduler",
            "scheduleArn": schedule,
            "scheduledTime": _iso(moment),
            "executionId": event.get("executionId"),
        },
        windowed=False,
    )


def _from_scheduled_rule(
    event: Mapping[str, Any], default_group: str | None
) -> RetrainRequest | Ignored:
    rule = _text(_first(event.get("resources")))
    moment = parse_time(event.get("time"))
    if not rule or moment is None:
        return Ignored("scheduled event without rule ARN or time")
    group = _group(None, default_group, f"scheduled rule {rule}")
    return RetrainRequest(
        reason=REASON_SCHEDULED,
        episode_key=f"scheduled#{rule}#{_iso(moment)}",
        event_time=moment,
        model_package_group=group,
        endpoint_name=None,
        trigger={
            **_envelope(event),
            "ruleArn": rule,
        },
        windowed=False,
    )


@dataclass(frozen=True)
class Malformed(Ignored):
    """An event of a known kind whose fields have impossible types or values."""


def classify(event: Any, *, default_model_package_group: str | None) -> RetrainRequest | Ignored:
    """Map an event to a :class:`RetrainRequest` or an :class:`Ignored` with the reason.

    Never raises for a malformed event (strings where objects are expected, numbers out of
    range...): it is a :class:`Malformed` with the reason, which the handler logs and counts.
    A :class:`RetrainConfigurationError` (the function's own configuration) is raised."""
    try:
        return _classify(event, default_model_package_group)
    except (AttributeError, TypeError, ValueError, OverflowError, KeyError, IndexError) as exc:
        return Malformed(f"malformed event ({type(exc).__name__}: {str(exc)[:200]})")


def _classify(event: Any, default_model_package_group: str | None) -> RetrainRequest | Ignored:
    if not isinstance(event, Mapping):
        return Ignored("event is not a JSON object")
    if event.get("type") == SCHEDULER_PAYLOAD_TYPE:
        return _from_scheduler(event, default_model_package_group)
    detail_type = event.get("detail-type")
    source = event.get("source")
    detail = event.get("detail")
    if detail_type == ALARM_DETAIL_TYPE and source == "aws.cloudwatch":
        return _from_alarm(event, default_model_package_group)
    if detail_type == PROCESSING_JOB_DETAIL_TYPE and source == "aws.sagemaker":
        return _from_processing_job(event, default_model_package_group)
    if isinstance(detail, Mapping) and "MonitoringExecutionStatus" in detail:
        return _from_monitoring_summary(event, default_model_package_group)
    if detail_type == SCHEDULED_EVENT_DETAIL_TYPE and source == "aws.events":
        return _from_scheduled_rule(event, default_model_package_group)
    return Ignored(
        f"unsupported event: source={str(source)[:64]!r} detail-type={str(detail_type)[:64]!r}"
    )
