"""Environments in different regions: the pipeline's artifact store in another region is the
platform's own (rotating, retained key; secure bucket), not CDK's cross-region support stack,
and the acknowledgements still match. The sample configuration is single-region; these tests
build the multi-region parts on their own to stay fast."""

from __future__ import annotations

import copy
import json

import pytest
from aws_cdk import App, Environment, Stage
from aws_cdk.assertions import Template

from compliance.acknowledgements import (ACKNOWLEDGEMENTS, MULTI_REGION_ACKNOWLEDGEMENTS,
                                         apply_acknowledgements)
from compliance._checks import add_compliance_checks
from compliance.gate import ComplianceGateFailed, synth_or_fail
from compliance._summary import read_findings
from platform_config import parse_config
from stacks.pipeline_replica_stack import PipelineReplicaStack, replica_names, replica_stores

REGION = "eu-central-1"


@pytest.fixture(scope="module")
def multi_region_config(sample_config_data):
    data = copy.deepcopy(sample_config_data)
    prod = data["environments"]["prod"]
    prod["region"] = REGION
    prod["availability_zones"] = [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    return parse_config(data)


class _PipelineStage(Stage):
    def __init__(self, scope, config) -> None:
        env = config.environment("dev")
        super().__init__(scope, "dev", env=Environment(account=env.account, region=env.region))
        from platform_config._naming import ResourceNames

        self.names = self.pipeline_names = ResourceNames.for_environment(config, "dev")
        self.replica = PipelineReplicaStack(
            self, f"PipelineReplica-{REGION}", names=replica_names(config, REGION),
            env=Environment(account=env.account, region=REGION), log_retention_days=365)


def _synth(config, tmp_path, *, acknowledge: bool):
    from app import cdk_json_context

    app = App(outdir=str(tmp_path), context=cdk_json_context())
    stage = _PipelineStage(app, config)
    if acknowledge:
        apply_acknowledgements(stage)
    add_compliance_checks(app)
    return stage, synth_or_fail(app, tmp_path)


def test_the_replica_store_is_clean_with_the_platforms_acknowledgements(multi_region_config,
                                                                        tmp_path) -> None:
    stage, _ = _synth(multi_region_config, tmp_path / "acknowledged", acknowledge=True)
    template = Template.from_stack(stage.replica)
    template.has_resource("AWS::KMS::Key", {
        "Properties": {"EnableKeyRotation": True}, "DeletionPolicy": "Retain"})
    template.has_resource_properties("AWS::KMS::Alias", {
        "AliasName": "alias/mlp/dev/pipeline-replica"})
    template.has_resource("AWS::S3::Bucket", {
        "Properties": {"BucketName": f"mlp-dev-pipeline-replica-111111111111-{REGION}",
                       "VersioningConfiguration": {"Status": "Enabled"}},
        "DeletionPolicy": "Retain"})

    # Without acknowledgements: exactly the findings MULTI_REGION_ACKNOWLEDGEMENTS name.
    with pytest.raises(ComplianceGateFailed):
        _synth(multi_region_config, tmp_path / "raw", acknowledge=False)
    found = {(f.path.split("/", 2)[2], f.acknowledgement_id)
             for f in read_findings(tmp_path / "raw")}
    expected = {(a.path.split("/", 1)[1], f"{a.plugin}::{a.rule}")
                for a in MULTI_REGION_ACKNOWLEDGEMENTS}
    assert found == expected


def test_the_pipeline_uses_the_platforms_store_in_the_other_region(multi_region_config,
                                                                   tmp_path) -> None:
    from app import build_app

    app = build_app(multi_region_config, outdir=str(tmp_path), compliance=False,
                    environments=("dev",))
    assembly = app.synth().get_nested_assembly("assembly-dev")
    stacks = {s.hierarchical_id: s for s in assembly.stacks}
    assert not any("cross-region" in s.stack_name for s in assembly.stacks)
    replica = stacks[f"dev/PipelineReplica-{REGION}"]
    assert replica.environment.region == REGION
    training = stacks["dev/Training"]
    assert replica.id in [d.id for d in training.dependencies]
    pipeline = next(r for r in training.template["Resources"].values()
                    if r["Type"] == "AWS::CodePipeline::Pipeline")
    stores = {s["Region"]: s["ArtifactStore"] for s in pipeline["Properties"]["ArtifactStores"]}
    bucket, alias_arn = replica_stores(multi_region_config)[REGION]
    assert stores[REGION]["Location"] == bucket
    assert stores[REGION]["EncryptionKey"] == {"Id": alias_arn, "Type": "KMS"}
    assert set(stores) == {"eu-west-2", REGION}
    deploy = [a for stage in pipeline["Properties"]["Stages"] for a in stage["Actions"]
              if a["Name"] == "DeployToProd"]
    assert deploy and deploy[0]["Region"] == REGION
    assert json.dumps(deploy[0]).count("InputArtifacts") == 0  # nothing is replicated


def test_serving_acknowledgements_name_the_pipeline_region(multi_region_config) -> None:
    from platform_config._naming import ResourceNames

    prod = ResourceNames.for_environment(multi_region_config, "prod")
    dev = ResourceNames.for_environment(multi_region_config, "dev")
    rules = {a.rule_in(account=prod.account, region=prod.region, prefix=prod.prefix,
                       pipeline_account=dev.account, pipeline_prefix=dev.prefix,
                       pipeline_region=dev.region)
             for a in ACKNOWLEDGEMENTS if a.path.startswith("Serving/EndpointRole")}
    assert ("AwsSolutions-IAM5[Resource::arn:aws:s3:::mlp-dev-model-artifacts-111111111111-"
            "eu-west-2/runs/*]") in rules
    assert not any("111111111111-eu-central-1" in r for r in rules)
