"""Resource names derived from configuration. Names never depend on list positions."""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.model import PlatformConfig


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
        return (f"arn:{partition}:sagemaker:{self.region}:{self.account}:notebook-instance/"
                f"{self.notebook(user)}")

    def user_execution_role(self, user: str) -> str:
        """Role the user's notebook and jobs run as (max 64 characters)."""
        return f"{self.prefix}ds-{user}"

    def user_access(self, user: str) -> str:
        """Role or customer-managed policy that opens the user's notebook."""
        return f"{self.prefix}nb-access-{user}"

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
