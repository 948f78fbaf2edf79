"""CIS-benchmark metric filters on the trail's log group, each with an alarm to people."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs._validation import require


@dataclass(frozen=True)
class SecurityFilter:
    """One metric filter of :class:`SecurityAlarms`: a stable name, what it detects, and its
    CloudWatch Logs JSON filter pattern over CloudTrail records."""

    name: str  # construct id and metric name: stable, never a list position
    description: str
    pattern: str  # CloudWatch Logs JSON filter pattern over CloudTrail records


# CIS AWS Foundations Benchmark (v1.4 / v3.0 section "Monitoring") filter patterns.
SECURITY_FILTERS: tuple[SecurityFilter, ...] = (
    SecurityFilter(
        "RootAccountUsage",
        "The root user signed in or called an API (CIS 4.3)",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
    ),
    SecurityFilter(
        "UnauthorizedApiCalls",
        "API calls denied for lack of permission (CIS 4.1)",
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    ),
    SecurityFilter(
        "IamPolicyChanges",
        "IAM policies created, changed, attached or detached (CIS 4.4)",
        "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || "
        "($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || "
        "($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || "
        "($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || "
        "($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || "
        "($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || "
        "($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || "
        "($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy) }",
    ),
    SecurityFilter(
        "KmsKeyDisabledOrScheduledForDeletion",
        "A customer-managed KMS key was disabled or scheduled for deletion (CIS 4.7)",
        "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || "
        "($.eventName = ScheduleKeyDeletion)) }",
    ),
    SecurityFilter(
        "CloudTrailChanges",
        "A trail was created, changed, stopped or deleted (CIS 4.5)",
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || "
        "($.eventName = DeleteTrail) || ($.eventName = StartLogging) || "
        "($.eventName = StopLogging) || ($.eventName = PutEventSelectors) }",
    ),
    SecurityFilter(
        "ConfigChanges",
        "The AWS Config recorder or delivery channel was changed (CIS 4.9)",
        "{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || "
        "($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || "
        "($.eventName = PutConfigurationRecorder) || ($.eventName = DeleteConfigurationRecorder)) "
        "}",
    ),
    SecurityFilter(
        "S3BucketPolicyChanges",
        "An S3 bucket policy, ACL or lifecycle was changed (CIS 4.8)",
        "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || "
        "($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || "
        "($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
        "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
        "($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
    ),
    SecurityFilter(
        "SecurityGroupChanges",
        "A security group or its rules changed (CIS 4.10)",
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || "
        "($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || "
        "($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
    ),
)

_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]+$")


class SecurityAlarms(Construct):
    """A metric filter per entry of ``filters`` on the CloudTrail log group, counting
    matching events into ``namespace``, and an alarm per filter that notifies ``topic`` as
    soon as one event matches within five minutes (missing data is not breaching: no event
    means nothing happened).

    Refused: a missing ``trail_log_group`` or ``topic``, a namespace that is not letters and
    digits joined by '/' or that starts with 'AWS', no filters, repeated filter names, a
    filter name that is not PascalCase, and a pattern that is not a JSON filter pattern
    '{ ... }'.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        trail_log_group: logs.ILogGroup,
        topic: sns.ITopic,
        namespace: str,
        alarm_name_prefix: str,
        filters: tuple[SecurityFilter, ...] = SECURITY_FILTERS,
    ) -> None:
        super().__init__(scope, id)
        require(
            trail_log_group is not None,
            "SecurityAlarms",
            "trail_log_group is required: the filters read the trail's CloudWatch Logs group",
        )
        require(
            topic is not None,
            "SecurityAlarms",
            "topic is required: every security alarm must notify people",
        )
        require(
            bool(re.fullmatch(r"[A-Za-z0-9]+(/[A-Za-z0-9]+)*", namespace or ""))
            and not namespace.startswith("AWS"),
            "SecurityAlarms",
            f"namespace {namespace!r} must be e.g. 'SecureMlPlatform/Security' (not AWS/...)",
        )
        require(bool(filters), "SecurityAlarms", "give at least one filter")
        names = [f.name for f in filters]
        require(len(names) == len(set(names)), "SecurityAlarms", "filter names repeat")
        for f in filters:
            require(
                bool(_NAME_RE.match(f.name)),
                "SecurityAlarms",
                f"filter name {f.name!r} must be PascalCase letters and digits",
            )
            require(
                f.pattern.startswith("{") and f.pattern.endswith("}"),
                "SecurityAlarms",
                f"filter {f.name}: pattern must be a JSON filter pattern '{{ ... }}'",
            )

        action = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.metric_filters: dict[str, logs.MetricFilter] = {}
        for f in filters:
            metric_filter = logs.MetricFilter(
                self,
                f"{f.name}Filter",
                log_group=trail_log_group,
                filter_pattern=logs.FilterPattern.literal(f.pattern),
                metric_namespace=namespace,
                metric_name=f.name,
                metric_value="1",
            )
            alarm = cloudwatch.Alarm(
                self,
                f"{f.name}Alarm",
                alarm_name=f"{alarm_name_prefix}{f.name}",
                alarm_description=f.description,
                metric=metric_filter.metric(statistic="Sum", period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.metric_filters[f.name] = metric_filter
            self.alarms[f.name] = alarm
