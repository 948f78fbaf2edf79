"""The environment's CloudTrail trail: who did what, where nobody can erase it."""

from __future__ import annotations

from typing import Literal

from aws_cdk import Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._validation import require
from cdk_constructs.secure_bucket import SecureBucket
from cdk_constructs.secure_log_group import SecureLogGroup


class AuditTrail(Construct):
    """A multi-region trail with global service events and log file validation, encrypted
    with a customer key, delivered to a KMS-encrypted CloudWatch Logs group (for metric
    filters) and to an audit bucket with versioning and an Object Lock default retention,
    so no log can be deleted or overwritten before its retention ends.

    Management events (reads and writes) and S3 object-level data events of every bucket
    whose name starts with ``data_event_bucket_prefix`` are recorded through advanced event
    selectors. The prefix covers buckets of other stacks without a cross-stack reference.
    The trail's own bucket and the access-log bucket are left out: logging writes into them
    would generate events without end. The trade-off: object-level reads of the audit bucket
    itself are not in the trail; its server access logs (access-log bucket) record them, and
    Object Lock makes deletes fail whoever tries. (CloudTrail's newer option to suppress only
    its own deliveries has no CloudFormation property in aws-cdk-lib 2.275.)

    Service permissions name the trail (``trail_name``) rather than reference it; the key
    policy must allow CloudTrail for that name (``ManagedKey.allow_cloudtrail``).

    Refused: a trail name that is empty, longer than 128 characters or contains '/', a
    missing ``encryption_key``, a missing or non-positive ``object_lock_days``, and a
    ``data_event_bucket_prefix`` that is not lower-case or does not end with '-'.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        trail_name: str,
        bucket_name: str,
        encryption_key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        log_retention_days: int,
        object_lock_days: int,
        object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"],
        data_event_bucket_prefix: str,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(trail_name) and len(trail_name) <= 128 and "/" not in trail_name,
            "AuditTrail",
            f"trail_name {trail_name!r} must be 1-128 characters without '/'",
        )
        require(
            encryption_key is not None,
            "AuditTrail",
            "encryption_key is required: trail logs are encrypted with a customer-managed key",
        )
        require(
            isinstance(object_lock_days, int) and object_lock_days > 0,
            "AuditTrail",
            "object_lock_days is required: audit logs must be locked against deletion "
            f"for a retention period, got {object_lock_days!r}",
        )
        require(
            bool(data_event_bucket_prefix)
            and data_event_bucket_prefix.endswith("-")
            and data_event_bucket_prefix.islower(),
            "AuditTrail",
            f"data_event_bucket_prefix {data_event_bucket_prefix!r} must be lower-case and "
            "end with '-', so that it matches whole name segments (bucket names are global: "
            "this narrows, but cannot rule out, matches on another owner's buckets)",
        )
        stack = Stack.of(self)
        partition, account = stack.partition, stack.account
        self.trail_name = trail_name
        self.trail_arn = f"arn:{partition}:cloudtrail:{stack.region}:{account}:trail/{trail_name}"

        self.bucket = SecureBucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption_key=encryption_key,
            access_logs_bucket=access_logs_bucket,
            object_lock_days=object_lock_days,
            object_lock_mode=object_lock_mode,
            cloudtrail_digests=True,
        )
        bucket = self.bucket.bucket
        from_this_trail = {"StringEquals": {"aws:SourceArn": self.trail_arn}}
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailAclCheck",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["s3:GetBucketAcl"],
                resources=[bucket.bucket_arn],
                conditions=from_this_trail,
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailWrite",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"AWSLogs/{account}/*")],
                conditions={
                    "StringEquals": {
                        "aws:SourceArn": self.trail_arn,
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    }
                },
            )
        )

        self.log_group = SecureLogGroup(
            self, "Logs", encryption_key=encryption_key, retention_days=log_retention_days
        ).log_group
        self.logs_role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal(
                "cloudtrail.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account, "aws:SourceArn": self.trail_arn}
                },
            ),
            description=f"CloudTrail {trail_name} delivery to its CloudWatch Logs group",
        )
        logs_policy = iam.ManagedPolicy(
            self,
            "LogsPolicy",
            description=f"CloudTrail {trail_name}: write to its own log group only",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
            roles=[self.logs_role],
        )

        platform_objects = f"arn:{partition}:s3:::{data_event_bucket_prefix}"
        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=trail_name,
            is_logging=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=encryption_key.key_arn,
            s3_bucket_name=bucket.bucket_name,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=self.logs_role.role_arn,
            advanced_event_selectors=[
                cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                    name="Management events, reads and writes",
                    field_selectors=[
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="eventCategory", equal_to=["Management"]
                        )
                    ],
                ),
                cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                    name="Object reads and writes in the platform's ML buckets",
                    field_selectors=[
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="eventCategory", equal_to=["Data"]
                        ),
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="resources.type", equal_to=["AWS::S3::Object"]
                        ),
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="resources.ARN",
                            starts_with=[platform_objects],
                            not_starts_with=[
                                f"{bucket.bucket_arn}/",
                                f"{access_logs_bucket.bucket_arn}/",
                            ],
                        ),
                    ],
                ),
            ],
        )
        # CloudTrail checks its bucket policy and log role when the trail is created.
        self.trail.node.add_dependency(bucket.policy, logs_policy)
