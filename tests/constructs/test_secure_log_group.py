from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.secure_log_group import SecureLogGroup

pytestmark = pytest.mark.control("encryption", "auditability")


def test_log_group_is_encrypted_retained_with_retention(stack) -> None:
    key = kms.Key(stack, "Key")
    SecureLogGroup(stack, "Logs", encryption_key=key, retention_days=731)
    Template.from_stack(stack).has_resource("AWS::Logs::LogGroup", {
        "Properties": {"RetentionInDays": 731, "KmsKeyId": Match.any_value()},
        "DeletionPolicy": "Retain",
    })


def test_refuses_missing_key(stack) -> None:
    with pytest.raises(ConstructPropsError, match="encryption_key is required"):
        SecureLogGroup(stack, "Logs", encryption_key=None, retention_days=30)


@pytest.mark.parametrize("days", [0, -1, 100])
def test_refuses_retention_cloudwatch_does_not_accept(stack, days) -> None:
    with pytest.raises(ConstructPropsError, match="not a CloudWatch Logs retention value"):
        SecureLogGroup(stack, "Logs", encryption_key=kms.Key(stack, "K"), retention_days=days)
