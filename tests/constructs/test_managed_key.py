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
