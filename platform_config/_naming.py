"""Resource names derived from configuration. Names never depend on list positions."""

from __future__ import annotations

from dataclasses import dataclass

from platform_config._model import PlatformConfig


@dataclass(frozen=True)
class ResourceNames:
    project: str
    environment: str
    account: str
    region: str

    @classmethod
    def for_environment(cls, config: PlatformConfig, environment: str) -> ResourceNames:
        env = config.environment(environment)
        return cls(config.project.name, environment, env.account, env.region)

    @property
    def prefix(self) -> str:
        """Every platform resource name starts with this, e.g. ``mlp-dev-``."""
        return f"{self.project}-{self.environment}-"

    def bucket(self, purpose: str) -> str:
        """Globally unique and predictable: project, environment, purpose, account, region."""
        return f"{self.prefix}{purpose}-{self.account}-{self.region}"

    def key_alias(self, purpose: str) -> str:
        return f"alias/{self.project}/{self.environment}/{purpose}"

    def stack(self, part: str) -> str:
        return f"{self.prefix}{part}"

    def trail(self) -> str:
        """The environment's CloudTrail trail (key policies name it before it exists)."""
        return f"{self.prefix}audit-trail"

    def topic(self, purpose: str) -> str:
        return f"{self.prefix}{purpose}"

    # --- people and access (names are predictable so policies can name ARNs, not references)

    def notebook(self, user: str) -> str:
        """Notebook instance name (max 63): e.g. ``mlp-dev-jane-smith``."""
        return f"{self.prefix}{user}"

    def notebook_arn(self, user: str, partition: str = "aws") -> str:
        return (
            f"arn:{partition}:sagemaker:{self.region}:{self.account}:notebook-instance/"
            f"{self.notebook(user)}"
        )

    def user_execution_role(self, user: str) -> str:
        """Role the user's notebook and jobs run as (max 64 characters)."""
        return f"{self.prefix}ds-{user}"

    def user_access(self, user: str) -> str:
        """Role or customer-managed policy that opens the user's notebook."""
        return f"{self.prefix}nb-access-{user}"

    def studio_user_profile(self, user: str) -> str:
        """Studio user profile name (max 63): the user name itself, so shared policies can
        name a person's own profile from the execution role's owner tag."""
        return user

    @property
    def studio_domain(self) -> str:
        return f"{self.prefix}studio"

    @property
    def studio_lifecycle(self) -> str:
        """Prefix of the Studio lifecycle configurations (one per app type)."""
        return f"{self.prefix}studio-on-start"

    def job_function_role(self, job_function: str) -> str:
        return f"{self.prefix}{job_function.replace('_', '-')}"

    @property
    def notebook_lifecycle(self) -> str:
        return f"{self.prefix}notebook-on-start"

    @property
    def codeartifact_domain(self) -> str:
        return f"{self.project}-{self.environment}"

    codeartifact_repository: str = "pypi"

    def shard_stack_id(self, shard: int) -> str:
        return f"Access-Shard{shard:02d}"

    # --- fixed names that other accounts refer to (cross-account wiring) -------------------

    @property
    def deployment_state_machine(self) -> str:
        return f"{self.prefix}deployment"

    @property
    def qa_state_machine(self) -> str:
        return f"{self.prefix}champion-challenger"

    @property
    def pipeline_deploy_role(self) -> str:
        """In a serving account: the role the dev pipeline assumes to start a deployment."""
        return f"{self.prefix}pipeline-deploy"

    @property
    def pipeline_role(self) -> str:
        """In the pipeline account: the pipeline's role, which CodePipeline uses to assume
        the roles of cross-account actions."""
        return f"{self.prefix}pipeline"

    @property
    def endpoint_role(self) -> str:
        """In a serving account: the role endpoints and monitoring jobs run as."""
        return f"{self.prefix}endpoint"

    @property
    def model_quality_role(self) -> str:
        """In a serving account: the model-quality workflow's role, which reads the pipeline
        account's validation metrics."""
        return f"{self.prefix}model-quality"

    @property
    def drift_forwarder_role(self) -> str:
        return f"{self.prefix}drift-forwarder"

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{name}"

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def endpoint_name(self, model_name: str) -> str:
        return f"{self.prefix}{model_name}"


# --- length limits of the physical names above ---------------------------------------------

# The longest name each AWS resource type accepts (CloudFormation resource reference and the
# service API references). Where two AWS sources disagree the stricter applies: CloudWatch's
# PutMetricData accepts dimension values up to 1024 characters, AWS::CloudWatch::Alarm's
# Dimension only 1-255, so a dimension value must fit 255.
NAME_LIMITS: dict[str, int] = {
    "S3 bucket": 63,
    "IAM role": 64,
    "IAM managed policy": 128,
    "Lambda function": 64,
    "Step Functions state machine": 80,
    "SNS topic": 256,
    "CloudWatch Logs log group": 512,
    "CloudWatch alarm": 255,
    "CloudWatch metric name": 255,
    "CloudWatch dimension value": 255,
    "EventBridge Scheduler schedule": 64,
    "SageMaker model package group": 63,
    "SageMaker notebook instance": 63,
    "SageMaker notebook lifecycle configuration": 63,
    "SageMaker endpoint": 63,
    "SageMaker domain": 63,
    "SageMaker user profile": 63,
    "SageMaker Studio lifecycle configuration": 63,
    "CodePipeline pipeline": 100,
    "CodeArtifact domain": 50,
    "CloudFormation stack": 128,
    "CloudTrail trail": 128,
    "AWS Config recorder": 256,
    "KMS alias": 256,
}

# Bucket purposes (foundation, audit and training stacks).
BUCKET_PURPOSES: tuple[str, ...] = (
    "access-logs",
    "raw-data",
    "processed-features",
    "model-artifacts",
    "data-capture",
    "monitoring-reports",
    "audit-trail",
    "config-history",
    "pipeline-artifacts",
    "model-source",
)
KEY_PURPOSES: tuple[str, ...] = ("data", "notebook", "pipeline", "monitoring", "audit", "logs")
# The pipeline's artifact store in another region (stacks/pipeline_replica_stack.py).
REPLICA_BUCKET_PURPOSE = "pipeline-replica"
REPLICA_KEY_PURPOSE = "pipeline-replica"
ENDPOINT_ALARM_KINDS: tuple[str, ...] = ("latency-p99", "5xx-errors", "4xx-errors", "cpu", "memory")


@dataclass(frozen=True)
class DerivedName:
    kind: str  # a key of NAME_LIMITS
    name: str
    fields: str  # the configuration fields the name is made of

    @property
    def limit(self) -> int:
        return NAME_LIMITS[self.kind]


def environment_names(
    names: ResourceNames,
    *,
    model_name: str | None,
    features: tuple[str, ...] = (),
    serving: bool = False,
    pipeline: bool = False,
    replica_regions: tuple[str, ...] = (),
    studio: bool = False,
) -> list[DerivedName]:
    """Every physical name the platform derives for one environment (users excluded).
    ``replica_regions``: other regions where the pipeline keeps an artifact store."""
    base = "project.name, the environment name, its account and region"
    prefixed = "project.name and the environment name"
    out = [DerivedName("S3 bucket", names.bucket(p), base) for p in BUCKET_PURPOSES]
    out += [DerivedName("KMS alias", names.key_alias(p), prefixed) for p in KEY_PURPOSES]
    out += [
        DerivedName("CloudFormation stack", names.stack(s), prefixed)
        for s in ("foundation", "audit", "access", "training", "serving", "access-shard63")
    ]
    out += [
        DerivedName("CloudTrail trail", names.trail(), prefixed),
        DerivedName("SNS topic", names.topic("security"), prefixed),
        DerivedName("AWS Config recorder", f"{names.prefix}recorder", prefixed),
        DerivedName("CodeArtifact domain", names.codeartifact_domain, prefixed),
        DerivedName(
            "SageMaker notebook lifecycle configuration", names.notebook_lifecycle, prefixed
        ),
        DerivedName("IAM managed policy", f"{names.prefix}ds-sagemaker", prefixed),
        DerivedName("IAM managed policy", f"{names.prefix}ds-guardrails", prefixed),
    ]
    out += [
        DerivedName("IAM role", names.job_function_role(f), prefixed)
        for f in (
            "data_scientist",
            "ml_engineer",
            "model_risk_approver",
            "auditor",
            "platform_admin",
        )
    ]
    if studio:
        out += [
            DerivedName("SageMaker domain", names.studio_domain, prefixed),
            *(
                DerivedName(
                    "SageMaker Studio lifecycle configuration",
                    f"{names.studio_lifecycle}-{app}",
                    prefixed,
                )
                for app in ("jupyterlab", "codeeditor")
            ),
            DerivedName("S3 bucket", names.bucket("studio-sharing"), base),
            DerivedName("IAM role", f"{names.prefix}studio-default", prefixed),
            DerivedName("IAM managed policy", f"{names.prefix}ds-studio", prefixed),
            DerivedName("IAM managed policy", f"{names.prefix}studio-guardrails", prefixed),
        ]
    if pipeline and model_name:
        fields = f"{prefixed} and training.model_name"
        out += [
            DerivedName("SageMaker model package group", f"{names.prefix}{model_name}", fields),
            DerivedName("CloudWatch dimension value", f"{names.prefix}{model_name}", fields),
            DerivedName("CodePipeline pipeline", f"{names.prefix}{model_name}-training", fields),
            DerivedName("IAM role", names.pipeline_role, prefixed),
            DerivedName("Step Functions state machine", f"{names.prefix}retraining", prefixed),
        ]
    for region in replica_regions:
        replica = ResourceNames(names.project, names.environment, names.account, region)
        out += [
            DerivedName("S3 bucket", replica.bucket(p), base)
            for p in ("access-logs", REPLICA_BUCKET_PURPOSE)
        ]
        out.append(
            DerivedName(
                "CloudFormation stack", replica.stack(f"pipeline-replica-{region}"), prefixed
            )
        )
    if serving and model_name:
        endpoint = names.endpoint_name(model_name)
        fields = f"{prefixed} and training.model_name"
        out += [
            DerivedName("SageMaker endpoint", endpoint, fields),
            DerivedName("CloudWatch dimension value", endpoint, fields),
            DerivedName("Step Functions state machine", names.deployment_state_machine, prefixed),
            DerivedName("Step Functions state machine", names.qa_state_machine, prefixed),
            DerivedName("Step Functions state machine", f"{names.prefix}model-quality", prefixed),
            DerivedName("EventBridge Scheduler schedule", f"{names.prefix}model-quality", prefixed),
            DerivedName("IAM role", names.endpoint_role, prefixed),
            DerivedName("IAM role", names.pipeline_deploy_role, prefixed),
            DerivedName("IAM role", names.drift_forwarder_role, prefixed),
            DerivedName("CloudWatch alarm", f"{endpoint}-drift-model-quality", fields),
        ]
        out += [
            DerivedName("CloudWatch alarm", f"{endpoint}-{kind}", fields)
            for kind in ENDPOINT_ALARM_KINDS
        ]
        feature_fields = f"{fields} and serving.features"
        for feature in features:
            out += [
                DerivedName("CloudWatch alarm", f"{endpoint}-drift-{feature}", feature_fields),
                DerivedName(
                    "CloudWatch metric name",
                    f"feature_baseline_drift_{feature}",
                    "serving.features",
                ),
            ]
    return out


def user_names(names: ResourceNames, user: str, *, studio: bool = False) -> list[DerivedName]:
    """The physical names of one data scientist's resources in one environment."""
    fields = "project.name, the environment name and the user's name"
    workspace = (
        DerivedName("SageMaker user profile", names.studio_user_profile(user), "the user's name")
        if studio
        else DerivedName("SageMaker notebook instance", names.notebook(user), fields)
    )
    return [
        workspace,
        DerivedName("IAM role", names.user_execution_role(user), fields),
        DerivedName("IAM role", names.user_access(user), fields),
        DerivedName("IAM managed policy", names.user_access(user), fields),
    ]
