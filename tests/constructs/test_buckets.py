from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.access_log_bucket import AccessLogBucket
from cdk_constructs.secure_bucket import ObjectLockOptOut, SecureBucket

pytestmark = pytest.mark.control("encryption", "traceability")


def _secure(stack, **overrides) -> tuple[SecureBucket, Template]:
    key = kms.Key(stack, "Key")
    logs = AccessLogBucket(stack, "Logs", bucket_name="mlp-dev-access-logs",
                           source_bucket_prefix="mlp-dev-", retention_days=365)
    props = dict(bucket_name="mlp-dev-raw-data", encryption_key=key,
                 access_logs_bucket=logs.bucket)
    props.update(overrides)
    bucket = SecureBucket(stack, "Raw", **props)
    return bucket, Template.from_stack(stack)


def _bucket_props(template: Template, name: str) -> dict:
    buckets = template.find_resources("AWS::S3::Bucket",
                                      {"Properties": {"BucketName": name}})
    assert len(buckets) == 1
    return next(iter(buckets.values()))


def _policy_statements(template: Template, bucket_logical_id: str) -> list[dict]:
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_logical_id}:
            return policy["Properties"]["PolicyDocument"]["Statement"]
    raise AssertionError(f"no policy for {bucket_logical_id}")


def test_secure_bucket_defaults(stack) -> None:
    _, template = _secure(stack)
    resource = _bucket_props(template, "mlp-dev-raw-data")
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "KMSMasterKeyID" in rule["ServerSideEncryptionByDefault"]
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "mlp-dev-raw-data/"
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["ObjectLockEnabled"] is True
    assert "ObjectLockConfiguration" not in props  # no default retention unless asked
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}


def test_secure_bucket_policy_denies_plaintext_weak_tls_and_other_keys(stack) -> None:
    _, template = _secure(stack)
    logical_id = next(iter(template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": "mlp-dev-raw-data"}})))
    statements = _policy_statements(template, logical_id)
    deny_list = [s for s in statements if s["Effect"] == "Deny"]
    denies = {s["Sid"]: s for s in deny_list if "Sid" in s}
    conditions = [s["Condition"] for s in deny_list]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
    assert denies["DenyUploadsWithOtherEncryption"]["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    other_key = denies["DenyUploadsNamingAnotherKey"]["Condition"]["StringNotEqualsIfExists"]
    key_logical_id = next(iter(template.find_resources("AWS::KMS::Key")))
    assert other_key["s3:x-amz-server-side-encryption-aws-kms-key-id"] == {
        "Fn::GetAtt": [key_logical_id, "Arn"]}


def test_object_lock_default_retention(stack) -> None:
    _, template = _secure(stack, object_lock_days=30, object_lock_mode="COMPLIANCE")
    props = _bucket_props(template, "mlp-dev-raw-data")["Properties"]
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": 30, "Mode": "COMPLIANCE"}}}


def test_nothing_auto_deletes(stack) -> None:
    _, template = _secure(stack)
    assert template.find_resources("Custom::S3AutoDeleteObjects") == {}
    assert template.find_resources("AWS::Lambda::Function") == {}


@pytest.mark.parametrize("overrides, message", [
    (dict(bucket_name="Bad_Name"), "not a valid S3 bucket name"),
    (dict(bucket_name="a" * 64), "not a valid S3 bucket name"),
    (dict(encryption_key=None), "encryption_key is required"),
    (dict(access_logs_bucket=None), "access_logs_bucket is required"),
    (dict(object_lock_days=0), "object_lock_days must be positive"),
    (dict(object_lock_days=1, object_lock_mode="STRICT"), "GOVERNANCE or COMPLIANCE"),
    (dict(object_lock_days=30, noncurrent_version_days=7), "shorter than object_lock_days"),
    # The Object Lock opt-out exists for AWS Config's delivery bucket only (issue #13, 3).
    (dict(object_lock_opt_out=ObjectLockOptOut.AWS_CONFIG_DELIVERY),
     "accepted only for the bucket a ConfigRecorder creates"),
    (dict(object_lock_opt_out="AWS_CONFIG_DELIVERY"), "must be an ObjectLockOptOut member"),
    (dict(object_lock_opt_out=True), "must be an ObjectLockOptOut member"),
])
def test_secure_bucket_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _secure(stack, **overrides)


def test_access_log_bucket(stack) -> None:
    AccessLogBucket(stack, "Logs", bucket_name="mlp-dev-access-logs",
                    source_bucket_prefix="mlp-dev-", retention_days=90)
    template = Template.from_stack(stack)
    resource = _bucket_props(template, "mlp-dev-access-logs")
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    logical_id = next(iter(template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": "mlp-dev-access-logs"}})))
    delivery = [s for s in _policy_statements(template, logical_id)
                if s.get("Sid") == "AllowS3ServerAccessLogDeliveryFromPlatformBuckets"]
    assert delivery and delivery[0]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert delivery[0]["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:s3:::mlp-dev-*"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(source_bucket_prefix="", retention_days=1), "source_bucket_prefix"),
    (dict(source_bucket_prefix="mlp-", retention_days=0), "retention_days must be positive"),
])
def test_access_log_bucket_refuses(stack, kwargs, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        AccessLogBucket(stack, "Logs", bucket_name="mlp-dev-access-logs", **kwargs)


def test_cloudtrail_digests_are_exempt_from_the_sse_kms_header_denials_only(stack) -> None:
    bucket, template = _secure(stack, cloudtrail_digests=True)
    statements = {s.get("Sid"): s for s in _policy_statements(
        template, stack.get_logical_id(bucket.bucket.node.default_child))}
    for sid in ("DenyUploadsWithOtherEncryption", "DenyUploadsNamingAnotherKey"):
        assert "Resource" not in statements[sid]
        assert "/AWSLogs/*/CloudTrail-Digest/*" in str(statements[sid]["NotResource"])


def test_without_digests_the_denials_cover_every_object(stack) -> None:
    bucket, template = _secure(stack)
    statements = {s.get("Sid"): s for s in _policy_statements(
        template, stack.get_logical_id(bucket.bucket.node.default_child))}
    assert "NotResource" not in statements["DenyUploadsWithOtherEncryption"]
    assert "/*" in str(statements["DenyUploadsWithOtherEncryption"]["Resource"])
