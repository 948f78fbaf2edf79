"""Settings every platform bucket shares (TLS, public access, ownership, retention)."""

from __future__ import annotations

import re

from aws_cdk import RemovalPolicy
from aws_cdk import aws_s3 as s3

from cdk_constructs._validation import require

_BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def validate_bucket_name(construct: str, name: str) -> None:
    require(
        isinstance(name, str) and bool(_BUCKET_NAME_RE.match(name)) and "--" not in name,
        construct,
        f"bucket_name {name!r} is not a valid S3 bucket name (3-63 lower-case letters, "
        "digits and hyphens); shorten the project name or purpose",
    )


def baseline_bucket_props() -> dict:
    """The properties no platform bucket may go without."""
    return dict(
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        auto_delete_objects=False,
        # Object Lock can only be switched on when a bucket is created; with it on, evidence
        # can be put under legal hold later even where no default retention is set.
        object_lock_enabled=True,
    )


def enable_eventbridge_notifications(bucket: s3.Bucket) -> None:
    """Send object-level events to EventBridge, so data arrival and deletion can be audited
    and can start pipelines. Set on the CloudFormation property directly: the L2's
    ``event_bridge_enabled`` deploys a custom-resource Lambda outside the VPC to do the same.
    """
    cfn = bucket.node.default_child
    if not isinstance(cfn, s3.CfnBucket):
        raise TypeError(f"{bucket.node.path}: the bucket's default child is not a CfnBucket")
    cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
            event_bridge_enabled=True
        )
    )
