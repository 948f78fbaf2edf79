"""The scheduled model-quality check (whitepaper "Detecting model drift", batch transform).

States: FindApprovedPackage -> DescribePackage -> ReadValidationMetrics -> DescribeEndpoint
-> DescribeEndpointConfig -> Transform (batch transform of the labelled data set; the label
column is stripped by the transform's InputFilter and joined back to the score by
JoinSource/OutputFilter, so no preparation job is needed) -> ComputeMetrics (the
model_quality_metrics function: metrics against the ground truth, compared with the
validation metrics registered with the package, published as CloudWatch metrics)
-> Degraded? -> notify model risk (or, with too few labelled rows to decide, notify operations).
The ``<endpoint>-drift-model-quality`` alarm on the
published ``Degraded`` metric starts retraining through the same path as data drift.

Labelled data: ``s3://<monitoring bucket>/labelled/<endpoint>/labelled.csv``, no header,
label in the first column, then the served request layout (the protected attributes, then
the model features: the model is the two-container inference pipeline whose first container
drops the protected attributes, docs/production.md); ``InputFilter`` ``$[1:]`` sends exactly
that layout, and the pipeline answers one score, the last joined column.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._asl import SNS_PUBLISH, notify, retry
from cdk_constructs._state_machine import build_secure_state_machine, registry_and_endpoint_read
from cdk_constructs._validation import require

SM = "arn:aws:states:::aws-sdk:sagemaker:"
TRANSFORM_SYNC = "arn:aws:states:::sagemaker:createTransformJob.sync"
S3_GET = "arn:aws:states:::aws-sdk:s3:getObject"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
RETRYABLE_ERRORS = [
    "ThrottlingException",
    "SageMaker.ThrottlingException",
    "SageMaker.SageMakerException",
    "SageMaker.InternalFailure",
    "SageMaker.ServiceUnavailable",
    "S3.SdkClientException",
    "S3.InternalError",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Lambda.SdkClientException",
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
    "ModelQualityTransientError",  # lambda/model_quality_metrics: SlowDown, 5xx, cut-off bodies
]
FAILURE_NOTICE = "NotifyFailure"


@dataclass(frozen=True)
class ModelQualitySettings:
    """Names, ARNs and parameters of a :class:`ModelQualityWorkflow` (plain data)."""

    name_prefix: str
    endpoint_name: str
    model_package_group_arn: str
    model_package_group: str
    validation_metrics_bucket: str  # pipeline account's model-artifacts bucket
    monitoring_bucket: str
    monitoring_key_arn: str
    instance_type: str
    tolerances: dict[str, float]
    metrics_function_arn: str
    operations_topic_arn: str
    model_risk_topic_arn: str


def _retry() -> list[dict]:
    return retry(RETRYABLE_ERRORS)


def _task(
    resource: str,
    parameters: dict,
    *,
    next_state: str,
    result_path: str | None,
    result_selector: dict | None = None,
    comment: str = "",
) -> dict:
    state = {
        "Type": "Task",
        "Comment": comment,
        "Resource": resource,
        "Parameters": parameters,
        "Retry": _retry(),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_NOTICE}],
        "ResultPath": result_path,
        "Next": next_state,
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    return state


def build_model_quality_definition(s: ModelQualitySettings) -> dict:
    quality = f"s3://{s.monitoring_bucket}/quality/{s.endpoint_name}"
    states: dict[str, dict] = {
        "FindApprovedPackage": _task(
            SM + "listModelPackages",
            {
                "ModelPackageGroupName": s.model_package_group_arn,
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
            next_state="DescribePackage",
            result_path="$.approved",
            result_selector={"arn.$": "$.ModelPackageSummaryList[0].ModelPackageArn"},
            comment="The approved version: its registered validation metrics are the baseline",
        ),
        "DescribePackage": _task(
            SM + "describeModelPackage",
            {"ModelPackageName.$": "$.approved.arn"},
            next_state="ReadValidationMetrics",
            result_path="$.package",
            result_selector={"run_id.$": "$.CustomerMetadataProperties.run_id"},
        ),
        "ReadValidationMetrics": _task(
            S3_GET,
            {
                "Bucket": s.validation_metrics_bucket,
                "Key.$": "States.Format('runs/{}/evaluation/evaluation.json', $.package.run_id)",
            },
            next_state="DescribeEndpoint",
            result_path="$.baseline",
            result_selector={"document.$": "States.StringToJson($.Body)"},
        ),
        "DescribeEndpoint": _task(
            SM + "describeEndpoint",
            {"EndpointName": s.endpoint_name},
            next_state="DescribeEndpointConfig",
            result_path="$.endpoint",
            result_selector={"config.$": "$.EndpointConfigName"},
        ),
        "DescribeEndpointConfig": _task(
            SM + "describeEndpointConfig",
            {"EndpointConfigName.$": "$.endpoint.config"},
            next_state="Transform",
            result_path="$.serving",
            result_selector={"model.$": "$.ProductionVariants[0].ModelName"},
            comment="The model the endpoint serves now",
        ),
        "Transform": _task(
            TRANSFORM_SYNC,
            {
                "TransformJobName.$": f"States.Format('{s.name_prefix}-mq-{{}}', "
                "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0))",
                "ModelName.$": "$.serving.model",
                "TransformInput": {
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{s.monitoring_bucket}/labelled/"
                            f"{s.endpoint_name}/labelled.csv",
                        }
                    },
                },
                "TransformOutput": {
                    "S3OutputPath.$": f"States.Format('{quality}/{{}}/', $$.Execution.Name)",
                    "KmsKeyId": s.monitoring_key_arn,
                    "AssembleWith": "Line",
                    "Accept": "text/csv",
                },
                "TransformResources": {
                    "InstanceType": s.instance_type,
                    "InstanceCount": 1,
                    "VolumeKmsKeyId": s.monitoring_key_arn,
                },
                "DataProcessing": {
                    "InputFilter": "$[1:]",
                    "JoinSource": "Input",
                    "OutputFilter": "$[0,-1]",
                },
            },
            next_state="ComputeMetrics",
            result_path=None,
            comment="Score the labelled data without its labels (the model runs in the VPC "
            "with network isolation); output: label,score",
        ),
        "ComputeMetrics": _task(
            LAMBDA_INVOKE,
            {
                "FunctionName": s.metrics_function_arn,
                "Payload": {
                    "data_s3_uri.$": f"States.Format('{quality}/{{}}/labelled.csv.out', "
                    "$$.Execution.Name)",
                    "label_column": 0,
                    "score_column": 1,
                    "baseline_metrics.$": "$.baseline.document",
                    "tolerances": dict(sorted(s.tolerances.items())),
                    "model_package_group": s.model_package_group,
                    "endpoint_name": s.endpoint_name,
                    "model_package_arn.$": "$.approved.arn",
                },
            },
            next_state="CheckResult",
            result_path="$.quality",
            result_selector={"result.$": "$.Payload"},
            comment="Metrics vs ground truth, compared with the validation metrics",
        ),
        "CheckResult": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.quality.result.status",
                    "StringEquals": "INVALID_INPUT",
                    "Next": "InvalidInput",
                },
                {
                    "Variable": "$.quality.result.degraded",
                    "BooleanEquals": True,
                    "Next": "NotifyDegraded",
                },
                # The evidence rule (docs/model-quality.md): too few labelled rows decide nothing;
                # operations are told to collect more outcomes, no alarm is raised.
                {
                    "And": [
                        {"Variable": "$.quality.result.evidence.sufficient", "IsPresent": True},
                        {
                            "Variable": "$.quality.result.evidence.sufficient",
                            "BooleanEquals": False,
                        },
                    ],
                    "Next": "NotifyInsufficientEvidence",
                },
            ],
            "Default": "QualityOk",
        },
        "NotifyInsufficientEvidence": {
            "Type": "Task",
            "Resource": SNS_PUBLISH,
            "Parameters": {
                "TopicArn": s.operations_topic_arn,
                "Subject": (
                    f"Model-quality check undecided: too few labelled rows ({s.endpoint_name})"
                ),
                "Message.$": "States.Format('The model-quality check decided nothing: {}. "
                "Collect more labelled outcomes. Evidence: {}', "
                "$.quality.result.evidence.reason, "
                "States.JsonToString($.quality.result.evidence))",
            },
            "ResultPath": None,
            "Retry": _retry(),
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_NOTICE}
            ],
            "Next": "QualityUndecided",
        },
        "QualityUndecided": {
            "Type": "Succeed",
            "Comment": "Not enough evidence to decide; operations notified",
        },
        "InvalidInput": {
            "Type": "Pass",
            "Parameters": {
                "Error": "InvalidInput",
                "Cause.$": "States.JsonToString($.quality.result.error)",
            },
            "ResultPath": "$.error",
            "Next": FAILURE_NOTICE,
        },
        "NotifyDegraded": {
            "Type": "Task",
            "Resource": SNS_PUBLISH,
            "Parameters": {
                "TopicArn": s.model_risk_topic_arn,
                "Subject": f"Model quality below tolerance: {s.endpoint_name}",
                "Message.$": "States.Format('Metrics {} breached their tolerance. Comparison: "
                "{}. The model-quality alarm starts retraining.', "
                "States.JsonToString($.quality.result.breached_metrics), "
                "States.JsonToString($.quality.result.comparison))",
            },
            "ResultPath": None,
            "Retry": _retry(),
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_NOTICE}
            ],
            "Next": "QualityDegraded",
        },
        "QualityDegraded": {"Type": "Succeed", "Comment": "Reported; retraining via alarm"},
        "QualityOk": {"Type": "Succeed"},
        FAILURE_NOTICE: notify(
            topic=s.operations_topic_arn,
            subject=f"Model-quality check failed: {s.endpoint_name}",
            message="States.Format('The model-quality check failed: {} {}', "
            "$.error.Error, $.error.Cause)",
            next_state="CheckFailed",
            retryable=RETRYABLE_ERRORS,
        ),
        "CheckFailed": {
            "Type": "Fail",
            "Error": "ModelQualityCheckFailed",
            "Cause": "A step failed; the operations topic has the error",
        },
    }
    return {
        "Comment": "Secure ML platform: scheduled model-quality check",
        "StartAt": "FindApprovedPackage",
        "TimeoutSeconds": 4 * 3600,
        "States": states,
    }


class ModelQualityWorkflow(Construct):
    """Encrypted, logged (ALL) and traced; one customer-managed policy.

    Refused: settings without any tolerance.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: ModelQualitySettings,
        state_machine_name: str,
        encryption_key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
        topic_key: kms.IKey,
        validation_metrics_key_alias_arn_pattern: str,
        validation_metrics_key_aliases: list[str],
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(bool(settings.tolerances), "ModelQualityWorkflow", "give at least one tolerance")
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        sm = f"{arn}:sagemaker:{stack.region}:{stack.account}"
        self.definition = build_model_quality_definition(settings)
        parts = build_secure_state_machine(
            self,
            purpose="Model-quality workflow",
            state_machine_name=state_machine_name,
            definition=self.definition,
            encryption_key=encryption_key,
            log_key=log_key,
            log_retention_days=log_retention_days,
            role_name=role_name,
            statements=[
                *registry_and_endpoint_read(
                    sm,
                    model_package_group_arn=settings.model_package_group_arn,
                    endpoint_name=settings.endpoint_name,
                    name_prefix=settings.name_prefix,
                ),
                iam.PolicyStatement(
                    sid="RunTransform",
                    actions=[
                        "sagemaker:CreateTransformJob",
                        "sagemaker:DescribeTransformJob",
                        "sagemaker:StopTransformJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[f"{sm}:transform-job/{settings.name_prefix}-mq-*"],
                ),
                iam.PolicyStatement(
                    sid="SyncJobEvents",
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[
                        f"{arn}:events:{stack.region}:{stack.account}:rule/"
                        "StepFunctionsGetEventsForSageMakerTransformJobsRule"
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadValidationMetrics",
                    actions=["s3:GetObject"],
                    resources=[f"{arn}:s3:::{settings.validation_metrics_bucket}/runs/*"],
                ),
                iam.PolicyStatement(
                    sid="DecryptValidationMetrics",
                    actions=["kms:Decrypt"],
                    resources=[validation_metrics_key_alias_arn_pattern],
                    conditions={
                        "ForAnyValue:StringEquals": {
                            "kms:ResourceAliases": validation_metrics_key_aliases
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="ComputeMetrics",
                    actions=["lambda:InvokeFunction"],
                    resources=[settings.metrics_function_arn],
                ),
                iam.PolicyStatement(
                    sid="Notify",
                    actions=["sns:Publish"],
                    resources=[settings.operations_topic_arn, settings.model_risk_topic_arn],
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
        self.state_machine_name = state_machine_name
