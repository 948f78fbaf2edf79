"""ComplianceResponder construct (the Lambda logic is tested in tests/lambdas/test_compliance_responder.py;
the two test modules need different basenames because tests/ has no packages)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from construct_stack import ACCOUNT, REGION, new_stack

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._compliance_responder import COMPLIANCE_TAG_KEYS, ComplianceResponder

ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
# Each remediation path: the CloudTrail event that starts it, the ARN type, and the call
# that corrects it (docs/compliance-responder.md). The Lambda's moto tests cover the logic.
REMEDIATIONS = [
    ("CreateNotebookInstance", "notebook-instance", "StopNotebookInstance"),
    ("StartNotebookInstance", "notebook-instance", "StopNotebookInstance"),
    ("UpdateNotebookInstance", "notebook-instance", "StopNotebookInstance"),
    ("CreateTrainingJob", "training-job", "StopTrainingJob"),
    ("CreateProcessingJob", "processing-job", "StopProcessingJob"),
    ("CreateTransformJob", "transform-job", "StopTransformJob"),
    ("CreateHyperParameterTuningJob", "hyper-parameter-tuning-job", "StopHyperParameterTuningJob"),
    ("CreateModel", "model", "DeleteModel"),
    ("CreateEndpointConfig", "endpoint-config", "DeleteEndpointConfig"),
]


def _responder(stack, **overrides) -> tuple[ComplianceResponder, Template]:
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    key = kms.Key(stack, "Key")
    props = dict(vpc=vpc, security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc),
                 encryption_key=key, security_topic=sns.Topic(stack, "Topic"),
                 security_topic_key=key, approved_subnet_ids=["subnet-a", "subnet-b"],
                 approved_security_group_ids=["sg-1"],
                 approved_kms_key_arns=["arn:aws:kms:eu-west-2:123456789012:key/k1"],
                 log_retention_days=365, powertools_layer_version=27, alarm_name_prefix="mlp-dev-")
    props.update(overrides)
    responder = ComplianceResponder(stack, "Responder", **props)
    return responder, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    return _responder(new_stack())[1]


def _statements(template: Template) -> dict[str, dict]:
    policy = next(iter(template.find_resources("AWS::IAM::ManagedPolicy").values()))
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def _resolved(resource) -> str:
    """Fn::Join of pseudo parameters back into ${AWS::...} form, for readable asserts."""
    if isinstance(resource, dict) and "Fn::Join" in resource:
        return "".join(f"${{{p['Ref']}}}" if isinstance(p, dict) else p
                       for p in resource["Fn::Join"][1])
    return resource


def test_function_runs_the_responder_in_the_vpc_with_its_policy(template) -> None:
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "compliance_responder_handler.handler",
        "Timeout": 900,
        "ReservedConcurrentExecutions": 5,
        "TracingConfig": {"Mode": "Active"},
        "DeadLetterConfig": {"TargetArn": Match.any_value()},
        "VpcConfig": {"SubnetIds": Match.any_value(), "SecurityGroupIds": Match.any_value()},
        "Layers": [Match.string_like_regexp("AWSLambdaPowertoolsPythonV3")],
        "Environment": {"Variables": Match.object_like({
            "SECURITY_TOPIC_ARN": {"Ref": Match.string_like_regexp("^Topic")},
            "APPROVED_SUBNET_IDS": "subnet-a,subnet-b",
            "APPROVED_SECURITY_GROUP_IDS": "sg-1",
            "APPROVED_KMS_KEY_ARNS": "arn:aws:kms:eu-west-2:123456789012:key/k1",
            "REQUIRE_NETWORK_ISOLATION": "true",
            "POWERTOOLS_SERVICE_NAME": "compliance-responder",
        })},
    })


@pytest.mark.parametrize("event_name, arn_type, action", REMEDIATIONS)
def test_each_remediation_path_is_wired_and_permitted(template, event_name, arn_type,
                                                      action) -> None:
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))
    assert event_name in rule["Properties"]["EventPattern"]["detail"]["eventName"]
    describe = "sagemaker:Describe" + action.removeprefix("Stop").removeprefix("Delete")
    matching = [s for s in _statements(template).values()
                if f"sagemaker:{action}" in s["Action"]]
    assert len(matching) == 1
    assert describe in matching[0]["Action"]
    assert _resolved(matching[0]["Resource"]) == f"{ARN}:{arn_type}/*"
    tags = _statements(template)["ComplianceTagsOnly"]
    assert f"{ARN}:{arn_type}/*" in [_resolved(r) for r in tags["Resource"]]


def test_rule_takes_only_successful_sagemaker_calls_and_targets_the_function(template) -> None:
    template.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": {"source": ["aws.sagemaker"],
                         "detail-type": ["AWS API Call via CloudTrail"],
                         "detail": Match.object_like({"eventSource": ["sagemaker.amazonaws.com"],
                                                      "errorCode": [{"exists": False}]})},
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
                                       "RetryPolicy": Match.any_value()})],
    })
    template.has_resource_properties("AWS::Lambda::Permission", {
        "Principal": "events.amazonaws.com", "SourceArn": Match.any_value()})


def test_rule_takes_only_this_accounts_and_regions_own_events(template) -> None:
    """Issue #17 finding 1: the default bus also receives events relayed from other accounts;
    an event of another account or region must never reach the function (which checks too)."""
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["account"] == [ACCOUNT]
    assert pattern["region"] == [REGION]


def test_no_permission_beyond_the_documented_policy(template) -> None:
    statements = _statements(template)
    actions = {a for s in statements.values() for a in
               ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    sagemaker = {a for a in actions if a.startswith("sagemaker:")}
    assert not any(a.endswith("*") for a in actions), "no wildcard actions"
    assert all(a.split(":")[1].startswith(("Describe", "Stop", "Delete", "AddTags"))
               for a in sagemaker)
    assert statements["ComplianceTagsOnly"]["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": list(COMPLIANCE_TAG_KEYS)}}
    assert statements["Notify"]["Resource"]["Ref"].startswith("Topic")
    assert statements["EncryptedTopic"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "sns.eu-west-2.amazonaws.com"}}
    assert template.find_resources("AWS::IAM::Policy") == {}, "no inline policies"


def test_errors_and_dead_letters_alarm_the_security_topic(template) -> None:
    for name, metric in (("mlp-dev-ComplianceResponderErrors", "RemediationErrors"),
                         ("mlp-dev-ComplianceResponderDeadLetters",
                          "ApproximateNumberOfMessagesVisible")):
        template.has_resource_properties("AWS::CloudWatch::Alarm", {
            "AlarmName": name, "MetricName": metric, "Threshold": 1,
            "AlarmActions": [{"Ref": Match.string_like_regexp("^Topic")}]})


def test_network_isolation_can_be_relaxed(stack) -> None:
    _, template = _responder(stack, require_network_isolation=False)
    template.has_resource_properties("AWS::Lambda::Function", {"Environment": {
        "Variables": Match.object_like({"REQUIRE_NETWORK_ISOLATION": "false"})}})


@pytest.mark.parametrize("overrides, message", [
    (dict(approved_subnet_ids=[]), "approved_subnet_ids must not be empty"),
    (dict(approved_security_group_ids=[]), "approved_security_group_ids must not be empty"),
    (dict(approved_kms_key_arns=[]), "approved_kms_key_arns must not be empty"),
    (dict(approved_subnet_ids=["a,b"]), "without ','"),
    (dict(security_topic=None), "security_topic and security_topic_key are required"),
    (dict(reserved_concurrency=0), "reserved_concurrency 0"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _responder(stack, **overrides)
