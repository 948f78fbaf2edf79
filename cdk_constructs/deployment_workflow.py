"""The Step Functions deployment workflow (whitepaper: production and continuous monitoring)."""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._deployment_workflow_definition import (
    DeploymentWorkflowSettings,
    build_definition,
)
from cdk_constructs._state_machine import build_secure_state_machine
from cdk_constructs._validation import require

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,20}$")


class DeploymentWorkflow(Construct):
    """model -> endpoint config (KMS, data capture) -> create or blue/green update with
    auto-rollback -> InService -> data-quality baseline -> monitoring schedule.

    Encrypted with a customer key, logs ALL events to a KMS log group, traced with X-Ray.
    Its role holds one customer-managed policy scoped to this environment's names.

    Refused: a ``settings.name_prefix`` that is not 2-21 lower-case characters, no subnets
    or security groups (endpoints and jobs run in the VPC), a ``capture_sampling_percent``
    outside 1..100, no ``rollback_alarm_names`` (a blue/green update without alarms cannot
    roll back), and a ``traffic_routing`` other than CANARY or LINEAR.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: DeploymentWorkflowSettings,
        state_machine_name: str,
        encryption_key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
        topic_key: kms.IKey,
        model_package_group_arn: str,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_PREFIX_RE.match(settings.name_prefix)),
            "DeploymentWorkflow",
            f"name_prefix {settings.name_prefix!r} must be 2-21 lower-case characters",
        )
        require(
            bool(settings.subnet_ids) and bool(settings.security_group_ids),
            "DeploymentWorkflow",
            "endpoints and jobs must run in the VPC: give subnet_ids and security_group_ids",
        )
        require(
            1 <= settings.capture_sampling_percent <= 100,
            "DeploymentWorkflow",
            "capture_sampling_percent must be 1..100",
        )
        require(
            bool(settings.rollback_alarm_names),
            "DeploymentWorkflow",
            "give rollback_alarm_names: a blue/green update without alarms cannot roll back",
        )
        require(
            settings.traffic_routing in ("CANARY", "LINEAR"),
            "DeploymentWorkflow",
            "traffic_routing must be CANARY or LINEAR",
        )
        if any(kind == "ModelBias" for _, _, kind, _ in settings.clarify_monitors):
            require(
                bool(settings.run_artifacts_bucket)
                and "sagemaker-scikit-learn" in settings.copy_image,
                "DeploymentWorkflow",
                "a bias-drift monitor needs its baseline from the training run: give "
                "run_artifacts_bucket (the pipeline's model-artifacts bucket) and copy_image "
                "(sagemaker_images.sklearn_image(region))",
            )
        self.settings = settings
        self.definition = build_definition(settings)
        self.state_machine_name = state_machine_name
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        sm = f"{arn}:sagemaker:{stack.region}:{stack.account}"
        model_packages_arn = model_package_group_arn.replace(
            ":model-package-group/", ":model-package/"
        )
        prefix = settings.name_prefix
        endpoint = settings.endpoint_name

        parts = build_secure_state_machine(
            self,
            purpose="Deployment workflow",
            state_machine_name=state_machine_name,
            definition=self.definition,
            encryption_key=encryption_key,
            log_key=log_key,
            log_retention_days=log_retention_days,
            statements=[
                iam.PolicyStatement(
                    sid="CreateModelsAndConfigs",
                    actions=[
                        "sagemaker:CreateModel",
                        "sagemaker:CreateEndpointConfig",
                        "sagemaker:AddTags",
                    ],
                    resources=[f"{sm}:model/{prefix}-*", f"{sm}:endpoint-config/{prefix}-*"],
                ),
                # CreateEndpoint/UpdateEndpoint are authorized on the endpoint AND the endpoint
                # configuration they name (Service Authorization Reference, SageMaker).
                iam.PolicyStatement(
                    sid="DeployEndpoint",
                    actions=[
                        "sagemaker:CreateEndpoint",
                        "sagemaker:UpdateEndpoint",
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:AddTags",
                    ],
                    resources=[f"{sm}:endpoint/{endpoint}", f"{sm}:endpoint-config/{prefix}-*"],
                ),
                iam.PolicyStatement(
                    sid="ReadApprovedPackage",
                    actions=["sagemaker:DescribeModelPackage"],
                    resources=[f"{model_packages_arn}/*"],
                ),
                # ListModelPackages is authorized on model-package resources, not on the group.
                iam.PolicyStatement(
                    sid="FindApprovedPackage",
                    actions=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackageGroup"],
                    resources=[
                        model_package_group_arn,
                        f"{model_packages_arn}/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="RollbackAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[
                        f"{arn}:cloudwatch:{stack.region}:{stack.account}:alarm:{name}"
                        for name in settings.rollback_alarm_names
                    ],
                ),
                iam.PolicyStatement(
                    sid="MonitoringJobs",
                    actions=[
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:CreateDataQualityJobDefinition",
                        "sagemaker:CreateMonitoringSchedule",
                        "sagemaker:UpdateMonitoringSchedule",
                        "sagemaker:AddTags",
                    ],
                    resources=[
                        f"{sm}:processing-job/{prefix}-*",
                        f"{sm}:data-quality-job-definition/{prefix}-*",
                        f"{sm}:monitoring-schedule/{endpoint}-data-quality",
                    ],
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="ModelQualityMonitoring",
                            actions=[
                                "sagemaker:CreateModelQualityJobDefinition",
                                "sagemaker:CreateMonitoringSchedule",
                                "sagemaker:UpdateMonitoringSchedule",
                                "sagemaker:AddTags",
                            ],
                            resources=[
                                f"{sm}:model-quality-job-definition/{prefix}-*",
                                f"{sm}:monitoring-schedule/{endpoint}-model-quality",
                            ],
                        )
                    ]
                    if settings.ground_truth_s3_uri
                    else []
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="ClarifyMonitorSchedules",
                            actions=["sagemaker:CreateMonitoringSchedule", "sagemaker:AddTags"],
                            resources=[
                                f"{sm}:monitoring-schedule/{name}"
                                for _, name, _, _ in settings.clarify_monitors
                            ],
                        ),
                        iam.PolicyStatement(
                            sid="ClarifyBaselines",
                            actions=["s3:GetObject", "s3:PutObject"],
                            resources=[
                                f"{arn}:s3:::{settings.monitoring_bucket}/baselines/{endpoint}/*"
                            ],
                        ),
                        iam.PolicyStatement(
                            sid="ClarifyBaselinesEncrypted",
                            actions=["kms:GenerateDataKey", "kms:Decrypt"],
                            resources=[settings.monitoring_key_arn],
                            conditions={
                                "StringEquals": {
                                    "kms:ViaService": f"s3.{stack.region}.amazonaws.com"
                                }
                            },
                        ),
                    ]
                    if settings.clarify_monitors
                    else []
                ),
                iam.PolicyStatement(
                    sid="SyncJobEvents",
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[
                        f"{arn}:events:{stack.region}:{stack.account}:rule/"
                        "StepFunctionsGetEventsForSageMakerProcessingJobsRule"
                    ],
                ),
                iam.PolicyStatement(
                    sid="PassExecutionRole",
                    actions=["iam:PassRole"],
                    resources=[settings.execution_role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="EncryptedEndpointStorage",
                    actions=["kms:CreateGrant"],
                    resources=[settings.endpoint_key_arn, settings.monitoring_key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                # DescribeKey carries no kms:GrantIsForAWSResource (only CreateGrant, ListGrants
                # and RevokeGrant do), so it cannot sit under that condition.
                iam.PolicyStatement(
                    sid="DescribeEndpointStorageKeys",
                    actions=["kms:DescribeKey"],
                    resources=[settings.endpoint_key_arn, settings.monitoring_key_arn],
                ),
                iam.PolicyStatement(
                    sid="Notify",
                    actions=["sns:Publish"],
                    resources=[settings.notification_topic_arn],
                ),
                iam.PolicyStatement(
                    sid="NotifyEncrypted",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[topic_key.key_arn],
                ),
            ],
        )
        self.log_group, self.policy = parts.log_group, parts.policy
        self.role, self.state_machine = parts.role, parts.state_machine

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn
