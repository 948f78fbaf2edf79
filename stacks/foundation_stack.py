"""Keys, the isolated network and the data buckets of one environment."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs._isolated_network import (
    DEFAULT_INTERFACE_ENDPOINTS,
    STUDIO_ENDPOINTS,
    IsolatedNetwork,
)
from cdk_constructs.access_log_bucket import AccessLogBucket
from cdk_constructs.managed_key import ManagedKey
from cdk_constructs.secure_bucket import SecureBucket
from platform_config._model import EnvironmentConfig
from platform_config._naming import ResourceNames

# AWS services that publish to the platform's KMS-encrypted topics (alarms, EventBridge).
SNS_PUBLISHERS: tuple[str, ...] = ("cloudwatch.amazonaws.com", "events.amazonaws.com")

KEY_PURPOSES: dict[str, str] = {
    "data": "Raw and processed training data",
    "notebook": "Notebook instance storage volumes",
    "audit": "CloudTrail, CloudWatch Logs and other audit evidence",
    "pipeline": "Pipeline artifacts and model artifacts",
    "monitoring": "Endpoint data capture and model-monitoring reports",
}


class FoundationStack(Stack):
    """Whitepaper section A: compute and network isolation, data encryption."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: ResourceNames,
        environment: EnvironmentConfig,
        serving_readers: list[str] | None = None,
        shared_read_locations: tuple[str, ...] = (),
        **kwargs,
    ) -> None:
        """``serving_readers``: role ARNs of other accounts that read this (pipeline)
        environment's run artifacts. ``shared_read_locations``: S3 object ARN prefixes of
        another environment that this VPC's jobs read (its gateway endpoint allows them)."""
        super().__init__(scope, id, **kwargs)

        self.keys: dict[str, ManagedKey] = {
            purpose: ManagedKey(
                self,
                f"{purpose.capitalize()}Key",
                alias=names.key_alias(purpose),
                description=description,
            )
            for purpose, description in KEY_PURPOSES.items()
        }
        audit_key = self.keys["audit"]
        audit_key.allow_cloudwatch_logs()
        # Grants for the audit stack's services name its resources (trail, topics) instead
        # of referencing them, so the key never depends on the audit stack.
        if not environment.audit.use_organization_trail:
            audit_key.allow_cloudtrail(trail_name=names.trail())
        audit_key.allow_sns_publishers(services=SNS_PUBLISHERS, topic_name_prefix=names.prefix)
        # Alarms and event rules publish to the KMS-encrypted notification topics of the
        # training and serving stacks (CloudFormation-named, so any topic of this account).
        self.keys["monitoring"].allow_sns_publishers(
            services=SNS_PUBLISHERS, topic_name_prefix=None
        )
        # The workflows' state machines are encrypted with the pipeline key and log ALL.
        self.keys["pipeline"].allow_vended_log_delivery()

        self.network = IsolatedNetwork(
            self,
            "Network",
            vpc_cidr=environment.vpc_cidr,
            availability_zones=environment.availability_zones,
            endpoint_az_count=environment.endpoint_az_count,
            flow_log_key=self.keys["audit"].key,
            flow_log_retention_days=environment.log_retention_days,
            platform_bucket_prefix=names.prefix,
            shared_read_locations=shared_read_locations,
            interface_endpoints=DEFAULT_INTERFACE_ENDPOINTS
            + (STUDIO_ENDPOINTS if environment.studio_enabled else ()),
        )

        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            bucket_name=names.bucket("access-logs"),
            source_bucket_prefix=names.prefix,
            retention_days=environment.log_retention_days,
        )
        logs_bucket = self.access_logs.bucket

        def bucket(construct_id: str, purpose: str, key: str, **extra) -> SecureBucket:
            return SecureBucket(
                self,
                construct_id,
                bucket_name=names.bucket(purpose),
                encryption_key=self.keys[key].key,
                access_logs_bucket=logs_bucket,
                **extra,
            )

        lock = environment.object_lock
        self.buckets: dict[str, SecureBucket] = {
            "raw": bucket("RawData", "raw-data", "data"),
            "processed": bucket("ProcessedFeatures", "processed-features", "data"),
            "models": bucket(
                "ModelArtifacts",
                "model-artifacts",
                "pipeline",
                object_lock_days=lock.days,
                object_lock_mode=lock.mode,
            ),
            "capture": bucket("DataCapture", "data-capture", "monitoring"),
            "monitoring": bucket("MonitoringReports", "monitoring-reports", "monitoring"),
        }
        if environment.studio_enabled:
            # Studio's shared notebook snapshots (the domain's sharing settings), notebook key.
            self.buckets["studio-sharing"] = bucket("StudioSharing", "studio-sharing", "notebook")
        if serving_readers:
            self._share_runs_with(serving_readers)

    def _share_runs_with(self, role_arns: list[str]) -> None:
        """Endpoint roles of the serving accounts read the model artifacts and training data
        of a run (``runs/``), nothing else, through S3 only."""
        accounts = sorted({arn.split(":")[4] for arn in role_arns})
        principals = [iam.AccountPrincipal(a) for a in accounts]
        condition = {"ArnEquals": {"aws:PrincipalArn": sorted(role_arns)}}
        for name in ("models", "processed"):
            bucket = self.buckets[name].bucket
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="ServingAccountsReadRuns",
                    principals=principals,
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[bucket.arn_for_objects("runs/*")],
                    conditions=condition,
                )
            )
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="ServingAccountsListRuns",
                    principals=principals,
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions={**condition, "StringLike": {"s3:prefix": ["runs/*"]}},
                )
            )
        for purpose in ("pipeline", "data"):
            self.keys[purpose].key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="ServingAccountsDecryptRunsViaS3",
                    principals=principals,
                    actions=["kms:Decrypt", "kms:DescribeKey"],
                    resources=["*"],
                    conditions={
                        **condition,
                        "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"},
                    },
                )
            )
