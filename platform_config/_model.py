"""The configuration model: what a platform engineer may set, and what each value must be.

Every validator raises ``ValueError`` with a sentence that says what to change; the loader
turns those into one ``ConfigError`` naming the file and the field path.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from platform_config._governance import GovernanceConfig, unmonitorable_features
from platform_config._regions import LOG_RETENTION_DAYS, SUPPORTED_REGIONS, RegionRefusal

ENVIRONMENT_NAMES: tuple[str, ...] = ("dev", "preprod", "prod")

_ACCOUNT_RE = re.compile(r"^\d{12}$")
# A user name becomes part of a notebook name, an IAM role name, an S3 prefix and a
# CloudFormation logical ID: lower-case letters, digits and single hyphens.
_USER_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PROJECT_NAME_RE = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
USER_NAME_MAX = 24
# At four resources per data scientist (execution role, notebook, access policy, access role)
# 100 users keep a shard stack well below CloudFormation's 500-resource quota (target 450).
MAX_USERS_PER_SHARD = 100


def shard_of(user_name: str, shard_count: int) -> int:
    """The user's shard: a stable hash of the name, never a list position, so adding,
    removing or reordering users never moves anyone else."""
    digest = hashlib.sha256(user_name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shard_count


class ConfigProblems(ValueError):
    """Several independent problems found by one validator: (field path relative to the model
    that raised it, message) pairs. The loader reports each one (platform_config/loader.py)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in problems))


def _raise_all(problems: list[tuple[str, str]]) -> None:
    if len(problems) == 1 and not problems[0][0]:
        raise ValueError(problems[0][1])
    if problems:
        raise ConfigProblems(problems)


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


_DEFAULT_HYPERPARAMETERS: dict[str, str | int | float] = {
    "num_round": 200,
    "max_depth": 5,
    "eta": 0.2,
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "seed": 42,
}
_DEFAULT_SERVING_ENVIRONMENTS: tuple[Literal["dev", "preprod", "prod"], ...] = ("preprod", "prod")


class JobFunction(StrEnum):
    """Job functions of the role-based access model (whitepaper: 'roles based on job function')."""

    DATA_SCIENTIST = "data_scientist"
    ML_ENGINEER = "ml_engineer"
    MODEL_RISK_APPROVER = "model_risk_approver"
    AUDITOR = "auditor"
    PLATFORM_ADMIN = "platform_admin"


def _cidr(value: object) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a valid IPv4 CIDR block ({exc}); write it as network/prefix "
            "with the host bits zero, e.g. 10.20.0.0/22"
        ) from None


class ProjectConfig(_Strict):
    name: str = Field(
        description="Short prefix for every resource name (2-10 lower-case characters)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _PROJECT_NAME_RE.match(value):
            raise ValueError(
                f"{value!r} cannot prefix resource names; use 2-10 lower-case letters and "
                "digits starting with a letter, e.g. 'mlp'"
            )
        return value


class ObjectLockConfig(_Strict):
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    days: int = 30

    @field_validator("days")
    @classmethod
    def _days(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"must be a positive number of days, got {value}; e.g. 30")
        if value > 36500:
            raise ValueError(f"{value} days is more than 100 years; use at most 36500")
        return value


class NotificationsConfig(_Strict):
    security: list[str] = Field(default_factory=list)
    operations: list[str] = Field(default_factory=list)
    model_risk: list[str] = Field(default_factory=list)

    @field_validator("security", "operations", "model_risk")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL_RE.match(address):
                raise ValueError(
                    f"{address!r} is not an e-mail address; write it as name@example.com"
                )
        if len(set(a.lower() for a in value)) != len(value):
            raise ValueError("lists the same e-mail address twice; remove the duplicate")
        return value


class AuditConfig(_Strict):
    """Whitepaper 'Auditability': CloudTrail and AWS Config for one environment."""

    use_organization_trail: bool = Field(
        default=False,
        description="True when an AWS Organizations trail already records this account; "
        "then no trail is created (README: what that trail must provide).",
    )
    reuse_config_recorder: bool = Field(
        default=False,
        description="True when the account already runs an AWS Config recorder (one per "
        "region is allowed); then only the rules are created.",
    )
    trail_log_retention_days: int = 365
    object_lock: ObjectLockConfig = Field(
        default_factory=lambda: ObjectLockConfig(mode="COMPLIANCE", days=365)
    )

    @field_validator("trail_log_retention_days")
    @classmethod
    def _trail_retention(cls, value: int) -> int:
        return _retention(value)


class LambdaLayersConfig(_Strict):
    """Versions of AWS's public Lambda layers (nothing is bundled: no Docker here).
    Check the current numbers with `aws lambda list-layer-versions` before deploying."""

    powertools_version: int = 27
    sdk_pandas_version: int = 3

    @field_validator("powertools_version", "sdk_pandas_version")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"must be a published layer version (1 or more), got {value}")
        return value


class SourceConfig(_Strict):
    """Where the model code lives. A commit on `branch` starts the pipeline."""

    kind: Literal["codeconnections", "codecommit", "s3"] = "s3"
    connection_arn: str | None = None
    repository: str | None = None  # "owner/name" (codeconnections) or repository name
    branch: str = "main"
    object_key: str = "source/model-code.zip"  # s3: key in the platform's source bucket

    @model_validator(mode="after")
    def _complete(self) -> SourceConfig:
        if self.kind == "codeconnections":
            if not self.connection_arn or not re.match(
                r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$",
                self.connection_arn,
            ):
                raise ValueError(
                    "kind codeconnections needs connection_arn, the ARN of an AVAILABLE "
                    "connection, e.g. "
                    "arn:aws:codeconnections:eu-west-2:111111111111:connection/<uuid>"
                )
            if not self.repository or not re.match(r"^[\w.-]+/[\w.-]+$", self.repository):
                raise ValueError("kind codeconnections needs repository as 'owner/name'")
        if self.kind == "codecommit" and (
            not self.repository or not re.match(r"^[\w.-]{1,100}$", self.repository)
        ):
            raise ValueError("kind codecommit needs repository, the CodeCommit repository name")
        if self.kind == "s3" and not re.match(r"^[\w./-]+\.zip$", self.object_key):
            raise ValueError(
                f"object_key {self.object_key!r} must be a .zip key, e.g. source/model-code.zip"
            )
        return self


class GateConfig(_Strict):
    """The quality bar (whitepaper: 'Accuracy > 90%')."""

    metric: Literal["auc", "accuracy", "precision", "recall", "f1"] = "auc"
    threshold: float = 0.75

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not 0.0 < value <= 1.0:
            raise ValueError(f"must be in (0, 1], got {value}")
        return value


class FacetConfig(_Strict):
    column: str = "SEX"
    values: list[str] = Field(default_factory=lambda: ["2"])


class TrainingConfig(_Strict):
    """Commit-driven training (whitepaper section C, model development and pre-production)."""

    pipeline_environment: Literal["dev", "preprod", "prod"] = "dev"
    model_name: str = "credit-default"
    raw_data_key: str = "credit/default.csv"
    source: SourceConfig = Field(default_factory=SourceConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    facet: FacetConfig = Field(default_factory=FacetConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    training_instance_type: str = "ml.m5.xlarge"
    processing_instance_type: str = "ml.m5.large"
    max_runtime_seconds: int = 3600
    managed_spot: bool = False
    inter_container_encryption: bool = True
    hyperparameters: dict[str, str | int | float] = Field(
        default_factory=lambda: dict(_DEFAULT_HYPERPARAMETERS)
    )

    @field_validator("model_name")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,30}", value):
            raise ValueError(f"{value!r}: use 2-31 lower-case letters, digits and hyphens")
        return value

    @field_validator("raw_data_key")
    @classmethod
    def _raw_key(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", value):
            raise ValueError(
                f"{value!r} is not an S3 key in the raw-data bucket, e.g. credit/default.csv"
            )
        return value

    @field_validator("training_instance_type", "processing_instance_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not _INSTANCE_TYPE_RE.match(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type; e.g. ml.m5.xlarge")
        return value

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtime(cls, value: int) -> int:
        if not 60 <= value <= 432000:
            raise ValueError(f"must be 60..432000 seconds (5 days), got {value}")
        return value

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameters(cls, value: dict) -> dict:
        for name in value:
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,63}", name) or name.startswith("sagemaker_"):
                raise ValueError(
                    f"hyperparameter name {name!r} is not allowed (lower-case "
                    "identifier, not starting with sagemaker_)"
                )
        return value


_CRON_RE = re.compile(r"^cron\([^()]+\)$|^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$")
_QUALITY_METRICS = ("auc", "accuracy", "precision", "recall", "f1")


def _schedule(value: str) -> str:
    if not _CRON_RE.match(value):
        raise ValueError(
            f"{value!r} is not a schedule expression; write e.g. cron(0 * ? * * *) or rate(1 day)"
        )
    return value


class GuardrailsConfig(_Strict):
    """SageMaker deployment guardrails: blue/green with traffic shifting and auto-rollback."""

    traffic_routing: Literal["CANARY", "LINEAR"] = "CANARY"
    canary_percent: int = 10
    wait_seconds: int = 600
    termination_wait_seconds: int = 600

    @field_validator("canary_percent")
    @classmethod
    def _canary(cls, value: int) -> int:
        if not 1 <= value <= 50:
            raise ValueError(f"must be 1..50 percent of capacity, got {value}")
        return value

    @field_validator("wait_seconds", "termination_wait_seconds")
    @classmethod
    def _wait(cls, value: int) -> int:
        if not 0 <= value <= 3600:
            raise ValueError(f"must be 0..3600 seconds, got {value}")
        return value


class ServingConfig(_Strict):
    """Production (whitepaper 'Model monitoring'): endpoints, data capture, drift, retraining."""

    environments: list[Literal["dev", "preprod", "prod"]] = Field(
        default_factory=lambda: list(_DEFAULT_SERVING_ENVIRONMENTS)
    )
    instance_type: str = "ml.m5.large"
    instance_count: int = 2
    capture_sampling_percent: int = 100
    monitoring_schedule: str = "cron(0 * ? * * *)"
    features: list[str] = Field(
        default_factory=list,
        description=(
            "Features with a drift alarm (Model Monitor's feature_baseline_drift_<feature>)."
        ),
    )
    drift_threshold: float = 0.1
    ground_truth_s3_prefix: str | None = None
    champion_challenger_margin: float = 0.01
    quality_check_schedule: str = "cron(0 6 ? * MON *)"
    quality_tolerances: dict[str, float] = Field(default_factory=lambda: {"auc": 0.02})
    scheduled_retraining: str | None = None
    retrain_cooldown_hours: float = 24.0
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an environment twice; remove the duplicate")
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not _INSTANCE_TYPE_RE.match(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type; e.g. ml.m5.large")
        return value

    @field_validator("instance_count")
    @classmethod
    def _count(cls, value: int) -> int:
        if not 1 <= value <= 20:
            raise ValueError(
                f"must be 1..20 instances, got {value}; use 2 or more for availability"
            )
        return value

    @field_validator("capture_sampling_percent")
    @classmethod
    def _sampling(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError(f"must be 1..100 percent of requests, got {value}")
        return value

    @field_validator("monitoring_schedule", "quality_check_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _schedule(value)

    @field_validator("scheduled_retraining")
    @classmethod
    def _retrain_schedule(cls, value: str | None) -> str | None:
        return None if value is None else _schedule(value)

    @field_validator("features")
    @classmethod
    def _features(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
                raise ValueError(f"feature {name!r} is not a column name (letters, digits, _)")
        return value

    @field_validator("drift_threshold", "champion_challenger_margin")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"must be in [0, 1], got {value}")
        return value

    @field_validator("ground_truth_s3_prefix")
    @classmethod
    def _ground_truth(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+(/[\w.-]+)*/", value):
            raise ValueError(
                f"{value!r} must be a key prefix ending in '/' in the monitoring "
                "bucket, e.g. ground-truth/"
            )
        return value

    @field_validator("quality_tolerances")
    @classmethod
    def _tolerances(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("give at least one metric tolerance, e.g. {auc: 0.02}")
        for metric, tolerance in value.items():
            if metric not in _QUALITY_METRICS:
                raise ValueError(f"unknown metric {metric!r}; use {', '.join(_QUALITY_METRICS)}")
            if not 0.0 <= tolerance <= 1.0:
                raise ValueError(f"tolerance of {metric} must be in [0, 1], got {tolerance}")
        return value

    @field_validator("retrain_cooldown_hours")
    @classmethod
    def _cooldown(cls, value: float) -> float:
        if not 1 / 60 <= value <= 24 * 90:
            raise ValueError(f"must be between 1 minute and 90 days (in hours), got {value}")
        return value


def _retention(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive number of days, got {value}; e.g. 365")
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(v) for v in LOG_RETENTION_DAYS)
        raise ValueError(f"CloudWatch Logs does not accept {value} days; choose one of {allowed}")
    return value


WORKSPACES: tuple[str, ...] = ("studio", "notebook_instance")
STUDIO_MIN_IDLE_MINUTES = 60  # botocore sagemaker model: IdleTimeoutInMinutes min 60
# The ml.* families SageMaker AI Studio's JupyterLab and Code Editor apps run on (AppInstanceType
# in botocore's sagemaker service model; tests/test_config.py checks each default against it).
DEFAULT_STUDIO_INSTANCE_TYPES: tuple[str, ...] = (
    "ml.t3.medium",
    "ml.t3.large",
    "ml.m5.large",
    "ml.m5.xlarge",
)


class StudioConfig(_Strict):
    """SageMaker AI Studio settings of one environment (used when ``workspace: studio``)."""

    auth_mode: Literal["IAM", "SSO"] = Field(
        default="IAM",
        description="IAM: people open Studio with a presigned URL from their access role; SSO: "
        "through IAM Identity Center (the instance must be in the same region).",
    )
    instance_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STUDIO_INSTANCE_TYPES),
        description="The only instance types JupyterLab and Code Editor apps may run on.",
    )

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one approved instance type, e.g. [ml.t3.medium]")
        for item in value:
            if not _INSTANCE_TYPE_RE.match(item):
                raise ValueError(f"{item!r} is not a SageMaker instance type; e.g. ml.t3.medium")
        if len(set(value)) != len(value):
            raise ValueError("lists an instance type twice; remove the duplicate")
        return value


class EnvironmentConfig(_Strict):
    """One environment (dev, preprod or prod): its account, region, network and the
    settings that differ per environment."""

    account: str
    region: str
    availability_zones: list[str]
    vpc_cidr: str
    endpoint_az_count: int = Field(
        default=2, description="How many AZs carry interface endpoints (each costs per hour)."
    )
    log_retention_days: int = 365
    object_lock: ObjectLockConfig = Field(default_factory=ObjectLockConfig)
    notebooks_enabled: bool = True
    notebook_idle_minutes: int = 60
    workspace: str = Field(
        default="notebook_instance",
        description="The data scientists' workspace where notebooks_enabled: 'studio' (a "
        "VPC-only SageMaker AI Studio domain, one user profile per person) or "
        "'notebook_instance' (one notebook instance per person). Switching is a migration "
        "(docs/studio.md).",
    )
    studio: StudioConfig = Field(default_factory=StudioConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)

    @field_validator("workspace", mode="before")
    @classmethod
    def _workspace(cls, value: object) -> str:
        if value not in WORKSPACES:
            raise ValueError(
                f"{value!r} is not a workspace; write 'studio' (SageMaker AI Studio) "
                "or 'notebook_instance' (one notebook instance per person)"
            )
        return str(value)

    @property
    def studio_enabled(self) -> bool:
        """Data scientists work in a Studio domain in this environment."""
        return self.notebooks_enabled and self.workspace == "studio"

    @property
    def notebook_instances_enabled(self) -> bool:
        """Data scientists work on notebook instances in this environment."""
        return self.notebooks_enabled and self.workspace == "notebook_instance"

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: object) -> str:
        if isinstance(value, int):
            raise ValueError(
                f"{value} was read as a number; quote the account id so leading zeros are kept, "
                'e.g. account: "012345678901"'
            )
        if not isinstance(value, str) or not _ACCOUNT_RE.match(value.strip()):
            raise ValueError(f'{value!r} is not a 12-digit AWS account id; e.g. "123456789012"')
        return value.strip()

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in SUPPORTED_REGIONS:
            raise ValueError(RegionRefusal(value).message)
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, value: str) -> str:
        network = _cidr(value)
        if not network.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) range; use e.g. 10.20.0.0/22")
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(
                f"/{network.prefixlen} is outside /16../24: a VPC CIDR must be /16 (largest) "
                "to /24 (smallest) to leave room for one isolated subnet per AZ"
            )
        return str(network)

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        return _retention(value)

    @field_validator("notebook_idle_minutes")
    @classmethod
    def _idle(cls, value: int) -> int:
        if not 5 <= value <= 1440:
            raise ValueError(f"must be between 5 and 1440 minutes, got {value}")
        return value

    @model_validator(mode="after")
    def _zones(self) -> EnvironmentConfig:
        zones = self.availability_zones
        problems: list[tuple[str, str]] = []
        if not 2 <= len(zones) <= 6:
            problems.append(
                (
                    "availability_zones",
                    f"lists {len(zones)} zones; list 2 to 6 zones of {self.region}",
                )
            )
        if len(set(zones)) != len(zones):
            problems.append(("availability_zones", "lists a zone twice; remove the duplicate"))
        for zone in zones:
            if not re.fullmatch(re.escape(self.region) + r"[a-f]", zone):
                problems.append(
                    (
                        "availability_zones",
                        f"availability zone {zone!r} is not in region {self.region}; zones of this "
                        f"region are named {self.region}a, {self.region}b, ...",
                    )
                )
        if self.studio_enabled and self.notebook_idle_minutes < STUDIO_MIN_IDLE_MINUTES:
            problems.append(
                (
                    "notebook_idle_minutes",
                    f"is {self.notebook_idle_minutes}; SageMaker AI Studio shuts idle apps down "
                    f"after {STUDIO_MIN_IDLE_MINUTES} minutes at the earliest "
                    f"(IdleTimeoutInMinutes); use {STUDIO_MIN_IDLE_MINUTES} or more with "
                    "workspace: studio",
                )
            )
        if not 1 <= self.endpoint_az_count <= len(zones):
            problems.append(
                (
                    "endpoint_az_count",
                    f"is {self.endpoint_az_count}; it must be between 1 and the number of "
                    f"availability_zones ({len(zones)})",
                )
            )
        _raise_all(problems)
        return self

    @property
    def vpc_network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.vpc_cidr)


class UserConfig(_Strict):
    """One data scientist or engineer: name, job function and where they may sign in from."""

    name: str
    job_function: JobFunction
    allowed_source_cidrs: list[str] = Field(default_factory=list)
    notebook_instance_type: str = "ml.t3.medium"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > USER_NAME_MAX or len(value) < 2 or not _USER_NAME_RE.match(value):
            raise ValueError(
                f"{value!r} cannot form resource names; use 2-{USER_NAME_MAX} lower-case letters, "
                "digits and single hyphens, starting with a letter, e.g. 'jane-smith'"
            )
        return value

    @field_validator("allowed_source_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        networks = [_cidr(v) for v in value]
        for network in networks:
            if network.prefixlen == 0:
                raise ValueError(
                    "0.0.0.0/0 would let anyone on the internet request this user's notebook "
                    "URL; list the user's office or VPN ranges instead"
                )
        return [str(n) for n in networks]

    @field_validator("notebook_instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE_RE.match(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type; e.g. ml.t3.medium")
        return value

    @model_validator(mode="after")
    def _data_scientist_has_source(self) -> UserConfig:
        if self.job_function is JobFunction.DATA_SCIENTIST and not self.allowed_source_cidrs:
            raise ValueError(
                "a data_scientist needs allowed_source_cidrs: the presigned notebook URL is only "
                "issued from those ranges"
            )
        return self


# Who may assume a role: an account id, a SAML provider ARN, or an IAM role ARN (patterns with
# '*' allowed, for IAM Identity Center roles such as
# arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*).
# '{account}' stands for the account of the environment being built.
_PRINCIPAL_ACCOUNT_RE = re.compile(r"^(\d{12}|\{account\})$")
_PRINCIPAL_SAML_RE = re.compile(
    r"^arn:aws:iam::(\d{12}|\{account\}):saml-provider/[\w+=,.@-]{1,128}$"
)
_PRINCIPAL_ROLE_RE = re.compile(r"^arn:aws:iam::(\d{12}|\{account\}):role/[\w+=,.@/*-]{1,512}$")


def principal_kind(value: str) -> str:
    """'account', 'saml' or 'role' (an IAM role ARN or ARN pattern)."""
    if _PRINCIPAL_ACCOUNT_RE.match(value):
        return "account"
    if _PRINCIPAL_SAML_RE.match(value):
        return "saml"
    if _PRINCIPAL_ROLE_RE.match(value):
        return "role"
    raise ValueError(
        f"{value!r} is not a principal this platform can trust; write a 12-digit account id, "
        "a SAML provider ARN (arn:aws:iam::123456789012:saml-provider/Corp) or an IAM role ARN "
        "or pattern (arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/"
        "AWSReservedSSO_DataScience_*); '{account}' means the environment's own account"
    )


class AssumableByConfig(_Strict):
    """Who may assume each job-function role (and, for data scientists, their notebook-access
    role). An empty list means IAM principals of the environment's own account (with MFA)."""

    data_scientist: list[str] = Field(default_factory=list)
    ml_engineer: list[str] = Field(default_factory=list)
    model_risk_approver: list[str] = Field(default_factory=list)
    auditor: list[str] = Field(default_factory=list)
    platform_admin: list[str] = Field(default_factory=list)

    @field_validator("*")
    @classmethod
    def _principals(cls, value: list[str]) -> list[str]:
        for principal in value:
            principal_kind(principal)
        if len(set(value)) != len(value):
            raise ValueError("lists the same principal twice; remove the duplicate")
        return value

    @model_validator(mode="after")
    def _break_glass(self) -> AssumableByConfig:
        saml = [p for p in self.platform_admin if principal_kind(p) == "saml"]
        if saml:
            raise ValueError(
                f"platform_admin cannot be assumed through SAML ({saml[0]}): AWS cannot check MFA "
                "on a SAML sign-in, and the break-glass role requires it; list an account id "
                "(IAM users with MFA) instead"
            )
        return self

    def for_function(self, job_function: JobFunction) -> list[str]:
        return list(getattr(self, job_function.value))


class PackageMirrorConfig(_Strict):
    """The whitepaper's 'local PyPI server or pip mirror', as an AWS CodeArtifact repository."""

    upstream: Literal["public_pypi", "none"] = Field(
        default="public_pypi",
        description="public_pypi: CodeArtifact fetches missing packages from pypi.org (AWS "
        "fetches, the VPC stays closed); none: curated, air-gapped, packages are published "
        "by the platform team only.",
    )


class AccessConfig(_Strict):
    """Whitepaper 'Authentication and authorization': notebooks, presigned URLs, RBAC."""

    presign_mode: Literal["iam_role", "sso_managed_policy"] = Field(
        default="iam_role",
        description="iam_role: one notebook-access role per data scientist; sso_managed_policy: "
        "one customer-managed policy per data scientist, attached by the institution's IAM "
        "Identity Center permission set (by name).",
    )
    source_condition: Literal["source_ip", "source_vpce"] = Field(
        default="source_ip",
        description="source_ip: presigned URLs only from the user's allowed_source_cidrs "
        "(calls over the public SageMaker endpoint); source_vpce: only through the platform's "
        "SageMaker VPC endpoints (aws:SourceIp is not set on calls through an endpoint).",
    )
    require_mfa: bool = Field(
        default=True, description="MFA condition on human roles assumed by account principals."
    )
    user_shards: int = Field(
        default=8,
        description="Fixed number of per-user stacks; a user's stack is a hash of the "
        "user name modulo this number. Never change it once users are deployed.",
    )
    assumable_by: AssumableByConfig = Field(default_factory=AssumableByConfig)
    package_mirror: PackageMirrorConfig = Field(default_factory=PackageMirrorConfig)

    @field_validator("user_shards")
    @classmethod
    def _shards(cls, value: int) -> int:
        if not 1 <= value <= 64:
            raise ValueError(
                f"must be between 1 and 64 stacks, got {value}; 8 holds about 500 data scientists "
                "within CloudFormation's limits"
            )
        return value


class PlatformConfig(_Strict):
    """The whole validated configuration: project, environments, users, notifications."""

    project: ProjectConfig
    environments: dict[str, EnvironmentConfig]
    users: list[UserConfig] = Field(default_factory=list)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    lambda_layers: LambdaLayersConfig = Field(default_factory=LambdaLayersConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    access: AccessConfig = Field(default_factory=AccessConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)

    @field_validator("environments", mode="before")
    @classmethod
    def _environment_names(cls, value: object) -> object:
        if isinstance(value, dict):
            missing = [n for n in ENVIRONMENT_NAMES if n not in value]
            unknown = [n for n in value if n not in ENVIRONMENT_NAMES]
            if missing:
                raise ValueError(
                    f"environment(s) {', '.join(missing)} missing; define all of "
                    f"{', '.join(ENVIRONMENT_NAMES)}"
                )
            if unknown:
                raise ValueError(
                    f"unknown environment(s) {', '.join(map(str, unknown))}; only "
                    f"{', '.join(ENVIRONMENT_NAMES)} exist"
                )
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> PlatformConfig:
        _raise_all(
            cross_check_problems(
                project=self.project,
                environments=self.environments,
                users=self.users,
                access=self.access,
                training=self.training,
                serving=self.serving,
            )
        )
        return self

    @model_validator(mode="after")
    def _governance_checks(self) -> PlatformConfig:
        # Protected and excluded columns are not model features: they are not in the
        # captured requests, so a drift alarm on one would never receive data.
        dead = unmonitorable_features(self.training.governance, list(self.serving.features))
        if dead:
            raise ValueError(
                f"serving.features {dead} are protected or excluded (training.governance), "
                "not model features: the endpoint never receives them; alarm on model features"
            )
        return self

    def environment(self, name: str) -> EnvironmentConfig:
        return self.environments[name]

    def users_with(self, job_function: JobFunction) -> list[UserConfig]:
        return [u for u in self.users if u.job_function is job_function]


PROMOTION_ORDER: tuple[str, ...] = ENVIRONMENT_NAMES  # dev -> preprod -> prod


def cross_check_problems(
    *,
    project: ProjectConfig | None,
    environments: dict[str, EnvironmentConfig],
    users: Sequence[UserConfig | None],
    access: AccessConfig | None,
    training: TrainingConfig | None,
    serving: ServingConfig | None,
    networks: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Every problem that involves more than one section, as (field path, message).

    Runs on whatever sections are valid, so the loader can report these together with the
    field errors of the sections that are not (an invalid section is None or left out;
    ``networks`` gives the valid vpc_cidr of every environment, invalid ones included).
    """
    problems: list[tuple[str, str]] = []
    valid_users = [u for u in users if u is not None]
    seen: dict[str, int] = {}
    for index, user in enumerate(users):
        if user is None:
            continue
        if user.name in seen:
            problems.append(
                (
                    f"users[{index}].name",
                    (
                        f"repeats the name {user.name!r} of users[{seen[user.name]}]; user names "
                        "must be unique"
                    ),
                )
            )
        else:
            seen[user.name] = index
    if access is not None:
        shards: dict[int, int] = {}
        for user in valid_users:
            if user.job_function is JobFunction.DATA_SCIENTIST:
                shard = shard_of(user.name, access.user_shards)
                shards[shard] = shards.get(shard, 0) + 1
        if shards and max(shards.values()) > MAX_USERS_PER_SHARD:
            problems.append(
                (
                    "access.user_shards",
                    (
                        f"{access.user_shards} puts {max(shards.values())} data scientists in one "
                        f"stack (at most {MAX_USERS_PER_SHARD} fit CloudFormation's limits); raise "
                        "access.user_shards before the first deployment"
                    ),
                )
            )
    for env_name, env in environments.items():
        if not env.studio_enabled:
            continue
        for index, user in enumerate(users):
            if (
                user is not None
                and user.job_function is JobFunction.DATA_SCIENTIST
                and user.notebook_instance_type not in env.studio.instance_types
            ):
                problems.append(
                    (
                        f"users[{index}].notebook_instance_type",
                        (
                            f"{user.notebook_instance_type} is not one of environments.{env_name}."
                            f"studio.instance_types ({', '.join(env.studio.instance_types)}); in "
                            "Studio it is the person's default JupyterLab instance type. Add it to "
                            "that list or choose one of them"
                        ),
                    )
                )
    if networks is None:
        networks = {name: env.vpc_cidr for name, env in environments.items()}
    cidrs = list(networks.items())
    for i, (name_a, cidr_a) in enumerate(cidrs):
        for name_b, cidr_b in cidrs[i + 1 :]:
            if ipaddress.IPv4Network(cidr_a).overlaps(ipaddress.IPv4Network(cidr_b)):
                problems.append(
                    (
                        f"environments.{name_b}.vpc_cidr",
                        (
                            f"{cidr_b} overlaps environments.{name_a}.vpc_cidr {cidr_a}; give each "
                            "environment its own range so they can be connected later"
                        ),
                    )
                )
    if training is not None and serving is not None:
        pipeline = training.pipeline_environment
        for served in serving.environments:
            if PROMOTION_ORDER.index(served) < PROMOTION_ORDER.index(pipeline):
                problems.append(
                    (
                        "serving.environments",
                        (
                            f"lists {served}, which comes before training.pipeline_environment "
                            f"{pipeline}; the pipeline deploys each approved model forward, dev -> "
                            "preprod -> prod (a deploy stage per serving environment from its own "
                            "on, QA in preprod, a model-risk approval before prod), so it has no "
                            f"deploy stage for {served}. Remove {served} from serving.environments "
                            "or move training.pipeline_environment to an earlier environment"
                        ),
                    )
                )
    if project is not None:
        problems += name_length_problems(
            project=project,
            environments=environments,
            users=users,
            training=training,
            serving=serving,
        )
    return problems


def name_length_problems(
    *,
    project: ProjectConfig,
    environments: dict[str, EnvironmentConfig],
    users: Sequence[UserConfig | None],
    training: TrainingConfig | None,
    serving: ServingConfig | None,
) -> list[tuple[str, str]]:
    """Every physical name the platform derives (platform_config/_naming.py) must fit its AWS
    limit, in every environment and for every data scientist."""
    from platform_config._naming import ResourceNames, environment_names, user_names

    problems: list[tuple[str, str]] = []
    reported: set[tuple[str, str]] = set()
    model_name = training.model_name if training is not None else None
    features = tuple(serving.features) if serving is not None else ()
    for env_name, env in environments.items():
        names = ResourceNames(project.name, env_name, env.account, env.region)
        is_pipeline = training is not None and training.pipeline_environment == env_name
        replica_regions = (
            tuple(
                sorted(
                    {
                        environments[e].region
                        for e in (serving.environments if serving else ())
                        if e in environments and environments[e].region != env.region
                    }
                )
            )
            if is_pipeline
            else ()
        )
        derived = environment_names(
            names,
            model_name=model_name,
            features=features,
            serving=serving is not None and env_name in serving.environments,
            pipeline=is_pipeline,
            replica_regions=replica_regions,
            studio=env.studio_enabled,
        )
        for item in derived:
            if len(item.name) > item.limit and (item.kind, item.name) not in reported:
                reported.add((item.kind, item.name))
                field = (
                    "serving.features"
                    if "serving.features" in item.fields
                    else "training.model_name"
                    if "model_name" in item.fields
                    else "project.name"
                )
                problems.append(
                    (
                        field,
                        (
                            f"makes the {item.kind} name {item.name!r} in environment {env_name} "
                            f"{len(item.name)} characters long; AWS allows {item.limit}. It is "
                            f"made of {item.fields}: shorten {field} by "
                            f"{len(item.name) - item.limit} or more"
                        ),
                    )
                )
        if not env.notebooks_enabled:
            continue
        for index, user in enumerate(users):
            if user is None or user.job_function is not JobFunction.DATA_SCIENTIST:
                continue
            for item in user_names(names, user.name, studio=env.studio_enabled):
                if len(item.name) > item.limit and (item.kind, item.name) not in reported:
                    reported.add((item.kind, item.name))
                    problems.append(
                        (
                            f"users[{index}].name",
                            (
                                f"makes the {item.kind} name {item.name!r} in environment "
                                f"{env_name} {len(item.name)} characters long; AWS allows "
                                f"{item.limit}. Shorten the user name (or project.name) by "
                                f"{len(item.name) - item.limit} or more"
                            ),
                        )
                    )
    return problems
