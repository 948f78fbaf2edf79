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
from datetime import datetime, timezone
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
        return datetime.fromtimestamp(epoch - epoch % cooldown_seconds, tz=timezone.utc)

    def execution_name(self, cooldown_seconds: int) -> str:
        """Deterministic Step Functions execution name (<= 80 chars, [A-Za-z0-9_-])."""
        stamp = self.window_start(cooldown_seconds).strftime("%Y%m%dT%H%M%SZ")
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
            "input": self.workflow_input(cooldown_seconds),
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_OFFSET = re.compile(r"([+-]\d{2}):?(\d{2})$")


def parse_time(value: Any) -> datetime | None:
    """Parse the timestamps AWS puts in events (``...Z``, ``...+0000``, fractions, epoch ms)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if not isinstance(value, str) or not value:
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
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


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
    configuration = detail.get("configuration") or {}
    for metric in configuration.get("metrics") or []:
        stat = (metric or {}).get("metricStat") or {}
        dimensions = (stat.get("metric") or {}).get("dimensions")
        if isinstance(dimensions, Mapping) and dimensions:
            return {str(k): str(v) for k, v in dimensions.items()}
    return {}


def _from_alarm(event: Mapping[str, Any], default_group: str | None) -> RetrainRequest | Ignored:
    detail = event.get("detail") or {}
    name = _text(detail.get("alarmName")) or "<unnamed alarm>"
    state = detail.get("state") or {}
    value = state.get("value")
    if value != "ALARM":
        return Ignored(f"alarm {name} changed to {value}, not ALARM")
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
            "alarmArn": (event.get("resources") or [None])[0],
            "state": value,
            "previousState": (detail.get("previousState") or {}).get("value"),
            "stateReason": state.get("reason"),
            "stateTimestamp": state.get("timestamp"),
        },
    )


def _envelope(event: Mapping[str, Any]) -> dict[str, Any]:
    """What every trigger record keeps of the EventBridge envelope."""
    return {"source": event.get("source"), "detailType": event.get("detail-type"),
            "eventId": event.get("id"), "time": event.get("time")}


def _schedule_name_from_arn(arn: str | None) -> str | None:
    if arn and "monitoring-schedule/" in arn:
        return arn.rsplit("/", 1)[-1]
    return None


def _from_processing_job(event: Mapping[str, Any], default_group: str | None) -> RetrainRequest | Ignored:
    detail = event.get("detail") or {}
    job = _text(detail.get("ProcessingJobName")) or "<unnamed job>"
    status = detail.get("ProcessingJobStatus")
    exit_message = detail.get("ExitMessage") or ""
    if status != "Completed" or not str(exit_message).startswith(VIOLATIONS_STATUS):
        return Ignored(f"processing job {job}: status {status}, no monitoring violations")
    environment = detail.get("Environment") or {}
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


def _from_monitoring_summary(event: Mapping[str, Any], default_group: str | None) -> RetrainRequest | Ignored:
    detail = event.get("detail") or {}
    schedule = _text(detail.get("MonitoringScheduleName")) or "<unnamed schedule>"
    status = detail.get("MonitoringExecutionStatus")
    if status != VIOLATIONS_STATUS:
        return Ignored(f"monitoring schedule {schedule}: execution status {status}")
    endpoint = _text(detail.get("EndpointName"))
    group = _group(detail.get("ModelPackageGroup"), default_group, f"monitoring schedule {schedule}")
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


def _from_scheduler(event: Mapping[str, Any], default_group: str | None) -> RetrainRequest | Ignored:
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


def _from_scheduled_rule(event: Mapping[str, Any], default_group: str | None) -> RetrainRequest | Ignored:
    rule = (event.get("resources") or [None])[0]
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


def classify(event: Any, *, default_model_package_group: str | None) -> RetrainRequest | Ignored:
    """Map an event to a :class:`RetrainRequest` or an :class:`Ignored` with the reason."""
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
    return Ignored(f"unsupported event: source={source!r} detail-type={detail_type!r}")
