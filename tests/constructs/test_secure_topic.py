from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.secure_topic import SecureTopic

pytestmark = pytest.mark.control("encryption", "operations")


def test_topic_is_encrypted_tls_only_with_subscribers(stack) -> None:
    SecureTopic(stack, "Security", display_name="Security", master_key=kms.Key(stack, "K"),
                emails=["a@example.com", "b@example.com"],
                allow_services=("cloudwatch.amazonaws.com",))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    assert len(template.find_resources("AWS::SNS::Subscription")) == 2
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([
            Match.object_like({"Effect": "Deny",
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            Match.object_like({"Principal": {"Service": "cloudwatch.amazonaws.com"},
                               "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}),
        ])}})


@pytest.mark.parametrize("kwargs, message", [
    (dict(master_key=None, emails=[]), "master_key is required"),
    (dict(emails=["nope"]), "not an e-mail address"),
    (dict(emails=[], allow_services=("cloudwatch",)), "not a service principal"),
])
def test_refuses(stack, kwargs, message) -> None:
    props = dict(display_name="t", master_key=kms.Key(stack, "K"))
    props.update(kwargs)
    with pytest.raises(ConstructPropsError, match=message):
        SecureTopic(stack, "T", **props)


def test_topic_name_is_fixed_when_given_and_validated(stack) -> None:
    SecureTopic(stack, "Named", display_name="t", master_key=kms.Key(stack, "K"), emails=[],
                topic_name="mlp-dev-security")
    Template.from_stack(stack).has_resource_properties("AWS::SNS::Topic",
                                                       {"TopicName": "mlp-dev-security"})
    with pytest.raises(ConstructPropsError, match="topic_name"):
        SecureTopic(stack, "Bad", display_name="t", master_key=kms.Key(stack, "K2"), emails=[],
                    topic_name="no spaces")
