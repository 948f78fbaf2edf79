from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from construct_stack import new_stack

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.security_alarms import SECURITY_FILTERS, SecurityAlarms, SecurityFilter

# What the issue asks an alarm for -> a fragment its filter pattern must contain.
REQUIRED = {
    "RootAccountUsage": '$.userIdentity.type = "Root"',
    "UnauthorizedApiCalls": '"AccessDenied*"',
    "IamPolicyChanges": "PutRolePolicy",
    "KmsKeyDisabledOrScheduledForDeletion": "ScheduleKeyDeletion",
    "CloudTrailChanges": "StopLogging",
    "ConfigChanges": "StopConfigurationRecorder",
    "S3BucketPolicyChanges": "PutBucketPolicy",
    "SecurityGroupChanges": "AuthorizeSecurityGroupIngress",
}


def _alarms(stack, **overrides) -> tuple[SecurityAlarms, Template]:
    props = dict(trail_log_group=logs.LogGroup(stack, "TrailLogs"),
                 topic=sns.Topic(stack, "Topic"), namespace="SecureMlPlatform/Security",
                 alarm_name_prefix="mlp-dev-")
    props.update(overrides)
    alarms = SecurityAlarms(stack, "Alarms", **props)
    return alarms, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    return _alarms(new_stack())[1]


def test_the_table_covers_every_alarm_the_issue_names() -> None:
    patterns = {f.name: f.pattern for f in SECURITY_FILTERS}
    for name, fragment in REQUIRED.items():
        assert fragment in patterns[name], name


@pytest.mark.parametrize("security_filter", SECURITY_FILTERS, ids=lambda f: f.name)
def test_each_filter_counts_matches_on_the_trail_log_group(template, security_filter) -> None:
    template.has_resource_properties("AWS::Logs::MetricFilter", {
        "LogGroupName": {"Ref": Match.string_like_regexp("^TrailLogs")},
        "FilterPattern": security_filter.pattern,
        "MetricTransformations": [{"MetricNamespace": "SecureMlPlatform/Security",
                                   "MetricName": security_filter.name, "MetricValue": "1"}],
    })


@pytest.mark.parametrize("security_filter", SECURITY_FILTERS, ids=lambda f: f.name)
def test_each_alarm_fires_on_one_event_and_notifies_the_topic(template, security_filter) -> None:
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": f"mlp-dev-{security_filter.name}",
        "MetricName": security_filter.name,
        "Namespace": "SecureMlPlatform/Security",
        "Statistic": "Sum",
        "Period": 300,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": Match.string_like_regexp("^Topic")}],
    })


def test_one_filter_and_one_alarm_per_entry(template) -> None:
    assert len(template.find_resources("AWS::Logs::MetricFilter")) == len(SECURITY_FILTERS)
    assert len(template.find_resources("AWS::CloudWatch::Alarm")) == len(SECURITY_FILTERS)


_GOOD = SECURITY_FILTERS[0]


@pytest.mark.parametrize("overrides, message", [
    (dict(trail_log_group=None), "trail_log_group is required"),
    (dict(topic=None), "topic is required"),
    (dict(namespace="AWS/Logs"), "namespace"),
    (dict(filters=()), "at least one filter"),
    (dict(filters=(_GOOD, _GOOD)), "filter names repeat"),
    (dict(filters=(dataclasses.replace(_GOOD, name="root usage"),)), "PascalCase"),
    (dict(filters=(SecurityFilter("Root", "d", "Root"),)), "JSON filter pattern"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _alarms(stack, **overrides)
