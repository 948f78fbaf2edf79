"""The app: three stages, each with its account, region and stable stack ids."""

from __future__ import annotations

import copy
import json

import pytest

from platform_config import parse_config


def test_three_stages_with_their_account_and_region(synth, sample_config) -> None:
    assert sorted(synth.templates) == sorted(
        [f"{stage}/{stack}" for stage in ("dev", "preprod", "prod")
         for stack in ("Access", "Audit", "Foundation")]
        + ["dev/Access-Shard05", "dev/Access-Shard07", "dev/Training",
           "preprod/Serving", "prod/Serving"])
    for stage in ("dev", "preprod", "prod"):
        manifest = (synth.outdir / f"assembly-{stage}" / "manifest.json").read_text()
        env = sample_config.environment(stage)
        assert f"aws://{env.account}/{env.region}" in manifest


def test_stack_names_are_derived_from_project_and_environment(synth) -> None:
    manifest = (synth.outdir / "assembly-prod" / "manifest.json").read_text()
    assert '"stackName": "mlp-prod-foundation"' in manifest
    assert '"stackName": "mlp-prod-audit"' in manifest


def test_everything_stateful_is_retained(synth) -> None:
    stateful = {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"}
    found = 0
    for name, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in stateful:
                found += 1
                assert resource.get("DeletionPolicy") == "Retain", f"{name} {logical_id}"
                assert resource.get("UpdateReplacePolicy") == "Retain", f"{name} {logical_id}"
    assert found >= 3 * (6 + 5 + 1)


def test_no_auto_delete_anywhere(synth) -> None:
    for template in synth.templates.values():
        assert not any(r["Type"] == "Custom::S3AutoDeleteObjects"
                       for r in template["Resources"].values())


def test_model_artifacts_are_object_locked_per_environment(synth, sample_config) -> None:
    for stage in ("dev", "prod"):
        lock = sample_config.environment(stage).object_lock
        buckets = synth.resources(stage, "Foundation", "AWS::S3::Bucket")
        models = [b for b in buckets.values()
                  if str(b["Properties"]["BucketName"]).startswith(f"mlp-{stage}-model-artifacts-")]
        assert len(models) == 1
        assert models[0]["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
            "Days": lock.days, "Mode": lock.mode}


def test_five_purpose_keys_per_environment(synth) -> None:
    aliases = sorted(r["Properties"]["AliasName"]
                     for r in synth.resources("dev", "Foundation", "AWS::KMS::Alias").values())
    assert aliases == [f"alias/mlp/dev/{p}" for p in
                       ("audit", "data", "monitoring", "notebook", "pipeline")]


def test_reordering_config_entries_changes_nothing(sample_config_data, synth, tmp_path) -> None:
    """Stable ids: the same config with environments and users in another order synthesizes
    byte-identical templates."""
    from synth_support import synthesize

    data = copy.deepcopy(sample_config_data)
    data["environments"] = dict(reversed(list(data["environments"].items())))
    data["users"] = list(reversed(data["users"]))
    reordered = synthesize(parse_config(data), tmp_path, compliance=False)
    assert reordered.templates == synth.templates


@pytest.mark.parametrize("stage", ["dev", "preprod", "prod"])
def test_every_eventbridge_key_grant_is_scoped_by_topic_not_source_account(synth, stage) -> None:
    """EventBridge does not send aws:SourceAccount to KMS when it delivers to an encrypted
    topic, so a grant with it silently drops every alert; a grant with no condition at all
    would serve any account's rules. Each one must name this account's topics instead."""
    grants = [s for key in synth.resources(stage, "Foundation", "AWS::KMS::Key").values()
              for s in key["Properties"]["KeyPolicy"]["Statement"]
              if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert len(grants) == 2  # audit key (security topics) and monitoring key
    for grant in grants:
        assert set(grant["Condition"]) == {"StringLike"}, grant
        topics = grant["Condition"]["StringLike"]["kms:EncryptionContext:aws:sns:topicArn"]
        assert topics.startswith("arn:aws:sns:") and topics.endswith("*")
        assert topics.split(":")[4].isdigit()  # one account, never a wildcard


def test_every_state_machine_role_may_encrypt_its_execution_logs(synth) -> None:
    """A state machine encrypted with a customer key writes its execution logs encrypted too;
    its role needs kms:GenerateDataKey under the logs encryption context, or logging fails."""
    checked = 0
    for name, template in synth.templates.items():
        resources = template.get("Resources", {})
        machines = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        if not machines:
            continue
        statements = [s for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"
                      for s in r["Properties"]["PolicyDocument"]["Statement"]
                      if s.get("Sid") == "LogEncryption"]
        assert len(statements) == len(machines), name
        for statement in statements:
            assert statement["Action"] == "kms:GenerateDataKey"
            (context,) = statement["Condition"]["StringEquals"].values()
            assert ":logs:" in json.dumps(context) and context != "*"
        checked += len(machines)
    assert checked >= 5
