"""Permission closure on the synthesized assembly: every call of the table is allowed by
identity, resource and key policies (both sides across accounts), every S3 request leaving
a VPC by its gateway endpoint, roles trust only their callers, service key grants are
scoped. Each check is shown to fail on the #13 finding it covers, on a mutated copy of the
templates (docs/permission-closure.md)."""

from __future__ import annotations

import copy
import json

import pytest

from compliance._calls import calls_table, derive_calls
from compliance._cfn_model import World, environments_of
from compliance._closure import (
    closure_failures,
    endpoint_failures,
    trust_failures,
    unconditioned_service_grants,
)


@pytest.fixture(scope="module")
def environments(synth) -> dict[str, tuple[str, str]]:
    return environments_of(synth.outdir)


@pytest.fixture(scope="module")
def world(synth, environments) -> World:
    return World(synth.templates, environments)


@pytest.fixture(scope="module")
def calls(world):
    return derive_calls(world)


def mutated(synth, environments, change) -> World:
    """A World from a deep copy of the templates after ``change(templates)``."""
    templates = copy.deepcopy(synth.templates)
    change(templates)
    return World(templates, environments)


def replace_text(templates: dict, key: str, old: str, new: str) -> None:
    text = json.dumps(templates[key])
    assert old in text, f"{old!r} not in {key}: the mutation no longer applies"
    templates[key] = json.loads(text.replace(old, new))


def resources(templates: dict, key: str, type_: str) -> dict[str, dict]:
    return {k: v for k, v in templates[key]["Resources"].items() if v["Type"] == type_}


def statements_of(policy_resource: dict) -> list[dict]:
    props = policy_resource["Properties"]
    doc = props.get("PolicyDocument") or props.get("KeyPolicy")
    return doc["Statement"]


def drop_statement(templates: dict, key: str, type_: str, sid: str) -> None:
    for body in resources(templates, key, type_).values():
        statements = statements_of(body)
        kept = [s for s in statements if s.get("Sid") != sid]
        if len(kept) != len(statements):
            statements[:] = kept
            return
    raise AssertionError(f"no statement {sid} in {key} {type_}: the mutation no longer applies")


def failing(failures, action: str, fragment: str = "") -> list:
    return [f for f in failures if f.call.action == action and fragment in f.call.resource]


# --- the table and the checks on the real assembly ---------------------------------------------

def test_the_table_covers_every_kind_of_caller(calls) -> None:
    sources = " ".join(c.source for c in calls)
    callers = {c.caller for c in calls}
    for kind in ("pipeline ", "build project ", "schedule ", "alarm ", "rule ", ".sync polling",
                 "trail ", "config delivery channel ",
                 "passes RoleArn", "retrain_trigger_handler", "model_quality_metrics_handler",
                 "compliance_responder_handler", "lineage_recorder_handler",
                 "execution logs of"):
        assert kind in sources, f"no call derived from {kind!r}"
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com",
            "scheduler.amazonaws.com"} <= callers
    assert len(calls) > 300
    assert {"dev", "preprod", "prod"} == {c.env for c in calls}


def test_every_call_is_allowed_by_every_policy_aws_checks(world, calls) -> None:
    failures = closure_failures(world, calls)
    assert not failures, "\n".join(map(str, failures))


def test_every_s3_request_leaving_a_vpc_passes_its_gateway_endpoint(world, calls) -> None:
    failures = endpoint_failures(world, calls)
    assert not failures, "\n".join(map(str, failures))
    assert any(c.vpc_env == "preprod" and "mlp-dev-" in c.resource for c in calls), \
        "the serving VPCs' reads of the pipeline account's run artifacts are in the table"


def test_roles_trust_only_their_callers(world, calls) -> None:
    assert trust_failures(world, calls) == []


def test_service_key_grants_are_conditioned(world) -> None:
    assert unconditioned_service_grants(world) == []


def test_calls_table_lists_rows_for_the_review_pack(world) -> None:
    rows = calls_table(world)
    assert rows and all(r.caller and r.action and r.resource for r in rows)
    assert any(r.action == "states:DescribeStateMachine" and "mlp-preprod-deployment" in r.resource
               for r in rows)


# --- each check fails on the finding it covers ---------------------------------------------------

def test_finding_5_pipeline_deploy_role_without_describe_or_key_is_denied(synth, environments) -> None:
    def change(t):
        drop_statement(t, "preprod/Serving", "AWS::IAM::ManagedPolicy", "DescribeDeployment")
        drop_statement(t, "preprod/Serving", "AWS::IAM::ManagedPolicy", "DeploymentWorkflowEncryption")
    failures = closure_failures(mutated(synth, environments, change))
    assert failing(failures, "states:DescribeStateMachine", "mlp-preprod-deployment")
    assert failing(failures, "kms:GenerateDataKey", ":222222222222:key/")


def test_finding_5_quality_schedule_without_key_is_denied(synth, environments) -> None:
    def change(t):
        drop_statement(t, "prod/Serving", "AWS::IAM::ManagedPolicy", "QualityCheckEncryption")
        drop_statement(t, "prod/Serving", "AWS::IAM::ManagedPolicy", "ScheduleInputDecrypt")
    failures = closure_failures(mutated(synth, environments, change))
    assert [f for f in failures if f.call.source.startswith("schedule ")
            and f.call.action == "kms:GenerateDataKey"]
    assert [f for f in failures if "schedule key" in f.call.source]


def test_finding_7_describe_key_under_grant_condition_is_denied(synth, environments) -> None:
    def change(t):
        for body in resources(t, "preprod/Serving", "AWS::IAM::ManagedPolicy").values():
            for statement in statements_of(body):
                if statement.get("Sid") == "DescribeEndpointStorageKeys":
                    statement["Condition"] = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    failures = closure_failures(mutated(synth, environments, change))
    assert failing(failures, "kms:DescribeKey")


def test_finding_8_serving_vpc_without_pipeline_runs_is_refused(synth, environments) -> None:
    def change(t):
        for body in resources(t, "preprod/Foundation", "AWS::EC2::VPCEndpoint").values():
            doc = body["Properties"].get("PolicyDocument")
            if doc:
                doc["Statement"] = [s for s in doc["Statement"]
                                    if s.get("Sid") != "SharedRunArtifactsReadOnly"]
    failures = endpoint_failures(mutated(synth, environments, change))
    assert [f for f in failures if f.call.vpc_env == "preprod" and "mlp-dev-processed" in f.call.resource]


def test_finding_9_aws_owned_buckets_with_a_principal_condition_are_refused(synth, environments) -> None:
    def change(t):
        for body in resources(t, "dev/Foundation", "AWS::EC2::VPCEndpoint").values():
            for statement in (body["Properties"].get("PolicyDocument") or {}).get("Statement", []):
                if statement.get("Sid") == "AwsOwnedBucketsTheServicesNeed":
                    statement["Condition"] = {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}
    failures = endpoint_failures(mutated(synth, environments, change))
    assert [f for f in failures if "starport-layer-bucket" in f.call.resource]


def test_finding_10_dev_policies_admitting_only_the_endpoint_role_deny_model_quality(
        synth, environments) -> None:
    def change(t):
        replace_text(t, "dev/Foundation", '"arn:aws:iam::222222222222:role/mlp-preprod-model-quality"',
                     '"arn:aws:iam::222222222222:role/mlp-preprod-endpoint"')
    failures = closure_failures(mutated(synth, environments, change))
    denied = [f for f in failures if "ModelQualityWorkflow" in f.call.caller
              and f.call.env == "preprod"]
    assert {f.call.action for f in denied} >= {"s3:GetObject", "kms:Decrypt"}


def test_finding_11_model_quality_reports_outside_the_write_prefix_are_denied(
        synth, environments) -> None:
    def change(t):
        replace_text(t, "prod/Serving", "/reports/mlp-prod-credit-default/model-quality",
                     "/reports/mlp-prod-credit-default-model-quality")
    failures = closure_failures(mutated(synth, environments, change))
    assert failing(failures, "s3:PutObject", "reports/mlp-prod-credit-default-model-quality/")


def test_finding_12_alarms_cannot_publish_to_a_topic_that_admits_only_eventbridge(
        synth, environments) -> None:
    def change(t):
        drop_statement(t, "dev/Training", "AWS::SNS::TopicPolicy", "PublishCloudwatch")
    failures = closure_failures(mutated(synth, environments, change))
    denied = [f for f in failures if f.call.caller == "cloudwatch.amazonaws.com"]
    assert denied and all(f.call.env == "dev" for f in denied)


def test_finding_16_actions_role_trusting_the_whole_account_is_reported(synth, environments) -> None:
    def change(t):
        for body in resources(t, "dev/Training", "AWS::IAM::Role").values():
            for statement in body["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                condition = statement.get("Condition") or {}
                if "ArnEquals" in condition and "mlp-dev-pipeline" in json.dumps(condition):
                    del statement["Condition"]
    problems = trust_failures(mutated(synth, environments, change))
    assert any("ActionsRole" in p for p in problems)


def test_finding_17_unconditioned_log_delivery_grant_is_reported(synth, environments) -> None:
    def change(t):
        for body in resources(t, "dev/Foundation", "AWS::KMS::Key").values():
            for statement in body["Properties"]["KeyPolicy"]["Statement"]:
                if statement.get("Sid") == "AllowVendedLogDeliveryForThisAccountsLogs":
                    del statement["Condition"]
    problems = unconditioned_service_grants(mutated(synth, environments, change))
    assert any("delivery.logs.amazonaws.com" in p for p in problems)


def test_finding_17_log_delivery_still_decrypts_the_logs_data_keys(calls) -> None:
    rows = [c for c in calls if c.caller == "delivery.logs.amazonaws.com"]
    assert rows and {c.env for c in rows} == {"dev", "preprod", "prod"}


def test_trail_delivery_without_its_bucket_statement_is_denied(synth, environments) -> None:
    """Services to buckets (CloudTrail, AWS Config) are rows of the table too."""
    def change(t):
        drop_statement(t, "prod/Audit", "AWS::S3::BucketPolicy", "AllowCloudTrailWrite")
    failures = closure_failures(mutated(synth, environments, change))
    assert [f for f in failures if f.call.caller == "cloudtrail.amazonaws.com"
            and f.call.action == "s3:PutObject" and f.call.env == "prod"]


def test_responder_containment_calls_come_from_its_own_kinds_table(calls) -> None:
    """The responder's rows are read from its code's resource kinds: each kind it contains
    is described, tagged and stopped or deleted, and its role allows all of them."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda" / "compliance_responder"))
    try:
        import compliance_responder_logic as logic
    finally:
        sys.path.pop(0)
    actions = {c.action for c in calls if c.source.startswith("compliance_responder_handler")}
    for kind in logic.EVENT_KINDS.values():
        assert f"sagemaker:{kind.action}" in actions


def test_calls_table_reads_a_cloud_assembly_directory(synth, world) -> None:
    """What the review pack calls: the same rows from the assembly on disk."""
    from review.assembly import load_assembly

    assert calls_table(load_assembly(synth.outdir)) == calls_table(world)
