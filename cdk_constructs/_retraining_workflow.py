"""Retraining entry point: a drift episode (or a schedule) re-runs the governed pipeline.

The retrain trigger function starts this workflow once per episode. Retraining goes through
the whole pipeline (tests, training, quality gate, registry, model-risk approval, guarded
deployment) rather than straight into the training workflow: a drifted model is replaced
only by a model that was approved like any other.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._asl import SNS_PUBLISH, notify, retry
from cdk_constructs._state_machine import build_secure_state_machine
from cdk_constructs._validation import require

START_PIPELINE = "arn:aws:states:::aws-sdk:codepipeline:startPipelineExecution"
RETRYABLE_ERRORS = [
    "ThrottlingException",
    "CodePipeline.ThrottlingException",
    "CodePipeline.CodePipelineException",
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
]


def _retry() -> list[dict]:
    return retry(RETRYABLE_ERRORS)


def build_retraining_definition(*, pipeline_name: str, topic_arn: str) -> dict:
    """Input: the retrain trigger's ``{reason, modelPackageGroup, endpointName, episode,
    trigger}``. The execution name (deterministic per episode) is the pipeline's
    ClientRequestToken, so a repeated start does not start the pipeline twice."""
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    return {
        "Comment": "Secure ML platform: retraining through the governed pipeline",
        "StartAt": "StartPipeline",
        "TimeoutSeconds": 3600,
        "States": {
            "StartPipeline": {
                "Type": "Task",
                "Resource": START_PIPELINE,
                "Comment": "Re-run the pipeline (latest code and data); idempotent per episode",
                "Parameters": {"Name": pipeline_name, "ClientRequestToken.$": "$$.Execution.Name"},
                "ResultSelector": {"id.$": "$.PipelineExecutionId"},
                "ResultPath": "$.pipeline",
                "Retry": _retry(),
                "Catch": catch,
                "Next": "NotifyModelRisk",
            },
            "NotifyModelRisk": {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Comment": "Tell model risk why retraining started",
                "Parameters": {
                    "TopicArn": topic_arn,
                    "Subject": "Retraining started",
                    "Message.$": "States.Format('Retraining of {} started ({}), pipeline "
                    "execution {}. Trigger: {}. The new model will wait for your "
                    "approval in the model registry.', $.modelPackageGroup, "
                    "$.reason, $.pipeline.id, States.JsonToString($.trigger))",
                },
                "ResultPath": None,
                "Retry": _retry(),
                "Catch": catch,
                "Next": "Started",
            },
            "Started": {"Type": "Succeed"},
            "NotifyFailure": notify(
                topic=topic_arn,
                subject="Retraining failed to start",
                message="States.Format('Retraining did not start: {} {}', "
                "$.error.Error, $.error.Cause)",
                next_state="RetrainingFailed",
                retryable=RETRYABLE_ERRORS,
            ),
            "RetrainingFailed": {
                "Type": "Fail",
                "Error": "RetrainingFailed",
                "Cause": "The pipeline could not be started",
            },
        },
    }


class RetrainingWorkflow(Construct):
    """Encrypted with a customer key, logs ALL events to a KMS log group, traced; one
    customer-managed policy that may start only the one pipeline and notify one topic.

    Refused: an empty ``pipeline_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        state_machine_name: str,
        pipeline_name: str,
        topic_arn: str,
        topic_key: kms.IKey,
        encryption_key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        require(bool(pipeline_name), "RetrainingWorkflow", "pipeline_name is required")
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        self.definition = build_retraining_definition(
            pipeline_name=pipeline_name, topic_arn=topic_arn
        )
        parts = build_secure_state_machine(
            self,
            purpose="Retraining workflow",
            state_machine_name=state_machine_name,
            definition=self.definition,
            encryption_key=encryption_key,
            log_key=log_key,
            log_retention_days=log_retention_days,
            statements=[
                iam.PolicyStatement(
                    sid="StartPipeline",
                    actions=["codepipeline:StartPipelineExecution"],
                    resources=[
                        f"{arn}:codepipeline:{stack.region}:{stack.account}:{pipeline_name}"
                    ],
                ),
                iam.PolicyStatement(sid="Notify", actions=["sns:Publish"], resources=[topic_arn]),
                iam.PolicyStatement(
                    sid="NotifyEncrypted",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[topic_key.key_arn],
                ),
            ],
        )
        self.log_group, self.policy = parts.log_group, parts.policy
        self.role, self.state_machine = parts.role, parts.state_machine
        self.state_machine_name = state_machine_name
