"""Keys, the isolated network and the data buckets of one environment."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from cdk_constructs.access_log_bucket import AccessLogBucket
from cdk_constructs.isolated_network import IsolatedNetwork
from cdk_constructs.managed_key import ManagedKey
from cdk_constructs.secure_bucket import SecureBucket
from platform_config.model import EnvironmentConfig
from platform_config.naming import ResourceNames

KEY_PURPOSES: dict[str, str] = {
    "data": "Raw and processed training data",
    "notebook": "Notebook instance storage volumes",
    "audit": "CloudTrail, CloudWatch Logs and other audit evidence",
    "pipeline": "Pipeline artifacts and model artifacts",
    "monitoring": "Endpoint data capture and model-monitoring reports",
}


class FoundationStack(Stack):
    """Whitepaper section A: compute and network isolation, data encryption."""

    def __init__(self, scope: Construct, id: str, *, names: ResourceNames,
                 environment: EnvironmentConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)

        self.keys: dict[str, ManagedKey] = {
            purpose: ManagedKey(self, f"{purpose.capitalize()}Key",
                                alias=names.key_alias(purpose), description=description)
            for purpose, description in KEY_PURPOSES.items()
        }
        self.keys["audit"].allow_cloudwatch_logs()
        # Alarms and event rules publish to the KMS-encrypted notification topics.
        for service, sid in (("cloudwatch.amazonaws.com", "AllowCloudWatchAlarmsToEncryptedTopics"),
                             ("events.amazonaws.com", "AllowEventRulesToEncryptedTopics")):
            self.keys["monitoring"].allow_service(
                sid=sid, service=service, actions=["kms:Decrypt", "kms:GenerateDataKey*"])

        self.network = IsolatedNetwork(
            self,
            "Network",
            vpc_cidr=environment.vpc_cidr,
            availability_zones=environment.availability_zones,
            endpoint_az_count=environment.endpoint_az_count,
            flow_log_key=self.keys["audit"].key,
            flow_log_retention_days=environment.log_retention_days,
            platform_bucket_prefix=names.prefix,
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
            return SecureBucket(self, construct_id, bucket_name=names.bucket(purpose),
                                encryption_key=self.keys[key].key,
                                access_logs_bucket=logs_bucket, **extra)

        lock = environment.object_lock
        self.buckets: dict[str, SecureBucket] = {
            "raw": bucket("RawData", "raw-data", "data"),
            "processed": bucket("ProcessedFeatures", "processed-features", "data"),
            "models": bucket("ModelArtifacts", "model-artifacts", "pipeline",
                             object_lock_days=lock.days, object_lock_mode=lock.mode),
            "capture": bucket("DataCapture", "data-capture", "monitoring"),
            "monitoring": bucket("MonitoringReports", "monitoring-reports", "monitoring"),
        }
