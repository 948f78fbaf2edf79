"""One CDK Stage per environment, with that environment's account and region."""

from __future__ import annotations

from aws_cdk import Environment, Stage
from constructs import Construct

from platform_config._model import JobFunction, PlatformConfig, UserConfig, shard_of
from platform_config._naming import ResourceNames
from stacks.access_stack import AccessStack
from stacks.audit_stack import AuditStack
from stacks.foundation_stack import FoundationStack
from stacks.pipeline_replica_stack import PipelineReplicaStack, replica_names, replica_regions
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack
from stacks.user_shard_stack import UserShardStack


class PlatformStage(Stage):
    """All stacks of one environment. Stack ids are fixed strings, never list positions."""

    def __init__(
        self,
        scope: Construct,
        environment: str,
        *,
        config: PlatformConfig,
        defer_user_shards: bool = False,
    ) -> None:
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
            config, config.training.pipeline_environment
        )
        self.foundation = FoundationStack(
            self,
            "Foundation",
            stack_name=names.stack("foundation"),
            description=f"Secure ML platform ({environment}): keys, isolated network, data buckets",
            names=names,
            environment=env_config,
            serving_readers=_serving_readers(config, environment),
            shared_read_locations=_pipeline_run_locations(config, environment),
        )
        self.audit = AuditStack(
            self,
            "Audit",
            stack_name=names.stack("audit"),
            description=f"Secure ML platform ({environment}): trail, AWS Config, security "
            "alarms and the SageMaker compliance responder",
            names=names,
            environment=env_config,
            config=config,
            foundation=self.foundation,
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
        # The pipeline's artifact stores in the regions of cross-region deploy actions.
        self.pipeline_replicas: dict[str, PipelineReplicaStack] = {}
        if self.training is not None:
            for region in replica_regions(config):
                replica = replica_names(config, region)
                self.pipeline_replicas[region] = PipelineReplicaStack(
                    self,
                    f"PipelineReplica-{region}",
                    stack_name=replica.stack(f"pipeline-replica-{region}"),
                    description=f"Secure ML platform ({environment}): the training pipeline's "
                    f"artifact store in {region}",
                    env=Environment(account=env_config.account, region=region),
                    names=replica,
                    log_retention_days=env_config.log_retention_days,
                )
                # CodePipeline needs the store before the pipeline names it.
                self.training.node.add_dependency(self.pipeline_replicas[region])
        self.access = AccessStack(
            self,
            "Access",
            stack_name=names.stack("access"),
            description=f"Secure ML platform ({environment}): job-function roles, package mirror",
            names=names,
            environment=env_config,
            access=config.access,
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

        # Per-user stacks only where notebooks run; a shard with no user is not synthesized.
        # They come last, so that a caller may add them later (``defer_user_shards``).
        self.user_shards: dict[int, UserShardStack] = {}
        self._config = config
        self._user_shards_added = False
        if not defer_user_shards:
            self.add_user_shards()

    @property
    def user_shards_pending(self) -> bool:
        """True while the per-user stacks of an environment with notebooks are still to be
        added (``defer_user_shards``)."""
        notebooks = self._config.environment(self.environment_name).notebooks_enabled
        return notebooks and not self._user_shards_added

    def _shard_members(self) -> dict[int, list[UserConfig]]:
        config = self._config
        if not config.environment(self.environment_name).notebooks_enabled:
            return {}
        shards: dict[int, list[UserConfig]] = {}
        for user in config.users_with(JobFunction.DATA_SCIENTIST):
            shards.setdefault(shard_of(user.name, config.access.user_shards), []).append(user)
        return shards

    def add_user_shards(self) -> dict[int, UserShardStack]:
        """The per-user stacks (once). The app builds every other stack of every environment
        first, so that environments without people are synthesized and checked while it
        builds the people (app.py, ``check_ahead``)."""
        if self._user_shards_added:
            raise ValueError(
                f"PlatformStage {self.environment_name}: the user shards are already added"
            )
        self._user_shards_added = True
        config = self._config
        environment = self.environment_name
        names = self.names
        members = self._shard_members()
        if config.environment(environment).notebooks_enabled:
            self._pin_foundation_exports()
        for shard, users in sorted(members.items()):
            self.user_shards[shard] = UserShardStack(
                self,
                names.shard_stack_id(shard),
                stack_name=names.stack(f"access-shard{shard:02d}"),
                description=f"Secure ML platform ({environment}): notebooks of data "
                f"scientists, shard {shard:02d} of {config.access.user_shards}",
                names=names,
                users=users,
                access=config.access,
                foundation=self.foundation,
                access_stack=self.access,
            )
        return self.user_shards

    def _pin_foundation_exports(self) -> None:
        """Export what per-user stacks import whether or not a user uses it today, so that
        removing the last user of a subnet never tries to delete an export in use."""
        network = self.foundation.network
        values = [s.subnet_id for s in network.isolated_subnets]
        values += [
            network.security_group.security_group_id,
            self.foundation.keys["notebook"].key.key_arn,
        ]
        values += [
            network.interface_endpoints[e].vpc_endpoint_id
            for e in ("SageMakerApi", "SageMakerNotebook", "SageMakerStudio")
            if e in network.interface_endpoints
        ]
        for value in values:
            self.foundation.export_value(value)


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
            # endpoints and monitoring jobs (model, training data), and the model-quality
            # workflow (the approved version's registered validation metrics)
            readers.append(names.role_arn(names.endpoint_role))
            readers.append(names.role_arn(names.model_quality_role))
    return readers


def _pipeline_run_locations(config: PlatformConfig, environment: str) -> tuple[str, ...]:
    """In a serving environment other than the pipeline's: the pipeline environment's run
    artifacts its jobs read through the VPC (models, baseline training data)."""
    pipeline_env = config.training.pipeline_environment
    if environment == pipeline_env or environment not in config.serving.environments:
        return ()
    pipeline = ResourceNames.for_environment(config, pipeline_env)
    return tuple(
        f"arn:aws:s3:::{pipeline.bucket(purpose)}/runs/*"
        for purpose in ("model-artifacts", "processed-features")
    )
