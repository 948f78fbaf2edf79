"""An EventBridge Scheduler schedule that starts a state machine, encrypted with a CMK."""

from __future__ import annotations

import re

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from cdk_constructs._validation import require

_EXPRESSION_RE = re.compile(r"^(cron|rate|at)\(.+\)$")
_NAME_RE = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")


class EncryptedSchedule(scheduler.CfnSchedule):
    """A named schedule, no flexible window, its target input encrypted with the given
    customer-managed key, running ``target_arn`` as ``role`` (which must allow only that
    start). It is the CloudFormation resource itself (logical id = path).

    Refused: a name Scheduler would reject, an expression that is not ``cron(...)``,
    ``rate(...)`` or ``at(...)``, and a missing key."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        description: str,
        expression: str,
        encryption_key: kms.IKey,
        target_arn: str,
        role: iam.IRole,
        target_input: str = "{}",
    ) -> None:
        require(
            bool(_NAME_RE.match(name)),
            "EncryptedSchedule",
            f"name {name!r} must be 1-64 letters, digits, -, _ or .",
        )
        require(
            bool(_EXPRESSION_RE.match(expression)),
            "EncryptedSchedule",
            f"expression {expression!r} must be cron(...), rate(...) or at(...)",
        )
        require(
            encryption_key is not None,
            "EncryptedSchedule",
            "encryption_key is required: the schedule's target input is encrypted with a "
            "customer-managed key",
        )
        super().__init__(
            scope,
            id,
            name=name,
            description=description,
            schedule_expression=expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            kms_key_arn=encryption_key.key_arn,
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target_arn, role_arn=role.role_arn, input=target_input
            ),
        )
