"""A customer-managed KMS key for one purpose: rotated, aliased, retained."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._validation import require

_KEY_USE_ACTIONS = [
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
]


class ManagedKey(Construct):
    """One CMK per purpose (data, notebooks, audit, pipeline, monitoring).

    Secure by default: annual automatic rotation, an alias, retained when the stack is
    deleted (a deleted key makes every object it encrypted unreadable), and a key policy
    that grants AWS services only what they need under source conditions. IAM principals of
    the account are authorised through IAM (the key policy delegates to the account root,
    the standard pattern), never through key-policy wildcards.

    Refused: an alias that does not start with 'alias/' or starts with 'alias/aws', and a
    ``pending_window_days`` outside 7..30; ``allow_service`` refuses a principal that is not
    a service principal and, without ``aws:SourceAccount``, a grant without scoping
    conditions; ``allow_cloudtrail`` a trail name that is not one exact name;
    ``allow_sns_publishers`` no services and a wildcard topic prefix.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        pending_window_days: int = 30,
    ) -> None:
        super().__init__(scope, id)
        require(
            alias.startswith("alias/") and not alias.startswith("alias/aws"),
            "ManagedKey",
            f"alias {alias!r} must start with 'alias/' and not 'alias/aws'",
        )
        require(
            7 <= pending_window_days <= 30,
            "ManagedKey",
            f"pending_window_days {pending_window_days} must be 7..30",
        )
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=description,
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(pending_window_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.alias = alias
        # Grants are how services such as EBS and SageMaker use a key on a caller's behalf.
        # Nobody may create a grant for anything but an AWS resource (Control Tower CT.KMS.PR.3).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyGrantsExceptForAwsResources",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "BoolIfExists": {
                        "kms:GrantIsForAWSResource": "false",
                        "aws:PrincipalIsAWSService": "false",
                    }
                },
            )
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs use the key, only for log groups of this account and region."""
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisAccountLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=_KEY_USE_ACTIONS,
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )

    def allow_vended_log_delivery(self) -> None:
        """Let CloudWatch Logs' vended-log delivery decrypt what state machines encrypted
        with this key for their execution logs: only data keys whose encryption context names
        this account's and region's logs (Step Functions puts ``SourceArn`` =
        ``arn:<partition>:logs:<region>:<account>:*`` in it), never data keys of another
        purpose."""
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowVendedLogDeliveryForThisAccountsLogs",
                principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringLike": {
                        "kms:EncryptionContext:SourceArn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                        )
                    }
                },
            )
        )

    def allow_service(
        self,
        *,
        sid: str,
        service: str,
        actions: list[str],
        conditions: dict | None = None,
        source_account: bool = True,
    ) -> None:
        """Grant an AWS service principal key use, scoped to this account by
        ``aws:SourceAccount`` unless ``source_account=False`` (only for services that do not
        send it to KMS; then ``conditions`` must scope the grant)."""
        stack = Stack.of(self)
        require(
            service.endswith(".amazonaws.com"),
            "ManagedKey.allow_service",
            f"{service!r} is not a service principal (e.g. 'cloudtrail.amazonaws.com')",
        )
        require(
            source_account or bool(conditions),
            "ManagedKey.allow_service",
            f"{sid}: without aws:SourceAccount, give conditions that scope the grant "
            "(e.g. an encryption-context ARN of this account)",
        )
        scoped = dict(conditions or {})
        if source_account:
            scoped["StringEquals"] = {
                **scoped.get("StringEquals", {}),
                "aws:SourceAccount": stack.account,
            }
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=actions,
                resources=["*"],
                conditions=scoped,
            )
        )

    def allow_cloudtrail(self, *, trail_name: str) -> None:
        """Let CloudTrail encrypt the log files of one named trail of this account.

        The trail is named, not referenced, so the key (foundation stack) and the trail
        (audit stack) do not depend on each other. Encryption is limited to CloudTrail's
        encryption context of this account's trails; DescribeKey (which carries no
        encryption context) to that one trail.
        """
        require(
            bool(trail_name) and "/" not in trail_name and "*" not in trail_name,
            "ManagedKey.allow_cloudtrail",
            f"trail_name {trail_name!r} must be the exact name of one trail",
        )
        stack = Stack.of(self)
        trail_arn = (
            f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"
        )
        self.allow_service(
            sid="AllowCloudTrailToEncryptTrailLogs",
            service="cloudtrail.amazonaws.com",
            actions=["kms:GenerateDataKey*"],
            conditions={
                "StringEquals": {"aws:SourceArn": trail_arn},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                    )
                },
            },
        )
        self.allow_service(
            sid="AllowCloudTrailToDescribeKey",
            service="cloudtrail.amazonaws.com",
            actions=["kms:DescribeKey"],
            conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
        )

    def allow_sns_publishers(
        self, *, services: tuple[str, ...], topic_name_prefix: str | None
    ) -> None:
        """Let AWS services (CloudWatch alarms, EventBridge rules) publish to SNS topics of
        this account and region encrypted with this key: only topics whose names start with
        ``topic_name_prefix``, or every topic of the account and region with ``None`` (SNS
        puts the topic ARN in the encryption context, so the grant cannot serve another
        account's topics).

        EventBridge gets no ``aws:SourceAccount`` condition: the SNS developer guide states
        that ``aws:SourceAccount`` and ``aws:SourceArn`` in a KMS key policy are not supported
        for EventBridge-to-encrypted-topic delivery, and with them every delivery fails
        (FailedInvocations). The encryption-context condition scopes it instead."""
        require(bool(services), "ManagedKey.allow_sns_publishers", "name at least one service")
        require(
            topic_name_prefix is None or (bool(topic_name_prefix) and "*" not in topic_name_prefix),
            "ManagedKey.allow_sns_publishers",
            f"topic_name_prefix {topic_name_prefix!r} must be a literal name prefix "
            "(or None for every topic of this account and region)",
        )
        stack = Stack.of(self)
        topics = (
            f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{topic_name_prefix or ''}*"
        )
        for service in services:
            name = service.split(".", 1)[0]
            self.allow_service(
                sid=f"Allow{name[:1].upper()}{name[1:]}ToPublishToPlatformTopics",
                service=service,
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                conditions={"StringLike": {"kms:EncryptionContext:aws:sns:topicArn": topics}},
                source_account=service != "events.amazonaws.com",
            )
