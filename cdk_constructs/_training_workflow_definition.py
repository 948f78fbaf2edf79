"""The training workflow's Amazon States Language, built as plain data.

No CDK imports: the construct renders this with CloudFormation tokens, and the tests
inspect it directly and run parts of it in moto's Step Functions executor.

Execution input (the pipeline's train stage passes it)::

    {
      "run_id": "a1b2c3",                      # [a-z0-9-]{1,32}, names every job of the run
      "commit": {"id", "repository", "branch", "author", "date", "message"},
      "raw_data": {"bucket": "...", "key": "credit/default.csv"},
      "code": {"bucket": "...", "prefix": "code/<commit>/"},   # credit_default/ + sourcedir.tar.gz
      "pipeline_execution_id": "..."
    }

States: FindExperiment (-> CreateExperiment the first time) -> CreateTrial -> RecordRawVersion
-> Preprocess
-> DescribeDatasets -> Train -> Evaluate -> ReadEvaluation -> QualityGate -> OverfitGate
-> ExplainAndBias -> ReadBiasReport -> BiasGate -> ModelCard -> ReadModelCard -> RegisterModel
(with the model card as the package's card) -> RecordLineage -> Succeeded. A gate that is not met
notifies the
operations topic and fails the run before anything is registered (NotifyGateFailed ->
QualityGateFailed, NotifyOverfitGateFailed -> OverfitGateFailed, NotifyBiasGateFailed ->
BiasGateFailed). Every job carries an ExperimentConfig: experiment = the model package
group, trial = the run. Every Task retries throttling and service errors with exponential
backoff and, on any other error, notifies and fails. docs/model-governance.md explains the
gates to a model-risk reader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cdk_constructs._asl import notify, retry

# Container 1 of the serving pipeline: ml/credit_default/preprocess.py writes the archive
# (code/serve_drop.py and its column layout) under runs/<run>/serving/.
SERVING_ARCHIVE = "model.tar.gz"
SERVING_PROGRAM = "serve_drop.py"
PROCESSING_SYNC = "arn:aws:states:::sagemaker:createProcessingJob.sync"
TRAINING_SYNC = "arn:aws:states:::sagemaker:createTrainingJob.sync"
S3_HEAD = "arn:aws:states:::aws-sdk:s3:headObject"
S3_GET = "arn:aws:states:::aws-sdk:s3:getObject"
CREATE_MODEL_PACKAGE = "arn:aws:states:::aws-sdk:sagemaker:createModelPackage"
DESCRIBE_EXPERIMENT = "arn:aws:states:::aws-sdk:sagemaker:describeExperiment"
CREATE_EXPERIMENT = "arn:aws:states:::aws-sdk:sagemaker:createExperiment"
CREATE_TRIAL = "arn:aws:states:::aws-sdk:sagemaker:createTrial"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"

# Transient failures worth retrying; a job that itself failed is not retried blindly.
RETRYABLE_ERRORS = [
    "ThrottlingException",
    "SageMaker.ThrottlingException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.SageMakerException",
    "SageMaker.InternalFailure",
    "SageMaker.ServiceUnavailable",
    "S3.SdkClientException",
    "S3.InternalError",
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Lambda.SdkClientException",
    "LineageTransientError",  # lambda/lineage_recorder: throttling/5xx, recording resumes
]

GATE_STATE = "QualityGate"
OVERFIT_GATE_STATE = "OverfitGate"
BIAS_GATE_STATE = "BiasGate"
FAILURE_NOTICE = "NotifyFailure"
WORKFLOW_FAILED = "TrainingFailed"


@dataclass(frozen=True)
class TrainingWorkflowSettings:
    """Names, ARNs and parameters of a :class:`TrainingWorkflow` (plain data)."""

    name_prefix: str
    job_role_arn: str
    subnet_ids: list[str]
    security_group_ids: list[str]
    data_key_arn: str
    model_key_arn: str
    processed_bucket: str
    models_bucket: str
    sklearn_image: str
    xgboost_image: str
    processing_instance_type: str
    training_instance_type: str
    max_runtime_seconds: int
    managed_spot: bool
    inter_container_encryption: bool
    hyperparameters: dict[str, str]
    gate_metric: str
    gate_threshold: float
    facet_column: str
    facet_values: list[str]
    notification_topic_arn: str
    model_package_group: str
    lineage_function_arn: str
    volume_size_gb: int = 30
    tags: dict[str, str] = field(default_factory=dict)
    # Governance (platform_config._governance; docs/model-governance.md).
    protected_attributes: list[str] = field(default_factory=lambda: ["SEX", "AGE", "MARRIAGE"])
    exclude_features: list[str] = field(default_factory=list)
    additional_facets: list[str] = field(default_factory=lambda: ["AGE_BAND", "MARRIAGE"])
    # (worst-value key of bias_report.json $.gate.worst, "min" | "max", bound)
    bias_bounds: list[tuple[str, str, float]] = field(
        default_factory=lambda: [("DI_min", "min", 0.8), ("DI_max", "max", 1.25)]
    )
    bias_arguments: list[str] = field(default_factory=list)  # bias.py's equal thresholds
    max_auc_gap: float = 0.05
    model_name: str = "credit-default"
    risk_rating: str = "High"
    intended_use: str = "Estimate the probability of default next month."
    decision_threshold: float = 0.5
    threshold_rationale: str = "The threshold the evaluation and bias reports use."

    @property
    def experiment_name(self) -> str:
        """SageMaker Experiments: one experiment per model, one trial per run."""
        return self.model_package_group

    @property
    def trial_name(self) -> str:
        return f"States.Format('{self.model_package_group}-{{}}', $.run_id)"


def _retry() -> list[dict]:
    return retry(RETRYABLE_ERRORS)


def _catch() -> list[dict]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_NOTICE}]


def _task(
    resource: str,
    parameters: dict,
    *,
    next_state: str | None,
    result_selector: dict | None,
    result_path: str | None,
    comment: str,
) -> dict:
    state: dict = {
        "Type": "Task",
        "Comment": comment,
        "Resource": resource,
        "Parameters": parameters,
        "Retry": _retry(),
        "Catch": _catch(),
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    state["ResultPath"] = result_path
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def _s3_input(
    name: str, uri_expression: str, local: str, *, literal: bool = False, content: str = "S3Prefix"
) -> dict:
    uri_key = "S3Uri" if literal else "S3Uri.$"
    return {
        "InputName": name,
        "S3Input": {
            uri_key: uri_expression,
            "LocalPath": f"/opt/ml/processing/input/{local}",
            "S3DataType": content,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _s3_output(name: str, bucket: str, suffix: str, local: str) -> dict:
    return {
        "OutputName": name,
        "S3Output": {
            "S3Uri.$": f"States.Format('s3://{bucket}/runs/{{}}/{suffix}/', $.run_id)",
            "LocalPath": f"/opt/ml/processing/{local}",
            "S3UploadMode": "EndOfJob",
        },
    }


def _tags(s: TrainingWorkflowSettings) -> list[dict]:
    tags = [
        {"Key": "ml-platform:run-id", "Value.$": "$.run_id"},
        {"Key": "ml-platform:commit", "Value.$": "$.commit.id"},
    ]
    return tags + [{"Key": k, "Value": v} for k, v in sorted(s.tags.items())]


def _network(s: TrainingWorkflowSettings) -> dict:
    return {"Subnets": list(s.subnet_ids), "SecurityGroupIds": list(s.security_group_ids)}


def _experiment(s: TrainingWorkflowSettings, step: str) -> dict:
    return {
        "ExperimentName": s.experiment_name,
        "TrialName.$": s.trial_name,
        "TrialComponentDisplayName": step,
    }


def _processing_job(
    s: TrainingWorkflowSettings,
    *,
    short: str,
    image: str,
    script: str,
    arguments: list[str],
    inputs: list[dict],
    outputs: list[dict],
    output_key: str,
) -> dict:
    return {
        "ProcessingJobName.$": f"States.Format('{s.name_prefix}-{short}-{{}}', $.run_id)",
        "RoleArn": s.job_role_arn,
        "AppSpecification": {
            "ImageUri": image,
            "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"],
            "ContainerArguments": arguments,
        },
        "ProcessingInputs": [
            _s3_input(
                "code",
                "States.Format('s3://{}/{}credit_default/', $.code.bucket, $.code.prefix)",
                "code",
            ),
            *inputs,
        ],
        "ProcessingOutputConfig": {"KmsKeyId": output_key, "Outputs": outputs},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": s.processing_instance_type,
                "VolumeSizeInGB": s.volume_size_gb,
                "VolumeKmsKeyId": s.data_key_arn,
            }
        },
        "NetworkConfig": {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": _network(s),
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": s.max_runtime_seconds},
        # display names allow letters, digits and hyphens only (model_card.py -> model-card)
        "ExperimentConfig": _experiment(s, script.removesuffix(".py").replace("_", "-")),
        "Tags": _tags(s),
    }


def _training_job(s: TrainingWorkflowSettings) -> dict:
    processed = s.processed_bucket
    hyperparameters = {k: str(v) for k, v in sorted(s.hyperparameters.items())}
    # Script mode without internet: the code arrives as an input channel and the toolkit
    # unpacks it from that local path (an S3 URI here would need network access).
    hyperparameters["sagemaker_program"] = json.dumps("train.py")
    hyperparameters["sagemaker_submit_directory"] = json.dumps(
        "/opt/ml/input/data/code/sourcedir.tar.gz"
    )

    def channel(name: str, uri: str, content_type: str | None, kind: str = "S3Prefix") -> dict:
        spec = {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": kind,
                    "S3Uri.$": uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
        }
        if content_type:
            spec["ContentType"] = content_type
        return spec

    stopping = {"MaxRuntimeInSeconds": s.max_runtime_seconds}
    job = {
        "TrainingJobName.$": f"States.Format('{s.name_prefix}-train-{{}}', $.run_id)",
        "RoleArn": s.job_role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": s.xgboost_image,
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "validation:auc", "Regex": "validation-auc:([0-9\\.]+)"}
            ],
        },
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            channel(
                "train", f"States.Format('s3://{processed}/runs/{{}}/train/', $.run_id)", "text/csv"
            ),
            channel(
                "validation",
                f"States.Format('s3://{processed}/runs/{{}}/validation/', $.run_id)",
                "text/csv",
            ),
            channel(
                "code",
                "States.Format('s3://{}/{}sourcedir.tar.gz', $.code.bucket, $.code.prefix)",
                None,
            ),
        ],
        "OutputDataConfig": {
            "KmsKeyId": s.model_key_arn,
            "S3OutputPath.$": f"States.Format('s3://{s.models_bucket}/runs/{{}}/model/', $.run_id)",
        },
        "ResourceConfig": {
            "InstanceCount": 1,
            "InstanceType": s.training_instance_type,
            "VolumeSizeInGB": s.volume_size_gb,
            "VolumeKmsKeyId": s.data_key_arn,
        },
        "VpcConfig": _network(s),
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": s.inter_container_encryption,
        "EnableManagedSpotTraining": s.managed_spot,
        "StoppingCondition": stopping,
        "ExperimentConfig": _experiment(s, "train"),
        "Tags": _tags(s),
    }
    if s.managed_spot:
        stopping["MaxWaitTimeInSeconds"] = s.max_runtime_seconds * 2
        job["CheckpointConfig"] = {
            "S3Uri.$": f"States.Format('s3://{s.models_bucket}/runs/{{}}/checkpoints/', $.run_id)"
        }
    return job


def _head(
    name: str,
    bucket: str,
    key_expr: str,
    *,
    bucket_from_input: bool = False,
    version_expr: str | None = None,
) -> dict:
    """One Parallel branch reading an object's version. `name` makes the state name unique:
    the States Language requires state names unique in the WHOLE machine, branches included
    (Step Functions and asl-validator reject DUPLICATE_STATE_NAMES). `version_expr` reads a
    version recorded earlier (the raw object's, before preprocessing) instead of the latest."""
    bucket_param = {"Bucket.$": bucket} if bucket_from_input else {"Bucket": bucket}
    if version_expr:
        bucket_param["VersionId.$"] = version_expr
    state = f"Head{name}"
    return {
        "StartAt": state,
        "States": {
            state: {
                "Type": "Task",
                "Resource": S3_HEAD,
                "Parameters": {**bucket_param, "Key.$": key_expr},
                "ResultSelector": {"version_id.$": "$.VersionId", "etag.$": "$.ETag"},
                "Retry": _retry(),
                "End": True,
            }
        },
    }


def _dataset_uri(bucket: str, name: str) -> str:
    return f"States.Format('s3://{bucket}/runs/{{}}/{name}/{name}.csv', $.run_id)"


def gate_condition(metric: str, threshold: float) -> dict:
    """The Choice rule: the metric exists, is a number, and meets the bar."""
    variable = f"$.evaluation.document.metrics.{metric}.value"
    return {
        "And": [
            {"Variable": variable, "IsPresent": True},
            {"Variable": variable, "IsNumeric": True},
            {"Variable": variable, "NumericGreaterThanEquals": threshold},
        ],
        "Next": OVERFIT_GATE_STATE,
    }


def gap_condition(max_gap: float) -> dict:
    """train AUC - validation AUC exists, is a number, and is at most ``max_gap``."""
    variable = "$.evaluation.document.metrics.auc_gap.value"
    return {
        "And": [
            {"Variable": variable, "IsPresent": True},
            {"Variable": variable, "IsNumeric": True},
            {"Variable": variable, "NumericLessThanEquals": max_gap},
        ],
        "Next": "ExplainAndBias",
    }


def bias_condition(bounds: list[tuple[str, str, float]]) -> dict:
    """The bias job's verdict with the configured thresholds (bias.py receives them as
    arguments): every gated metric of every facet group large enough to judge is defined
    and not beyond its bound with 95 % one-sided confidence (ml/README.md). The report must
    also cover every configured metric (``$.gate.worst.<metric>`` present), so a job that
    ignored a bound cannot pass."""
    rules: list[dict] = [
        {"Variable": "$.bias_report.document.gate.passed", "IsPresent": True},
        {"Variable": "$.bias_report.document.gate.passed", "IsBoolean": True},
        {"Variable": "$.bias_report.document.gate.passed", "BooleanEquals": True},
    ]
    rules += [
        {"Variable": f"$.bias_report.document.gate.worst.{metric}", "IsPresent": True}
        for metric, _, _ in bounds
    ]
    return {"And": rules, "Next": "ModelCard"}


def _gate_failure(
    states: dict,
    s: TrainingWorkflowSettings,
    *,
    notice: str,
    failed: str,
    subject: str,
    message: str,
    arguments: str,
    cause: str,
) -> None:
    """Notify operations of a gate that was not met, then fail: nothing is registered."""
    states[notice] = notify(
        topic=s.notification_topic_arn,
        subject=subject,
        message=f"States.Format('{message}', {arguments})",
        next_state=failed,
        retryable=RETRYABLE_ERRORS,
    )
    states[failed] = {"Type": "Fail", "Error": failed, "Cause": cause}


def build_definition(s: TrainingWorkflowSettings) -> dict:
    models, processed = s.models_bucket, s.processed_bucket
    hyperparameters = {k: str(v) for k, v in sorted(s.hyperparameters.items())}
    states: dict[str, dict] = {}

    states["FindExperiment"] = {
        "Type": "Task",
        "Comment": "SageMaker Experiments: the model's experiment exists?",
        "Resource": DESCRIBE_EXPERIMENT,
        "Parameters": {"ExperimentName": s.experiment_name},
        "ResultPath": None,
        "Retry": _retry(),
        "Catch": [
            {
                "ErrorEquals": ["SageMaker.ResourceNotFoundException"],
                "ResultPath": None,
                "Next": "CreateExperiment",
            },
            *_catch(),
        ],
        "Next": "CreateTrial",
    }
    states["CreateExperiment"] = _task(
        CREATE_EXPERIMENT,
        {
            "ExperimentName": s.experiment_name,
            "DisplayName": s.model_name,
            "Description": f"Training runs of {s.model_name}: compare runs by trial",
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(s.tags.items())],
        },
        next_state="CreateTrial",
        result_selector=None,
        result_path=None,
        comment="First run of this model: its experiment",
    )
    states["CreateTrial"] = _task(
        CREATE_TRIAL,
        {
            "TrialName.$": s.trial_name,
            "ExperimentName": s.experiment_name,
            "DisplayName.$": "States.Format('run {} commit {}', $.run_id, $.commit.id)",
            "Tags": _tags(s),
        },
        next_state="RecordRawVersion",
        result_selector={"arn.$": "$.TrialArn"},
        result_path="$.experiment",
        comment="One trial per run: every job of the run is one of its components",
    )

    # The raw object's version is recorded BEFORE preprocessing (issue #14 finding 5): read
    # after it, a concurrent overwrite would put the wrong version in the lineage. The
    # lineage recorder cross-checks it against the SHA-256 the preprocessing job read.
    states["RecordRawVersion"] = {
        "Type": "Task",
        "Comment": "The raw data version this run trains on",
        "Resource": S3_HEAD,
        "Parameters": {"Bucket.$": "$.raw_data.bucket", "Key.$": "$.raw_data.key"},
        "ResultSelector": {"version_id.$": "$.VersionId"},
        "ResultPath": "$.raw_version",
        "Retry": _retry(),
        "Catch": _catch(),
        "Next": "Preprocess",
    }
    states["Preprocess"] = _task(
        PROCESSING_SYNC,
        _processing_job(
            s,
            short="pre",
            image=s.sklearn_image,
            script="preprocess.py",
            arguments=[
                "--input",
                "/opt/ml/processing/input/data",
                "--output-dir",
                "/opt/ml/processing",
                "--seed",
                "42",
                "--protected-attributes",
                ",".join(s.protected_attributes),
                *(
                    ["--exclude-features", ",".join(s.exclude_features)]
                    if s.exclude_features
                    else []
                ),
            ],
            inputs=[
                _s3_input(
                    "data", "States.Format('s3://{}/{}', $.raw_data.bucket, $.raw_data.key)", "data"
                )
            ],
            # baseline/: headed, the served request layout (the data-quality baseline);
            # facets/: protected and pass-through columns, row-aligned with each split;
            # serving/: container 1 of the serving pipeline (serve_drop.py, its column layout).
            outputs=[
                _s3_output(n, processed, n, n)
                for n in ("train", "validation", "test", "baseline", "facets", "params", "serving")
            ],
            output_key=s.data_key_arn,
        ),
        next_state="DescribeDatasets",
        result_selector={"arn.$": "$.ProcessingJobArn"},
        result_path="$.jobs.preprocess",
        comment="Clean and split the raw data (stratified, seeded) in the VPC, KMS everywhere",
    )

    states["DescribeDatasets"] = {
        "Type": "Parallel",
        "Comment": "Record exact object versions for lineage",
        "Branches": [
            _head(
                "Raw",
                "$.raw_data.bucket",
                "$.raw_data.key",
                bucket_from_input=True,
                version_expr="$.raw_version.version_id",
            ),
            *(
                _head(
                    n.capitalize(), processed, f"States.Format('runs/{{}}/{n}/{n}.csv', $.run_id)"
                )
                for n in ("train", "validation", "test")
            ),
            {
                "StartAt": "ReadPreprocessInput",
                "States": {
                    "ReadPreprocessInput": {
                        "Type": "Task",
                        "Resource": S3_GET,
                        "Comment": "SHA-256 of what preprocessing read",
                        "Parameters": {
                            "Bucket": processed,
                            "Key.$": "States.Format("
                            "'runs/{}/params/preprocess_params.json', $.run_id)",
                        },
                        "ResultSelector": {"params.$": "States.StringToJson($.Body)"},
                        "Retry": _retry(),
                        "Next": "PreprocessInputSha256",
                    },
                    "PreprocessInputSha256": {
                        "Type": "Pass",
                        "Parameters": {"sha256.$": "$.params.input.sha256"},
                        "End": True,
                    },
                },
            },
        ],
        "ResultSelector": {
            "raw.$": "States.JsonMerge($[0], $[4], false)",
            "train.$": "$[1]",
            "validation.$": "$[2]",
            "test.$": "$[3]",
        },
        "ResultPath": "$.datasets",
        "Retry": _retry(),
        "Catch": _catch(),
        "Next": "Train",
    }

    states["Train"] = _task(
        TRAINING_SYNC,
        _training_job(s),
        next_state="Evaluate",
        result_selector={
            "arn.$": "$.TrainingJobArn",
            "model_data.$": "$.ModelArtifacts.S3ModelArtifacts",
        },
        result_path="$.jobs.train",
        comment="XGBoost in the VPC with network isolation and KMS volume and output keys",
    )

    states["Evaluate"] = _task(
        PROCESSING_SYNC,
        _processing_job(
            s,
            short="eval",
            image=s.xgboost_image,
            script="evaluate.py",
            arguments=[
                "--model",
                "/opt/ml/processing/input/model",
                "--test",
                "/opt/ml/processing/input/test",
                "--train",
                "/opt/ml/processing/input/train",
                "--validation",
                "/opt/ml/processing/input/validation",
                "--output-dir",
                "/opt/ml/processing/evaluation",
            ],
            inputs=[
                _s3_input("model", "$.jobs.train.model_data", "model", content="S3Prefix"),
                *(
                    _s3_input(n, f"States.Format('s3://{processed}/runs/{{}}/{n}/', $.run_id)", n)
                    for n in ("test", "train", "validation")
                ),
            ],
            outputs=[_s3_output("evaluation", models, "evaluation", "evaluation")],
            output_key=s.model_key_arn,
        ),
        next_state="ReadEvaluation",
        result_selector={"arn.$": "$.ProcessingJobArn"},
        result_path="$.jobs.evaluate",
        comment="Test-set metrics into evaluation.json",
    )

    states["ReadEvaluation"] = _task(
        S3_GET,
        {
            "Bucket": models,
            "Key.$": "States.Format('runs/{}/evaluation/evaluation.json', $.run_id)",
        },
        next_state=GATE_STATE,
        result_selector={"document.$": "States.StringToJson($.Body)"},
        result_path="$.evaluation",
        comment="Read the metrics for the quality gate",
    )

    states[GATE_STATE] = {
        "Type": "Choice",
        "Comment": f"Quality gate: {s.gate_metric} >= {s.gate_threshold}",
        "Choices": [gate_condition(s.gate_metric, s.gate_threshold)],
        "Default": "NotifyGateFailed",
    }
    metrics_args = "$.run_id, $.commit.id, States.JsonToString($.evaluation.document.metrics)"
    _gate_failure(
        states,
        s,
        notice="NotifyGateFailed",
        failed="QualityGateFailed",
        subject="Model below the quality bar: not registered",
        message=(
            f"Run {{}} (commit {{}}) did not reach the quality bar {s.gate_metric} >= "
            f"{s.gate_threshold}. Evaluation: {{}}"
        ),
        arguments=metrics_args,
        cause=f"{s.gate_metric} below {s.gate_threshold}: the model was not registered",
    )
    states[OVERFIT_GATE_STATE] = {
        "Type": "Choice",
        "Comment": f"Overfitting gate: train AUC - validation AUC <= {s.max_auc_gap}",
        "Choices": [gap_condition(s.max_auc_gap)],
        "Default": "NotifyOverfitGateFailed",
    }
    _gate_failure(
        states,
        s,
        notice="NotifyOverfitGateFailed",
        failed="OverfitGateFailed",
        subject="Model overfit (train/validation gap): not registered",
        message=(
            f"Run {{}} (commit {{}}): train AUC - validation AUC above {s.max_auc_gap} "
            "(or not reported); the test score alone does not register a model that "
            "memorised its training data. Evaluation: {}"
        ),
        arguments=metrics_args,
        cause=f"auc_gap above {s.max_auc_gap} or missing: the model was not registered",
    )

    explain = _processing_job(
        s,
        short="explain",
        image=s.xgboost_image,
        script="explain.py",
        arguments=[
            "--model",
            "/opt/ml/processing/input/model",
            "--data",
            "/opt/ml/processing/input/test",
            "--output-dir",
            "/opt/ml/processing/explainability",
        ],
        inputs=[
            _s3_input("model", "$.jobs.train.model_data", "model"),
            _s3_input(
                "test", f"States.Format('s3://{processed}/runs/{{}}/test/', $.run_id)", "test"
            ),
        ],
        outputs=[_s3_output("explainability", models, "explainability", "explainability")],
        output_key=s.model_key_arn,
    )
    bias = _processing_job(
        s,
        short="bias",
        image=s.sklearn_image,
        script="bias.py",
        arguments=[
            "--predictions",
            "/opt/ml/processing/input/predictions",
            "--pretraining-data",
            "/opt/ml/processing/input/train",
            "--pretraining-columns-from",
            "/opt/ml/processing/input/params/preprocess_params.json",
            "--pretraining-facets",
            "/opt/ml/processing/input/facets/train_facets.csv",
            "--output-dir",
            "/opt/ml/processing/bias",
            # One argument: several values are comma-separated (issue #14, finding 3).
            "--facet-column",
            s.facet_column,
            "--facet-values",
            ",".join(s.facet_values),
            *[a for spec in s.additional_facets for a in ("--facet", spec)],
            "--gate-metrics",
            ",".join(dict.fromkeys(m.split("_")[0] for m, _, _ in s.bias_bounds)),
            *s.bias_arguments,
        ],
        inputs=[
            _s3_input(
                "predictions",
                f"States.Format('s3://{models}/runs/{{}}/evaluation/predictions.csv', $.run_id)",
                "predictions",
            ),
            _s3_input(
                "train", f"States.Format('s3://{processed}/runs/{{}}/train/', $.run_id)", "train"
            ),
            _s3_input(
                "params", f"States.Format('s3://{processed}/runs/{{}}/params/', $.run_id)", "params"
            ),
            _s3_input(
                "facets", f"States.Format('s3://{processed}/runs/{{}}/facets/', $.run_id)", "facets"
            ),
        ],
        outputs=[_s3_output("bias", models, "bias", "bias")],
        output_key=s.model_key_arn,
    )

    def branch(name: str, job: dict, comment: str) -> dict:
        return {
            "StartAt": name,
            "States": {
                name: {
                    "Type": "Task",
                    "Comment": comment,
                    "Resource": PROCESSING_SYNC,
                    "Parameters": job,
                    "ResultSelector": {"arn.$": "$.ProcessingJobArn"},
                    "Retry": _retry(),
                    "End": True,
                }
            },
        }

    states["ExplainAndBias"] = {
        "Type": "Parallel",
        "Comment": "Explainability (SHAP) and bias reports",
        "Branches": [
            branch("Explain", explain, "SHAP global importance and decision reasons"),
            branch("Bias", bias, "Pre- and post-training bias metrics"),
        ],
        "ResultSelector": {"explain.$": "$[0]", "bias.$": "$[1]"},
        "ResultPath": "$.jobs.reports",
        "Retry": _retry(),
        "Catch": _catch(),
        "Next": "ReadBiasReport",
    }
    states["ReadBiasReport"] = _task(
        S3_GET,
        {"Bucket": models, "Key.$": "States.Format('runs/{}/bias/bias_report.json', $.run_id)"},
        next_state=BIAS_GATE_STATE,
        result_selector={"document.$": "States.StringToJson($.Body)"},
        result_path="$.bias_report",
        comment="Read the bias report for the bias gate",
    )
    bounds_text = ", ".join(f"{m} {'>=' if d == 'min' else '<='} {b}" for m, d, b in s.bias_bounds)
    states[BIAS_GATE_STATE] = {
        "Type": "Choice",
        "Comment": f"Bias gate (worst facet group): {bounds_text}",
        "Choices": [bias_condition(s.bias_bounds)],
        "Default": "NotifyBiasGateFailed",
    }
    _gate_failure(
        states,
        s,
        notice="NotifyBiasGateFailed",
        failed="BiasGateFailed",
        subject="Model outside the bias bounds: not registered",
        message=(
            f"Run {{}} (commit {{}}) is outside the bias bounds {bounds_text} for at least "
            "one facet group (or a metric is undefined). Worst values: {}"
        ),
        arguments="$.run_id, $.commit.id, States.JsonToString($.bias_report.document.gate)",
        cause="bias metrics outside their bounds: the model was not registered",
    )

    states["ModelCard"] = _task(
        PROCESSING_SYNC,
        _processing_job(
            s,
            short="card",
            image=s.sklearn_image,
            script="model_card.py",
            arguments=[
                "--evaluation",
                "/opt/ml/processing/input/evaluation",
                "--bias",
                "/opt/ml/processing/input/bias",
                "--explainability",
                "/opt/ml/processing/input/explainability",
                "--preprocess-params",
                "/opt/ml/processing/input/params",
                "--output-dir",
                "/opt/ml/processing/model_card",
                "--model-name",
                s.model_name,
                "--risk-rating",
                s.risk_rating,
                "--threshold",
                repr(s.decision_threshold),
                "--threshold-rationale",
                s.threshold_rationale,
                "--intended-use",
                s.intended_use,
                "--training-image",
                s.xgboost_image,
                "--gate",
                f"quality={s.gate_metric} >= {s.gate_threshold} on the test set",
                "--gate",
                f"overfitting=train AUC - validation AUC <= {s.max_auc_gap}",
                "--gate",
                "bias="
                + ", ".join(f"{m} {'>=' if d == 'min' else '<='} {b}" for m, d, b in s.bias_bounds)
                + " for every facet group (95 % confidence)",
            ],
            inputs=[
                *(
                    _s3_input(n, f"States.Format('s3://{models}/runs/{{}}/{n}/', $.run_id)", n)
                    for n in ("evaluation", "bias", "explainability")
                ),
                _s3_input(
                    "params",
                    f"States.Format('s3://{processed}/runs/{{}}/params/', $.run_id)",
                    "params",
                ),
            ],
            outputs=[_s3_output("model_card", models, "model_card", "model_card")],
            output_key=s.model_key_arn,
        ),
        next_state="ReadModelCard",
        result_selector={"arn.$": "$.ProcessingJobArn"},
        result_path="$.jobs.model_card",
        comment="Model card content: intended use, risk, data, evaluation, bias, explainability",
    )

    def report(suffix: str) -> dict:
        return {
            "ContentType": "application/json",
            "S3Uri.$": f"States.Format('s3://{models}/runs/{{}}/{suffix}', $.run_id)",
        }

    states["ReadModelCard"] = _task(
        S3_GET,
        {
            "Bucket": models,
            "Key.$": "States.Format('runs/{}/model_card/model_card_content.json', $.run_id)",
        },
        next_state="RegisterModel",
        result_selector={"content.$": "$.Body"},
        result_path="$.model_card",
        comment="The generated model card content (a JSON string)",
    )
    states["RegisterModel"] = _task(
        CREATE_MODEL_PACKAGE,
        {
            "ModelPackageGroupName": s.model_package_group,
            "ModelPackageDescription.$": "States.Format('Commit {} on {}, run {}', "
            "$.commit.id, $.commit.branch, $.run_id)",
            "ModelApprovalStatus": "PendingManualApproval",
            # The version's model card (model package card schema), encrypted with the model
            # key; the approver reads it with DescribeModelPackage.
            "ModelCard": {
                "ModelCardContent.$": "$.model_card.content",
                "ModelCardStatus": "PendingReview",
            },
            "SecurityConfig": {"KmsKeyId": s.model_key_arn},
            # A two-container inference pipeline (docs/production.md): the scikit-learn
            # container drops the protected attributes the request carries (so data capture
            # records the bias-drift facets), the XGBoost container scores the rest.
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": s.sklearn_image,
                        "ModelDataUrl.$": f"States.Format('s3://{processed}/runs/{{}}/"
                        f"serving/{SERVING_ARCHIVE}', $.run_id)",
                        "Environment": {
                            "SAGEMAKER_PROGRAM": SERVING_PROGRAM,
                            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                        },
                    },
                    {"Image": s.xgboost_image, "ModelDataUrl.$": "$.jobs.train.model_data"},
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelMetrics": {
                "ModelQuality": {"Statistics": report("evaluation/evaluation.json")},
                "Bias": {"Report": report("bias/bias_report.json")},
                "Explainability": {"Report": report("explainability/explainability.json")},
            },
            "MetadataProperties": {
                "CommitId.$": "$.commit.id",
                "Repository.$": "$.commit.repository",
                "GeneratedBy.$": "$$.Execution.Id",
            },
            "CustomerMetadataProperties": {
                "run_id.$": "$.run_id",
                "raw_data.$": "States.Format('s3://{}/{}', $.raw_data.bucket, $.raw_data.key)",
                "raw_data_version.$": "$.datasets.raw.version_id",
                "training_data.$": _dataset_uri(processed, "train"),
                "hyperparameters": json.dumps(hyperparameters, sort_keys=True),
                "execution_arn.$": "$$.Execution.Id",
                "pipeline_execution_id.$": "$.pipeline_execution_id",
                "experiment": s.experiment_name,
                "trial.$": s.trial_name,
            },
        },
        next_state="RecordLineage",
        result_selector={"arn.$": "$.ModelPackageArn"},
        result_path="$.model_package",
        comment="Register as PendingManualApproval with metrics, bias and explainability",
    )

    def dataset(name: str, uri: str) -> dict:
        fields = {
            "uri.$": uri,
            "version_id.$": f"$.datasets.{name}.version_id",
            "etag.$": f"$.datasets.{name}.etag",
        }
        if name == "raw":  # what preprocessing read, cross-checked with the recorded version
            fields["sha256.$"] = "$.datasets.raw.sha256"
        return fields

    states["RecordLineage"] = _task(
        LAMBDA_INVOKE,
        {
            "FunctionName": s.lineage_function_arn,
            "Payload": {
                "schema_version": "1",
                "commit.$": "$.commit",
                "datasets": {
                    "raw": dataset(
                        "raw", "States.Format('s3://{}/{}', $.raw_data.bucket, $.raw_data.key)"
                    ),
                    **{
                        n: dataset(n, _dataset_uri(processed, n))
                        for n in ("train", "validation", "test")
                    },
                },
                "processing_jobs": {
                    "preprocess.$": "$.jobs.preprocess.arn",
                    "evaluate.$": "$.jobs.evaluate.arn",
                    "explain.$": "$.jobs.reports.explain.arn",
                    "bias.$": "$.jobs.reports.bias.arn",
                },
                "training_job_arn.$": "$.jobs.train.arn",
                "hyperparameters": hyperparameters,
                "model_package_arn.$": "$.model_package.arn",
                "pipeline_execution_id.$": "$.pipeline_execution_id",
                "step_functions_execution_arn.$": "$$.Execution.Id",
            },
        },
        next_state="Succeeded",
        result_selector={"recorded.$": "$.Payload"},
        result_path="$.lineage",
        comment="Commit, data versions, jobs and model as lineage",
    )
    states["Succeeded"] = {"Type": "Succeed"}

    states[FAILURE_NOTICE] = notify(
        topic=s.notification_topic_arn,
        subject="Training workflow failed",
        message="States.Format('Run {} failed: {} {}', $.run_id, $.error.Error, $.error.Cause)",
        next_state=WORKFLOW_FAILED,
        retryable=RETRYABLE_ERRORS,
    )
    states[WORKFLOW_FAILED] = {
        "Type": "Fail",
        "Error": "TrainingWorkflowFailed",
        "Cause": "A step failed; the security and operations topic received the error",
    }
    return {
        "Comment": "Secure ML platform: commit-driven training with quality, overfitting "
        "and bias gates",
        "StartAt": "FindExperiment",
        "TimeoutSeconds": 6 * 3600 + 4 * s.max_runtime_seconds,
        "States": states,
    }


def task_states(definition: dict) -> dict[str, dict]:
    """Every Task state, including those inside Parallel branches."""
    found: dict[str, dict] = {}

    def walk(states: dict) -> None:
        for name, state in states.items():
            if state["Type"] == "Task":
                found[name] = state
            for branch in state.get("Branches", []):
                walk(branch["States"])

    walk(definition["States"])
    return found
