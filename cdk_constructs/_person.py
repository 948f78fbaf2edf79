"""What every per-person construct builds the same way (UserWorkspace, StudioUserProfile):
the person's identity tags, their SageMaker execution role, and the retention of their
workspace."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from aws_cdk import CfnResource, CfnTag, RemovalPolicy
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs._human_role import HumanRole
from cdk_constructs._platform_managed_policy import PlatformManagedPolicy
from cdk_constructs._validation import require

OWNER_TAG = "ml-platform:owner"
JOB_FUNCTION_TAG = "ml-platform:job-function"


def person_identity(user_name: str, tags: Mapping[str, str] | None) -> dict[str, str]:
    """Owner and job function, with the caller's tags beside them."""
    return {OWNER_TAG: user_name, JOB_FUNCTION_TAG: "data_scientist", **(tags or {})}


def retain_workspace(resource: CfnResource) -> None:
    """A person's workspace (a notebook instance and its home volume, a Studio user profile
    whose home directory is on the domain's file system) is never deleted by CloudFormation:
    removing the person, or switching the environment's ``workspace``, orphans it for an
    administrator to delete once its files are copied (docs/studio.md, "Switching")."""
    # DeletionPolicy and UpdateReplacePolicy Retain, in one jsii call (setting the two
    # options took six, per person).
    resource.apply_removal_policy(RemovalPolicy.RETAIN)


def as_cfn_tags(identity: Mapping[str, str]) -> list[CfnTag]:
    return [CfnTag(key=k, value=v) for k, v in sorted(identity.items())]


def person_execution_role(
    scope: Construct,
    *,
    role_name: str,
    description: str,
    account: str,
    policy_arns: Sequence[str],
    tags: list[CfnTag],
    actions: str | list[str] = "sts:AssumeRole",
) -> iam.CfnRole:
    """The person's SageMaker execution role (construct id ``ExecutionRole``): trusted by
    SageMaker on behalf of this account only, with the given managed policies and no inline
    policy."""
    return iam.CfnRole(
        scope,
        "ExecutionRole",
        role_name=role_name,
        description=description,
        assume_role_policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": actions,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            ],
        },
        managed_policy_arns=list(policy_arns),
        tags=tags,
    )


def person_access(
    scope: Construct,
    *,
    name: str,
    user_name: str,
    policy_description: str,
    role_description: str,
    document: dict,
    presign_mode: str,
    principals: Sequence[str],
    require_mfa: bool,
    identity: Mapping[str, str],
) -> tuple[PlatformManagedPolicy, HumanRole | None]:
    """How a person opens their workspace (construct ids ``AccessPolicy`` and, with
    ``presign_mode: iam_role``, ``AccessRole``): a managed policy named ``name`` that opens
    their workspace (and no other), and the role of the same name they assume to use it, with
    MFA where configured and their name as the session name."""
    policy = PlatformManagedPolicy(
        scope,
        "AccessPolicy",
        name=name,
        description=policy_description,
        document=document,
    )
    role: HumanRole | None = None
    if presign_mode == "iam_role":
        role = HumanRole(
            scope,
            "AccessRole",
            role_name=name,
            description=role_description,
            principals=principals,
            managed_policies=[policy.policy_arn],
            require_mfa=require_mfa,
            session_name=user_name,
            tags=dict(identity),
        )
        role.resource.add_resource_dependency(policy)
    return policy, role


def require_person_access(
    construct: str,
    *,
    what: str,
    execution_role_name: str,
    access_name: str,
    presign_mode: str,
    source_cidrs: Sequence[str],
    source_vpce_ids: Sequence[str],
    execution_policy_arns: Sequence[str],
) -> None:
    """The checks every per-person workspace makes on its access props, refused with what to
    change: IAM name lengths, the presign mode, exactly one source condition, no CIDR that
    opens the URL to the internet, and IAM's managed-policy quota. ``what`` names the URL
    (``notebook``, ``Studio``)."""
    require(
        len(execution_role_name) <= 64 and len(access_name) <= 64,
        construct,
        "IAM role and policy names are limited to 64 characters; shorten the user name",
    )
    require(
        presign_mode in ("iam_role", "sso_managed_policy"),
        construct,
        f"presign_mode {presign_mode!r} must be 'iam_role' or 'sso_managed_policy'",
    )
    require(
        bool(source_cidrs) != bool(source_vpce_ids),
        construct,
        "give exactly one source condition: source_cidrs (aws:SourceIp) or "
        "source_vpce_ids (aws:SourceVpce)",
    )
    for cidr in source_cidrs:
        require(
            ipaddress.ip_network(cidr, strict=True).prefixlen > 0,
            construct,
            f"0.0.0.0/0 lets anyone on the internet request a {what} URL",
        )
    require(
        0 < len(execution_policy_arns) <= 10,
        construct,
        "give 1..10 execution policies (IAM's managed-policy quota per role)",
    )
