"""The AWS Config recorder and delivery channel of one account and region."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._validation import require
from cdk_constructs.secure_bucket import ObjectLockOptOut, SecureBucket

_FREQUENCIES = ("One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours")


class ConfigRecorder(Construct):
    """Records every supported resource type (global ones such as IAM only where
    ``include_global_resources`` is set, i.e. in the home region, so they are not recorded
    twice) and delivers history and snapshots to a KMS-encrypted, versioned, TLS-only,
    access-logged, retained bucket with the given customer key.

    That bucket is the one platform bucket WITHOUT Object Lock: AWS Config cannot deliver to a
    bucket with Object Lock enabled (CloudFormation, AWS::Config::DeliveryChannel), so it opts
    out with ``ObjectLockOptOut.AWS_CONFIG_DELIVERY``. Configuration history is also kept by
    the Config service itself and every change is in the CloudTrail trail (Object-Locked).
    The delivery channel is created after the recorder, as Config requires.

    Only one recorder may exist per account and region: where the institution already runs
    one, do not create this construct (``AuditConfig.reuse_config_recorder``).

    The recorder uses a dedicated role with AWS's managed ``AWS_ConfigRole`` policy (AWS keeps
    it current as Config supports new resource types) plus a customer-managed policy that
    writes only to this bucket's ``AWSLogs/<account>/Config/`` prefix with this key.

    Refused: a recorder name that is empty or longer than 256 characters, a missing
    ``encryption_key``, and a ``snapshot_frequency`` Config does not offer.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        recorder_name: str,
        bucket_name: str,
        encryption_key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        include_global_resources: bool,
        snapshot_frequency: str = "TwentyFour_Hours",
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(recorder_name) and len(recorder_name) <= 256,
            "ConfigRecorder",
            f"recorder_name {recorder_name!r} must be 1-256 characters",
        )
        require(
            encryption_key is not None,
            "ConfigRecorder",
            "encryption_key is required: configuration history is encrypted with a CMK",
        )
        require(
            snapshot_frequency in _FREQUENCIES,
            "ConfigRecorder",
            f"snapshot_frequency {snapshot_frequency!r} must be one of {', '.join(_FREQUENCIES)}",
        )
        account = Aws.ACCOUNT_ID

        self.bucket = SecureBucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption_key=encryption_key,
            access_logs_bucket=access_logs_bucket,
            object_lock_opt_out=ObjectLockOptOut.AWS_CONFIG_DELIVERY,
        )
        bucket = self.bucket.bucket

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "config.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            ),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWS_ConfigRole")
            ],
            description="AWS Config recorder: read resource configurations, deliver to the "
            "platform's Config bucket",
        )
        delivery_policy = iam.ManagedPolicy(
            self,
            "DeliveryPolicy",
            description="AWS Config delivery to the platform's encrypted Config bucket only",
            statements=[
                iam.PolicyStatement(
                    sid="BucketAcl", actions=["s3:GetBucketAcl"], resources=[bucket.bucket_arn]
                ),
                iam.PolicyStatement(
                    sid="DeliverHistoryAndSnapshots",
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects(f"AWSLogs/{account}/Config/*")],
                    conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                ),
                iam.PolicyStatement(
                    sid="EncryptDeliveries",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                ),
            ],
            roles=[self.role],
        )

        self.recorder = config.CfnConfigurationRecorder(
            self,
            "Recorder",
            name=recorder_name,
            role_arn=self.role.role_arn,
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True,
                include_global_resource_types=include_global_resources,
            ),
        )
        self.delivery_channel = config.CfnDeliveryChannel(
            self,
            "DeliveryChannel",
            name=recorder_name,
            s3_bucket_name=bucket.bucket_name,
            s3_kms_key_arn=encryption_key.key_arn,
            config_snapshot_delivery_properties=(
                config.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                    delivery_frequency=snapshot_frequency
                )
            ),
        )
        self.recorder.node.add_dependency(delivery_policy)
        self.delivery_channel.node.add_dependency(bucket.policy, delivery_policy)
        # "Before you can create a delivery channel, you must create a configuration recorder"
        # (CloudFormation, AWS::Config::DeliveryChannel): without this dependency
        # CloudFormation may create the channel first.
        self.delivery_channel.add_resource_dependency(self.recorder)

    @property
    def dependables(self) -> list[Construct]:
        """What a Config rule must wait for: a rule created before the recorder runs
        would evaluate nothing."""
        return [self.recorder, self.delivery_channel]
