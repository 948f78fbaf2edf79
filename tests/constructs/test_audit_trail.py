from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.audit_trail import AuditTrail
from construct_stack import new_stack

TRAIL_ARN = "arn:aws:cloudtrail:eu-west-2:123456789012:trail/mlp-dev-audit-trail"


def _trail(stack, **overrides) -> tuple[AuditTrail, Template]:
    props = dict(trail_name="mlp-dev-audit-trail", bucket_name="mlp-dev-audit-trail-bucket",
                 encryption_key=kms.Key(stack, "Key"),
                 access_logs_bucket=s3.Bucket.from_bucket_name(stack, "Logs", "mlp-dev-access-logs"),
                 log_retention_days=365, object_lock_days=365, object_lock_mode="COMPLIANCE",
                 data_event_bucket_prefix="mlp-dev-")
    props.update(overrides)
    trail = AuditTrail(stack, "Trail", **props)
    return trail, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    """One synthesized trail shared by the read-only assertions below."""
    return _trail(new_stack(), log_retention_days=731, object_lock_days=2555)[1]


def _trail_props(template: Template) -> dict:
    trails = template.find_resources("AWS::CloudTrail::Trail")
    assert len(trails) == 1
    return next(iter(trails.values()))


def test_trail_is_multi_region_validated_encrypted_and_logged(template) -> None:
    trail = _trail_props(template)
    props = trail["Properties"]
    assert props["TrailName"] == "mlp-dev-audit-trail"
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IsLogging"] is True
    assert props["KMSKeyId"]["Fn::GetAtt"][0].startswith("Key")
    assert "CloudWatchLogsLogGroupArn" in props and "CloudWatchLogsRoleArn" in props
    # CloudTrail validates its bucket policy and log role when the trail is created.
    assert any(d.startswith("TrailBucketPolicy") for d in trail["DependsOn"])
    assert any(d.startswith("TrailLogsPolicy") for d in trail["DependsOn"])


def test_log_group_is_encrypted_retained_with_configured_retention(template) -> None:
    template.has_resource("AWS::Logs::LogGroup", {
        "Properties": {"RetentionInDays": 731, "KmsKeyId": Match.any_value()},
        "DeletionPolicy": "Retain"})


def test_advanced_selectors_record_management_and_platform_bucket_data_events(template) -> None:
    selectors = _trail_props(template)["Properties"]["AdvancedEventSelectors"]
    assert selectors[0]["FieldSelectors"] == [{"Field": "eventCategory", "Equals": ["Management"]}]
    data = {s["Field"]: s for s in selectors[1]["FieldSelectors"]}
    assert data["eventCategory"]["Equals"] == ["Data"]
    assert data["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert data["resources.ARN"]["StartsWith"] == ["arn:aws:s3:::mlp-dev-"]
    # Not the trail's own bucket nor the access-log bucket: their writes would feed back.
    excluded = data["resources.ARN"]["NotStartsWith"]
    assert "arn:aws:s3:::mlp-dev-access-logs/" in excluded
    assert any("Fn::Join" in e for e in excluded if isinstance(e, dict))
    assert "readOnly" not in data, "reads and writes are both recorded"


def test_bucket_is_object_locked_versioned_access_logged_and_retained(template) -> None:
    template.has_resource("AWS::S3::Bucket", {
        "Properties": Match.object_like({
            "BucketName": "mlp-dev-audit-trail-bucket",
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {
                "DefaultRetention": {"Days": 2555, "Mode": "COMPLIANCE"}}},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": {"DestinationBucketName": "mlp-dev-access-logs",
                                     "LogFilePrefix": "mlp-dev-audit-trail-bucket/"},
        }),
        "DeletionPolicy": "Retain"})


def test_governance_mode_is_configurable(stack) -> None:
    _, template = _trail(stack, object_lock_days=30, object_lock_mode="GOVERNANCE")
    template.has_resource_properties("AWS::S3::Bucket", {"ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": 30, "Mode": "GOVERNANCE"}}}})


def test_bucket_policy_lets_only_this_trail_write_and_requires_tls(template) -> None:
    policy = next(iter(template.find_resources("AWS::S3::BucketPolicy").values()))
    listed = policy["Properties"]["PolicyDocument"]["Statement"]
    statements = {s["Sid"]: s for s in listed if "Sid" in s}
    write = statements["AllowCloudTrailWrite"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
    assert statements["AllowCloudTrailAclCheck"]["Condition"]["StringEquals"] == {
        "aws:SourceArn": TRAIL_ARN}
    tls = [s for s in listed if s["Effect"] == "Deny"
           and s.get("Condition", {}).get("Bool") == {"aws:SecureTransport": "false"}]
    assert tls, "TLS-only"
    # Digest files are SSE-S3 by CloudTrail's design: exempt from the SSE-KMS header denial.
    deny = statements["DenyUploadsWithOtherEncryption"]
    assert "NotResource" in deny and "CloudTrail-Digest" in str(deny["NotResource"])


def test_log_role_is_trusted_by_this_trail_only_and_writes_its_log_group(template) -> None:
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {
        "Statement": [Match.object_like({
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012",
                                           "aws:SourceArn": TRAIL_ARN}}})]}})
    assert template.find_resources("AWS::IAM::Policy") == {}, "no inline policies"
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {"PolicyDocument": {
        "Statement": [Match.object_like({
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("^TrailLogs"), "Arn"]}})]}})


@pytest.mark.parametrize("overrides, message", [
    (dict(trail_name="a/b"), "trail_name"),
    (dict(encryption_key=None), "encryption_key is required"),
    (dict(object_lock_days=0), "object_lock_days is required"),
    (dict(object_lock_days=None), "object_lock_days is required"),
    (dict(data_event_bucket_prefix="mlp-dev"), "must be lower-case and end with '-'"),
    (dict(data_event_bucket_prefix="MLP-"), "must be lower-case"),
    (dict(log_retention_days=42), "not a CloudWatch Logs retention value"),
    (dict(object_lock_mode="LEGAL"), "GOVERNANCE or COMPLIANCE"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _trail(stack, **overrides)


def _resolve(value):
    """A selector value as CloudFormation resolves it (aws partition; the trail's bucket is
    the one named in _trail)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p) for p in parts)
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        assert value["Fn::GetAtt"][0].startswith("TrailBucket") and value["Fn::GetAtt"][1] == "Arn"
        return "arn:aws:s3:::mlp-dev-audit-trail-bucket"
    assert isinstance(value, str), value
    return value


def _recorded(selectors: list[dict], event: dict) -> bool:
    """CloudTrail's documented evaluation of advanced event selectors: a trail records an
    event that any selector matches; a selector matches when every field selector does; in a
    field selector, the values of the including operators (Equals, StartsWith, EndsWith) are
    ORed, the excluding ones (NotEquals, NotStartsWith, NotEndsWith) are ANDed, and the two
    groups are ANDed."""
    def field_matches(selector: dict) -> bool:
        value = event[selector["Field"]]
        tests = {"Equals": lambda v: value == v, "StartsWith": value.startswith,
                 "EndsWith": value.endswith, "NotEquals": lambda v: value != v,
                 "NotStartsWith": lambda v: not value.startswith(v),
                 "NotEndsWith": lambda v: not value.endswith(v)}
        including = [tests[op](_resolve(v)) for op in ("Equals", "StartsWith", "EndsWith")
                     for v in selector.get(op, [])]
        excluding = [tests[op](_resolve(v)) for op in ("NotEquals", "NotStartsWith", "NotEndsWith")
                     for v in selector.get(op, [])]
        return (not including or any(including)) and all(excluding)
    return any(all(field_matches(f) for f in s["FieldSelectors"]) for s in selectors)


@pytest.mark.parametrize("bucket, recorded", [
    ("mlp-dev-raw-data-123456789012-eu-west-2", True),
    ("mlp-dev-model-artifacts-123456789012-eu-west-2", True),
    ("mlp-dev-audit-trail-bucket", False),  # the trail's own deliveries would feed back
    ("mlp-dev-access-logs", False),
    ("mlp-prod-raw-data-123456789012-eu-west-2", False),  # another environment's prefix
    ("someone-elses-bucket", False),
])
def test_selectors_record_exactly_the_platform_buckets_object_events(template, bucket, recorded):
    selectors = _trail_props(template)["Properties"]["AdvancedEventSelectors"]
    event = {"eventCategory": "Data", "resources.type": "AWS::S3::Object",
             "resources.ARN": f"arn:aws:s3:::{bucket}/runs/1/model.tar.gz"}
    assert _recorded(selectors, event) is recorded
    assert _recorded(selectors, {"eventCategory": "Management"})
