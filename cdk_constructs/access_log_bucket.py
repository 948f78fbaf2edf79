"""The bucket that receives S3 server access logs of every platform bucket."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._buckets import (
    baseline_bucket_props,
    enable_eventbridge_notifications,
    validate_bucket_name,
)
from cdk_constructs._validation import require


class AccessLogBucket(Construct):
    """Server-access-log target: SSE-S3 (the only encryption S3 log delivery supports),
    versioned, TLS-only, private, retained, log objects expired after ``retention_days``.

    Log delivery is granted through the bucket policy (not ACLs) to the S3 logging service
    for source buckets of this account whose names start with ``source_bucket_prefix``, so
    buckets in other stacks of the same environment can log here without a cross-stack cycle.

    Refused: an invalid S3 bucket name, a ``source_bucket_prefix`` that is empty or not
    lower-case, and a non-positive ``retention_days``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        source_bucket_prefix: str,
        retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        validate_bucket_name("AccessLogBucket", bucket_name)
        require(
            bool(source_bucket_prefix) and source_bucket_prefix.islower(),
            "AccessLogBucket",
            "source_bucket_prefix must be a lower-case name prefix",
        )
        require(
            retention_days > 0,
            "AccessLogBucket",
            f"retention_days must be positive, got {retention_days}",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            **baseline_bucket_props(),
        )
        enable_eventbridge_notifications(self.bucket)
        stack = Stack.of(self)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowS3ServerAccessLogDeliveryFromPlatformBuckets",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:s3:::{source_bucket_prefix}*"
                    },
                },
            )
        )
