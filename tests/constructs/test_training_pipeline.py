"""The commit-driven pipeline: stage order, sources, build spec and least-privilege roles."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._training_pipeline import (
    BUILD_VARIABLES,
    STAGES,
    PipelineCode,
    TrainingPipeline,
    build_spec,
    workflow_input,
)
from platform_config._model import SourceConfig

CONNECTION = ("arn:aws:codeconnections:eu-west-2:123456789012:connection/"
              "12345678-1234-1234-1234-123456789012")


def _pipeline(stack, source: SourceConfig, with_source_bucket: bool = True) -> Template:
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    key = kms.Key(stack, "Key")
    machine = sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(
        sfn.Pass(stack, "P")), state_machine_name="mlp-dev-training")
    TrainingPipeline(
        stack, "Pipeline", pipeline_name="mlp-dev-credit-default-training", source=source,
        artifact_bucket=s3.Bucket(stack, "Artifacts", encryption_key=key,
                                  bucket_name="mlp-dev-artifacts"),
        artifact_bucket_name="mlp-dev-artifacts",
        source_bucket=s3.Bucket(stack, "Source", versioned=True) if with_source_bucket else None,
        pipeline_key=key, log_key=key, log_retention_days=365, vpc=vpc,
        security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc), state_machine=machine,
        state_machine_name="mlp-dev-training", approval_topic=sns.Topic(stack, "Topic"),
        approval_topic_key=key,
        code=PipelineCode(models_bucket=s3.Bucket.from_bucket_name(stack, "Models", "models"),
                          models_key=key, raw_bucket_name="raw", raw_data_key="credit/d.csv",
                          codeartifact_domain="mlp-dev", codeartifact_repository="pypi"))
    return Template.from_stack(stack)


def _stages(template: Template) -> list[dict]:
    pipeline = next(iter(template.find_resources("AWS::CodePipeline::Pipeline").values()))
    return pipeline["Properties"]["Stages"]


def test_stage_order_and_pipeline_type(stack) -> None:
    template = _pipeline(stack, SourceConfig(kind="s3"))
    assert tuple(s["Name"] for s in _stages(template)) == STAGES
    pipeline = next(iter(template.find_resources("AWS::CodePipeline::Pipeline").values()))
    assert pipeline["Properties"]["PipelineType"] == "V2"
    assert pipeline["Properties"]["ExecutionMode"] == "QUEUED"
    store = pipeline["Properties"]["ArtifactStore"]
    assert store["EncryptionKey"]["Type"] == "KMS"


def test_actions_in_each_stage(stack) -> None:
    stages = {s["Name"]: s["Actions"] for s in _stages(_pipeline(stack, SourceConfig(kind="s3")))}
    assert stages["Source"][0]["ActionTypeId"]["Provider"] == "S3"
    assert stages["BuildAndTest"][0]["ActionTypeId"]["Provider"] == "CodeBuild"
    assert stages["BuildAndTest"][0]["Namespace"] == "BuildVariables"
    train = stages["Train"][0]
    assert train["ActionTypeId"]["Provider"] == "StepFunctions"
    workflow = json.loads(train["Configuration"]["Input"])
    assert workflow["commit"]["id"] == "#{BuildVariables.COMMIT_ID}"
    assert workflow["raw_data"] == {"bucket": "raw", "key": "credit/d.csv"}
    approve = stages["Approve"][0]
    assert approve["ActionTypeId"]["Category"] == "Approval"
    assert "NotificationArn" in approve["Configuration"]


def test_s3_source_starts_on_new_object(stack) -> None:
    template = _pipeline(stack, SourceConfig(kind="s3", object_key="source/code.zip"))
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))["Properties"]
    assert rule["EventPattern"]["detail-type"] == ["Object Created"]
    assert rule["EventPattern"]["detail"]["object"] == {"key": ["source/code.zip"]}


def test_git_connection_source_hands_the_build_a_zip(stack) -> None:
    template = _pipeline(stack, SourceConfig(kind="codeconnections", connection_arn=CONNECTION,
                                             repository="bank/credit-model", branch="main"),
                         with_source_bucket=False)
    source = _stages(template)[0]["Actions"][0]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["FullRepositoryId"] == "bank/credit-model"
    # The isolated build cannot reach a Git host: no CODEBUILD_CLONE_REF (#13 finding 14).
    assert source["Configuration"].get("OutputArtifactFormat", "CODE_ZIP") == "CODE_ZIP"
    assert template.find_resources("AWS::Events::Rule") == {}  # V2 triggers natively


GIT_SOURCES = {
    "codecommit": SourceConfig(kind="codecommit", repository="credit-model", branch="main"),
    "codeconnections": SourceConfig(kind="codeconnections", connection_arn=CONNECTION,
                                    repository="bank/credit-model", branch="main"),
}


def _world(template: Template):
    from compliance._cfn_model import World
    from construct_stack import ACCOUNT, REGION

    return World({"test/TestStack": template.to_json()}, {"test": (ACCOUNT, REGION)})


@pytest.mark.parametrize("kind", sorted(GIT_SOURCES))
def test_git_sources_work_from_the_isolated_build(stack, kind) -> None:
    """Each Git source kind: the build gets the commit as a ZIP artifact and its metadata as
    source variables, so it needs neither a clone permission nor a route to a Git host."""
    from compliance._calls import derive_calls
    from compliance._closure import closure_failures
    from cdk_constructs._training_pipeline import GIT_SOURCE_VARIABLES

    template = _pipeline(stack, GIT_SOURCES[kind], with_source_bucket=False)
    stages = {s["Name"]: s["Actions"] for s in _stages(template)}
    source = stages["Source"][0]
    assert source["Namespace"] == "SourceVariables"
    build_env = json.loads(stages["BuildAndTest"][0]["Configuration"]["EnvironmentVariables"])
    assert {v["name"]: v["value"] for v in build_env} == {
        name: f"#{{SourceVariables.{var}}}" for name, var in GIT_SOURCE_VARIABLES[kind].items()}
    world = _world(template)
    calls = derive_calls(world)
    assert not [c for c in calls if "BuildRole" in c.caller and c.action.startswith("code")
                and ("GitPull" in c.action or "UseConnection" in c.action)]
    assert [c for c in calls if "Source.Commit" in c.source]  # the source action's calls
    failures = closure_failures(world, calls)
    assert failures == [], "\n".join(map(str, failures))


@pytest.mark.parametrize("kind,action", [("codecommit", "codecommit:GitPull"),
                                         ("codeconnections", "codeconnections:UseConnection")])
def test_a_clone_from_the_isolated_build_is_refused(stack, kind, action) -> None:
    """The check that caught finding 14: with CODEBUILD_CLONE_REF the build role clones,
    which it may not, from a VPC with no way to the repository."""
    from compliance._calls import derive_calls
    from compliance._closure import closure_failures, endpoint_failures

    template = _pipeline(stack, GIT_SOURCES[kind], with_source_bucket=False).to_json()
    pipeline = next(r for r in template["Resources"].values()
                    if r["Type"] == "AWS::CodePipeline::Pipeline")
    pipeline["Properties"]["Stages"][0]["Actions"][0]["Configuration"][
        "OutputArtifactFormat"] = "CODEBUILD_CLONE_REF"
    from compliance._cfn_model import World
    from construct_stack import ACCOUNT, REGION

    world = World({"test/TestStack": template}, {"test": (ACCOUNT, REGION)})
    calls = derive_calls(world)
    clone = [c for c in calls if "BuildRole" in c.caller and c.action == action]
    assert clone and all(c.vpc_env == "test" for c in clone)
    assert [f for f in closure_failures(world, clone)]
    assert [f for f in endpoint_failures(world, clone) if f.call.action == action]


def test_codecommit_source_starts_on_branch_updates(stack) -> None:
    template = _pipeline(stack, SourceConfig(kind="codecommit", repository="credit-model",
                                             branch="release"), with_source_bucket=False)
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))["Properties"]
    assert rule["EventPattern"]["detail"]["referenceName"] == ["release"]


def test_no_inline_policies_and_no_wildcard_actions(stack) -> None:
    template = _pipeline(stack, SourceConfig(kind="s3"))
    assert template.find_resources("AWS::IAM::Policy") == {}
    for policy in template.find_resources("AWS::IAM::ManagedPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement
            # Nobody in the pipeline can approve on a human's behalf.
            assert "codepipeline:PutApprovalResult" not in actions


def test_build_runs_in_the_vpc_encrypted(stack) -> None:
    template = _pipeline(stack, SourceConfig(kind="s3"))
    project = next(iter(template.find_resources("AWS::CodeBuild::Project").values()))["Properties"]
    assert project["VpcConfig"]["Subnets"] and project["VpcConfig"]["SecurityGroupIds"]
    assert "EncryptionKey" in project
    assert project["Environment"]["PrivilegedMode"] is False
    assert project["LogsConfig"]["CloudWatchLogs"]["Status"] == "ENABLED"


def test_build_spec_tests_packages_and_exports_commit_metadata() -> None:
    spec = build_spec(code_bucket="models", code_key_arn="arn:key", codeartifact_domain="mlp-dev",
                      codeartifact_repository="pypi")
    commands = spec["phases"]["build"]["commands"]
    assert commands[0].startswith("python -m pytest tests/ml")
    assert spec["env"]["exported-variables"] == list(BUILD_VARIABLES)
    assert any("aws codeartifact login --tool pip --domain mlp-dev" in c
               for c in spec["phases"]["install"]["commands"])
    assert any("--sse aws:kms --sse-kms-key-id arn:key" in c for c in commands)
    assert any("commit.json" in c for c in commands)  # air-gapped S3 sources
    # Git sources: metadata from the source action's variables, never from a clone.
    assert any("$SOURCE_REPOSITORY" in c for c in commands)
    assert not any("git " in c for c in commands)


def test_workflow_input_matches_the_workflow_contract(stack) -> None:
    """Every field the workflow and the lineage recorder read is filled from the build."""
    code = PipelineCode(models_bucket=s3.Bucket.from_bucket_name(stack, "M", "models"),
                        models_key=kms.Key(stack, "K"), raw_bucket_name="raw",
                        raw_data_key="k.csv", codeartifact_domain="d", codeartifact_repository="r")
    payload = workflow_input(code)
    assert set(payload) == {"run_id", "commit", "raw_data", "code", "pipeline_execution_id"}
    assert set(payload["commit"]) == {"id", "repository", "branch", "author", "date", "message"}
    assert payload["code"] == {"bucket": "models", "prefix": "#{BuildVariables.CODE_PREFIX}"}
    import re

    used = set(re.findall(r"#\{BuildVariables\.([A-Z_]+)\}", json.dumps(payload)))
    assert used
    assert used <= set(BUILD_VARIABLES)


def test_refuses_s3_source_without_bucket(stack) -> None:
    with pytest.raises(ConstructPropsError, match="needs source_bucket"):
        _pipeline(stack, SourceConfig(kind="s3"), with_source_bucket=False)
