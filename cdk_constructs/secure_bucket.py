"""A private, KMS-encrypted, versioned, TLS-only, access-logged, retained S3 bucket."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from aws_cdk import Annotations, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._buckets import (
    baseline_bucket_props,
    enable_eventbridge_notifications,
    validate_bucket_name,
)
from cdk_constructs._validation import require


class ObjectLockOptOut(Enum):
    """The only accepted reasons for a platform bucket WITHOUT Object Lock.

    ``AWS_CONFIG_DELIVERY``: AWS Config cannot deliver configuration history and snapshots
    to a bucket with Object Lock enabled (CloudFormation, AWS::Config::DeliveryChannel: "AWS
    Config does not support the delivery channel to an Amazon S3 bucket bucket where object
    lock is enabled"). Accepted only for the bucket a
    ``ConfigRecorder`` creates; every other caller is refused.
    """

    AWS_CONFIG_DELIVERY = "AWS Config cannot deliver to a bucket with Object Lock enabled"


class SecureBucket(Construct):
    """The platform's data bucket.

    Defaults a caller cannot switch off: SSE-KMS with the given customer key and S3 Bucket
    Keys; versioning; the full public-access block; bucket-owner-enforced ownership (no
    ACLs); a policy denying non-TLS and TLS < 1.2 requests, uploads that ask for another
    encryption type, and uploads that name another KMS key; server access logs; RETAIN on
    stack deletion. Object Lock is enabled on every bucket (set at creation only); optional: a
    default retention.

    ``object_lock_opt_out``: the one documented exception, ``ObjectLockOptOut.AWS_CONFIG_DELIVERY``
    for the bucket of a ``ConfigRecorder`` (AWS Config refuses Object-Locked buckets). Every
    other default stays (KMS, versioning, TLS-only, access logs, RETAIN); any other scope is
    refused.

    ``cloudtrail_digests``: CloudTrail always writes log-file-validation digest files with
    SSE-S3, whatever the trail's KMS key, so the two encryption-header denials skip
    ``AWSLogs/*/CloudTrail-Digest/*`` (digests are hashes and signatures, not log content;
    Object Lock still protects them). Without it, log file validation would break.

    Refused: an invalid S3 bucket name, a missing ``encryption_key`` or
    ``access_logs_bucket``, a non-positive ``object_lock_days`` or
    ``noncurrent_version_days``, an ``object_lock_mode`` other than GOVERNANCE or
    COMPLIANCE, and a ``noncurrent_version_days`` shorter than ``object_lock_days``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        encryption_key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        object_lock_days: int | None = None,
        object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE",
        noncurrent_version_days: int | None = None,
        cloudtrail_digests: bool = False,
        object_lock_opt_out: ObjectLockOptOut | None = None,
    ) -> None:
        super().__init__(scope, id)
        _check_object_lock_opt_out(scope, object_lock_opt_out, object_lock_days)
        validate_bucket_name("SecureBucket", bucket_name)
        require(
            encryption_key is not None,
            "SecureBucket",
            "encryption_key is required: platform data is encrypted with a customer-managed key",
        )
        require(
            access_logs_bucket is not None,
            "SecureBucket",
            "access_logs_bucket is required: every data access must leave a log",
        )
        require(
            object_lock_days is None or object_lock_days > 0,
            "SecureBucket",
            f"object_lock_days must be positive when set, got {object_lock_days}",
        )
        require(
            object_lock_mode in ("GOVERNANCE", "COMPLIANCE"),
            "SecureBucket",
            f"object_lock_mode must be GOVERNANCE or COMPLIANCE, got {object_lock_mode!r}",
        )
        require(
            noncurrent_version_days is None or noncurrent_version_days > 0,
            "SecureBucket",
            "noncurrent_version_days must be positive when set",
        )
        require(
            not (
                object_lock_days
                and noncurrent_version_days
                and noncurrent_version_days < object_lock_days
            ),
            "SecureBucket",
            "noncurrent_version_days is shorter than object_lock_days; locked versions "
            "cannot expire before their retention ends, raise it or drop it",
        )

        lock_retention = None
        if object_lock_days:
            retention = Duration.days(object_lock_days)
            lock_retention = (
                s3.ObjectLockRetention.compliance(retention)
                if object_lock_mode == "COMPLIANCE"
                else s3.ObjectLockRetention.governance(retention)
            )
        lifecycle = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads",
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ]
        if noncurrent_version_days:
            lifecycle.append(
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                )
            )

        self.encryption_key = encryption_key
        self.bucket_name_literal = bucket_name
        self.object_lock_days = object_lock_days
        self.object_lock_opt_out = object_lock_opt_out
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=f"{bucket_name}/",
            object_lock_default_retention=lock_retention,
            lifecycle_rules=lifecycle,
            **{**baseline_bucket_props(), "object_lock_enabled": object_lock_opt_out is None},
        )
        enable_eventbridge_notifications(self.bucket)
        if not isinstance(access_logs_bucket, s3.Bucket):
            # An imported log bucket cannot take CDK's per-bucket grant; the platform's
            # AccessLogBucket grants delivery from every bucket named with the platform prefix.
            Annotations.of(self.bucket).acknowledge_warning(
                "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
                "AccessLogBucket grants S3 log delivery for every platform bucket by name prefix",
            )
        objects = self.bucket.arn_for_objects("*")
        # The two statements cover every object, or every object but CloudTrail's digests.
        resources: list[str] | None = None if cloudtrail_digests else [objects]
        not_resources: list[str] | None = (
            [self.bucket.arn_for_objects("AWSLogs/*/CloudTrail-Digest/*")]
            if cloudtrail_digests
            else None
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyUploadsWithOtherEncryption",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=resources,
                not_resources=not_resources,
                conditions={
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
                },
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyUploadsNamingAnotherKey",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=resources,
                not_resources=not_resources,
                conditions={
                    "StringNotEqualsIfExists": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": encryption_key.key_arn
                    }
                },
            )
        )

    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        return self.bucket.bucket_arn


def _check_object_lock_opt_out(scope: Construct, opt_out: object, lock_days: int | None) -> None:
    if opt_out is None:
        return
    require(
        isinstance(opt_out, ObjectLockOptOut),
        "SecureBucket",
        f"object_lock_opt_out must be an ObjectLockOptOut member, got {opt_out!r}",
    )
    require(
        lock_days is None,
        "SecureBucket",
        "object_lock_days cannot be set together with object_lock_opt_out; drop one",
    )
    # Imported here: config_recorder imports this module.
    from cdk_constructs.config_recorder import ConfigRecorder

    require(
        opt_out is ObjectLockOptOut.AWS_CONFIG_DELIVERY and isinstance(scope, ConfigRecorder),
        "SecureBucket",
        "object_lock_opt_out=AWS_CONFIG_DELIVERY is accepted only for the bucket a "
        "ConfigRecorder creates (AWS Config cannot deliver to an Object-Locked bucket); "
        "every other platform bucket keeps Object Lock: drop object_lock_opt_out",
    )
