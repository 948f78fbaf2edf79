"""Lambda entry point: start the training workflow once per drift episode.

Two guards make "one episode -> one retraining":

1. Powertools idempotency (DynamoDB table ``$IDEMPOTENCY_TABLE``) keyed on the episode key
   (``drift#<group>#<endpoint>``, or ``scheduled#<schedule>#<time>``), with the record
   expiring ``$RETRAIN_COOLDOWN_HOURS`` (default 24) after the first start: every further
   drift signal for that model within the cool-down returns the stored result
   (``status: DUPLICATE``) without calling Step Functions.
2. A deterministic execution name per episode window (see :mod:`retrain_trigger_start`),
   for races and for records lost or expired early.

Environment (read at call time): ``TRAINING_STATE_MACHINE_ARN`` (required),
``IDEMPOTENCY_TABLE`` (required), ``RETRAIN_COOLDOWN_HOURS`` (optional, default 24),
``MODEL_PACKAGE_GROUP_NAME`` (optional default when the event carries no group).

Drift signals older than the cool-down (a redriven alarm) are ignored (``StaleSignals``), and a
start in the previous window less than a cool-down ago counts as this episode's start (see
:mod:`retrain_trigger_start`). Malformed events are skipped with a log line and counted
(``MalformedEvents``); other ignored events count as ``EventsIgnored``; an error raised for a
retry counts as ``RetrainErrors``. Metrics go to
``$POWERTOOLS_METRICS_NAMESPACE`` (EMF through the log stream).
"""

from __future__ import annotations

import os
from datetime import datetime, UTC
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrain_trigger_events import Ignored, Malformed, RetrainConfigurationError, classify
from retrain_trigger_start import start_workflow

logger = Logger()
tracer = Tracer()
metrics = Metrics()
DEFAULT_NAMESPACE = "SecureMlPlatform"

DEFAULT_COOLDOWN_HOURS = 24.0
IDEMPOTENCY_KEY_PREFIX = "retrain-episode"

_clients: dict[str, Any] = {}
_starters: dict[tuple[str, int], tuple[IdempotencyConfig, Any]] = {}


def _now() -> datetime:
    """The clock (tests replace it)."""
    return datetime.now(UTC)


def reset_clients() -> None:
    """Forget cached clients and idempotent starters (tests)."""
    _clients.clear()
    _starters.clear()


def _client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RetrainConfigurationError(f"environment variable {name} is not set")
    return value


def cooldown_seconds() -> int:
    raw = os.environ.get("RETRAIN_COOLDOWN_HOURS", "").strip()
    try:
        hours = float(raw) if raw else DEFAULT_COOLDOWN_HOURS
    except ValueError:
        raise RetrainConfigurationError(f"RETRAIN_COOLDOWN_HOURS={raw!r} is not a number") from None
    if not 1 / 60 <= hours <= 24 * 90:
        raise RetrainConfigurationError(
            "RETRAIN_COOLDOWN_HOURS must be between 1 minute and 90 days"
        )
    return int(hours * 3600)


def _mark_duplicate(response: Any, idempotent_data: Any) -> Any:
    """Powertools response hook: the episode was already handled by an earlier invocation."""
    if isinstance(response, dict):
        return {**response, "status": "DUPLICATE", "firstStatus": response.get("status")}
    return response


def _starter(table: str, expires_after: int) -> tuple[IdempotencyConfig, Any]:
    key = (table, expires_after)
    if key not in _starters:
        config = IdempotencyConfig(
            event_key_jmespath="episodeKey",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after,
            response_hook=_mark_duplicate,
        )
        persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=_client("dynamodb"))

        @idempotent_function(
            data_keyword_argument="payload",
            persistence_store=persistence,
            config=config,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )
        def start(payload: dict[str, Any], state_machine_arn: str) -> dict[str, Any]:
            return start_workflow(_client("stepfunctions"), state_machine_arn, payload)

        _starters[key] = (config, start)
    return _starters[key]


def _handle(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        return _decide_and_start(event, context)
    except Exception:
        # Raised for the async invocation's retries; counted so an alarm can see it.
        metrics.add_metric(name="RetrainErrors", unit=MetricUnit.Count, value=1)
        raise


def _ignored(reason: str, metric: str) -> dict[str, Any]:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return {"status": "IGNORED", "reason": reason}


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)
    return _handle(event, context)


def _decide_and_start(event: Any, context: LambdaContext) -> dict[str, Any]:
    decision = classify(
        event, default_model_package_group=os.environ.get("MODEL_PACKAGE_GROUP_NAME") or None
    )
    if isinstance(decision, Malformed):
        # Logged and counted (MalformedEvents), never a traceback: a retry could not help.
        logger.warning("malformed event skipped", extra={"reason": decision.reason})
        return _ignored(decision.reason, "MalformedEvents")
    if isinstance(decision, Ignored):
        logger.info("event ignored", extra={"reason": decision.reason})
        return _ignored(decision.reason, "EventsIgnored")
    state_machine_arn = _required_env("TRAINING_STATE_MACHINE_ARN")
    table = _required_env("IDEMPOTENCY_TABLE")
    cooldown = cooldown_seconds()
    stale = decision.staleness(_now(), cooldown)
    if stale:
        logger.warning("stale drift signal ignored", extra={"reason": stale})
        return _ignored(stale, "StaleSignals")
    config, start = _starter(table, cooldown)
    config.register_lambda_context(context)
    result = start(payload=decision.to_payload(cooldown), state_machine_arn=state_machine_arn)
    logger.info("retraining trigger handled", extra={"result": result})
    metrics.add_metric(
        name="RetrainingsStarted",
        unit=MetricUnit.Count,
        value=1 if result.get("status") == "STARTED" else 0,
    )
    return result
