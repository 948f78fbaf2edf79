"""The single-resource constructs the stacks compose: a managed policy checked before synth,
one account's permission on an event bus, and an encrypted schedule."""

from __future__ import annotations

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.encrypted_schedule import EncryptedSchedule
from cdk_constructs.event_bus_permission import EventBusPutPermission
from cdk_constructs._platform_managed_policy import PlatformManagedPolicy, policy_chars

READ = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::b/*"}]}


def test_managed_policy_is_named_and_exposes_its_arn(stack) -> None:
    policy = PlatformManagedPolicy(stack, "P", name="mlp-dev-reader", description="reads",
                                   document=READ)
    Template.from_stack(stack).has_resource_properties("AWS::IAM::ManagedPolicy", {
        "ManagedPolicyName": "mlp-dev-reader", "Description": "reads", "PolicyDocument": READ})
    assert policy.policy_arn == "arn:aws:iam::123456789012:policy/mlp-dev-reader"
    assert isinstance(policy, iam.CfnManagedPolicy)  # the resource itself: id = path


def _statement(**fields) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **fields}]}


@pytest.mark.parametrize("name, document, message", [
    ("bad name!", READ, "must be 1-128 letters"),
    ("p", {"Statement": READ["Statement"]}, "Version 2012-10-17"),
    ("p", {"Version": "2012-10-17", "Statement": []}, "at least one statement"),
    ("p", _statement(Action="*", Resource="*"), "allows Action \\* on Resource \\*"),
    ("p", _statement(Action=["*"], Resource=["*"]), "allows Action \\* on Resource \\*"),
    ("p", {"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::bucket-{i:04d}/some/long/prefix/*"} for i in range(80)]},
     "over IAM's 6144"),
])
def test_managed_policy_refuses(stack, name, document, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        PlatformManagedPolicy(stack, "P", name=name, description="d", document=document)


def test_managed_policy_may_deny_everything(stack) -> None:
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    PlatformManagedPolicy(stack, "P", name="p", description="d", document=deny)


def test_policy_size_counts_references_as_long_arns(stack) -> None:
    key = kms.Key(stack, "K")
    with_token = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.key_arn}]}
    with_literal = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "x" * 90}]}
    assert policy_chars(with_token) == policy_chars(with_literal)


def test_event_bus_permission_is_one_account_on_one_bus(stack) -> None:
    EventBusPutPermission(stack, "FromProd", source_account="333333333333")
    Template.from_stack(stack).has_resource_properties("AWS::Events::EventBusPolicy", {
        "EventBusName": "default", "StatementId": "put-events-from-333333333333",
        "Statement": {"Sid": "put-events-from-333333333333", "Effect": "Allow",
                      "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
                      "Action": "events:PutEvents",
                      "Resource": "arn:aws:events:eu-west-2:123456789012:event-bus/default"}})


@pytest.mark.parametrize("kwargs, message", [
    ({"source_account": "3333"}, "12-digit account id"),
    ({"source_account": "123456789012"}, "own account"),
    ({"source_account": "333333333333", "statement_id": "has spaces"}, "statement_id"),
])
def test_event_bus_permission_refuses(stack, kwargs, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        EventBusPutPermission(stack, "P", **kwargs)


def _role(stack) -> iam.IRole:
    return iam.Role.from_role_arn(stack, "R", "arn:aws:iam::123456789012:role/scheduler")


def test_schedule_is_encrypted_named_and_fixed_window(stack) -> None:
    key = kms.Key(stack, "K")
    EncryptedSchedule(stack, "S", name="mlp-prod-model-quality", description="weekly",
                      expression="cron(0 6 ? * MON *)", encryption_key=key,
                      target_arn="arn:aws:states:eu-west-2:123456789012:stateMachine:q",
                      role=_role(stack))
    (schedule,) = Template.from_stack(stack).find_resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["Name"] == "mlp-prod-model-quality"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["KmsKeyArn"]["Fn::GetAtt"][0].startswith("K")
    assert props["Target"]["RoleArn"] == "arn:aws:iam::123456789012:role/scheduler"
    assert props["Target"]["Input"] == "{}"


@pytest.mark.parametrize("overrides, message", [
    ({"expression": "every monday"}, "cron\\(...\\), rate\\(...\\) or at\\(...\\)"),
    ({"name": "x" * 65}, "1-64 letters"),
    ({"encryption_key": None}, "encryption_key is required"),
])
def test_schedule_refuses(stack, overrides, message) -> None:
    props = dict(name="s", description="d", expression="rate(1 day)",
                 encryption_key=kms.Key(stack, "K"), target_arn="arn:aws:states:::x",
                 role=_role(stack))
    props.update(overrides)
    with pytest.raises(ConstructPropsError, match=message):
        EncryptedSchedule(stack, "S", **props)


def test_policy_size_check_makes_no_jsii_call_per_string(stack, monkeypatch) -> None:
    """At 500 users every string of every policy is inspected: a jsii round trip each would
    cost seconds (the synth benchmark caught exactly that)."""
    import aws_cdk

    def no_jsii(*_args, **_kwargs):
        raise AssertionError("Token.is_unresolved called")

    monkeypatch.setattr(aws_cdk.Token, "is_unresolved", no_jsii)
    key = kms.Key(stack, "K")
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": [key.key_arn, "arn:x"]}]}
    assert policy_chars(document) > 90
