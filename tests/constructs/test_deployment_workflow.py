"""The deployment workflow: its ASL as data (security parameters, data capture, guardrails,
Retry/Catch) and the construct's refusals and state machine settings."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.deployment_workflow import DeploymentWorkflow
from cdk_constructs._deployment_workflow_definition import (
    FAILURE_NOTICE,
    RETRYABLE_ERRORS,
    build_definition,
    task_states,
)
from workflow_settings import DEPLOYMENT_SETTINGS as SETTINGS


@pytest.fixture(scope="module")
def definition() -> dict:
    return build_definition(SETTINGS)


def test_every_task_retries_service_errors_and_catches_everything(definition) -> None:
    tasks = task_states(definition)
    assert len(tasks) >= 10
    for name, state in tasks.items():
        assert state["Retry"][0]["ErrorEquals"] == RETRYABLE_ERRORS, name
        if name == FAILURE_NOTICE:
            continue
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name
        assert state["Catch"][-1]["Next"] == FAILURE_NOTICE, name


def test_model_is_network_isolated_in_the_vpc_with_its_own_role(definition) -> None:
    params = definition["States"]["CreateModel"]["Parameters"]
    assert params["EnableNetworkIsolation"] is True
    assert params["VpcConfig"] == {"Subnets": ["subnet-a", "subnet-b"],
                                   "SecurityGroupIds": ["sg-1"]}
    assert params["ExecutionRoleArn"] == SETTINGS.execution_role_arn
    assert params["PrimaryContainer"] == {"ModelPackageName.$": "$.model_package_arn"}


def test_endpoint_config_is_encrypted_and_captures_requests_and_responses(definition) -> None:
    params = definition["States"]["CreateEndpointConfig"]["Parameters"]
    assert params["KmsKeyId"] == SETTINGS.endpoint_key_arn
    capture = params["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 25
    assert capture["DestinationS3Uri"] == "s3://capture-bucket/mlp-prod-credit-default"
    assert capture["KmsKeyId"] == SETTINGS.monitoring_key_arn
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    variant = params["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 2)


def test_update_uses_blue_green_guardrails_with_auto_rollback(definition) -> None:
    config = definition["States"]["UpdateEndpoint"]["Parameters"]["DeploymentConfig"]
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                       "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}
    assert config["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 300
    assert config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": n} for n in SETTINGS.rollback_alarm_names]


def test_linear_routing_uses_linear_step_size() -> None:
    linear = build_definition(dataclasses.replace(SETTINGS, traffic_routing="LINEAR"))
    routing = linear["States"]["UpdateEndpoint"]["Parameters"]["DeploymentConfig"][
        "BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["LinearStepSize"] == {"Type": "CAPACITY_PERCENT", "Value": 10}
    assert "CanarySize" not in routing


def test_missing_endpoint_is_created_existing_one_updated(definition) -> None:
    describe = definition["States"]["DescribeEndpoint"]
    assert describe["Next"] == "UpdateEndpoint"
    assert describe["Catch"][0]["Next"] == "CreateEndpoint"
    assert "SageMaker.ValidationException" in describe["Catch"][0]["ErrorEquals"]


def test_wait_loop_is_bounded_and_fails_on_failed_or_rolled_back(definition) -> None:
    choice = definition["States"]["EndpointStatus"]
    assert choice["Default"] == "WaitForEndpoint"
    nexts = {c["Next"] for c in choice["Choices"]}
    assert {"Baseline", "RolledBack", "EndpointFailed", "WaitTimedOut"} == nexts
    bound = next(c for c in choice["Choices"] if c["Next"] == "WaitTimedOut")
    assert bound["NumericGreaterThanEquals"] == SETTINGS.max_wait_iterations
    for failure in ("RolledBack", "EndpointFailed", "WaitTimedOut"):
        assert definition["States"][failure]["Next"] == FAILURE_NOTICE


def test_baseline_and_monitoring_jobs_are_isolated_and_encrypted(definition) -> None:
    baseline = definition["States"]["Baseline"]["Parameters"]
    job = definition["States"]["CreateJobDefinition"]["Parameters"]
    for network in (baseline["NetworkConfig"], job["NetworkConfig"]):
        assert network["EnableNetworkIsolation"] is True
        assert network["EnableInterContainerTrafficEncryption"] is True
        assert network["VpcConfig"]["Subnets"] == ["subnet-a", "subnet-b"]
    assert baseline["AppSpecification"]["ImageUri"] == "monitor:latest"
    assert baseline["ProcessingOutputConfig"]["KmsKeyId"] == SETTINGS.monitoring_key_arn
    assert baseline["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == \
        SETTINGS.monitoring_key_arn
    assert job["DataQualityJobOutputConfig"]["KmsKeyId"] == SETTINGS.monitoring_key_arn
    assert job["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == SETTINGS.monitoring_key_arn


def test_schedule_is_created_or_updated_hourly(definition) -> None:
    create = definition["States"]["CreateSchedule"]
    assert create["Catch"][0]["Next"] == "UpdateSchedule"
    config = create["Parameters"]["MonitoringScheduleConfig"]
    assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert config["MonitoringType"] == "DataQuality"


def _stack() -> tuple[Stack, kms.Key]:
    stack = Stack(App(), "S", env={"account": "333333333333", "region": "eu-west-2"})
    return stack, kms.Key(stack, "K")


def _workflow(stack, key, **changes) -> DeploymentWorkflow:
    return DeploymentWorkflow(
        stack, "W", settings=dataclasses.replace(SETTINGS, **changes),
        state_machine_name="mlp-prod-deployment", encryption_key=key, log_key=key,
        log_retention_days=365, topic_key=key,
        model_package_group_arn="arn:aws:sagemaker:eu-west-2:111111111111:"
                                "model-package-group/mlp-dev-credit-default")


def test_state_machine_is_encrypted_logged_and_traced() -> None:
    stack, key = _stack()
    _workflow(stack, key)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineName": "mlp-prod-deployment",
        "EncryptionConfiguration": Match.object_like({"Type": "CUSTOMER_MANAGED_KMS_KEY"}),
        "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        "TracingConfiguration": {"Enabled": True},
    })


@pytest.mark.parametrize("changes, message", [
    ({"subnet_ids": []}, "must run in the VPC"),
    ({"rollback_alarm_names": []}, "cannot roll back"),
    ({"capture_sampling_percent": 0}, "1..100"),
    ({"traffic_routing": "ALL_AT_ONCE"}, "CANARY or LINEAR"),
    ({"name_prefix": "Bad Prefix"}, "lower-case"),
])
def test_refusals(changes, message) -> None:
    stack, key = _stack()
    with pytest.raises(ConstructPropsError, match=message):
        _workflow(stack, key, **changes)


def test_no_model_quality_schedule_without_ground_truth(definition) -> None:
    assert SETTINGS.ground_truth_s3_uri is None
    states = definition["States"]
    assert "CreateModelQualityJobDefinition" not in states
    assert states["CreateSchedule"]["Next"] == "Succeeded"


def test_ground_truth_adds_an_isolated_encrypted_model_quality_schedule() -> None:
    with_labels = build_definition(dataclasses.replace(
        SETTINGS, ground_truth_s3_uri="s3://monitoring/ground-truth/credit-default/"))
    states = with_labels["States"]
    assert states["CreateSchedule"]["Next"] == "CreateModelQualityJobDefinition"
    assert states["UpdateSchedule"]["Next"] == "CreateModelQualityJobDefinition"
    job = states["CreateModelQualityJobDefinition"]["Parameters"]
    assert job["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    assert job["ModelQualityJobInput"]["GroundTruthS3Input"] == {
        "S3Uri": "s3://monitoring/ground-truth/credit-default/"}
    endpoint_input = job["ModelQualityJobInput"]["EndpointInput"]
    assert endpoint_input["EndpointName"] == SETTINGS.endpoint_name
    assert endpoint_input["StartTimeOffset"] == "-P2D" and endpoint_input["EndTimeOffset"] == "-P1D"
    assert job["NetworkConfig"] == {"EnableNetworkIsolation": True,
                                    "EnableInterContainerTrafficEncryption": True,
                                    "VpcConfig": {"Subnets": SETTINGS.subnet_ids,
                                                  "SecurityGroupIds": SETTINGS.security_group_ids}}
    assert job["ModelQualityJobOutputConfig"]["KmsKeyId"] == SETTINGS.monitoring_key_arn
    assert job["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == SETTINGS.monitoring_key_arn
    schedule = states["CreateModelQualitySchedule"]["Parameters"]["MonitoringScheduleConfig"]
    assert schedule["MonitoringType"] == "ModelQuality"
    assert states["CreateModelQualitySchedule"]["Catch"][0]["Next"] == "UpdateModelQualitySchedule"
    for name in ("CreateModelQualityJobDefinition", "CreateModelQualitySchedule",
                 "UpdateModelQualitySchedule"):
        assert states[name]["Retry"] and states[name]["Catch"], name
