"""The pipeline's deploy stages: one per serving environment, the pipeline's own included
(started by its actions role), QA after pre-production, an approval before production."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_constructs._training_pipeline import DeploymentTarget, PipelineCode, TrainingPipeline
from construct_stack import ACCOUNT, REGION
from platform_config._model import SourceConfig


def _target(env: str, account: str, *, own: bool, qa: bool = False) -> DeploymentTarget:
    sm = f"arn:aws:states:{REGION}:{account}:stateMachine:mlp-{env}-"
    return DeploymentTarget(
        environment=env, account=account, state_machine_arn=sm + "deployment",
        role_arn=None if own else f"arn:aws:iam::{account}:role/mlp-{env}-pipeline-deploy",
        model_package_group_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/g",
        baseline_data_uri="s3://b/runs/x/train/",
        qa_state_machine_arn=sm + "champion-challenger" if qa else None)


def _pipeline(stack, deployments: list[DeploymentTarget]) -> tuple[Template, TrainingPipeline]:
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    key = kms.Key(stack, "Key")
    machine = sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(
        sfn.Pass(stack, "P")))
    pipeline = TrainingPipeline(
        stack, "Pipeline", pipeline_name="mlp-preprod-credit-default-training",
        source=SourceConfig(kind="s3"),
        artifact_bucket=s3.Bucket(stack, "Artifacts", encryption_key=key),
        artifact_bucket_name="mlp-preprod-artifacts",
        source_bucket=s3.Bucket(stack, "Source", versioned=True),
        pipeline_key=key, log_key=key, log_retention_days=365, vpc=vpc,
        security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc), state_machine=machine,
        state_machine_name="mlp-preprod-training", approval_topic=sns.Topic(stack, "Topic"),
        approval_topic_key=key, deployments=deployments,
        code=PipelineCode(models_bucket=s3.Bucket.from_bucket_name(stack, "Models", "models"),
                          models_key=key, raw_bucket_name="raw", raw_data_key="credit/d.csv",
                          codeartifact_domain="mlp-preprod", codeartifact_repository="pypi"))
    return Template.from_stack(stack), pipeline


def test_pipeline_in_preprod_keeps_the_preprod_deploy_and_qa(stack) -> None:
    template, pipeline = _pipeline(stack, [
        _target("preprod", ACCOUNT, own=True, qa=True), _target("prod", "333333333333", own=False)])
    body = next(iter(template.find_resources("AWS::CodePipeline::Pipeline").values()))
    stages = body["Properties"]["Stages"]
    assert [s["Name"] for s in stages][-4:] == ["DeployPreProd", "QA", "ApproveProduction",
                                                "DeployProd"]
    actions_role = stack.resolve(pipeline.actions_role.role_arn)
    by_name = {s["Name"]: s["Actions"][0] for s in stages}
    # Same account: the actions role starts the workflows; prod: its deploy role.
    assert by_name["DeployPreProd"]["RoleArn"] == actions_role
    assert by_name["QA"]["RoleArn"] == actions_role
    assert by_name["DeployProd"]["RoleArn"] == "arn:aws:iam::333333333333:role/mlp-prod-pipeline-deploy"
    policy = stack.resolve(pipeline.actions_policy.document.to_json())
    starts = [s for s in policy["Statement"] if s.get("Sid") == "StartDeploymentPreprod"]
    assert starts and set(starts[0]["Resource"]) == {
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlp-preprod-deployment",
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlp-preprod-champion-challenger"}


@pytest.mark.parametrize("envs", [["dev"], ["dev", "preprod", "prod"]])
def test_every_target_gets_its_deploy_stage_in_promotion_order(stack, envs) -> None:
    targets = [_target(e, ACCOUNT if e == "dev" else "222222222222", own=e == "dev",
                       qa=e == "preprod") for e in envs]
    template, _ = _pipeline(stack, targets)
    body = next(iter(template.find_resources("AWS::CodePipeline::Pipeline").values()))
    names = [s["Name"] for s in body["Properties"]["Stages"]]
    deploys = [n for n in names if n.startswith("Deploy")]
    assert deploys == [{"dev": "DeployDev", "preprod": "DeployPreProd", "prod": "DeployProd"}[e]
                       for e in envs]
