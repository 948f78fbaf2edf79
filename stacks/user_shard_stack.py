"""One shard of the data scientists: their execution roles, notebooks and notebook access."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Fn, Stack
from constructs import Construct

from cdk_constructs._studio_user_profile import StudioUserProfile
from cdk_constructs._user_workspace import UserWorkspace
from platform_config._model import AccessConfig, JobFunction, UserConfig, shard_of
from platform_config._naming import ResourceNames
from stacks.access_stack import AccessStack
from stacks.foundation_stack import FoundationStack


class UserShardStack(Stack):
    """Hundreds of data scientists do not fit one CloudFormation stack (500 resources, 1 MB),
    so users are spread over a fixed number of shard stacks by a hash of their name
    (``platform_config._model.shard_of``). Construct ids are ``User-<name>``: adding, removing
    or reordering users never changes another user's logical ids, stack or subnet.

    :attr:`workspaces` maps user name -> :class:`UserWorkspace` (notebook instances) or
    :class:`StudioUserProfile` (where the access stack has a Studio domain): the same
    construct id ``User-<name>`` either way.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: ResourceNames,
        users: Sequence[UserConfig],
        access: AccessConfig,
        foundation: FoundationStack,
        access_stack: AccessStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        lifecycle = access_stack.notebook_lifecycle
        studio = access_stack.studio
        if lifecycle is None and studio is None:
            raise ValueError("UserShardStack: notebooks are not enabled in this environment")
        # Named (not referenced) shared resources: no export per user, only an ordering.
        self.node.add_dependency(access_stack)
        network = foundation.network
        subnets = network.isolated_subnets
        # The presign call comes through the SageMaker API endpoint; AWS then checks the same
        # policy on every request and WebSocket frame of the UI, which comes through the
        # notebook endpoint (notebooks) or the Studio endpoint (Studio).
        endpoints = (
            ("SageMakerApi", "SageMakerStudio")
            if studio is not None
            else ("SageMakerApi", "SageMakerNotebook")
        )
        if access.source_condition == "source_vpce":
            vpce_ids = [network.interface_endpoints[e].vpc_endpoint_id for e in endpoints]
        else:
            vpce_ids = []
        domain_id = (
            Fn.import_value(access_stack.studio_domain_id_export) if studio is not None else None
        )
        self.workspaces: dict[str, UserWorkspace | StudioUserProfile] = {}
        for user in sorted(users, key=lambda u: u.name):
            if user.job_function is not JobFunction.DATA_SCIENTIST:
                raise ValueError(f"UserShardStack: {user.name} is not a data_scientist")
            if domain_id is not None:  # Studio
                self.workspaces[user.name] = StudioUserProfile(
                    self,
                    f"User-{user.name}",
                    user_name=names.studio_user_profile(user.name),
                    domain_id=domain_id,
                    execution_role_name=names.user_execution_role(user.name),
                    access_name=names.user_access(user.name),
                    security_group=network.security_group,
                    execution_policy_arns=access_stack.data_scientist_policy_arns,
                    presign_mode=access.presign_mode,
                    source_cidrs=user.allowed_source_cidrs if not vpce_ids else (),
                    source_vpce_ids=vpce_ids,
                    access_principals=access.assumable_by.data_scientist,
                    require_mfa=access.require_mfa,
                )
                continue
            if lifecycle is None:  # no Studio: notebooks (checked above)
                raise ValueError("UserShardStack: notebooks are not enabled in this environment")
            self.workspaces[user.name] = UserWorkspace(
                self,
                f"User-{user.name}",
                user_name=user.name,
                notebook_name=names.notebook(user.name),
                execution_role_name=names.user_execution_role(user.name),
                access_name=names.user_access(user.name),
                instance_type=user.notebook_instance_type,
                subnet=subnets[shard_of(user.name, len(subnets))],
                security_group=network.security_group,
                volume_key=foundation.keys["notebook"].key,
                lifecycle_config_name=lifecycle.name,
                execution_policy_arns=access_stack.data_scientist_policy_arns,
                presign_mode=access.presign_mode,
                source_cidrs=user.allowed_source_cidrs if not vpce_ids else (),
                source_vpce_ids=vpce_ids,
                access_principals=access.assumable_by.data_scientist,
                require_mfa=access.require_mfa,
            )
