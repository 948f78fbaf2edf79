"""A private, KMS-encrypted, versioned, TLS-only, access-logged, retained S3 bucket."""

from __future__ import annotations

from typing import Literal

from aws_cdk import Annotations, Duration, aws_iam as iam, aws_kms as kms, aws_s3 as s3
from constructs import Construct

from cdk_constructs._buckets import (
    baseline_bucket_props,
    enable_eventbridge_notifications,
    validate_bucket_name,
)
from cdk_constructs._validation import require


class SecureBucket(Construct):
    """The platform's data bucket.

    Defaults a caller cannot switch off: SSE-KMS with the given customer key and S3 Bucket
    Keys; versioning; the full public-access block; bucket-owner-enforced ownership (no
    ACLs); a policy denying non-TLS and TLS < 1.2 requests, uploads that ask for another
    encryption type, and uploads that name another KMS key; server access logs; RETAIN on
    stack deletion. Optional: Object Lock with a default retention (set at creation only).

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
    ) -> None:
        super().__init__(scope, id)
        validate_bucket_name("SecureBucket", bucket_name)
        require(encryption_key is not None, "SecureBucket",
                "encryption_key is required: platform data is encrypted with a customer-managed key")
        require(access_logs_bucket is not None, "SecureBucket",
                "access_logs_bucket is required: every data access must leave a log")
        require(object_lock_days is None or object_lock_days > 0, "SecureBucket",
                f"object_lock_days must be positive when set, got {object_lock_days}")
        require(object_lock_mode in ("GOVERNANCE", "COMPLIANCE"), "SecureBucket",
                f"object_lock_mode must be GOVERNANCE or COMPLIANCE, got {object_lock_mode!r}")
        require(noncurrent_version_days is None or noncurrent_version_days > 0, "SecureBucket",
                "noncurrent_version_days must be positive when set")
        require(not (object_lock_days and noncurrent_version_days
                     and noncurrent_version_days < object_lock_days), "SecureBucket",
                "noncurrent_version_days is shorter than object_lock_days; locked versions "
                "cannot expire before their retention ends, raise it or drop it")

        lock_retention = None
        if object_lock_days:
            retention = Duration.days(object_lock_days)
            lock_retention = (s3.ObjectLockRetention.compliance(retention)
                              if object_lock_mode == "COMPLIANCE"
                              else s3.ObjectLockRetention.governance(retention))
        lifecycle = [
            s3.LifecycleRule(id="abort-incomplete-uploads",
                             abort_incomplete_multipart_upload_after=Duration.days(7))
        ]
        if noncurrent_version_days:
            lifecycle.append(s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(noncurrent_version_days)))

        self.encryption_key = encryption_key
        self.bucket_name_literal = bucket_name
        self.object_lock_days = object_lock_days
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
            **baseline_bucket_props(),
        )
        enable_eventbridge_notifications(self.bucket)
        if not isinstance(access_logs_bucket, s3.Bucket):
            # An imported log bucket cannot take CDK's per-bucket grant; the platform's
            # AccessLogBucket grants delivery from every bucket named with the platform prefix.
            Annotations.of(self.bucket).acknowledge_warning(
                "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
                "AccessLogBucket grants S3 log delivery for every platform bucket by name prefix")
        objects = self.bucket.arn_for_objects("*")
        if cloudtrail_digests:
            targets = dict(not_resources=[self.bucket.arn_for_objects("AWSLogs/*/CloudTrail-Digest/*")])
        else:
            targets = dict(resources=[objects])
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyUploadsWithOtherEncryption",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                **targets,
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
                **targets,
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
