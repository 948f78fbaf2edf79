from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from construct_stack import new_stack

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs.config_recorder import ConfigRecorder
from cdk_constructs.secure_bucket import ObjectLockOptOut, SecureBucket


def _recorder(stack, **overrides) -> tuple[ConfigRecorder, Template]:
    props = dict(recorder_name="mlp-dev-recorder", bucket_name="mlp-dev-config-history",
                 encryption_key=kms.Key(stack, "Key"),
                 access_logs_bucket=s3.Bucket.from_bucket_name(stack, "Logs", "mlp-dev-access-logs"),
                 include_global_resources=True)
    props.update(overrides)
    recorder = ConfigRecorder(stack, "Recorder", **props)
    return recorder, Template.from_stack(stack)


@pytest.fixture(scope="module")
def built() -> tuple[ConfigRecorder, Template]:
    return _recorder(new_stack())


def test_records_all_supported_resources_including_global_ones(built) -> None:
    _, template = built
    template.has_resource_properties("AWS::Config::ConfigurationRecorder", {
        "Name": "mlp-dev-recorder",
        "RecordingGroup": {"AllSupported": True, "IncludeGlobalResourceTypes": True},
        "RoleARN": {"Fn::GetAtt": [Match.string_like_regexp("^RecorderRole"), "Arn"]},
    })


def test_global_resources_only_where_asked(stack) -> None:
    _, template = _recorder(stack, include_global_resources=False)
    template.has_resource_properties("AWS::Config::ConfigurationRecorder", {
        "RecordingGroup": {"AllSupported": True, "IncludeGlobalResourceTypes": False}})


def test_delivery_channel_writes_kms_encrypted_to_a_secure_bucket(built) -> None:
    _, template = built
    template.has_resource_properties("AWS::Config::DeliveryChannel", {
        "S3BucketName": {"Ref": Match.string_like_regexp("^RecorderBucket")},
        "S3KmsKeyArn": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
        "ConfigSnapshotDeliveryProperties": {"DeliveryFrequency": "TwentyFour_Hours"},
    })
    template.has_resource("AWS::S3::Bucket", {
        "Properties": Match.object_like({
            "BucketName": "mlp-dev-config-history",
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [Match.object_like({
                "ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})]},
            "LoggingConfiguration": Match.object_like({"DestinationBucketName": "mlp-dev-access-logs"}),
        }),
        "DeletionPolicy": "Retain"})


def test_channel_waits_for_bucket_policy_and_role_policy(built) -> None:
    _, template = built
    channel = next(iter(template.find_resources("AWS::Config::DeliveryChannel").values()))
    assert any(d.startswith("RecorderBucketPolicy") for d in channel["DependsOn"])
    assert any(d.startswith("RecorderDeliveryPolicy") for d in channel["DependsOn"])


def test_role_is_trusted_by_config_of_this_account_and_delivers_only_to_its_prefix(built) -> None:
    _, template = built
    template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "config.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}})]},
        "ManagedPolicyArns": Match.array_with([{"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWS_ConfigRole"]]}]),
    })
    policy = next(iter(template.find_resources("AWS::IAM::ManagedPolicy").values()))
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert "/AWSLogs/" in str(statements["DeliverHistoryAndSnapshots"]["Resource"])
    assert "/Config/*" in str(statements["DeliverHistoryAndSnapshots"]["Resource"])
    assert sorted(statements["EncryptDeliveries"]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert template.find_resources("AWS::IAM::Policy") == {}, "no inline policies"


def test_exposes_what_rules_must_wait_for(built) -> None:
    recorder, _ = built
    assert recorder.dependables == [recorder.recorder, recorder.delivery_channel]


@pytest.mark.parametrize("overrides, message", [
    (dict(recorder_name=""), "recorder_name"),
    (dict(encryption_key=None), "encryption_key is required"),
    (dict(snapshot_frequency="Daily"), "snapshot_frequency"),
    (dict(bucket_name="Not_A_Bucket"), "not a valid S3 bucket name"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _recorder(stack, **overrides)


def test_delivery_bucket_has_no_object_lock_but_every_other_protection(built) -> None:
    """AWS Config cannot deliver to a bucket with Object Lock enabled (CloudFormation,
    AWS::Config::DeliveryChannel); the bucket keeps KMS, versioning, TLS-only, access logs and
    RETAIN (issue #13, finding 3)."""
    recorder, template = built
    (bucket,) = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": "mlp-dev-config-history"}}).values()
    props = bucket["Properties"]
    assert "ObjectLockEnabled" not in props or props["ObjectLockEnabled"] is False
    assert "ObjectLockConfiguration" not in props
    assert recorder.bucket.object_lock_opt_out is ObjectLockOptOut.AWS_CONFIG_DELIVERY
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    (policy,) = template.find_resources("AWS::S3::BucketPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {
        "Bool": {"aws:SecureTransport": "false"}} for s in statements)


def test_delivery_channel_is_created_after_the_recorder(built) -> None:
    """"Before you can create a delivery channel, you must create a configuration recorder"
    (CloudFormation, AWS::Config::DeliveryChannel)."""
    _, template = built
    (recorder_id,) = template.find_resources("AWS::Config::ConfigurationRecorder")
    (channel,) = template.find_resources("AWS::Config::DeliveryChannel").values()
    assert recorder_id in channel["DependsOn"]


def test_the_object_lock_opt_out_is_refused_outside_config_recorder(stack) -> None:
    with pytest.raises(ConstructPropsError, match="only for the bucket a ConfigRecorder creates"):
        SecureBucket(stack, "Other", bucket_name="mlp-dev-other", encryption_key=kms.Key(stack, "K"),
                     access_logs_bucket=s3.Bucket.from_bucket_name(stack, "L", "mlp-dev-logs"),
                     object_lock_opt_out=ObjectLockOptOut.AWS_CONFIG_DELIVERY)
