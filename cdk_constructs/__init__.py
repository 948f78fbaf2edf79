"""Reusable, secure-by-default AWS CDK constructs of the Secure ML Platform.

The public API is exactly the names in ``__all__`` below, importable from this package
(``from cdk_constructs import SecureBucket``). Modules are an implementation detail: import
from the package, not from ``cdk_constructs.secure_bucket``; names that are not listed here
(and every ``_``-prefixed module) may change in any release. What counts as a breaking
change, including logical IDs and physical names, is in docs/package.md.

Names resolve on first use (PEP 562), so importing one plain-data module such as
``cdk_constructs._training_workflow_definition`` does not load aws-cdk-lib and start jsii.

This package is named ``cdk_constructs`` (not ``constructs``) because a top-level package
called ``constructs`` would shadow the ``constructs`` library that aws-cdk-lib imports.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cdk_constructs._version import __version__ as __version__

if TYPE_CHECKING:  # what type checkers and IDEs see; the same names as _EXPORTS
    from cdk_constructs._champion_challenger_workflow import (
        ChampionChallengerSettings,
        ChampionChallengerWorkflow,
    )
    from cdk_constructs._deployment_workflow_definition import DeploymentWorkflowSettings
    from cdk_constructs._human_role import HumanRole
    from cdk_constructs._isolated_network import (
        DEFAULT_INTERFACE_ENDPOINTS,
        EndpointSpec,
        IsolatedNetwork,
    )
    from cdk_constructs._model_quality_workflow import ModelQualitySettings, ModelQualityWorkflow
    from cdk_constructs._package_mirror import PackageMirror
    from cdk_constructs._platform_managed_policy import PlatformManagedPolicy
    from cdk_constructs._retraining_workflow import RetrainingWorkflow
    from cdk_constructs._training_workflow_definition import TrainingWorkflowSettings
    from cdk_constructs._validation import ConstructPropsError
    from cdk_constructs.access_log_bucket import AccessLogBucket
    from cdk_constructs.audit_trail import AuditTrail
    from cdk_constructs.config_recorder import ConfigRecorder
    from cdk_constructs.config_rules import PLATFORM_RULES, ConfigRules
    from cdk_constructs.deployment_workflow import DeploymentWorkflow
    from cdk_constructs.encrypted_schedule import EncryptedSchedule
    from cdk_constructs.event_bus_permission import EventBusPutPermission
    from cdk_constructs.feature_flags import FEATURE_FLAGS
    from cdk_constructs.managed_key import ManagedKey
    from cdk_constructs.model_registry import ModelRegistry
    from cdk_constructs.sagemaker_job_role import SageMakerJobRole
    from cdk_constructs.secure_bucket import ObjectLockOptOut, SecureBucket
    from cdk_constructs.secure_log_group import SecureLogGroup
    from cdk_constructs.secure_topic import SecureTopic, TopicTarget
    from cdk_constructs.security_alarms import SECURITY_FILTERS, SecurityAlarms, SecurityFilter
    from cdk_constructs.training_workflow import TrainingWorkflow

# Public name -> (module that defines it, one line for the reader of this list). The full
# contract of each name (defaults, what it refuses) is its own docstring.
_EXPORTS: dict[str, tuple[str, str]] = {
    # Encryption and storage
    "ManagedKey": ("managed_key", "a rotated, aliased, retained customer-managed KMS key"),
    "SecureBucket": (
        "secure_bucket",
        "a private SSE-KMS, versioned, TLS-only, access-logged, "
        "retained S3 bucket (optional Object Lock retention)",
    ),
    "ObjectLockOptOut": (
        "secure_bucket",
        "the only accepted reasons for a SecureBucket without Object Lock (AWS Config delivery)",
    ),
    "AccessLogBucket": ("access_log_bucket", "the SSE-S3 target of S3 server access logs"),
    "SecureLogGroup": ("secure_log_group", "a KMS-encrypted, retained CloudWatch Logs group"),
    "SecureTopic": ("secure_topic", "a KMS-encrypted, TLS-only SNS topic for people"),
    "TopicTarget": ("secure_topic", "an EventBridge target for a SecureTopic, no extra grants"),
    # Network
    "IsolatedNetwork": (
        "_isolated_network",
        "a VPC with no internet path, flow logs and VPC endpoints with policies",
    ),
    "EndpointSpec": ("_isolated_network", "one interface endpoint of an IsolatedNetwork"),
    "DEFAULT_INTERFACE_ENDPOINTS": (
        "_isolated_network",
        "the interface endpoints an IsolatedNetwork creates unless given others",
    ),
    # Identity
    "SageMakerJobRole": ("sagemaker_job_role", "the least-privilege role of SageMaker jobs"),
    "HumanRole": (
        "_human_role",
        "a role people assume: MFA, one-hour sessions, managed policies only",
    ),
    "PlatformManagedPolicy": (
        "_platform_managed_policy",
        "a customer-managed IAM policy checked before synthesis",
    ),
    # Audit and detection
    "AuditTrail": (
        "audit_trail",
        "a multi-region CloudTrail trail into an Object-Locked bucket and a KMS log group",
    ),
    "ConfigRecorder": ("config_recorder", "the AWS Config recorder and delivery channel"),
    "ConfigRules": ("config_rules", "AWS managed Config rules with NON_COMPLIANT alerts"),
    "PLATFORM_RULES": ("config_rules", "the managed rule identifiers the platform deploys"),
    "SecurityAlarms": ("security_alarms", "CIS metric filters and alarms on the trail's logs"),
    "SecurityFilter": ("security_alarms", "one metric filter of SecurityAlarms"),
    "SECURITY_FILTERS": ("security_alarms", "the CIS benchmark filters SecurityAlarms is given"),
    # Machine learning
    "ModelRegistry": ("model_registry", "a retained SageMaker model package group"),
    "TrainingWorkflow": ("training_workflow", "the governed Step Functions training workflow"),
    "TrainingWorkflowSettings": (
        "_training_workflow_definition",
        "names and parameters of a TrainingWorkflow",
    ),
    "DeploymentWorkflow": (
        "deployment_workflow",
        "the Step Functions endpoint deployment workflow with blue/green rollback and monitoring",
    ),
    "DeploymentWorkflowSettings": (
        "_deployment_workflow_definition",
        "names and parameters of a DeploymentWorkflow",
    ),
    "ModelQualityWorkflow": ("_model_quality_workflow", "the scheduled model-quality check"),
    "ModelQualitySettings": (
        "_model_quality_workflow",
        "names and parameters of a ModelQualityWorkflow",
    ),
    "ChampionChallengerWorkflow": (
        "_champion_challenger_workflow",
        "champion/challenger comparison before approval",
    ),
    "ChampionChallengerSettings": (
        "_champion_challenger_workflow",
        "names and parameters of a ChampionChallengerWorkflow",
    ),
    "RetrainingWorkflow": ("_retraining_workflow", "re-runs the governed pipeline on drift"),
    # Scheduling, events, packages
    "EncryptedSchedule": ("encrypted_schedule", "an EventBridge Scheduler schedule, CMK-encrypted"),
    "EventBusPutPermission": ("event_bus_permission", "lets one other account put events"),
    "PackageMirror": (
        "_package_mirror",
        "a CodeArtifact PyPI mirror for networks without internet",
    ),
    # App settings
    "FEATURE_FLAGS": (
        "feature_flags",
        "the CDK feature flags (cdk.json context) the constructs need; put them in your app",
    ),
    # Errors
    "ConstructPropsError": (
        "_validation",
        "raised while the app is built when a construct "
        "refuses its props; the message says what to change",
    ),
}

# The public API. tests/test_package_api.py checks that it, _EXPORTS and the TYPE_CHECKING
# imports name the same things.
__all__ = [
    "AccessLogBucket",
    "AuditTrail",
    "ChampionChallengerSettings",
    "ChampionChallengerWorkflow",
    "ConfigRecorder",
    "ConfigRules",
    "ConstructPropsError",
    "DEFAULT_INTERFACE_ENDPOINTS",
    "DeploymentWorkflow",
    "DeploymentWorkflowSettings",
    "EncryptedSchedule",
    "EndpointSpec",
    "EventBusPutPermission",
    "FEATURE_FLAGS",
    "HumanRole",
    "IsolatedNetwork",
    "ManagedKey",
    "ModelQualitySettings",
    "ModelQualityWorkflow",
    "ModelRegistry",
    "ObjectLockOptOut",
    "PLATFORM_RULES",
    "PackageMirror",
    "PlatformManagedPolicy",
    "RetrainingWorkflow",
    "SECURITY_FILTERS",
    "SageMakerJobRole",
    "SecureBucket",
    "SecureLogGroup",
    "SecureTopic",
    "SecurityAlarms",
    "SecurityFilter",
    "TopicTarget",
    "TrainingWorkflow",
    "TrainingWorkflowSettings",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    try:
        module, _summary = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'cdk_constructs' has no attribute {name!r}") from None
    value = getattr(import_module(f"cdk_constructs.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
