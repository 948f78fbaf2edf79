"""Auditability (whitepaper): who did what, configuration drift, and controls that correct
what they find."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._compliance_responder import ComplianceResponder
from cdk_constructs.audit_trail import AuditTrail
from cdk_constructs.config_recorder import ConfigRecorder
from cdk_constructs.config_rules import ConfigRules
from cdk_constructs.secure_topic import SecureTopic
from cdk_constructs.security_alarms import SecurityAlarms
from platform_config._model import EnvironmentConfig, PlatformConfig
from platform_config._naming import ResourceNames
from stacks.foundation_stack import SNS_PUBLISHERS, FoundationStack

# Services that publish to the security topic: the audit key allows the same ones.
SECURITY_TOPIC_PUBLISHERS = SNS_PUBLISHERS
SECURITY_METRICS_NAMESPACE = "SecureMlPlatform/Security"
# Keys SageMaker resources may use; the audit key is for audit evidence only.
SAGEMAKER_KEY_PURPOSES: tuple[str, ...] = ("data", "notebook", "pipeline", "monitoring")


class AuditStack(Stack):
    """The security topic, the trail (unless an organization trail is used), the AWS Config
    recorder (unless one is reused) and rules, security alarms and the compliance responder.

    ``security_topic`` is exposed for later stacks (model monitoring, approvals)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: ResourceNames,
        environment: EnvironmentConfig,
        config: PlatformConfig,
        foundation: FoundationStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        audit = environment.audit
        audit_key = foundation.keys["audit"].key
        # By name, not by reference: the name is fixed by configuration, and a literal
        # logging target is what Control Tower's S3 logging check can verify.
        access_logs = s3.Bucket.from_bucket_name(
            self, "AccessLogsBucket", names.bucket("access-logs")
        )

        self.security_topic = SecureTopic(
            self,
            "SecurityTopic",
            display_name=f"ML platform security ({names.environment})",
            topic_name=names.topic("security"),
            master_key=audit_key,
            emails=list(config.notifications.security),
            allow_services=SECURITY_TOPIC_PUBLISHERS,
        ).topic

        self.trail: AuditTrail | None = None
        self.security_alarms: SecurityAlarms | None = None
        if not audit.use_organization_trail:
            self.trail = AuditTrail(
                self,
                "Trail",
                trail_name=names.trail(),
                bucket_name=names.bucket("audit-trail"),
                encryption_key=audit_key,
                access_logs_bucket=access_logs,
                log_retention_days=audit.trail_log_retention_days,
                object_lock_days=audit.object_lock.days,
                object_lock_mode=audit.object_lock.mode,
                data_event_bucket_prefix=names.prefix,
            )
            # Metric filters only on a log group this stack owns; an organization trail's
            # alarms belong to whoever runs it (docs/security-controls.md).
            self.security_alarms = SecurityAlarms(
                self,
                "SecurityAlarms",
                trail_log_group=self.trail.log_group,
                topic=self.security_topic,
                namespace=SECURITY_METRICS_NAMESPACE,
                alarm_name_prefix=names.prefix,
            )

        self.config_recorder: ConfigRecorder | None = None
        if not audit.reuse_config_recorder:
            self.config_recorder = ConfigRecorder(
                self,
                "ConfigRecorder",
                recorder_name=f"{names.prefix}recorder",
                bucket_name=names.bucket("config-history"),
                encryption_key=audit_key,
                access_logs_bucket=access_logs,
                # Each environment is one account deployed to one region (its home region):
                # record IAM and other global resources here, once.
                include_global_resources=True,
            )
        subnet_ids = [subnet.subnet_id for subnet in foundation.network.isolated_subnets]
        self.config_rules = ConfigRules(
            self,
            "ConfigRules",
            rule_name_prefix=names.prefix,
            notification_topic=self.security_topic,
            input_parameters={
                "SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC": {"SubnetIds": ",".join(subnet_ids)},
            },
            depends_on=self.config_recorder.dependables if self.config_recorder else None,
        )

        self.compliance_responder = ComplianceResponder(
            self,
            "ComplianceResponder",
            vpc=foundation.network.vpc,
            security_group=foundation.network.security_group,
            encryption_key=audit_key,
            security_topic=self.security_topic,
            security_topic_key=audit_key,
            approved_subnet_ids=subnet_ids,
            approved_security_group_ids=[foundation.network.security_group.security_group_id],
            approved_kms_key_arns=[foundation.keys[p].key.key_arn for p in SAGEMAKER_KEY_PURPOSES],
            log_retention_days=environment.log_retention_days,
            powertools_layer_version=config.lambda_layers.powertools_version,
            alarm_name_prefix=names.prefix,
            approved_studio_instance_types=(
                list(environment.studio.instance_types) if environment.studio_enabled else None
            ),
        )
