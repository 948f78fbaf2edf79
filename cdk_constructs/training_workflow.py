"""The Step Functions training workflow (whitepaper section C: model development)."""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._state_machine import build_secure_state_machine
from cdk_constructs._training_workflow_definition import TrainingWorkflowSettings, build_definition
from cdk_constructs._validation import require

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,20}$")


class TrainingWorkflow(Construct):
    """preprocess -> train -> evaluate -> quality and overfitting gates -> explain + bias ->
    bias gate -> model card -> register (PendingManualApproval, with the card as the
    package's model card) -> lineage, with Retry/Catch on every task; every job is a component of
    the
    run's SageMaker Experiments trial.

    The state machine is encrypted with a customer key, logs ALL events (with execution data:
    S3 URIs and metrics, no customer data) to a KMS log group, and is traced with X-Ray. Its
    role holds one customer-managed policy scoped to jobs named ``<name_prefix>-*``.

    Refused: a ``settings.name_prefix`` that is not 2-21 lower-case characters (job names
    must fit SageMaker's 63), a ``gate_metric`` that ``evaluation.json`` does not report, a
    ``gate_threshold`` outside (0, 1], and no subnets or security groups (jobs run in the
    VPC).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: TrainingWorkflowSettings,
        encryption_key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
        topic_key: kms.IKey,
        bucket_keys: list[kms.IKey],
        raw_bucket_arn: str,
        processed_bucket_arn: str,
        models_bucket_arn: str,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_PREFIX_RE.match(settings.name_prefix)),
            "TrainingWorkflow",
            f"name_prefix {settings.name_prefix!r} must be 2-21 lower-case characters: job "
            "names are '<prefix>-<step>-<run_id>' and SageMaker allows 63",
        )
        require(
            settings.gate_metric in ("auc", "accuracy", "precision", "recall", "f1"),
            "TrainingWorkflow",
            f"gate_metric {settings.gate_metric!r} is not in evaluation.json",
        )
        require(
            0 < settings.gate_threshold <= 1, "TrainingWorkflow", "gate_threshold must be in (0, 1]"
        )
        require(
            0 < settings.max_auc_gap < 0.5,
            "TrainingWorkflow",
            f"max_auc_gap {settings.max_auc_gap} must be in (0, 0.5): it bounds train AUC - "
            "validation AUC",
        )
        require(
            bool(settings.bias_bounds),
            "TrainingWorkflow",
            "give bias_bounds (training.governance.bias_gate.bounds): a bias gate that "
            "bounds nothing would register every model",
        )
        require(
            all(d in ("min", "max") for _, d, _ in settings.bias_bounds),
            "TrainingWorkflow",
            "bias_bounds directions are 'min' or 'max'",
        )
        require(
            settings.risk_rating in ("High", "Medium", "Low", "Unknown"),
            "TrainingWorkflow",
            f"risk_rating {settings.risk_rating!r}: use High, Medium, Low or Unknown",
        )
        require(
            bool(settings.subnet_ids) and bool(settings.security_group_ids),
            "TrainingWorkflow",
            "jobs must run in the VPC: give subnet_ids and security_group_ids",
        )
        self.settings = settings
        self.definition = build_definition(settings)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        sm = f"{arn}:sagemaker:{stack.region}:{stack.account}"
        prefix = settings.name_prefix
        self.state_machine_name = f"{prefix}-training"

        parts = build_secure_state_machine(
            self,
            purpose="Training workflow",
            state_machine_name=self.state_machine_name,
            definition=self.definition,
            encryption_key=encryption_key,
            log_key=log_key,
            log_retention_days=log_retention_days,
            statements=[
                iam.PolicyStatement(
                    sid="RunJobs",
                    actions=[
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:DescribeTrainingJob",
                        "sagemaker:StopTrainingJob",
                        "sagemaker:AddTags",
                        "sagemaker:ListTags",
                    ],
                    resources=[f"{sm}:processing-job/{prefix}-*", f"{sm}:training-job/{prefix}-*"],
                ),
                iam.PolicyStatement(
                    sid="RegisterModels",
                    actions=["sagemaker:CreateModelPackage"],
                    resources=[
                        f"{sm}:model-package-group/{settings.model_package_group}",
                        f"{sm}:model-package/{settings.model_package_group}/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="EncryptModelCards",
                    actions=[
                        "kms:GenerateDataKey",
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:CreateGrant",
                    ],
                    resources=[settings.model_key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"sagemaker.{stack.region}.amazonaws.com"
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="Experiments",
                    actions=[
                        "sagemaker:DescribeExperiment",
                        "sagemaker:CreateExperiment",
                        "sagemaker:CreateTrial",
                        "sagemaker:DescribeTrial",
                        "sagemaker:AssociateTrialComponent",
                        "sagemaker:AddTags",
                    ],
                    resources=[
                        f"{sm}:experiment/{settings.experiment_name}",
                        f"{sm}:experiment-trial/{settings.model_package_group}-*",
                        # SageMaker names a job's component "<job name>-aws-<kind>-job"
                        f"{sm}:experiment-trial-component/{prefix}-*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="SyncJobEvents",
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[
                        f"{arn}:events:{stack.region}:{stack.account}:rule/"
                        "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
                        f"{arn}:events:{stack.region}:{stack.account}:rule/"
                        "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
                    ],
                ),
                iam.PolicyStatement(
                    sid="PassJobRole",
                    actions=["iam:PassRole"],
                    resources=[settings.job_role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="ReadRunArtifacts",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[
                        f"{raw_bucket_arn}/*",
                        f"{processed_bucket_arn}/runs/*",
                        f"{models_bucket_arn}/runs/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="DecryptRunArtifacts",
                    actions=["kms:Decrypt"],
                    resources=[k.key_arn for k in bucket_keys],
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
                iam.PolicyStatement(
                    sid="RecordLineage",
                    actions=["lambda:InvokeFunction"],
                    resources=[settings.lineage_function_arn],
                ),
            ],
        )
        self.log_group, self.policy = parts.log_group, parts.policy
        self.role, self.state_machine = parts.role, parts.state_machine

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn
