"""A CloudWatch Logs log group that is KMS-encrypted and retained."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs._validation import require
from platform_config._regions import LOG_RETENTION_DAYS


class SecureLogGroup(Construct):
    """KMS encryption with a customer key, a retention period, and RETAIN on deletion.

    Refused: a missing ``encryption_key`` and a ``retention_days`` that is not a CloudWatch
    Logs retention value.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        encryption_key: kms.IKey,
        retention_days: int,
        log_group_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            encryption_key is not None,
            "SecureLogGroup",
            "encryption_key is required: log groups hold audit evidence and must use a CMK",
        )
        require(
            retention_days in LOG_RETENTION_DAYS,
            "SecureLogGroup",
            f"retention_days {retention_days} is not a CloudWatch Logs retention value "
            f"({', '.join(map(str, LOG_RETENTION_DAYS))})",
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The L2 takes an enum of named periods; the validated day count maps 1:1 onto the
        # CloudFormation property, so set it there.
        cfn = self.log_group.node.default_child
        if not isinstance(cfn, logs.CfnLogGroup):
            raise TypeError(f"{self.node.path}: the log group's default child is not a CfnLogGroup")
        cfn.retention_in_days = retention_days
