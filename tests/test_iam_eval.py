"""The offline IAM evaluator behind the permission closure: the evaluation rules it relies
on, each against a case where getting it wrong would flip the decision."""

from __future__ import annotations

import pytest

from compliance._iam_eval import (
    Principal,
    Request,
    authorize,
    condition_block_matches,
    evaluate,
    unsupported_operators,
    wildcard_match,
)

ROLE = Principal.role("arn:aws:iam::111111111111:role/caller")
OTHER = Principal.role("arn:aws:iam::222222222222:role/caller")
BUCKET_OBJ = "arn:aws:s3:::bucket/runs/1/model.tar.gz"


def allow(action="s3:GetObject", resource="*", **extra) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def test_wildcards_and_case() -> None:
    assert wildcard_match("s3:Get*", "s3:getobject", ignore_case=True)
    assert not wildcard_match("arn:aws:s3:::bucket/runs/*", "arn:aws:s3:::bucket/other/x")
    assert wildcard_match("arn:aws:s3:::b/r?ns/*", "arn:aws:s3:::b/runs/x")
    assert not wildcard_match("arn:aws:s3:::[b]", "arn:aws:s3:::b")  # brackets are literal


def test_not_action_and_not_resource() -> None:
    policy = {"Statement": [{"Effect": "Allow", "NotAction": "s3:PutObject",
                             "NotResource": "arn:aws:s3:::bucket/secret/*"}]}
    assert evaluate(policy, Request(ROLE, "s3:GetObject", BUCKET_OBJ), resource_policy=False).effect == "Allow"
    assert evaluate(policy, Request(ROLE, "s3:PutObject", BUCKET_OBJ), resource_policy=False).effect == "Implicit"
    assert evaluate(policy, Request(ROLE, "s3:GetObject", "arn:aws:s3:::bucket/secret/x"),
                    resource_policy=False).effect == "Implicit"


@pytest.mark.parametrize("conditions,context,expected", [
    ({"StringEquals": {"aws:SourceAccount": "1"}}, {}, False),  # absent key: false
    ({"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}, {}, True),  # negated
    ({"StringNotEqualsIfExists": {"k:x": "a"}}, {}, True),  # IfExists on absent key: true
    ({"StringEqualsIfExists": {"k:x": "a"}}, {"k:x": "b"}, False),
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {}, False),  # DescribeKey sends none
    ({"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/a"]}},
     {"kms:ResourceAliases": ["alias/b", "alias/a"]}, True),
    ({"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/a"]}}, {}, False),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:logs:eu-west-2:1:*"}},
     {"aws:SourceArn": "arn:aws:logs:eu-west-2:1:log-group:x"}, True),
    ({"StringLike": {"s3:prefix": ["runs/*"]}}, {"S3:Prefix": "runs/1/"}, True),  # keys ignore case
    ({"Null": {"aws:SourceArn": "true"}}, {}, True),
    ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:MultiFactorAuthAge": "7200"}, False),
])
def test_condition_operators(conditions, context, expected) -> None:
    assert condition_block_matches(conditions, Request(ROLE, "s3:GetObject", BUCKET_OBJ, context)) is expected


def test_unknown_operators_are_reported_not_guessed() -> None:
    assert unsupported_operators({"Statement": [{"Condition": {"DateGreaterThan": {}}}]}) == {"DateGreaterThan"}
    with pytest.raises(ValueError):
        condition_block_matches({"DateGreaterThan": {"aws:CurrentTime": "x"}},
                                Request(ROLE, "s3:GetObject", BUCKET_OBJ))


def test_explicit_deny_wins() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    verdict = authorize(Request(ROLE, "s3:GetObject", BUCKET_OBJ), identity_policies=[allow()],
                        resource_policies=[deny], resource_account="111111111111")
    assert not verdict.allowed and "Deny" in verdict.reason


def test_cross_account_needs_both_sides() -> None:
    bucket = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}
    request = Request(OTHER, "s3:GetObject", BUCKET_OBJ)
    assert authorize(request, identity_policies=[allow()], resource_policies=[bucket],
                     resource_account="111111111111").allowed
    assert not authorize(request, identity_policies=[], resource_policies=[bucket],
                         resource_account="111111111111").allowed
    assert not authorize(request, identity_policies=[allow()], resource_policies=None,
                         resource_account="111111111111").allowed


def test_same_account_either_side_but_key_policy_must_allow() -> None:
    request = Request(ROLE, "kms:Decrypt", "arn:aws:kms:eu-west-2:111111111111:key/k")
    delegating = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                                 "Action": "kms:*", "Resource": "*"}]}
    assert authorize(request, identity_policies=[allow("kms:Decrypt")], resource_policies=[delegating],
                     resource_account="111111111111", resource_policy_required=True).allowed
    assert not authorize(request, identity_policies=[allow("kms:Decrypt")],
                         resource_policies=[{"Statement": []}], resource_account="111111111111",
                         resource_policy_required=True).allowed
    assert not authorize(request, identity_policies=[], resource_policies=[delegating],
                         resource_account="111111111111", resource_policy_required=True).allowed


def test_service_principals_need_the_resource_policy() -> None:
    topic = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sns:Publish", "Resource": "*",
                            "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}}}]}
    alarm = Principal.aws_service("cloudwatch.amazonaws.com")
    rule = Principal.aws_service("events.amazonaws.com")
    topic_arn = "arn:aws:sns:eu-west-2:111111111111:t"
    assert not authorize(Request(alarm, "sns:Publish", topic_arn, {"aws:SourceAccount": "111111111111"}),
                         identity_policies=None, resource_policies=[topic],
                         resource_account="111111111111").allowed
    assert authorize(Request(rule, "sns:Publish", topic_arn, {"aws:SourceAccount": "111111111111"}),
                     identity_policies=None, resource_policies=[topic],
                     resource_account="111111111111").allowed
