from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.managed_key import ManagedKey

pytestmark = pytest.mark.control("encryption")


def test_key_rotates_is_retained_and_aliased(stack) -> None:
    ManagedKey(stack, "DataKey", alias="alias/mlp/dev/data", description="data")
    template = Template.from_stack(stack)
    template.has_resource("AWS::KMS::Key", {
        "Properties": {"EnableKeyRotation": True, "RotationPeriodInDays": 365,
                       "PendingWindowInDays": 30},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    })
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlp/dev/data"})


def test_key_policy_denies_grants_not_for_aws_resources(stack) -> None:
    ManagedKey(stack, "K", alias="alias/k", description="k")
    Template.from_stack(stack).has_resource_properties("AWS::KMS::Key", {
        "KeyPolicy": {"Statement": Match.array_with([{
            "Sid": "DenyGrantsExceptForAwsResources",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false",
                                           "aws:PrincipalIsAWSService": "false"}},
        }])}
    })


def test_cloudwatch_logs_use_is_limited_to_this_accounts_log_groups(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    key.allow_cloudwatch_logs()
    Template.from_stack(stack).has_resource_properties("AWS::KMS::Key", {
        "KeyPolicy": {"Statement": Match.array_with([Match.object_like({
            "Principal": {"Service": "logs.eu-west-2.amazonaws.com"},
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                      "arn:aws:logs:eu-west-2:123456789012:log-group:*"}},
        })])}
    })


def test_service_grants_carry_source_account(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    key.allow_service(sid="Trail", service="cloudtrail.amazonaws.com",
                      actions=["kms:GenerateDataKey*"])
    Template.from_stack(stack).has_resource_properties("AWS::KMS::Key", {
        "KeyPolicy": {"Statement": Match.array_with([Match.object_like({
            "Sid": "Trail",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        })])}
    })


@pytest.mark.parametrize("kwargs, message", [
    (dict(alias="data"), "must start with 'alias/'"),
    (dict(alias="alias/aws/s3"), "not 'alias/aws'"),
    (dict(alias="alias/ok", pending_window_days=3), "7..30"),
])
def test_refuses_bad_props(stack, kwargs, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        ManagedKey(stack, "K", description="x", **kwargs)


def test_refuses_a_non_service_principal(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    with pytest.raises(ConstructPropsError, match="not a service principal"):
        key.allow_service(sid="x", service="arn:aws:iam::1:root", actions=["kms:Decrypt"])


TRAIL = "arn:aws:cloudtrail:eu-west-2:123456789012:trail/mlp-dev-audit-trail"


def test_cloudtrail_may_encrypt_for_the_named_trail_only(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    key.allow_cloudtrail(trail_name="mlp-dev-audit-trail")
    Template.from_stack(stack).has_resource_properties("AWS::KMS::Key", {
        "KeyPolicy": {"Statement": Match.array_with([
            Match.object_like({
                "Sid": "AllowCloudTrailToEncryptTrailLogs",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": TRAIL, "aws:SourceAccount": "123456789012"},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                   "arn:aws:cloudtrail:*:123456789012:trail/*"}}}),
            Match.object_like({
                "Sid": "AllowCloudTrailToDescribeKey", "Action": "kms:DescribeKey",
                "Condition": {"StringEquals": {"aws:SourceArn": TRAIL,
                                               "aws:SourceAccount": "123456789012"}}}),
        ])}})


def _publisher_statement(stack, service: str) -> dict:
    (key,) = Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                    if s.get("Principal") == {"Service": service}]
    return statement


def test_sns_publishers_only_for_topics_with_the_prefix(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    key.allow_sns_publishers(services=("cloudwatch.amazonaws.com", "events.amazonaws.com"),
                             topic_name_prefix="mlp-dev-")
    topics = {"kms:EncryptionContext:aws:sns:topicArn": "arn:aws:sns:eu-west-2:123456789012:mlp-dev-*"}
    alarms = _publisher_statement(stack, "cloudwatch.amazonaws.com")
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                   "StringLike": topics}
    # EventBridge does not send aws:SourceAccount/aws:SourceArn to KMS when it delivers to an
    # encrypted topic (SNS developer guide): with the condition every delivery would fail.
    rules = _publisher_statement(stack, "events.amazonaws.com")
    assert rules["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert rules["Condition"] == {"StringLike": topics}


def test_sns_publishers_for_every_topic_of_the_account(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    key.allow_sns_publishers(services=("events.amazonaws.com",), topic_name_prefix=None)
    assert _publisher_statement(stack, "events.amazonaws.com")["Condition"] == {"StringLike": {
        "kms:EncryptionContext:aws:sns:topicArn": "arn:aws:sns:eu-west-2:123456789012:*"}}


def test_service_grant_without_source_account_needs_other_conditions(stack) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    with pytest.raises(ConstructPropsError, match="give conditions that scope the grant"):
        key.allow_service(sid="Open", service="events.amazonaws.com", actions=["kms:Decrypt"],
                          source_account=False)


@pytest.mark.parametrize("call, message", [
    (lambda k: k.allow_cloudtrail(trail_name="trail/*"), "exact name of one trail"),
    (lambda k: k.allow_sns_publishers(services=(), topic_name_prefix="p-"), "at least one"),
    (lambda k: k.allow_sns_publishers(services=("events.amazonaws.com",), topic_name_prefix="*"),
     "literal name prefix"),
])
def test_service_helpers_refuse_wildcards(stack, call, message) -> None:
    key = ManagedKey(stack, "K", alias="alias/k", description="k")
    with pytest.raises(ConstructPropsError, match=message):
        call(key)
