"""One CDK Stage per environment, with that environment's account and region."""

from __future__ import annotations

from aws_cdk import Environment, Stage
from constructs import Construct

from platform_config.model import PlatformConfig
from platform_config.naming import ResourceNames
from stacks.foundation_stack import FoundationStack
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack


class PlatformStage(Stage):
    """All stacks of one environment. Stack ids are fixed strings, never list positions."""

    def __init__(self, scope: Construct, environment: str, *, config: PlatformConfig) -> None:
        env_config = config.environment(environment)
        super().__init__(
            scope,
            environment,
            env=Environment(account=env_config.account, region=env_config.region),
        )
        self.environment_name = environment
        names = ResourceNames.for_environment(config, environment)
        self.names = names
        # Cross-account wiring names resources of the pipeline (training) environment.
        self.pipeline_names = ResourceNames.for_environment(
            config, config.training.pipeline_environment)
        self.foundation = FoundationStack(
            self,
            "Foundation",
            stack_name=names.stack("foundation"),
            description=f"Secure ML platform ({environment}): keys, isolated network, data buckets",
            names=names,
            environment=env_config,
            serving_readers=_serving_readers(config, environment),
        )
        self.training: TrainingStack | None = None
        if config.training.pipeline_environment == environment:
            self.training = TrainingStack(
                self,
                "Training",
                stack_name=names.stack("training"),
                description=f"Secure ML platform ({environment}): training workflow, model "
                "registry, lineage",
                names=names,
                config=config,
                environment=env_config,
                foundation=self.foundation,
            )
        self.serving: ServingStack | None = None
        if environment in config.serving.environments:
            self.serving = ServingStack(
                self,
                "Serving",
                stack_name=names.stack("serving"),
                description=f"Secure ML platform ({environment}): deployment workflow, endpoint "
                "alarms, drift detection, dashboard",
                names=names,
                config=config,
                environment=env_config,
                foundation=self.foundation,
            )


def _serving_readers(config: PlatformConfig, environment: str) -> list[str]:
    """In the pipeline environment: the endpoint roles of serving environments in other
    accounts, which read run artifacts across accounts."""
    if environment != config.training.pipeline_environment:
        return []
    own = config.environment(environment).account
    readers = []
    for env in config.serving.environments:
        names = ResourceNames.for_environment(config, env)
        if names.account != own:
            readers.append(names.role_arn(names.endpoint_role))
    return readers
