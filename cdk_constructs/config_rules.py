"""AWS Config managed rules for the ML platform, and NON_COMPLIANT alerts to people."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_config as config
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct, IDependable

from cdk_constructs._validation import require
from cdk_constructs.secure_topic import TopicTarget

# Identifiers as AWS lists them (https://docs.aws.amazon.com/config/latest/developerguide/
# managed-rules-by-aws-config.html); each rule's page is <lower-case-with-hyphens>.html.
# tests/constructs/test_config_rules.py checks each one against CDK's list of AWS managed
# rules plus the three that list lacks (verified on their AWS pages).
PLATFORM_RULES: tuple[str, ...] = (
    # SageMaker: isolation and encryption of notebooks and endpoints
    "SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS",
    "SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED",
    "SAGEMAKER_NOTEBOOK_INSTANCE_ROOT_ACCESS_CHECK",
    "SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC",
    "SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED",
    # SageMaker AI Studio (issue #15): a domain whose apps' traffic is not VpcOnly
    "SAGEMAKER_DOMAIN_IN_VPC",
    # S3: data at rest and in transit
    "S3_BUCKET_SSL_REQUESTS_ONLY",
    "S3_DEFAULT_ENCRYPTION_KMS",
    "S3_BUCKET_VERSIONING_ENABLED",
    "S3_BUCKET_PUBLIC_READ_PROHIBITED",
    "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
    "S3_BUCKET_LOGGING_ENABLED",
    # Keys, network, logs
    "CMK_BACKING_KEY_ROTATION_ENABLED",
    "VPC_FLOW_LOGS_ENABLED",
    "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
    # The audit trail itself (also evaluates an organization trail)
    "CLOUD_TRAIL_ENCRYPTION_ENABLED",
    "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
    "CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED",
    "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    # Identity
    "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
    "IAM_USER_NO_POLICIES_CHECK",
    "IAM_ROOT_ACCESS_KEY_CHECK",
)

_IDENTIFIER_RE = re.compile(r"^[A-Z0-9]+(_[A-Z0-9]+)*$")


class ConfigRules(Construct):
    """One AWS managed Config rule per identifier, named ``<rule_name_prefix><identifier in
    kebab case>``, and an EventBridge rule that sends every change of one of these rules to
    NON_COMPLIANT to ``notification_topic``.

    ``depends_on``: the recorder and delivery channel, when this stack creates them (a rule
    created before the recorder runs evaluates nothing). Where an existing recorder is
    reused, pass nothing.

    Refused: a ``rule_name_prefix`` that is not lower-case words joined by '-' ending with
    '-', a missing ``notification_topic``, no identifiers, a repeated identifier,
    ``input_parameters`` for rules that are not created, and an identifier that is not an
    AWS managed rule identifier (UPPER_CASE words).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        rule_name_prefix: str,
        notification_topic: sns.ITopic,
        identifiers: tuple[str, ...] = PLATFORM_RULES,
        input_parameters: dict[str, dict] | None = None,
        depends_on: Sequence[IDependable] | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*-", rule_name_prefix or "")),
            "ConfigRules",
            f"rule_name_prefix {rule_name_prefix!r} must be lower-case "
            "words joined by '-' and end with '-', e.g. 'mlp-dev-'",
        )
        require(
            notification_topic is not None,
            "ConfigRules",
            "notification_topic is required: a NON_COMPLIANT resource must reach people",
        )
        require(bool(identifiers), "ConfigRules", "give at least one managed rule identifier")
        require(
            len(set(identifiers)) == len(identifiers),
            "ConfigRules",
            "identifiers lists a rule twice; remove the duplicate",
        )
        for identifier in identifiers:
            require(
                bool(_IDENTIFIER_RE.match(identifier)),
                "ConfigRules",
                f"{identifier!r} is not an AWS managed rule identifier (upper-case words "
                "joined by '_', e.g. S3_BUCKET_VERSIONING_ENABLED)",
            )
        unknown = set(input_parameters or {}) - set(identifiers)
        require(
            not unknown,
            "ConfigRules",
            f"input_parameters names rules that are not created: {', '.join(sorted(unknown))}",
        )

        self.rules: dict[str, config.ManagedRule] = {}
        for identifier in identifiers:
            rule = config.ManagedRule(
                self,
                identifier.replace("_", " ").title().replace(" ", ""),
                identifier=identifier,
                config_rule_name=f"{rule_name_prefix}{identifier.lower().replace('_', '-')}",
                input_parameters=(input_parameters or {}).get(identifier),
            )
            for dependency in depends_on or []:
                rule.node.add_dependency(dependency)
            self.rules[identifier] = rule

        self.non_compliant_alert = events.Rule(
            self,
            "NonCompliantAlert",
            description="A platform Config rule found a resource NON_COMPLIANT",
            event_pattern=events.EventPattern(
                source=["aws.config"],
                detail_type=["Config Rules Compliance Change"],
                detail={
                    "messageType": ["ComplianceChangeNotification"],
                    "configRuleName": [{"prefix": rule_name_prefix}],
                    "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]},
                },
            ),
        )
        field = events.EventField.from_path
        self.non_compliant_alert.add_target(
            TopicTarget(
                notification_topic,
                events.RuleTargetInput.from_object(
                    {
                        "alert": "AWS Config: resource became NON_COMPLIANT",
                        "configRule": field("$.detail.configRuleName"),
                        "resourceType": field("$.detail.resourceType"),
                        "resourceId": field("$.detail.resourceId"),
                        "account": field("$.account"),
                        "region": field("$.region"),
                        "time": field("$.time"),
                    }
                ),
            )
        )
