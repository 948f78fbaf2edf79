"""Champion/challenger QA (issue 6, pipeline stage QA between pre-production and approval).

States: FindApprovedPackages (latest two Approved versions) -> HasChampion? (none: the first
model has no champion; report and pass) -> DescribeEndpoint/DescribeEndpointConfig (the
candidate is what pre-production serves after DeployPreProd) -> CreateChampionModel (the
previous Approved version: VPC, network isolation) -> both batch transforms on the held-out
historical set in parallel (KMS) -> metrics of the champion -> metrics of the candidate
compared with the champion's, with ``margin`` as the tolerance -> worse by more than the
margin: notify model risk WITH the figures and fail (the pipeline stops) / otherwise notify
the figures and succeed.

Held-out set: ``s3://<monitoring bucket>/holdout/<endpoint>/holdout.csv`` (no header, label
first).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._asl import notify, retry
from cdk_constructs._model_quality_workflow import (
    LAMBDA_INVOKE,
    RETRYABLE_ERRORS,
    SM,
    TRANSFORM_SYNC,
)
from cdk_constructs._state_machine import build_secure_state_machine, registry_and_endpoint_read
from cdk_constructs._validation import require

FAILURE_NOTICE = "NotifyFailure"


@dataclass(frozen=True)
class ChampionChallengerSettings:
    """Names, ARNs and parameters of a :class:`ChampionChallengerWorkflow` (plain data)."""

    name_prefix: str
    endpoint_name: str
    model_package_group_arn: str
    model_package_group: str
    execution_role_arn: str
    subnet_ids: list[str]
    security_group_ids: list[str]
    monitoring_bucket: str
    monitoring_key_arn: str
    instance_type: str
    margin: float
    metrics_function_arn: str
    model_risk_topic_arn: str


def _retry() -> list[dict]:
    return retry(RETRYABLE_ERRORS)


def _catch() -> list[dict]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_NOTICE}]


def _task(
    resource: str,
    parameters: dict,
    next_state: str,
    result_path: str | None,
    result_selector: dict | None = None,
) -> dict:
    state = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": parameters,
        "Retry": _retry(),
        "Catch": _catch(),
        "ResultPath": result_path,
        "Next": next_state,
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    return state


def _notify(topic: str, subject: str, message: str, next_state: str) -> dict:
    return notify(
        topic=topic,
        subject=subject,
        message=message,
        next_state=next_state,
        retryable=RETRYABLE_ERRORS,
    )


def build_champion_challenger_definition(s: ChampionChallengerSettings) -> dict:
    out = f"s3://{s.monitoring_bucket}/quality/{s.endpoint_name}"
    holdout = f"s3://{s.monitoring_bucket}/holdout/{s.endpoint_name}/holdout.csv"

    def transform(who: str, model_path: str) -> dict:
        return {
            "StartAt": f"Transform{who}",
            "States": {
                f"Transform{who}": {
                    "Type": "Task",
                    "Resource": TRANSFORM_SYNC,
                    "Retry": _retry(),
                    "End": True,
                    "ResultPath": None,
                    "Parameters": {
                        "TransformJobName.$": (
                            f"States.Format('{s.name_prefix}-qa{who[:2].lower()}-{{}}', $.qa_id)"
                        ),
                        "ModelName.$": model_path,
                        "TransformInput": {
                            "ContentType": "text/csv",
                            "SplitType": "Line",
                            "DataSource": {
                                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": holdout}
                            },
                        },
                        "TransformOutput": {
                            "S3OutputPath.$": (
                                f"States.Format('{out}/qa-{{}}/{who.lower()}/', $.qa_id)"
                            ),
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
                }
            },
        }

    def metrics(who: str, baseline: dict, tolerance: float, next_state: str) -> dict:
        return _task(
            LAMBDA_INVOKE,
            {
                "FunctionName": s.metrics_function_arn,
                "Payload": {
                    "data_s3_uri.$": (
                        f"States.Format('{out}/qa-{{}}/{who.lower()}/holdout.csv.out', $.qa_id)"
                    ),
                    "label_column": 0,
                    "score_column": 1,
                    **baseline,
                    "default_tolerance": tolerance,
                    "model_package_group": s.model_package_group,
                    # Not the endpoint's own dimension: a rejected challenger must not look like
                    # degraded production quality (that alarm starts a retraining).
                    "endpoint_name": qa_metrics_dimension(s.endpoint_name, who),
                },
            },
            next_state,
            f"$.{who.lower()}",
            {"result.$": "$.Payload"},
        )

    states = {
        "Prepare": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0)"
            },
            "ResultPath": "$.prepared",
            "Next": "SetId",
        },
        "SetId": {
            "Type": "Pass",
            "InputPath": "$.prepared.id",
            "ResultPath": "$.qa_id",
            "Next": "FindApprovedPackages",
        },
        "FindApprovedPackages": _task(
            SM + "listModelPackages",
            {
                "ModelPackageGroupName": s.model_package_group_arn,
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 2,
            },
            "HasChampion",
            "$.packages",
            {"list.$": "$.ModelPackageSummaryList"},
        ),
        "HasChampion": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.packages.list[1]", "IsPresent": True, "Next": "DescribeEndpoint"}
            ],
            "Default": "NotifyNoChampion",
        },
        "NotifyNoChampion": _notify(
            s.model_risk_topic_arn,
            "QA: no champion to compare with",
            "States.Format('The candidate on {} is the first approved "
            "model: no champion/challenger comparison.', "
            f"'{s.endpoint_name}')",
            "Passed",
        ),
        "DescribeEndpoint": _task(
            SM + "describeEndpoint",
            {"EndpointName": s.endpoint_name},
            "DescribeEndpointConfig",
            "$.endpoint",
            {"config.$": "$.EndpointConfigName"},
        ),
        "DescribeEndpointConfig": _task(
            SM + "describeEndpointConfig",
            {"EndpointConfigName.$": "$.endpoint.config"},
            "CreateChampionModel",
            "$.candidate_model",
            {"name.$": "$.ProductionVariants[0].ModelName"},
        ),
        "CreateChampionModel": _task(
            SM + "createModel",
            {
                "ModelName.$": f"States.Format('{s.name_prefix}-champ-{{}}', $.qa_id)",
                "PrimaryContainer": {"ModelPackageName.$": "$.packages.list[1].ModelPackageArn"},
                "ExecutionRoleArn": s.execution_role_arn,
                "VpcConfig": {
                    "Subnets": list(s.subnet_ids),
                    "SecurityGroupIds": list(s.security_group_ids),
                },
                "EnableNetworkIsolation": True,
            },
            "BackTest",
            "$.champion_model",
            {"name.$": "States.ArrayGetItem(States.StringSplit($.ModelArn, '/'), 1)"},
        ),
        "BackTest": {
            "Type": "Parallel",
            "Comment": "Batch transform of the held-out set",
            "Branches": [
                transform("Champion", "$.champion_model.name"),
                transform("Candidate", "$.candidate_model.name"),
            ],
            "ResultPath": None,
            "Retry": _retry(),
            "Catch": _catch(),
            "Next": "ChampionMetrics",
        },
        "ChampionMetrics": metrics(
            "Champion", {"baseline_metrics": {"auc": 0.0}}, 1.0, "CandidateMetrics"
        ),
        "CandidateMetrics": metrics(
            "Candidate", {"baseline_metrics.$": "$.champion.result.metrics"}, s.margin, "Compare"
        ),
        "Compare": {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": "$.champion.result.status", "StringEquals": "INVALID_INPUT"},
                        {"Variable": "$.candidate.result.status", "StringEquals": "INVALID_INPUT"},
                    ],
                    "Next": "InvalidInput",
                },
                {
                    "Variable": "$.candidate.result.degraded",
                    "BooleanEquals": True,
                    "Next": "NotifyWorse",
                },
            ],
            "Default": "NotifyPassed",
        },
        "InvalidInput": {
            "Type": "Pass",
            "Result": {
                "Error": "InvalidHoldoutData",
                "Cause": "the metrics function rejected the data",
            },
            "ResultPath": "$.error",
            "Next": FAILURE_NOTICE,
        },
        "NotifyWorse": _notify(
            s.model_risk_topic_arn,
            "QA failed: candidate worse than production",
            "States.Format('The candidate is worse than the champion by more than "
            f"{s.margin} on {{}}. Candidate vs champion: {{}}. The pipeline stopped.', "
            "States.JsonToString($.candidate.result.breached_metrics), "
            "States.JsonToString($.candidate.result.comparison))",
            "CandidateWorse",
        ),
        "CandidateWorse": {
            "Type": "Fail",
            "Error": "CandidateWorseThanChampion",
            "Cause": "The candidate is worse than the production model by "
            "more than the configured margin",
        },
        "NotifyPassed": _notify(
            s.model_risk_topic_arn,
            "QA passed: candidate vs champion",
            "States.Format('Candidate vs champion on the held-out set: {}', "
            "States.JsonToString($.candidate.result.comparison))",
            "Passed",
        ),
        "Passed": {"Type": "Succeed"},
        FAILURE_NOTICE: _notify(
            s.model_risk_topic_arn,
            "QA could not run",
            "States.Format('The champion/challenger QA failed: {} {}', "
            "$.error.Error, $.error.Cause)",
            "QaFailed",
        ),
        "QaFailed": {"Type": "Fail", "Error": "QaFailed", "Cause": "A QA step failed"},
    }
    return {
        "Comment": "Secure ML platform: champion/challenger back-test",
        "StartAt": "Prepare",
        "TimeoutSeconds": 4 * 3600,
        "States": states,
    }


def qa_metrics_dimension(endpoint_name: str, who: str) -> str:
    """The ``Endpoint`` metric dimension of a back-test's metrics: ``<endpoint>-qa-<who>``,
    never the endpoint's own, on which the model-quality alarm watches ``Degraded``."""
    return f"{endpoint_name}-qa-{who.lower()}"


class ChampionChallengerWorkflow(Construct):
    """Encrypted, logged (ALL) and traced; one customer-managed policy.

    Refused: a ``settings.margin`` outside 0..1.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: ChampionChallengerSettings,
        state_machine_name: str,
        encryption_key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
        topic_key: kms.IKey,
    ) -> None:
        super().__init__(scope, id)
        require(0 <= settings.margin <= 1, "ChampionChallengerWorkflow", "margin must be 0..1")
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        sm = f"{arn}:sagemaker:{stack.region}:{stack.account}"
        p = settings.name_prefix
        self.definition = build_champion_challenger_definition(settings)
        parts = build_secure_state_machine(
            self,
            purpose="Champion/challenger QA",
            state_machine_name=state_machine_name,
            definition=self.definition,
            encryption_key=encryption_key,
            log_key=log_key,
            log_retention_days=log_retention_days,
            statements=[
                *registry_and_endpoint_read(
                    sm,
                    model_package_group_arn=settings.model_package_group_arn,
                    endpoint_name=settings.endpoint_name,
                    name_prefix=settings.name_prefix,
                ),
                iam.PolicyStatement(
                    sid="ChampionModelAndTransforms",
                    actions=[
                        "sagemaker:CreateModel",
                        "sagemaker:CreateTransformJob",
                        "sagemaker:DescribeTransformJob",
                        "sagemaker:StopTransformJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[f"{sm}:model/{p}-*", f"{sm}:transform-job/{p}-qa*"],
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
                    sid="PassExecutionRole",
                    actions=["iam:PassRole"],
                    resources=[settings.execution_role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="ComputeMetrics",
                    actions=["lambda:InvokeFunction"],
                    resources=[settings.metrics_function_arn],
                ),
                iam.PolicyStatement(
                    sid="Notify", actions=["sns:Publish"], resources=[settings.model_risk_topic_arn]
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
