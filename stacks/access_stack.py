"""People and access shared by an environment: job-function roles, the package mirror, and
the data scientists' shared policies and notebook lifecycle configuration."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs._human_role import HumanRole
from cdk_constructs._notebook_lifecycle import NotebookLifecycle
from cdk_constructs._package_mirror import PackageMirror
from cdk_constructs._platform_managed_policy import PlatformManagedPolicy
from cdk_constructs._studio_domain import StudioDomain
from platform_config._model import AccessConfig, EnvironmentConfig, JobFunction
from platform_config._naming import ResourceNames
from stacks import access_policies as policies
from stacks import studio_policies
from stacks.foundation_stack import FoundationStack

# Foundation bucket purpose -> the name part FoundationStack gives it.
BUCKET_NAMES = {
    "raw": "raw-data",
    "processed": "processed-features",
    "models": "model-artifacts",
    "capture": "data-capture",
    "monitoring": "monitoring-reports",
}
DATA_SCIENTIST_KEYS = ("data", "notebook", "pipeline", "monitoring")

_JOB_FUNCTIONS = {
    JobFunction.ML_ENGINEER: (
        "Runs and reads the platform's pipelines; no raw-data read",
        policies.ml_engineer,
    ),
    JobFunction.MODEL_RISK_APPROVER: (
        "Approves model packages and pipeline approvals; cannot change code, pipelines or data",
        policies.model_risk_approver,
    ),
    JobFunction.AUDITOR: (
        "Reads CloudTrail, AWS Config, the model registry and monitoring reports; no data read",
        policies.auditor,
    ),
    JobFunction.PLATFORM_ADMIN: (
        "Break-glass administration (MFA within the last hour); "
        "cannot stop the audit trail or delete platform keys",
        policies.platform_admin_guardrails,
    ),
}
POWER_USER = "arn:{partition}:iam::aws:policy/PowerUserAccess"


class AccessStack(Stack):
    """Whitepaper 'Authentication and authorization': role-based access by job function,
    least privilege, and the private package mirror for no-internet notebooks and builds.

    Exposes :attr:`roles` (job function -> :class:`HumanRole`), :attr:`ml_engineer_role` and
    :attr:`model_risk_approver_role` (immutable ``IRole`` for pipelines and approvals),
    :attr:`mirror` (:class:`PackageMirror`), and, where notebooks are enabled,
    :attr:`data_scientist_policy_arns` and :attr:`notebook_lifecycle`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: ResourceNames,
        environment: EnvironmentConfig,
        access: AccessConfig,
        foundation: FoundationStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.names = names
        partition = self.partition
        # Literal ARNs from the naming rules (not references): reviewable, and no export.
        buckets = {
            purpose: f"arn:{partition}:s3:::{names.bucket(name)}"
            for purpose, name in BUCKET_NAMES.items()
        }
        self.context = policies.AccessContext(
            partition=partition,
            region=self.region,
            account=self.account,
            prefix=names.prefix,
            buckets=buckets,
            platform_key_arns=[foundation.keys[k].key.key_arn for k in DATA_SCIENTIST_KEYS],
            all_key_arns=[k.key.key_arn for k in foundation.keys.values()],
            subnet_ids=[s.subnet_id for s in foundation.network.isolated_subnets],
            security_group_ids=[foundation.network.security_group.security_group_id],
            vpc_id=foundation.network.vpc.vpc_id,
        )

        self.mirror = PackageMirror(
            self,
            "PackageMirror",
            domain_name=names.codeartifact_domain,
            encryption_key=foundation.keys["pipeline"].key,
            upstream=access.package_mirror.upstream,
        )

        self.roles: dict[JobFunction, HumanRole] = {}
        self.role_policies: dict[JobFunction, PlatformManagedPolicy] = {}
        for job_function, (description, document) in _JOB_FUNCTIONS.items():
            construct_id = "".join(p.capitalize() for p in job_function.value.split("_"))
            role_name = names.job_function_role(job_function.value)
            policy = PlatformManagedPolicy(
                self,
                f"{construct_id}Policy",
                name=role_name,
                description=description,
                document=document(self.context),
            )
            self.role_policies[job_function] = policy
            arns = [policy.policy_arn]
            admin = job_function is JobFunction.PLATFORM_ADMIN
            if admin:
                arns.insert(0, POWER_USER.format(partition=partition))
            role = HumanRole(
                self,
                f"{construct_id}Role",
                role_name=role_name,
                description=description,
                principals=access.assumable_by.for_function(job_function),
                managed_policies=arns,
                # Break-glass always requires a recent MFA sign-in, whatever require_mfa says.
                require_mfa=access.require_mfa or admin,
                max_mfa_age_seconds=3600 if admin else None,
                tags={"ml-platform:job-function": job_function.value},
            )
            role.resource.node.add_dependency(policy)
            self.roles[job_function] = role
        self.ml_engineer_role: iam.IRole = self.roles[JobFunction.ML_ENGINEER].role
        self.model_risk_approver_role: iam.IRole = self.roles[JobFunction.MODEL_RISK_APPROVER].role

        self.data_scientist_policy_arns: list[str] = []
        self.notebook_lifecycle: NotebookLifecycle | None = None
        if environment.notebooks_enabled:
            self.data_scientist_policies = {
                "data": PlatformManagedPolicy(
                    self,
                    "DataScientistDataPolicy",
                    name=f"{names.prefix}ds-data",
                    description="Data scientists: shared processed data, own prefix, platform keys",
                    document=policies.data_scientist_data(self.context),
                ),
                "sagemaker": PlatformManagedPolicy(
                    self,
                    "DataScientistSageMakerPolicy",
                    name=f"{names.prefix}ds-sagemaker",
                    description="Data scientists: own jobs, with the platform's guardrails",
                    document=policies.data_scientist_sagemaker(self.context),
                ),
                "guardrails": PlatformManagedPolicy(
                    self,
                    "DataScientistGuardrailsPolicy",
                    name=f"{names.prefix}ds-guardrails",
                    description="Data scientists: SageMaker guardrails (Deny on condition keys)",
                    document=policies.data_scientist_guardrails(self.context),
                ),
                "kms-guardrails": PlatformManagedPolicy(
                    self,
                    "DataScientistKmsGuardrailsPolicy",
                    name=f"{names.prefix}ds-kms-guardrails",
                    description="Data scientists: SageMaker volumes and outputs with platform "
                    "keys only (Deny on both names of the KMS condition keys)",
                    document=policies.data_scientist_kms_guardrails(self.context),
                ),
            }
            self.data_scientist_policy_arns = [
                *(policy.policy_arn for policy in self.data_scientist_policies.values()),
                f"arn:{partition}:iam::{self.account}:policy/{self.mirror.read_policy_name}",
            ]
        self.studio: StudioDomain | None = None
        if environment.studio_enabled:
            self._studio(names, environment, foundation)
        if environment.notebook_instances_enabled:
            self.notebook_lifecycle = NotebookLifecycle(
                self,
                "NotebookLifecycle",
                name=names.notebook_lifecycle,
                region=self.region,
                domain=self.mirror.domain_name,
                domain_owner=self.account,
                repository=self.mirror.repository_name,
                idle_minutes=environment.notebook_idle_minutes,
            )

    def _studio(
        self, names: ResourceNames, environment: EnvironmentConfig, foundation: FoundationStack
    ) -> None:
        """The environment's VPC-only Studio domain (docs/studio.md), the shared Studio policy
        of every person's execution role, and the domain guardrails of the break-glass role."""
        network = foundation.network
        studio = environment.studio
        self.studio = StudioDomain(
            self,
            "Studio",
            domain_name=names.studio_domain,
            vpc=network.vpc,
            subnets=network.isolated_subnets,
            security_group=network.security_group,
            key=foundation.keys["notebook"].key,
            sharing_bucket=foundation.buckets["studio-sharing"].bucket,
            default_execution_role_name=f"{names.prefix}studio-default",
            lifecycle_name_prefix=names.studio_lifecycle,
            idle_minutes=environment.notebook_idle_minutes,
            instance_types=studio.instance_types,
            default_instance_type=studio.instance_types[0],
            mirror_domain=self.mirror.domain_name,
            mirror_domain_owner=self.account,
            mirror_repository=self.mirror.repository_name,
            region=self.region,
            auth_mode=studio.auth_mode,
        )
        self.data_scientist_policies["studio"] = PlatformManagedPolicy(
            self,
            "DataScientistStudioPolicy",
            name=f"{names.prefix}ds-studio",
            description="Data scientists: own private Studio spaces and apps, approved "
            "instance types, no domain or profile changes",
            document=studio_policies.data_scientist_studio(
                self.context,
                domain_id=self.studio.domain_id,
                instance_types=list(studio.instance_types),
            ),
        )
        self.data_scientist_policy_arns.insert(
            len(self.data_scientist_policies) - 1, self.data_scientist_policies["studio"].policy_arn
        )
        # Break-glass administrators (PowerUserAccess) keep any domain they create or change
        # VPC-only, in the platform's network, under platform keys.
        admin = self.roles[JobFunction.PLATFORM_ADMIN]
        self.studio_guardrails = PlatformManagedPolicy(
            self,
            "StudioDomainGuardrailsPolicy",
            name=f"{names.prefix}studio-guardrails",
            description="Studio domains stay VPC-only, in the platform's subnets and security "
            "group, with platform keys (Deny on condition keys)",
            document=studio_policies.studio_domain_guardrails(
                self.context, kms_key_arns=list(self.context.platform_key_arns)
            ),
        )
        self.studio_guardrails.roles = [admin.role_name]
        self.studio_guardrails.add_resource_dependency(admin.resource)
        # Per-user stacks import the domain id by this fixed export name (one import per shard,
        # no cross-stack reference per person); exported even when no user needs it today.
        self.studio_domain_id_export = names.stack("access-studio-domain-id")
        CfnOutput(
            self,
            "StudioDomainId",
            value=self.studio.domain_id,
            export_name=self.studio_domain_id_export,
            description="The Studio domain id (aws sagemaker create-presigned-domain-url "
            "--domain-id)",
        )
