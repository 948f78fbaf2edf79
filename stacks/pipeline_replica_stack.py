"""The pipeline's artifact store in another region (multi-region deployments).

CodePipeline needs an artifact store in the region of every action; a deploy action that
starts a serving environment's workflow in another region is such an action. Left to itself,
CDK creates a "cross-region support stack" there with a KMS key that does not rotate and is
deleted with the stack, and a bucket without versioning, access logging or TLS-only policy.
The platform provides the store instead, with its own secure constructs: a rotating, retained
ManagedKey and a SecureBucket (versioned, KMS-encrypted, TLS-only, access-logged, retained).

The deploy actions in that region take no input artifact (their input is a literal), so
CodePipeline never replicates an artifact into this store and no role needs access to it;
the key policy is ManagedKey's (administration by the account, grants only for AWS
resources). An action that takes an input artifact there would need the pipeline role
granted on this bucket and key.
"""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from cdk_constructs.access_log_bucket import AccessLogBucket
from cdk_constructs.managed_key import ManagedKey
from cdk_constructs.secure_bucket import SecureBucket
from platform_config._naming import REPLICA_BUCKET_PURPOSE, REPLICA_KEY_PURPOSE, ResourceNames


class PipelineReplicaStack(Stack):
    """In the pipeline's account, in one other region."""

    def __init__(
        self, scope: Construct, id: str, *, names: ResourceNames, log_retention_days: int, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.key = ManagedKey(
            self,
            "ReplicaKey",
            alias=names.key_alias(REPLICA_KEY_PURPOSE),
            description="Pipeline artifact store in this region (cross-region deploy actions)",
        )
        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            bucket_name=names.bucket("access-logs"),
            source_bucket_prefix=names.prefix,
            retention_days=log_retention_days,
        )
        self.artifacts = SecureBucket(
            self,
            "Artifacts",
            bucket_name=names.bucket(REPLICA_BUCKET_PURPOSE),
            encryption_key=self.key.key,
            access_logs_bucket=self.access_logs.bucket,
        )
        self.bucket_name = names.bucket(REPLICA_BUCKET_PURPOSE)
        self.key_alias_arn = (
            f"arn:{self.partition}:kms:{names.region}:{names.account}:"
            f"{names.key_alias(REPLICA_KEY_PURPOSE)}"
        )


def replica_regions(config) -> list[str]:
    """Regions of serving environments other than the pipeline environment's region."""
    pipeline = config.environment(config.training.pipeline_environment)
    return sorted(
        {config.environment(e).region for e in config.serving.environments} - {pipeline.region}
    )


def replica_names(config, region: str) -> ResourceNames:
    """Names of the pipeline environment's resources in ``region``."""
    env = config.training.pipeline_environment
    return ResourceNames(config.project.name, env, config.environment(env).account, region)


def replica_stores(config) -> dict[str, tuple[str, str]]:
    """region -> (bucket name, key alias ARN) of the stores the pipeline uses there."""
    stores = {}
    for region in replica_regions(config):
        names = replica_names(config, region)
        stores[region] = (
            names.bucket(REPLICA_BUCKET_PURPOSE),
            f"arn:aws:kms:{region}:{names.account}:{names.key_alias(REPLICA_KEY_PURPOSE)}",
        )
    return stores
