"""Amazon States Language pieces every workflow of the platform builds the same way: the retry
of a service's transient errors, and a notice to an SNS topic that never decides the
workflow's outcome."""

from __future__ import annotations

from collections.abc import Sequence

SNS_PUBLISH = "arn:aws:states:::sns:publish"


def retry(errors: Sequence[str]) -> list[dict]:
    """Retry ``errors`` (each workflow lists the transient errors of the services it calls)
    four times with jittered exponential backoff from 5 s."""
    return [
        {
            "ErrorEquals": list(errors),
            "IntervalSeconds": 5,
            "MaxAttempts": 4,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        }
    ]


def notify(
    *, topic: str, subject: str, message: str, next_state: str, retryable: Sequence[str]
) -> dict:
    """A Task that publishes ``message`` (a ``States.Format`` expression, ``Message.$``) to
    ``topic`` and goes on to ``next_state``. A publish that still fails after the retries goes
    there too, its error at ``$.notify_error``: the notice never replaces the outcome it
    reports (the workflow's own error stays at ``$.error``)."""
    return {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {"TopicArn": topic, "Subject": subject, "Message.$": message},
        "ResultPath": None,
        "Retry": retry(retryable),
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.notify_error", "Next": next_state}
        ],
        "Next": next_state,
    }
