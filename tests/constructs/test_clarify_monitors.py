"""Template assertions for the SageMaker Clarify monitors (bias drift, feature attribution
drift): secure by default, and what they refuse."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_constructs._clarify_monitor import ClarifyMonitorProps
from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._model_bias_monitor import ModelBiasMonitor
from cdk_constructs._model_explainability_monitor import ModelExplainabilityMonitor
from cdk_constructs._sagemaker_images import UnknownImageRegion, clarify_image, image_repository_arns

GROUND_TRUTH = "s3://reports/ground-truth/credit-default/"


def _props(stack, **changes) -> ClarifyMonitorProps:
    volume = kms.Key(stack, "VolumeKey")
    output = kms.Key(stack, "OutputKey")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    props = ClarifyMonitorProps(
        endpoint_name="mlp-prod-credit-default", role=role,
        image_uri=clarify_image("eu-west-2"), monitoring_bucket_name="reports",
        volume_key=volume, output_key=output, subnet_ids=["subnet-a", "subnet-b"],
        security_group_ids=["sg-1"])
    return dataclasses.replace(props, **changes)


def _only(template: Template, kind: str) -> dict:
    resources = template.find_resources(kind)
    assert len(resources) == 1
    return next(iter(resources.values()))["Properties"]


def _assert_secure(properties: dict, *, isolated: bool) -> None:
    network = properties["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is isolated
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert network["VpcConfig"] == {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]}
    cluster = properties["JobResources"]["ClusterConfig"]
    assert "Fn::GetAtt" in cluster["VolumeKmsKeyId"]
    assert cluster["VolumeKmsKeyId"]["Fn::GetAtt"][0].startswith("VolumeKey")
    assert properties["StoppingCondition"] == {"MaxRuntimeInSeconds": 3300}
    assert "Fn::GetAtt" in properties["RoleArn"]


def test_bias_monitor_is_isolated_encrypted_and_uses_ground_truth(stack) -> None:
    monitor = ModelBiasMonitor(stack, "Bias", props=_props(stack), ground_truth_s3_uri=GROUND_TRUTH)
    properties = _only(Template.from_stack(stack), "AWS::SageMaker::ModelBiasJobDefinition")
    _assert_secure(properties, isolated=True)  # captured predictions and labels only
    assert properties["JobDefinitionName"] == "mlp-prod-credit-default-model-bias"
    assert properties["ModelBiasAppSpecification"] == {
        "ImageUri": "440796970383.dkr.ecr.eu-west-2.amazonaws.com/sagemaker-clarify-processing:1.0",
        "ConfigUri": "s3://reports/baselines/mlp-prod-credit-default/model-bias/analysis_config.json"}
    assert properties["ModelBiasBaselineConfig"]["ConstraintsResource"]["S3Uri"] == \
        monitor.baseline_constraints_uri
    job_input = properties["ModelBiasJobInput"]
    assert job_input["GroundTruthS3Input"] == {"S3Uri": GROUND_TRUTH}
    assert job_input["EndpointInput"]["EndpointName"] == "mlp-prod-credit-default"
    assert job_input["EndpointInput"]["StartTimeOffset"] == "-P2D"
    output = properties["ModelBiasJobOutputConfig"]
    assert output["KmsKeyId"]["Fn::GetAtt"][0].startswith("OutputKey")
    assert output["MonitoringOutputs"][0]["S3Output"]["S3Uri"] == \
        "s3://reports/reports/mlp-prod-credit-default/model-bias"


def test_explainability_monitor_runs_in_the_vpc_encrypted(stack) -> None:
    ModelExplainabilityMonitor(stack, "Explain", props=_props(stack))
    properties = _only(Template.from_stack(stack), "AWS::SageMaker::ModelExplainabilityJobDefinition")
    # SHAP needs calls to a shadow endpoint: in the VPC, not isolated (docs/production.md)
    _assert_secure(properties, isolated=False)
    assert properties["JobDefinitionName"] == "mlp-prod-credit-default-model-explainability"
    assert properties["ModelExplainabilityAppSpecification"]["ConfigUri"].endswith(
        "/baselines/mlp-prod-credit-default/model-explainability/analysis_config.json")
    assert properties["ModelExplainabilityBaselineConfig"]["ConstraintsResource"]["S3Uri"].endswith(
        "/model-explainability/analysis.json")
    assert properties["ModelExplainabilityJobOutputConfig"]["KmsKeyId"]["Fn::GetAtt"][0].startswith(
        "OutputKey")


@pytest.mark.parametrize("changes, message", [
    (dict(subnet_ids=[]), "run in the VPC"),
    (dict(security_group_ids=[]), "run in the VPC"),
    (dict(instance_type="m5.large"), "not a SageMaker instance type"),
    (dict(max_runtime_seconds=3600), "within the hour"),
    (dict(image_uri="123.dkr.ecr.eu-west-2.amazonaws.com/my-image:1"), "not a SageMaker Clarify image"),
    (dict(endpoint_name="x" * 60), "shorten endpoint_name"),
    (dict(monitoring_bucket_name="s3://reports"), "bucket name, not an S3 URI"),
])
@pytest.mark.parametrize("monitor", ["bias", "explainability"])
def test_monitors_refuse(stack, monitor, changes, message) -> None:
    props = _props(stack, **changes)
    with pytest.raises(ConstructPropsError, match=message):
        if monitor == "bias":
            ModelBiasMonitor(stack, "M", props=props, ground_truth_s3_uri=GROUND_TRUTH)
        else:
            ModelExplainabilityMonitor(stack, "M", props=props)


@pytest.mark.parametrize("kwargs, message", [
    (dict(ground_truth_s3_uri="reports/ground-truth/"), "ground_truth_s3_uri must be an s3://"),
    (dict(ground_truth_s3_uri=GROUND_TRUTH, probability_threshold=1.0), "probability_threshold"),
    (dict(ground_truth_s3_uri=GROUND_TRUTH, start_time_offset="P2D"), "negative ISO 8601"),
])
def test_bias_monitor_refuses(stack, kwargs, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        ModelBiasMonitor(stack, "M", props=_props(stack), **kwargs)


def test_clarify_image_table() -> None:
    assert "repository/sagemaker-clarify-processing" in image_repository_arns("eu-west-2")[-1]
    with pytest.raises(UnknownImageRegion, match="SageMaker Clarify"):
        clarify_image("xx-nowhere-1")
