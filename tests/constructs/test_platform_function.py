from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._platform_function import PlatformFunction

pytestmark = pytest.mark.control("network_isolation", "authorization")


def _build(stack, **overrides) -> PlatformFunction:
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    props = dict(asset="lineage_recorder", handler="lineage_recorder_handler.handler",
                 description="Records lineage", vpc=vpc,
                 security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc),
                 encryption_key=kms.Key(stack, "Key"), log_retention_days=365,
                 powertools_layer_version=27)
    props.update(overrides)
    return PlatformFunction(stack, "Fn", **props)


def _function(stack, **overrides) -> tuple[PlatformFunction, Template]:
    function = _build(stack, **overrides)
    return function, Template.from_stack(stack)


def test_function_defaults(stack) -> None:
    _, template = _function(stack)
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "lineage_recorder_handler.handler",
        "Runtime": "python3.14",
        "TracingConfig": {"Mode": "Active"},
        "ReservedConcurrentExecutions": 2,
        "DeadLetterConfig": {"TargetArn": Match.any_value()},
        "KmsKeyArn": Match.any_value(),
        "VpcConfig": {"SubnetIds": Match.any_value(), "SecurityGroupIds": Match.any_value()},
        "Layers": ["arn:aws:lambda:eu-west-2:017000801446:layer:"
                   "AWSLambdaPowertoolsPythonV3-python314-x86_64:27"],
        "Environment": {"Variables": Match.object_like({
            "POWERTOOLS_SERVICE_NAME": "lineage-recorder"})},
        "LoggingConfig": {"LogGroup": Match.any_value()},
    })
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig",
                                     {"MaximumRetryAttempts": 2})
    template.has_resource("AWS::SQS::Queue", {
        "Properties": {"KmsMasterKeyId": Match.any_value(), "MessageRetentionPeriod": 1209600,
                       "RedriveAllowPolicy": {"redrivePermission": "allowAll"}},
        "DeletionPolicy": "Retain"})
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})


def test_permissions_live_in_one_managed_policy(stack) -> None:
    function = _build(stack)
    function.add_permissions(iam.PolicyStatement(actions=["sns:Publish"],
                                                 resources=["arn:aws:sns:eu-west-2:1:t"]))
    template = Template.from_stack(stack)
    assert template.find_resources("AWS::IAM::Policy") == {}, "no inline policies"
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    assert len(policies) == 1
    statements = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    publish = [st for st in statements if "sns:Publish" in str(st["Action"])]
    assert len(publish) == 1 and publish[0]["Resource"] == "arn:aws:sns:eu-west-2:1:t"
    template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})]}})


@pytest.mark.parametrize("overrides, message", [
    (dict(asset="nope"), "no folder lambda/nope/"),
    (dict(handler="handler.handler"), "must be '<unique>_handler.<function>'"),
    (dict(handler="other_handler.handler"), "other_handler.py does not exist"),
    (dict(reserved_concurrency=0), "reserved_concurrency 0"),
    (dict(retry_attempts=3), "retry_attempts must be 0..2"),
    (dict(powertools_layer_version=0), "published layer version"),
    (dict(log_retention_days=10), "not a CloudWatch Logs retention value"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _function(stack, **overrides)
