"""Detective and corrective control: stop or delete SageMaker resources created outside
policy (code in lambda/compliance_responder/, behaviour in docs/compliance-responder.md)."""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs._platform_function import PlatformFunction
from cdk_constructs._validation import require

# The SageMaker API calls that create or (re)start a resource the responder judges.
WATCHED_EVENTS: tuple[str, ...] = (
    "CreateNotebookInstance",
    "UpdateNotebookInstance",
    "StartNotebookInstance",
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateTransformJob",
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateEndpointConfig",
)

# resource type in the ARN -> the actions the function may take on it (Describe + Stop/Delete)
_RESOURCE_ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "NotebookInstances": ("notebook-instance", "NotebookInstance", ("Stop",)),
    "TrainingJobs": ("training-job", "TrainingJob", ("Stop",)),
    "ProcessingJobs": ("processing-job", "ProcessingJob", ("Stop",)),
    "TransformJobs": ("transform-job", "TransformJob", ("Stop",)),
    "TuningJobs": ("hyper-parameter-tuning-job", "HyperParameterTuningJob", ("Stop",)),
    "Models": ("model", "Model", ("Delete",)),
    "EndpointConfigs": ("endpoint-config", "EndpointConfig", ("Delete",)),
}
# SageMaker AI Studio (issue #15), watched where the environment has a Studio domain:
# an app on an unapproved instance type is deleted; a domain is reported, never changed.
STUDIO_EVENTS: tuple[str, ...] = ("CreateDomain", "UpdateDomain", "CreateApp")
_STUDIO_ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "StudioApps": ("app", ("sagemaker:DescribeApp", "sagemaker:DeleteApp")),
    "StudioDomains": ("domain", ("sagemaker:DescribeDomain",)),
}
COMPLIANCE_TAG_KEYS: tuple[str, ...] = (
    "ml-platform:compliance-violation",
    "ml-platform:remediated-at",
    "ml-platform:compliance-event-id",
)
RESPONDER_TIMEOUT = Duration.seconds(
    900
)  # the Pending-notebook wait (docs/compliance-responder.md)


class ComplianceResponder(Construct):
    """An EventBridge rule on the CloudTrail records of SageMaker create/start calls, and a
    :class:`PlatformFunction` (in the VPC, Powertools, DLQ, reserved concurrency, 900 s)
    that stops the notebook or job, or deletes the model or endpoint config, when the
    request breaks policy; tags what it touched and notifies ``security_topic``.

    Policy comes from the approved subnets, security groups and KMS keys. They are required
    and must not be empty: with empty lists the function checks only that some subnet or
    key is present, which a resource in another VPC would pass.

    The function's permissions are exactly those of the doc's least-privilege policy. Two
    alarms go to the security topic: any RemediationErrors, and any message in the DLQ.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        security_topic: sns.ITopic,
        security_topic_key: kms.IKey,
        approved_subnet_ids: list[str],
        approved_security_group_ids: list[str],
        approved_kms_key_arns: list[str],
        log_retention_days: int,
        powertools_layer_version: int,
        require_network_isolation: bool = True,
        reserved_concurrency: int = 5,
        alarm_name_prefix: str = "",
        approved_studio_instance_types: list[str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        studio = approved_studio_instance_types is not None
        require(
            not studio
            or (
                bool(approved_studio_instance_types)
                and all(
                    isinstance(v, str) and v.startswith("ml.") and "," not in v
                    for v in approved_studio_instance_types or []
                )
            ),
            "ComplianceResponder",
            "approved_studio_instance_types must list ml.* instance types (or be None where "
            "the environment has no Studio domain)",
        )
        require(
            security_topic is not None and security_topic_key is not None,
            "ComplianceResponder",
            "security_topic and security_topic_key are required: every remediation is "
            "reported to the security team",
        )
        for name, values in (
            ("approved_subnet_ids", approved_subnet_ids),
            ("approved_security_group_ids", approved_security_group_ids),
            ("approved_kms_key_arns", approved_kms_key_arns),
        ):
            require(
                bool(values),
                "ComplianceResponder",
                f"{name} must not be empty: an empty allow-list only checks that some value "
                "is present, so resources outside the platform would pass",
            )
            require(
                all(isinstance(v, str) and v and "," not in v for v in values),
                "ComplianceResponder",
                f"{name} entries must be non-empty ids without ','",
            )
        stack = Stack.of(self)
        # Pseudo parameters, not the stack's literal account: the policy reads the same in
        # every environment, and so do its compliance acknowledgements.
        base = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"

        self.function = PlatformFunction(
            self,
            "Function",
            asset="compliance_responder",
            handler="compliance_responder_handler.handler",
            description="Stops or deletes SageMaker resources created outside policy",
            vpc=vpc,
            security_group=security_group,
            encryption_key=encryption_key,
            log_retention_days=log_retention_days,
            powertools_layer_version=powertools_layer_version,
            timeout=RESPONDER_TIMEOUT,
            reserved_concurrency=reserved_concurrency,
            environment={
                "SECURITY_TOPIC_ARN": security_topic.topic_arn,
                "APPROVED_SUBNET_IDS": ",".join(approved_subnet_ids),
                "APPROVED_SECURITY_GROUP_IDS": ",".join(approved_security_group_ids),
                "APPROVED_KMS_KEY_ARNS": ",".join(approved_kms_key_arns),
                "REQUIRE_NETWORK_ISOLATION": "true" if require_network_isolation else "false",
                **(
                    {
                        "APPROVED_STUDIO_INSTANCE_TYPES": ",".join(
                            approved_studio_instance_types or []
                        )
                    }
                    if studio
                    else {}
                ),
            },
        )
        statements = [
            iam.PolicyStatement(
                sid=sid,
                actions=[f"sagemaker:Describe{api}", *(f"sagemaker:{verb}{api}" for verb in verbs)],
                resources=[f"{base}:{arn_type}/*"],
            )
            for sid, (arn_type, api, verbs) in _RESOURCE_ACTIONS.items()
        ]
        tagged = [arn_type for arn_type, _, _ in _RESOURCE_ACTIONS.values()]
        if studio:
            statements += [
                iam.PolicyStatement(
                    sid=sid, actions=list(verbs), resources=[f"{base}:{arn_type}/*"]
                )
                for sid, (arn_type, verbs) in _STUDIO_ACTIONS.items()
            ]
            tagged += [arn_type for arn_type, _ in _STUDIO_ACTIONS.values()]
        statements.append(
            iam.PolicyStatement(
                sid="ComplianceTagsOnly",
                actions=["sagemaker:AddTags"],
                resources=[f"{base}:{arn_type}/*" for arn_type in tagged],
                conditions={
                    "ForAllValues:StringEquals": {"aws:TagKeys": list(COMPLIANCE_TAG_KEYS)}
                },
            )
        )
        statements.append(
            iam.PolicyStatement(
                sid="Notify", actions=["sns:Publish"], resources=[security_topic.topic_arn]
            )
        )
        statements.append(
            iam.PolicyStatement(
                sid="EncryptedTopic",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[security_topic_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}
                },
            )
        )
        self.function.add_permissions(*statements)

        self.rule = events.Rule(
            self,
            "SageMakerChanges",
            description="This account's and region's CloudTrail records of SageMaker resources "
            "being created or started",
            # Only this account's and region's own CloudTrail records: the default bus also
            # receives events relayed from other accounts (serving accounts), and a same-named
            # resource here must never be stopped for them (the function checks it again).
            event_pattern=events.EventPattern(
                account=[stack.account],
                region=[stack.region],
                source=["aws.sagemaker"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["sagemaker.amazonaws.com"],
                    "eventName": list(WATCHED_EVENTS) + (list(STUDIO_EVENTS) if studio else []),
                    "errorCode": [{"exists": False}],
                },
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function.function, max_event_age=Duration.hours(2), retry_attempts=8
            )
        )

        notify = actions.SnsAction(security_topic)
        self.errors_alarm = cloudwatch.Alarm(
            self,
            "RemediationErrorsAlarm",
            alarm_name=f"{alarm_name_prefix}ComplianceResponderErrors",
            alarm_description="The compliance responder failed to remediate, tag or notify",
            metric=cloudwatch.Metric(
                namespace="SecureMlPlatform",
                metric_name="RemediationErrors",
                dimensions_map={"service": "compliance-responder"},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_name=f"{alarm_name_prefix}ComplianceResponderDeadLetters",
            alarm_description="A SageMaker event could not be processed (compliance responder DLQ)",
            metric=self.function.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=Duration.minutes(5)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.errors_alarm, self.dead_letter_alarm):
            alarm.add_alarm_action(notify)
