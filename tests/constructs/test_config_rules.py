from __future__ import annotations

import pytest
from aws_cdk import aws_config as config
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from construct_stack import new_stack

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.config_rules import PLATFORM_RULES, ConfigRules

ISSUE_RULES = {
    "SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS", "SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED",
    "SAGEMAKER_NOTEBOOK_INSTANCE_ROOT_ACCESS_CHECK", "SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC",
    "SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED", "S3_BUCKET_SSL_REQUESTS_ONLY",
    "S3_DEFAULT_ENCRYPTION_KMS", "S3_BUCKET_VERSIONING_ENABLED", "S3_BUCKET_PUBLIC_READ_PROHIBITED",
    "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "CMK_BACKING_KEY_ROTATION_ENABLED", "VPC_FLOW_LOGS_ENABLED",
    "CLOUD_TRAIL_ENCRYPTION_ENABLED", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
    "MULTI_REGION_CLOUD_TRAIL_ENABLED", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
    "IAM_USER_NO_POLICIES_CHECK", "IAM_ROOT_ACCESS_KEY_CHECK",
}
# AWS managed rules missing from CDK's ManagedRuleIdentifiers, each checked on its AWS page:
# https://docs.aws.amazon.com/config/latest/developerguide/sagemaker-notebook-instance-root-access-check.html
# https://docs.aws.amazon.com/config/latest/developerguide/sagemaker-notebook-instance-inside-vpc.html
# https://docs.aws.amazon.com/config/latest/developerguide/sagemaker-domain-in-vpc.html
#   (AWS::SageMaker::Domain, NON_COMPLIANT unless AppNetworkAccessType is VpcOnly; issue #15)
VERIFIED_OUTSIDE_CDK = {"SAGEMAKER_NOTEBOOK_INSTANCE_ROOT_ACCESS_CHECK",
                        "SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC", "SAGEMAKER_DOMAIN_IN_VPC"}


def _rules(stack, **overrides) -> tuple[ConfigRules, Template]:
    props = dict(rule_name_prefix="mlp-dev-", notification_topic=sns.Topic(stack, "Topic"))
    props.update(overrides)
    rules = ConfigRules(stack, "Rules", **props)
    return rules, Template.from_stack(stack)


@pytest.fixture(scope="module")
def built() -> tuple[ConfigRules, Template]:
    return _rules(new_stack(), input_parameters={
        "SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC": {"SubnetIds": "subnet-1,subnet-2"}})


def test_every_rule_the_issue_names_is_in_the_platform_set() -> None:
    assert ISSUE_RULES <= set(PLATFORM_RULES)


def test_every_identifier_is_an_aws_managed_rule() -> None:
    known = {getattr(config.ManagedRuleIdentifiers, n) for n in dir(config.ManagedRuleIdentifiers)
             if n.isupper()}
    assert set(PLATFORM_RULES) - known == VERIFIED_OUTSIDE_CDK


def test_one_aws_managed_rule_per_identifier_named_with_the_prefix(built) -> None:
    _, template = built
    rules = template.find_resources("AWS::Config::ConfigRule")
    sources = {r["Properties"]["Source"]["SourceIdentifier"]: r["Properties"] for r in rules.values()}
    assert set(sources) == set(PLATFORM_RULES)
    for identifier, props in sources.items():
        assert props["Source"]["Owner"] == "AWS"
        assert props["ConfigRuleName"] == "mlp-dev-" + identifier.lower().replace("_", "-")
    assert sources["SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC"]["InputParameters"] == {
        "SubnetIds": "subnet-1,subnet-2"}


def test_non_compliant_changes_of_these_rules_go_to_the_topic(built) -> None:
    _, template = built
    template.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": {
            "source": ["aws.config"],
            "detail-type": ["Config Rules Compliance Change"],
            "detail": {"messageType": ["ComplianceChangeNotification"],
                       "configRuleName": [{"prefix": "mlp-dev-"}],
                       "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}}},
        "Targets": [Match.object_like({"Arn": {"Ref": Match.string_like_regexp("^Topic")},
                                       "InputTransformer": Match.any_value()})],
    })
    # The target adds no unconditioned statement to the topic policy.
    assert template.find_resources("AWS::SNS::TopicPolicy") == {}


def test_rules_depend_on_the_recorder_when_given(stack) -> None:
    recorder = config.CfnConfigurationRecorder(
        stack, "Recorder", role_arn="arn:aws:iam::123456789012:role/r",
        recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(all_supported=True))
    _, template = _rules(stack, identifiers=("S3_BUCKET_VERSIONING_ENABLED",),
                         depends_on=[recorder])
    rule = next(iter(template.find_resources("AWS::Config::ConfigRule").values()))
    assert rule["DependsOn"] == ["Recorder"]


@pytest.mark.parametrize("overrides, message", [
    (dict(rule_name_prefix="mlp-dev"), "must be lower-case words"),
    (dict(notification_topic=None), "notification_topic is required"),
    (dict(identifiers=()), "at least one"),
    (dict(identifiers=("S3_BUCKET_VERSIONING_ENABLED",) * 2), "twice"),
    (dict(identifiers=("s3-bucket-versioning-enabled",)), "not an AWS managed rule identifier"),
    (dict(identifiers=("S3_BUCKET_VERSIONING_ENABLED",),
          input_parameters={"VPC_FLOW_LOGS_ENABLED": {}}), "not created: VPC_FLOW_LOGS_ENABLED"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _rules(stack, **overrides)
