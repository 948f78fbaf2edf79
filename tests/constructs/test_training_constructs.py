"""Template assertions for the model registry, the SageMaker job role and the workflow."""

from __future__ import annotations

import dataclasses
import json

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.model_registry import ModelRegistry
from cdk_constructs._sagemaker_images import UnknownImageRegion, xgboost_image
from cdk_constructs.sagemaker_job_role import SageMakerJobRole
from cdk_constructs.training_workflow import TrainingWorkflow
from cdk_constructs._training_workflow_definition import GATE_STATE

from constructs.test_training_workflow_definition import SETTINGS  # noqa: E402


def _statements(template: Template) -> list[dict]:
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    return [st for p in policies.values() for st in p["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_registry_group_is_retained(stack) -> None:
    ModelRegistry(stack, "Registry", group_name="mlp-dev-credit-default", description="d")
    Template.from_stack(stack).has_resource("AWS::SageMaker::ModelPackageGroup", {
        "Properties": {"ModelPackageGroupName": "mlp-dev-credit-default"},
        "DeletionPolicy": "Retain"})


def test_registry_refuses_bad_name(stack) -> None:
    with pytest.raises(ConstructPropsError, match="1-63 letters"):
        ModelRegistry(stack, "Registry", group_name="bad_name!", description="d")


def test_job_role_is_least_privilege(stack) -> None:
    raw = s3.Bucket.from_bucket_name(stack, "Raw", "mlp-dev-raw")
    out = s3.Bucket.from_bucket_name(stack, "Out", "mlp-dev-out")
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-0123", availability_zones=["eu-west-2a"])
    SageMakerJobRole(stack, "Jobs", description="jobs", read_buckets=[raw],
                     write_buckets=[out], keys=[kms.Key(stack, "K")], vpc=vpc)
    template = Template.from_stack(stack)
    assert template.find_resources("AWS::IAM::Policy") == {}
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {
        "Statement": [Match.object_like({
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})]}})
    statements = {s["Sid"]: s for s in _statements(template)}
    assert statements["WriteRunOutputs"]["Resource"] == "arn:aws:s3:::mlp-dev-out/runs/*"
    assert all(not a.endswith(":*") and a != "*" for s in statements.values() for a in _actions(s))
    pulls = statements["PullAwsSageMakerImages"]["Resource"]
    assert "arn:aws:ecr:eu-west-2:764974769150:repository/sagemaker-xgboost" in pulls
    assert statements["GrantsForEncryptedVolumes"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}}
    # network-interface writes only in the platform's VPC (checkov CKV_AWS_111/109)
    interfaces = statements["VpcNetworkInterfaces"]
    assert interfaces["Resource"] == "*"
    assert interfaces["Condition"] == {"ArnEquals": {"ec2:Vpc": "arn:aws:ec2:eu-west-2:123456789012:vpc/vpc-0123"}}
    assert all(a.startswith("ec2:Describe") for a in _actions(statements["VpcDescribe"]))


def test_job_role_refuses_no_data(stack) -> None:
    with pytest.raises(ConstructPropsError, match="read_buckets and keys"):
        SageMakerJobRole(stack, "Jobs", description="j", read_buckets=[], write_buckets=[],
                         keys=[], vpc=ec2.Vpc.from_vpc_attributes(
                             stack, "Vpc", vpc_id="vpc-0123", availability_zones=["eu-west-2a"]))


def test_image_table_refuses_unknown_region() -> None:
    assert xgboost_image("eu-west-2") == \
        "764974769150.dkr.ecr.eu-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"
    with pytest.raises(UnknownImageRegion, match="add it to"):
        xgboost_image("xx-nowhere-1")


def _workflow(stack, **changes):
    key = kms.Key(stack, "Key")
    return TrainingWorkflow(
        stack, "Workflow", settings=dataclasses.replace(SETTINGS, **changes),
        encryption_key=key, log_key=key, log_retention_days=365, topic_key=key,
        bucket_keys=[key], raw_bucket_arn="arn:aws:s3:::raw",
        processed_bucket_arn="arn:aws:s3:::processed", models_bucket_arn="arn:aws:s3:::models")


def test_state_machine_is_encrypted_logged_and_traced(stack) -> None:
    _workflow(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        "EncryptionConfiguration": Match.object_like({"Type": "CUSTOMER_MANAGED_KMS_KEY"}),
    })
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})
    assert template.find_resources("AWS::IAM::Policy") == {}


def test_rendered_definition_keeps_the_gate(stack) -> None:
    _workflow(stack)
    machine = next(iter(Template.from_stack(stack).find_resources(
        "AWS::StepFunctions::StateMachine").values()))
    body = machine["Properties"]["DefinitionString"]
    text = body if isinstance(body, str) else json.dumps(body)
    assert GATE_STATE in text and "NumericGreaterThanEquals" in text


def test_workflow_role_is_scoped_to_its_jobs(stack) -> None:
    _workflow(stack)
    statements = {s["Sid"]: s for s in _statements(Template.from_stack(stack))}
    assert statements["RunJobs"]["Resource"] == [
        "arn:aws:sagemaker:eu-west-2:123456789012:processing-job/mlp-dev-*",
        "arn:aws:sagemaker:eu-west-2:123456789012:training-job/mlp-dev-*"]
    assert statements["PassJobRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert statements["RegisterModels"]["Action"] == "sagemaker:CreateModelPackage"
    # model cards (encrypted with the model key) and experiments: this model's only
    assert statements["EncryptModelCards"]["Condition"] == {"StringEquals": {
        "kms:ViaService": "sagemaker.eu-west-2.amazonaws.com"}}
    assert "arn:aws:sagemaker:eu-west-2:123456789012:experiment/mlp-dev-credit-default" in \
        statements["Experiments"]["Resource"]
    for statement in statements.values():
        assert "sagemaker:*" not in _actions(statement)


@pytest.mark.parametrize("changes, message", [
    (dict(name_prefix="A"), "name_prefix"),
    (dict(gate_metric="loss"), "gate_metric"),
    (dict(gate_threshold=1.5), "gate_threshold"),
    (dict(subnet_ids=[]), "must run in the VPC"),
    (dict(max_auc_gap=0.0), "max_auc_gap"),
    (dict(bias_bounds=[]), "bias gate that bounds nothing"),
    (dict(bias_bounds=[("DI_min", "atleast", 0.8)]), "'min' or 'max'"),
    (dict(risk_rating="Severe"), "risk_rating"),
])
def test_workflow_refuses(stack, changes, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _workflow(stack, **changes)
