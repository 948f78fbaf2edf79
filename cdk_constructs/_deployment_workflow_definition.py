"""The deployment workflow's Amazon States Language, built as plain data (no CDK imports).

Execution input (the pipeline's deploy stages pass it)::

    {
      "model_package_arn": "arn:aws:sagemaker:...:model-package/<group>/<version>",
      # or, from the pipeline: the group, whose latest Approved version is deployed
      "model_package_group_arn": "arn:aws:sagemaker:...:model-package-group/<group>",
      "run_id": "b12-0123456789ab",            # [a-z0-9-]{1,32}, names what the run creates
      "baseline_data_uri": "s3://.../train/"   # training data for the data-quality baseline
    }

States: Prepare -> CreateModel -> CreateEndpointConfig -> DescribeEndpoint (Catch: missing
-> CreateEndpoint) -> UpdateEndpoint (blue/green guardrails, auto-rollback on the endpoint's
alarms) -> wait loop until InService -> Baseline (Model Monitor analyzer on the training
data) -> CreateJobDefinition -> monitoring schedule (create, or update when it exists)
-> feature-attribution baseline -> bias-drift baseline (the run's, copied to the monitor's
prefix) -> ClarifyMonitors (bias drift and feature attribution drift schedules on the stable
CloudFormation job definitions, once their baselines exist) -> Succeeded. Every Task retries
throttling and service errors; any other error notifies
and fails. A failed update is rolled back by SageMaker: the previous fleet keeps serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdk_constructs._asl import notify, retry

SM = "arn:aws:states:::aws-sdk:sagemaker:"
CREATE_MODEL = SM + "createModel"
LIST_MODEL_PACKAGES = SM + "listModelPackages"
CREATE_ENDPOINT_CONFIG = SM + "createEndpointConfig"
DESCRIBE_ENDPOINT = SM + "describeEndpoint"
CREATE_ENDPOINT = SM + "createEndpoint"
UPDATE_ENDPOINT = SM + "updateEndpoint"
PROCESSING_SYNC = "arn:aws:states:::sagemaker:createProcessingJob.sync"
CREATE_DQ_JOB_DEFINITION = SM + "createDataQualityJobDefinition"
CREATE_MQ_JOB_DEFINITION = SM + "createModelQualityJobDefinition"
CREATE_SCHEDULE = SM + "createMonitoringSchedule"
UPDATE_SCHEDULE = SM + "updateMonitoringSchedule"
S3_HEAD = "arn:aws:states:::aws-sdk:s3:headObject"
S3_GET = "arn:aws:states:::aws-sdk:s3:getObject"
S3_PUT = "arn:aws:states:::aws-sdk:s3:putObject"
# HeadObject of a missing key: HeadObject responses have no error body, so the SDK
# integration may report the 404 as the generic S3Exception (a 403 too: both mean "no usable
# baseline" and are reported to operations, never silently skipped).
NO_SUCH_KEY = ["S3.NoSuchKeyException", "S3.NoSuchKey", "S3.NotFoundException", "S3.S3Exception"]

RETRYABLE_ERRORS = [
    "ThrottlingException",
    "SageMaker.ThrottlingException",
    "SageMaker.SageMakerException",
    "SageMaker.InternalFailure",
    "SageMaker.ServiceUnavailable",
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
]
MISSING = ["SageMaker.ResourceNotFoundException", "SageMaker.ValidationException"]
EXISTS = ["SageMaker.ResourceInUseException"]

BIAS_BASELINE = "BiasBaseline"
BIAS_CONFIG_FILE = "analysis_config.json"  # ml/credit_default/bias_monitor.py
BIAS_CONSTRAINTS_FILE = "analysis.json"
FAILURE_NOTICE = "NotifyFailure"
WORKFLOW_FAILED = "DeploymentFailed"


@dataclass(frozen=True)
class DeploymentWorkflowSettings:
    """Names, ARNs and parameters of a :class:`DeploymentWorkflow` (plain data)."""

    name_prefix: str  # e.g. "mlp-prod"
    endpoint_name: str  # deterministic: alarms exist before the endpoint
    execution_role_arn: str  # the endpoint's (and monitoring jobs') SageMaker role
    subnet_ids: list[str]
    security_group_ids: list[str]
    endpoint_key_arn: str  # endpoint storage and data capture
    monitoring_key_arn: str  # monitoring outputs and volumes
    capture_bucket: str
    monitoring_bucket: str
    instance_type: str
    instance_count: int
    capture_sampling_percent: int
    rollback_alarm_names: list[str]
    traffic_routing: str  # CANARY | LINEAR
    canary_percent: int
    wait_seconds: int
    termination_wait_seconds: int
    monitor_image: str
    monitoring_schedule: str
    notification_topic_arn: str
    processing_instance_type: str = "ml.m5.large"
    # Where labelled outcomes arrive (s3://...): enables the model-quality schedule.
    ground_truth_s3_uri: str | None = None
    model_quality_schedule: str = "cron(0 1 ? * * *)"  # daily: labels lag predictions
    # SageMaker Clarify monitors (cdk_constructs/_model_bias_monitor.py and
    # _model_explainability_monitor.py): (state name stem, job definition name, monitoring
    # type, S3 key of the analysis config in the monitoring bucket).
    clarify_monitors: list[tuple[str, str, str, str]] = field(default_factory=list)
    clarify_schedule: str = "cron(0 2 ? * * *)"
    clarify_image: str = ""  # sagemaker-clarify-processing, for the explainability baseline
    shap_samples: int = 100
    # The bias-drift baseline (analysis config and constraints) the training run's bias step
    # writes under runs/<run_id>/bias/monitor/ of this bucket (the pipeline account's model
    # artifacts); a processing job running as the endpoint role (which reads the pipeline's
    # runs/ already) puts it under the bias monitor's stable baseline prefix.
    run_artifacts_bucket: str = ""
    copy_image: str = ""  # sagemaker-scikit-learn (has cp), for that copy job
    max_wait_iterations: int = 120  # x 60 s: two hours for an endpoint to be InService
    volume_size_gb: int = 30
    tags: dict[str, str] = field(default_factory=dict)


def _retry() -> list[dict]:
    return retry(RETRYABLE_ERRORS)


def _catch(*first: dict) -> list[dict]:
    return [
        *first,
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_NOTICE},
    ]


def _task(
    resource: str,
    parameters: dict,
    *,
    next_state: str,
    result_path: str | None,
    comment: str,
    result_selector: dict | None = None,
    catch: list[dict] | None = None,
) -> dict:
    state: dict = {
        "Type": "Task",
        "Comment": comment,
        "Resource": resource,
        "Parameters": parameters,
        "Retry": _retry(),
        "Catch": catch if catch is not None else _catch(),
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    state["ResultPath"] = result_path
    state["Next"] = next_state
    return state


def _name(s: DeploymentWorkflowSettings, short: str) -> str:
    return f"States.Format('{s.name_prefix}-{short}-{{}}', $.deployment_id)"


def _tags(s: DeploymentWorkflowSettings) -> list[dict]:
    return [{"Key": "ml-platform:run-id", "Value.$": "$.run_id"}] + [
        {"Key": k, "Value": v} for k, v in sorted(s.tags.items())
    ]


def _network(s: DeploymentWorkflowSettings) -> dict:
    return {"Subnets": list(s.subnet_ids), "SecurityGroupIds": list(s.security_group_ids)}


def deployment_config(s: DeploymentWorkflowSettings) -> dict:
    """Blue/green with traffic shifting; SageMaker rolls back when any alarm fires."""
    step = {"Type": "CAPACITY_PERCENT", "Value": s.canary_percent}
    routing: dict = {"Type": s.traffic_routing, "WaitIntervalInSeconds": s.wait_seconds}
    routing["CanarySize" if s.traffic_routing == "CANARY" else "LinearStepSize"] = step
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": s.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": max(
                600, 3 * s.wait_seconds + s.termination_wait_seconds + 1800
            ),
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": name} for name in s.rollback_alarm_names]
        },
    }


def _monitoring_schedule_config(s: DeploymentWorkflowSettings) -> dict:
    return {
        "MonitoringScheduleName": f"{s.endpoint_name}-data-quality",
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": s.monitoring_schedule},
            "MonitoringJobDefinitionName.$": _name(s, "dq"),
            "MonitoringType": "DataQuality",
        },
    }


def build_definition(s: DeploymentWorkflowSettings) -> dict:
    states: dict[str, dict] = {}
    baseline_prefix = f"s3://{s.monitoring_bucket}/baselines/{s.endpoint_name}"

    states["PackageGiven"] = {
        "Type": "Choice",
        "Comment": "The pipeline passes the group: deploy its latest "
        "approved version (the model-risk approval just given)",
        "Choices": [{"Variable": "$.model_package_arn", "IsPresent": True, "Next": "Prepare"}],
        "Default": "FindApprovedPackage",
    }
    states["FindApprovedPackage"] = _task(
        LIST_MODEL_PACKAGES,
        {
            "ModelPackageGroupName.$": "$.model_package_group_arn",
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        },
        next_state="ApprovedPackageFound",
        result_path="$.approved",
        comment="Latest Approved version of the model package group",
    )
    states["ApprovedPackageFound"] = {
        "Type": "Choice",
        "Choices": [
            {
                "Variable": "$.approved.ModelPackageSummaryList[0]",
                "IsPresent": True,
                "Next": "UseApprovedPackage",
            }
        ],
        "Default": "NoApprovedPackage",
    }
    states["UseApprovedPackage"] = {
        "Type": "Pass",
        "InputPath": "$.approved.ModelPackageSummaryList[0].ModelPackageArn",
        "ResultPath": "$.model_package_arn",
        "Next": "Prepare",
    }
    states["NoApprovedPackage"] = {
        "Type": "Pass",
        "Result": {
            "Error": "NoApprovedPackage",
            "Cause": "the model package group has no Approved version",
        },
        "ResultPath": "$.error",
        "Next": FAILURE_NOTICE,
    }
    states["Prepare"] = {
        "Type": "Pass",
        "Comment": "One id per deployment names the model, config and jobs",
        "Parameters": {
            "id.$": "States.Format('{}-{}', $.run_id, States.ArrayGetItem("
            "States.StringSplit(States.UUID(), '-'), 0))"
        },
        "ResultPath": "$.prepared",
        "Next": "SetDeploymentId",
    }
    states["SetDeploymentId"] = {
        "Type": "Pass",
        "InputPath": "$.prepared.id",
        "ResultPath": "$.deployment_id",
        "Next": "SetConfigName",
    }
    # The expected config name, for the status Choice (StringEqualsPath needs a path).
    states["SetConfigName"] = {
        "Type": "Pass",
        "Parameters": {"name.$": _name(s, "ec")},
        "ResultPath": "$.expected",
        "Next": "StoreConfigName",
    }
    states["StoreConfigName"] = {
        "Type": "Pass",
        "InputPath": "$.expected.name",
        "ResultPath": "$.endpoint_config_name",
        "Next": "CreateModel",
    }

    states["CreateModel"] = _task(
        CREATE_MODEL,
        {
            "ModelName.$": _name(s, "m"),
            "PrimaryContainer": {"ModelPackageName.$": "$.model_package_arn"},
            "ExecutionRoleArn": s.execution_role_arn,
            "VpcConfig": _network(s),
            "EnableNetworkIsolation": True,
            "Tags": _tags(s),
        },
        next_state="CreateEndpointConfig",
        result_path="$.model",
        result_selector={"arn.$": "$.ModelArn"},
        comment="Model from the approved package: VPC, network isolation, its own role",
    )

    states["CreateEndpointConfig"] = _task(
        CREATE_ENDPOINT_CONFIG,
        {
            "EndpointConfigName.$": _name(s, "ec"),
            "KmsKeyId": s.endpoint_key_arn,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName.$": _name(s, "m"),
                    "InstanceType": s.instance_type,
                    "InitialInstanceCount": s.instance_count,
                    "InitialVariantWeight": 1,
                }
            ],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": s.capture_sampling_percent,
                "DestinationS3Uri": f"s3://{s.capture_bucket}/{s.endpoint_name}",
                "KmsKeyId": s.monitoring_key_arn,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
            },
            "Tags": _tags(s),
        },
        next_state="DescribeEndpoint",
        result_path="$.endpoint_config",
        result_selector={"arn.$": "$.EndpointConfigArn"},
        comment="KMS storage; capture requests and responses to the capture bucket (KMS)",
    )

    states["DescribeEndpoint"] = _task(
        DESCRIBE_ENDPOINT,
        {"EndpointName": s.endpoint_name},
        next_state="UpdateEndpoint",
        result_path="$.existing",
        result_selector={"status.$": "$.EndpointStatus"},
        catch=_catch(
            {"ErrorEquals": MISSING, "ResultPath": "$.existing", "Next": "CreateEndpoint"}
        ),
        comment="Create or update: a missing endpoint is created, an existing one updated",
    )

    states["CreateEndpoint"] = _task(
        CREATE_ENDPOINT,
        {
            "EndpointName": s.endpoint_name,
            "EndpointConfigName.$": _name(s, "ec"),
            "DeploymentConfig": {
                "AutoRollbackConfiguration": deployment_config(s)["AutoRollbackConfiguration"]
            },
            "Tags": _tags(s),
        },
        next_state="InitWait",
        result_path=None,
        comment="First deployment of the endpoint",
    )

    states["UpdateEndpoint"] = _task(
        UPDATE_ENDPOINT,
        {
            "EndpointName": s.endpoint_name,
            "EndpointConfigName.$": _name(s, "ec"),
            "DeploymentConfig": deployment_config(s),
            "RetainDeploymentConfig": False,
        },
        next_state="InitWait",
        result_path=None,
        comment="Blue/green guardrails: shift traffic, roll back automatically on the alarms",
    )

    states["InitWait"] = {
        "Type": "Pass",
        "Result": 0,
        "ResultPath": "$.wait_count",
        "Next": "WaitForEndpoint",
    }
    states["WaitForEndpoint"] = {"Type": "Wait", "Seconds": 60, "Next": "CheckEndpoint"}
    states["CheckEndpoint"] = _task(
        DESCRIBE_ENDPOINT,
        {"EndpointName": s.endpoint_name},
        next_state="CountWait",
        result_path="$.endpoint",
        result_selector={"status.$": "$.EndpointStatus", "config.$": "$.EndpointConfigName"},
        comment="Poll the endpoint status",
    )
    states["CountWait"] = {
        "Type": "Pass",
        "Parameters": {"n.$": "States.MathAdd($.wait_count, 1)"},
        "ResultPath": "$.counter",
        "Next": "StoreCount",
    }
    states["StoreCount"] = {
        "Type": "Pass",
        "InputPath": "$.counter.n",
        "ResultPath": "$.wait_count",
        "Next": "EndpointStatus",
    }
    states["EndpointStatus"] = {
        "Type": "Choice",
        "Comment": "InService with the new config: continue",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.endpoint.status", "StringEquals": "InService"},
                    {"Variable": "$.endpoint.config", "StringEqualsPath": "$.endpoint_config_name"},
                ],
                "Next": "Baseline",
            },
            {"Variable": "$.endpoint.status", "StringEquals": "InService", "Next": "RolledBack"},
            {"Variable": "$.endpoint.status", "StringEquals": "Failed", "Next": "EndpointFailed"},
            {
                "Variable": "$.wait_count",
                "NumericGreaterThanEquals": s.max_wait_iterations,
                "Next": "WaitTimedOut",
            },
        ],
        "Default": "WaitForEndpoint",
    }
    for name, cause in (
        (
            "RolledBack",
            "the endpoint is InService with its previous configuration: the "
            "guardrails rolled the deployment back (an alarm fired)",
        ),
        ("EndpointFailed", "the endpoint is Failed"),
        ("WaitTimedOut", "the endpoint did not reach InService in time"),
    ):
        states[name] = {
            "Type": "Pass",
            "Result": {"Error": name, "Cause": cause},
            "ResultPath": "$.error",
            "Next": FAILURE_NOTICE,
        }

    states["Baseline"] = _task(
        PROCESSING_SYNC,
        {
            "ProcessingJobName.$": _name(s, "base"),
            "RoleArn": s.execution_role_arn,
            "AppSpecification": {"ImageUri": s.monitor_image},
            "Environment": {
                "dataset_format": '{"csv": {"header": true, "output_columns_position": "START"}}',
                "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                "output_path": "/opt/ml/processing/output",
                "publish_cloudwatch_metrics": "Disabled",
            },
            "ProcessingInputs": [
                {
                    "InputName": "baseline_dataset_input",
                    "S3Input": {
                        "S3Uri.$": "$.baseline_data_uri",
                        "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": s.monitoring_key_arn,
                "Outputs": [
                    {
                        "OutputName": "monitoring_output",
                        "S3Output": {
                            "S3Uri.$": f"States.Format('{baseline_prefix}/{{}}/', $.deployment_id)",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": s.processing_instance_type,
                    "VolumeSizeInGB": s.volume_size_gb,
                    "VolumeKmsKeyId": s.monitoring_key_arn,
                }
            },
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": _network(s),
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Tags": _tags(s),
        },
        next_state="CreateJobDefinition",
        result_path="$.baseline",
        result_selector={"arn.$": "$.ProcessingJobArn"},
        comment="Data-quality baseline: statistics and constraints of the training data",
    )

    resources = {
        "ClusterConfig": {
            "InstanceCount": 1,
            "InstanceType": s.processing_instance_type,
            "VolumeSizeInGB": s.volume_size_gb,
            "VolumeKmsKeyId": s.monitoring_key_arn,
        }
    }
    states["CreateJobDefinition"] = _task(
        CREATE_DQ_JOB_DEFINITION,
        {
            "JobDefinitionName.$": _name(s, "dq"),
            "DataQualityAppSpecification": {"ImageUri": s.monitor_image},
            "DataQualityBaselineConfig": {
                "ConstraintsResource": {
                    "S3Uri.$": f"States.Format('{baseline_prefix}/{{}}/"
                    "constraints.json', $.deployment_id)"
                },
                "StatisticsResource": {
                    "S3Uri.$": f"States.Format('{baseline_prefix}/{{}}/"
                    "statistics.json', $.deployment_id)"
                },
            },
            "DataQualityJobInput": {
                "EndpointInput": {
                    "EndpointName": s.endpoint_name,
                    "LocalPath": "/opt/ml/processing/input/endpoint",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "DataQualityJobOutputConfig": {
                "KmsKeyId": s.monitoring_key_arn,
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": f"s3://{s.monitoring_bucket}/reports/{s.endpoint_name}",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        }
                    }
                ],
            },
            "JobResources": resources,
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": _network(s),
            },
            "RoleArn": s.execution_role_arn,
            "StoppingCondition": {"MaxRuntimeInSeconds": 3300},
            "Tags": _tags(s),
        },
        next_state="CreateSchedule",
        result_path=None,
        comment="Data-quality job definition: VPC, network isolation, KMS output and volume",
    )

    schedule = _monitoring_schedule_config(s)
    explainability = [m for m in s.clarify_monitors if m[2] == "ModelExplainability"]
    bias = [m for m in s.clarify_monitors if m[2] == "ModelBias"]
    after_explainability = BIAS_BASELINE if bias else "ClarifyMonitors"
    after_monitors = (
        ("ReadBaselineStatistics" if explainability else after_explainability)
        if s.clarify_monitors
        else "Succeeded"
    )
    after_data_quality = (
        "CreateModelQualityJobDefinition" if s.ground_truth_s3_uri else after_monitors
    )
    states["CreateSchedule"] = _task(
        CREATE_SCHEDULE,
        {**schedule, "Tags": _tags(s)},
        next_state=after_data_quality,
        result_path=None,
        catch=_catch(
            {"ErrorEquals": EXISTS, "ResultPath": "$.schedule_exists", "Next": "UpdateSchedule"}
        ),
        comment=f"Data-quality monitoring on {s.monitoring_schedule}",
    )
    states["UpdateSchedule"] = _task(
        UPDATE_SCHEDULE,
        schedule,
        next_state=after_data_quality,
        result_path=None,
        comment="The schedule exists: point it at the new baseline",
    )
    if s.ground_truth_s3_uri:
        states.update(_model_quality_states(s, resources, after_monitors))
    if explainability:
        states.update(
            _explainability_baseline_states(
                s, explainability[0][3], resources, after_explainability
            )
        )
    if bias:
        states.update(_bias_baseline_states(s, bias[0][3], resources))
    if s.clarify_monitors:
        states.update(_clarify_states(s))
    states["Succeeded"] = {"Type": "Succeed"}

    states[FAILURE_NOTICE] = notify(
        topic=s.notification_topic_arn,
        subject=f"Deployment to {s.endpoint_name} failed",
        message="States.Format('Deployment of run {} failed: {} {}. The "
        "previous endpoint configuration keeps serving.', "
        "$.run_id, $.error.Error, $.error.Cause)",
        next_state=WORKFLOW_FAILED,
        retryable=RETRYABLE_ERRORS,
    )
    states[WORKFLOW_FAILED] = {
        "Type": "Fail",
        "Error": "DeploymentFailed",
        "Cause": "A step failed; the operations topic has the error",
    }
    return {
        "Comment": "Secure ML platform: deploy an approved model with guardrails and monitoring",
        "StartAt": "PackageGiven",
        "TimeoutSeconds": 6 * 3600,
        "States": states,
    }


def _model_quality_schedule_config(s: DeploymentWorkflowSettings) -> dict:
    return {
        "MonitoringScheduleName": f"{s.endpoint_name}-model-quality",
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": s.model_quality_schedule},
            "MonitoringJobDefinitionName.$": _name(s, "mq"),
            "MonitoringType": "ModelQuality",
        },
    }


def _bias_baseline_states(
    s: DeploymentWorkflowSettings, config_key: str, resources: dict
) -> dict[str, dict]:
    """The bias-drift baseline from the training run: the run's bias step wrote the monitor's
    analysis config (the served request layout, facets, favourable outcome) and constraints
    (the registration gate's bounds) under ``runs/<run_id>/bias/monitor/`` of the pipeline's
    model-artifacts bucket. A network-isolated processing job, as the endpoint role (which
    already reads the pipeline's ``runs/``), copies both files to the bias monitor's stable
    prefix, encrypted with the monitoring key; the schedule is then created like the
    feature-attribution one. A failure does not fail the live deployment: operations are
    told, and the monitor keeps its previous baseline (or stays unscheduled)."""
    folder = config_key.rsplit("/", 1)[0]
    source = "/opt/ml/processing/input/monitor"
    states: dict[str, dict] = {}
    states[BIAS_BASELINE] = _task(
        PROCESSING_SYNC,
        {
            "ProcessingJobName.$": _name(s, "bias"),
            "RoleArn": s.execution_role_arn,
            "AppSpecification": {
                "ImageUri": s.copy_image,
                # Both files or none: cp fails (and the job, before any upload) if one is
                # missing.
                "ContainerEntrypoint": [
                    "cp",
                    f"{source}/{BIAS_CONFIG_FILE}",
                    f"{source}/{BIAS_CONSTRAINTS_FILE}",
                    "/opt/ml/processing/output/",
                ],
            },
            "ProcessingInputs": [
                {
                    "InputName": "monitor",
                    "S3Input": {
                        "S3Uri.$": f"States.Format('s3://{s.run_artifacts_bucket}/runs/{{}}/"
                        "bias/monitor/', $.run_id)",
                        "LocalPath": source,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": s.monitoring_key_arn,
                "Outputs": [
                    {
                        "OutputName": "bias_baseline",
                        "S3Output": {
                            "S3Uri": f"s3://{s.monitoring_bucket}/{folder}",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": resources,
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": _network(s),
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 900},
            "Tags": _tags(s),
        },
        next_state="ClarifyMonitors",
        result_path="$.bias_baseline",
        result_selector={"arn.$": "$.ProcessingJobArn"},
        catch=[
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": "NotifyBiasBaselineFailed",
            }
        ],
        comment="Bias-drift baseline of the training run to the monitor's stable prefix",
    )
    states["NotifyBiasBaselineFailed"] = notify(
        topic=s.notification_topic_arn,
        subject=f"{s.endpoint_name}: bias-drift baseline failed",
        message="States.Format('Run {} is deployed and serving, but its bias-drift "
        "baseline (runs/{}/bias/monitor/) could not be put in place: {} {}. The monitor "
        "keeps its previous baseline (or stays unscheduled).', $.run_id, $.run_id, "
        "$.error.Error, $.error.Cause)",
        next_state="ClarifyMonitors",
        retryable=RETRYABLE_ERRORS,
    )
    return states


def _explainability_baseline_states(
    s: DeploymentWorkflowSettings,
    config_key: str,
    resources: dict,
    after: str = "ClarifyMonitors",
) -> dict[str, dict]:
    """The feature-attribution baseline from the training run: the run's data-quality
    statistics (just computed from its headed, features-only baseline dataset) give the
    feature names and their means (the SHAP reference row); the monitor's analysis config
    names the deployed model; a Clarify job computes the baseline attributions of the
    training data (analysis.json) beside it. The monitor's config is written last, only when
    the baseline exists. A failure here does not fail the deployment (the endpoint is live):
    operations are told and the monitor keeps its previous baseline, or stays unscheduled."""
    folder = config_key.rsplit("/", 1)[0]
    baselining_key = f"{folder}/baselining/analysis_config.json"
    shap = {
        "num_samples": s.shap_samples,
        "agg_method": "mean_abs",
        "use_logit": False,
        "save_local_shap_values": False,
        "baseline.$": "States.Array($.statistics.document.features[*].numerical_statistics.mean)",
    }
    predictor = {
        "model_name.$": _name(s, "m"),
        "instance_type": s.processing_instance_type,
        "initial_instance_count": 1,
        "content_type": "text/csv",
        "accept_type": "text/csv",
        "endpoint_name_prefix": "sm-clarify",
    }
    states: dict[str, dict] = {}
    states["ReadBaselineStatistics"] = _task(
        S3_GET,
        {
            "Bucket": s.monitoring_bucket,
            "Key.$": f"States.Format('baselines/{s.endpoint_name}/{{}}/statistics.json', "
            "$.deployment_id)",
        },
        next_state="ExplainabilityAnalysisConfig",
        result_path="$.statistics",
        result_selector={"document.$": "States.StringToJson($.Body)"},
        comment="The run's feature statistics (data-quality baseline)",
    )
    states["ExplainabilityAnalysisConfig"] = {
        "Type": "Pass",
        "Comment": "Clarify analysis configs: monitor (headers: captured rows "
        "have none) and baselining (the dataset has a header row)",
        "Parameters": {
            "monitor": {
                "version": "1.0",
                "dataset_type": "text/csv",
                "headers.$": "$.statistics.document.features[*].name",
                "methods": {"shap": shap},
                "predictor": predictor,
            },
            "baselining": {
                "version": "1.0",
                "dataset_type": "text/csv",
                "methods": {"shap": shap},
                "predictor": predictor,
            },
        },
        "ResultPath": "$.explainability_config",
        "Next": "WriteBaseliningConfig",
    }
    to_notice = [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.error",
            "Next": "NotifyExplainabilityBaselineFailed",
        }
    ]
    for state, key, part, following in (
        ("WriteBaseliningConfig", baselining_key, "baselining", "ExplainabilityBaseline"),
        ("WriteExplainabilityConfig", config_key, "monitor", after),
    ):
        states[state] = _task(
            S3_PUT,
            {
                "Bucket": s.monitoring_bucket,
                "Key": key,
                "ContentType": "application/json",
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": s.monitoring_key_arn,
                "Body.$": f"States.JsonToString($.explainability_config.{part})",
            },
            next_state=following,
            result_path=None,
            catch=to_notice,
            comment=f"Write the {part} analysis config",
        )
    states["ExplainabilityBaseline"] = _task(
        PROCESSING_SYNC,
        {
            "ProcessingJobName.$": _name(s, "xai"),
            "RoleArn": s.execution_role_arn,
            "AppSpecification": {"ImageUri": s.clarify_image},
            "ProcessingInputs": [
                {
                    "InputName": "analysis_config",
                    "S3Input": {
                        "S3Uri": f"s3://{s.monitoring_bucket}/{baselining_key}",
                        "LocalPath": "/opt/ml/processing/input/config",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                },
                {
                    "InputName": "dataset",
                    "S3Input": {
                        "S3Uri.$": "$.baseline_data_uri",
                        "LocalPath": "/opt/ml/processing/input/data",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                },
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": s.monitoring_key_arn,
                "Outputs": [
                    {
                        "OutputName": "analysis_result",
                        "S3Output": {
                            "S3Uri": f"s3://{s.monitoring_bucket}/{folder}",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": resources,
            # SHAP calls a shadow endpoint: in the VPC, not network-isolated (_clarify_monitor.py)
            "NetworkConfig": {
                "EnableNetworkIsolation": False,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": _network(s),
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Tags": _tags(s),
        },
        next_state="WriteExplainabilityConfig",
        result_path="$.explainability_baseline",
        result_selector={"arn.$": "$.ProcessingJobArn"},
        catch=to_notice,
        comment="Baseline attributions of the training data (analysis.json)",
    )
    states["ReadBaselineStatistics"]["Catch"] = to_notice
    states["NotifyExplainabilityBaselineFailed"] = notify(
        topic=s.notification_topic_arn,
        subject=f"{s.endpoint_name}: feature-attribution baseline failed",
        message="States.Format('Run {} is deployed and serving, but its "
        "feature-attribution baseline failed: {} {}. The monitor keeps its previous baseline "
        "(or stays unscheduled).', $.run_id, $.error.Error, $.error.Cause)",
        next_state=after,
        retryable=RETRYABLE_ERRORS,
    )
    return states


def _clarify_states(s: DeploymentWorkflowSettings) -> dict[str, dict]:
    """One Parallel branch per Clarify monitor: the schedule is created once the monitor's
    baseline (analysis config) exists under the monitoring bucket; the CloudFormation job
    definition is stable, so an existing schedule needs no update. A missing baseline is
    reported to operations (the monitor cannot run without it), not a failed deployment."""
    branches = []
    for stem, job_definition, monitoring_type, config_key in s.clarify_monitors:
        schedule = {
            "MonitoringScheduleName": job_definition,
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": s.clarify_schedule},
                "MonitoringJobDefinitionName": job_definition,
                "MonitoringType": monitoring_type,
            },
        }
        branches.append(
            {
                "StartAt": f"{stem}BaselinePresent",
                "States": {
                    f"{stem}BaselinePresent": {
                        "Type": "Task",
                        "Resource": S3_HEAD,
                        "Parameters": {"Bucket": s.monitoring_bucket, "Key": config_key},
                        "ResultPath": None,
                        "Retry": _retry(),
                        "Catch": [
                            {
                                "ErrorEquals": NO_SUCH_KEY,
                                "ResultPath": None,
                                "Next": f"{stem}BaselineMissing",
                            }
                        ],
                        "Next": f"Create{stem}Schedule",
                    },
                    f"Create{stem}Schedule": {
                        "Type": "Task",
                        "Resource": CREATE_SCHEDULE,
                        "Parameters": {**schedule, "Tags": _tags(s)},
                        "Retry": _retry(),
                        "ResultSelector": {"status": "scheduled"},
                        "Catch": [
                            {
                                "ErrorEquals": EXISTS,
                                "ResultPath": None,
                                "Next": f"{stem}ScheduleExists",
                            }
                        ],
                        "End": True,
                    },
                    f"{stem}ScheduleExists": {
                        "Type": "Pass",
                        "Result": {"status": "scheduled"},
                        "End": True,
                    },
                    f"{stem}BaselineMissing": {
                        "Type": "Pass",
                        "End": True,
                        "Result": {
                            "status": "baseline-missing",
                            "monitor": job_definition,
                            "expected": f"s3://{s.monitoring_bucket}/{config_key}",
                        },
                    },
                },
            }
        )
    return {
        "ClarifyMonitors": {
            "Type": "Parallel",
            "Comment": "Bias drift and feature attribution drift schedules",
            "Branches": branches,
            "ResultPath": "$.clarify",
            "ResultSelector": {
                f"{stem}.$": f"$[{i}].status"
                for i, (stem, _, _, _) in enumerate(s.clarify_monitors)
            },
            "Retry": _retry(),
            "Catch": _catch(),
            "Next": "ClarifyBaselinesPresent",
        },
        "ClarifyBaselinesPresent": {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": f"$.clarify.{stem}", "StringEquals": "baseline-missing"}
                        for stem, _, _, _ in s.clarify_monitors
                    ],
                    "Next": "NotifyClarifyBaselineMissing",
                }
            ],
            "Default": "Succeeded",
        },
        "NotifyClarifyBaselineMissing": notify(
            topic=s.notification_topic_arn,
            subject=f"{s.endpoint_name}: a Clarify monitor has no baseline yet",
            message="States.Format('Run {} is deployed, but a SageMaker Clarify "
            "monitor has no baseline (analysis_config.json under s3://"
            f"{s.monitoring_bucket}/baselines/{s.endpoint_name}/) and was not "
            "scheduled: {}', $.run_id, States.JsonToString($.clarify))",
            next_state="Succeeded",
            retryable=RETRYABLE_ERRORS,
        ),
    }


def _model_quality_states(
    s: DeploymentWorkflowSettings, resources: dict, after: str = "Succeeded"
) -> dict[str, dict]:
    """Where ground truth is configured: Model Monitor merges the captured predictions with
    the labels that arrive under ``ground_truth_s3_uri`` and computes binary-classification
    quality daily, for predictions one to two days old (labels lag predictions)."""
    states: dict[str, dict] = {}
    states["CreateModelQualityJobDefinition"] = _task(
        CREATE_MQ_JOB_DEFINITION,
        {
            "JobDefinitionName.$": _name(s, "mq"),
            "ModelQualityAppSpecification": {
                "ImageUri": s.monitor_image,
                "ProblemType": "BinaryClassification",
            },
            "ModelQualityJobInput": {
                "EndpointInput": {
                    "EndpointName": s.endpoint_name,
                    "LocalPath": "/opt/ml/processing/input/endpoint",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                    # The XGBoost endpoint answers one probability per CSV row.
                    "ProbabilityAttribute": "0",
                    "ProbabilityThresholdAttribute": 0.5,
                    "StartTimeOffset": "-P2D",
                    "EndTimeOffset": "-P1D",
                },
                "GroundTruthS3Input": {"S3Uri": s.ground_truth_s3_uri},
            },
            "ModelQualityJobOutputConfig": {
                "KmsKeyId": s.monitoring_key_arn,
                "MonitoringOutputs": [
                    {
                        # under reports/<endpoint>/, the only reports prefix the endpoint role
                        # may write
                        "S3Output": {
                            "S3Uri": f"s3://{s.monitoring_bucket}/reports/{s.endpoint_name}"
                            "/model-quality",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        }
                    }
                ],
            },
            "JobResources": resources,
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": _network(s),
            },
            "RoleArn": s.execution_role_arn,
            "StoppingCondition": {"MaxRuntimeInSeconds": 3300},
            "Tags": _tags(s),
        },
        next_state="CreateModelQualitySchedule",
        result_path=None,
        comment="Model-quality job definition: ground truth, VPC, network isolation, KMS",
    )
    schedule = _model_quality_schedule_config(s)
    states["CreateModelQualitySchedule"] = _task(
        CREATE_SCHEDULE,
        {**schedule, "Tags": _tags(s)},
        next_state=after,
        result_path=None,
        catch=_catch(
            {
                "ErrorEquals": EXISTS,
                "ResultPath": "$.mq_schedule_exists",
                "Next": "UpdateModelQualitySchedule",
            }
        ),
        comment=f"Model-quality monitoring on {s.model_quality_schedule}",
    )
    states["UpdateModelQualitySchedule"] = _task(
        UPDATE_SCHEDULE,
        schedule,
        next_state=after,
        result_path=None,
        comment="The schedule exists: point it at the new job definition",
    )
    return states


def task_states(definition: dict) -> dict[str, dict]:
    return {n: st for n, st in definition["States"].items() if st["Type"] == "Task"}
