"""The audit stack as the app builds it, and what the two audit flags leave out."""

from __future__ import annotations

import copy

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from cdk_constructs.config_rules import PLATFORM_RULES
from cdk_constructs.security_alarms import SECURITY_FILTERS
from platform_config import parse_config

STAGES = ("dev", "preprod", "prod")


def _of_type(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _one(template: dict, type_: str) -> dict:
    found = _of_type(template, type_)
    assert len(found) == 1, f"{len(found)} {type_}"
    return next(iter(found.values()))


@pytest.mark.parametrize("stage", STAGES)
def test_trail_per_environment_with_configured_retention_and_lock(synth, sample_config,
                                                                 stage) -> None:
    audit = sample_config.environment(stage).audit
    template = synth.template(stage, "Audit")
    trail = _one(template, "AWS::CloudTrail::Trail")["Properties"]
    assert trail["TrailName"] == f"mlp-{stage}-audit-trail"
    assert trail["IsMultiRegionTrail"] and trail["EnableLogFileValidation"]
    assert trail["IncludeGlobalServiceEvents"]
    data = trail["AdvancedEventSelectors"][1]["FieldSelectors"]
    assert {"Field": "resources.ARN"} | {"StartsWith": [f"arn:aws:s3:::mlp-{stage}-"]} == {
        k: v for k, v in data[2].items() if k != "NotStartsWith"}
    groups = _of_type(template, "AWS::Logs::LogGroup")
    trail_group = next(v for k, v in groups.items() if k.startswith("TrailLogs"))
    assert trail_group["Properties"]["RetentionInDays"] == audit.trail_log_retention_days
    buckets = {b["Properties"]["BucketName"]: b for b in _of_type(template, "AWS::S3::Bucket").values()}
    trail_bucket = buckets[f"mlp-{stage}-audit-trail-{sample_config.environment(stage).account}-eu-west-2"]
    assert trail_bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": audit.object_lock.days, "Mode": audit.object_lock.mode}


def test_trail_uses_the_foundation_audit_key_that_names_it(synth) -> None:
    trail = _one(synth.template("dev", "Audit"), "AWS::CloudTrail::Trail")["Properties"]
    assert "AuditKey" in trail["KMSKeyId"]["Fn::ImportValue"]
    keys = _of_type(synth.template("dev", "Foundation"), "AWS::KMS::Key")
    audit_key = next(v for k, v in keys.items() if k.startswith("AuditKey"))
    sids = {s.get("Sid"): s for s in audit_key["Properties"]["KeyPolicy"]["Statement"]}
    assert sids["AllowCloudTrailToEncryptTrailLogs"]["Condition"]["StringEquals"][
        "aws:SourceArn"] == "arn:aws:cloudtrail:eu-west-2:111111111111:trail/mlp-dev-audit-trail"
    for service in ("Cloudwatch", "Events"):
        assert sids[f"Allow{service}ToPublishToPlatformTopics"]["Condition"]["StringLike"] == {
            "kms:EncryptionContext:aws:sns:topicArn": "arn:aws:sns:eu-west-2:111111111111:mlp-dev-*"}


def test_values_guard_cannot_see_are_foundation_imports(synth) -> None:
    """What compliance/acknowledgements.py (_CROSS_STACK) claims: these are set, by import."""
    template = synth.template("dev", "Audit")
    queue = _one(template, "AWS::SQS::Queue")["Properties"]
    assert "AuditKey" in queue["KmsMasterKeyId"]["Fn::ImportValue"]
    for group in _of_type(template, "AWS::Logs::LogGroup").values():
        assert "AuditKey" in group["Properties"]["KmsKeyId"]["Fn::ImportValue"]
    function = _one(template, "AWS::Lambda::Function")["Properties"]
    subnets = function["VpcConfig"]["SubnetIds"]
    assert len(subnets) == 2 and all("isolatedSubnet" in s["Fn::ImportValue"] for s in subnets)


def test_security_topic_is_encrypted_named_and_subscribed_from_config(synth, sample_config) -> None:
    template = synth.template("dev", "Audit")
    topic = _one(template, "AWS::SNS::Topic")["Properties"]
    assert topic["TopicName"] == "mlp-dev-security"
    assert "AuditKey" in topic["KmsMasterKeyId"]["Fn::ImportValue"]
    emails = sorted(s["Properties"]["Endpoint"]
                    for s in _of_type(template, "AWS::SNS::Subscription").values())
    assert emails == sorted(sample_config.notifications.security)


def test_alarms_notify_the_security_topic(synth) -> None:
    template = synth.template("dev", "Audit")
    topic_id = next(iter(_of_type(template, "AWS::SNS::Topic")))
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    assert len(_of_type(template, "AWS::Logs::MetricFilter")) == len(SECURITY_FILTERS)
    assert len(alarms) == len(SECURITY_FILTERS) + 2  # + responder errors and DLQ
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_config_recorder_and_rules_that_wait_for_it(synth) -> None:
    template = synth.template("dev", "Audit")
    recorder_id = next(iter(_of_type(template, "AWS::Config::ConfigurationRecorder")))
    channel_id = next(iter(_of_type(template, "AWS::Config::DeliveryChannel")))
    rules = _of_type(template, "AWS::Config::ConfigRule")
    assert len(rules) == len(PLATFORM_RULES)
    for rule in rules.values():
        assert {recorder_id, channel_id} <= set(rule["DependsOn"])


def test_responder_is_deployed_with_the_foundation_allow_lists(synth) -> None:
    variables = _one(synth.template("prod", "Audit"), "AWS::Lambda::Function")[
        "Properties"]["Environment"]["Variables"]
    keys = [part["Fn::ImportValue"] for part in variables["APPROVED_KMS_KEY_ARNS"]["Fn::Join"][1]
            if isinstance(part, dict)]
    assert [k.split("FnGetAtt")[1].split("Key")[0] for k in keys] == [
        "Data", "Notebook", "Pipeline", "Monitoring"]
    assert "PlatformSecurityGroup" in variables["APPROVED_SECURITY_GROUP_IDS"]["Fn::ImportValue"]


@pytest.fixture(scope="module")
def reusing_stage(sample_config_data):
    """dev with an organization trail and an existing Config recorder: one stage, no checks."""
    from app import cdk_json_context
    from stacks.platform_stage import PlatformStage

    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["audit"].update(use_organization_trail=True,
                                                reuse_config_recorder=True)
    config = parse_config(data)
    env = config.environment("dev")
    context = dict(cdk_json_context())
    context[f"availability-zones:account={env.account}:region={env.region}"] = list(
        env.availability_zones)
    stage = PlatformStage(App(context=context), "dev", config=config)
    return stage


def test_organization_trail_and_reused_recorder_create_only_rules_and_responder(
        reusing_stage) -> None:
    template = Template.from_stack(reusing_stage.audit).to_json()
    for absent in ("AWS::CloudTrail::Trail", "AWS::Logs::MetricFilter", "AWS::S3::Bucket",
                   "AWS::Config::ConfigurationRecorder", "AWS::Config::DeliveryChannel"):
        assert _of_type(template, absent) == {}, absent
    rules = _of_type(template, "AWS::Config::ConfigRule")
    assert len(rules) == len(PLATFORM_RULES)
    assert all("DependsOn" not in r for r in rules.values())
    assert len(_of_type(template, "AWS::Lambda::Function")) == 1
    assert len(_of_type(template, "AWS::Events::Rule")) == 2  # responder, NON_COMPLIANT alerts
    assert reusing_stage.audit.trail is None and reusing_stage.audit.config_recorder is None
    foundation = Template.from_stack(reusing_stage.foundation).to_json()
    assert "cloudtrail.amazonaws.com" not in str(foundation), "no grant for a trail we lack"
