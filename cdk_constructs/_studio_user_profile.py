"""One data scientist in a SageMaker AI Studio domain: execution role, user profile, access."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs._jsii_memo import adopt, attribute
from cdk_constructs._person import (
    as_cfn_tags,
    person_access,
    person_execution_role,
    person_identity,
    require_person_access,
    retain_workspace,
)
from cdk_constructs._validation import require

_USER_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PROFILE_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # botocore UserProfileName


def studio_access(*, profile_arn: str, source_condition: dict, outside_source: dict) -> dict:
    """One person's Studio access: a presigned domain URL for their own profile only, only
    from their networks (or the platform's endpoint), nothing else (the allow + deny pattern
    of notebook access, cdk_constructs/_user_workspace.py)."""
    action = ["sagemaker:CreatePresignedDomainUrl"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OpenOwnStudioProfile",
                "Effect": "Allow",
                "Action": action,
                "Resource": profile_arn,
                "Condition": source_condition,
            },
            {
                "Sid": "NoOtherProfile",
                "Effect": "Deny",
                "Action": action,
                "NotResource": profile_arn,
            },
            {
                "Sid": "OnlyFromAllowedSource",
                "Effect": "Deny",
                "Action": action,
                "Resource": "*",
                "Condition": outside_source,
            },
        ],
    }


class StudioUserProfile(Construct):
    """Whitepaper: each data scientist has their own workspace and only access to it.

    Creates, for one user (ids and names derive from the user name, never a position):

    - ``ExecutionRole``: what the person's Studio apps, Studio's UI actions and their jobs run
      as; trusted by SageMaker for this account only (with ``sts:SetSourceIdentity``, which the
      domain's ``USER_PROFILE_NAME`` identity needs); its permissions are the given
      customer-managed policies (the platform's shared data-scientist policies and the shared
      Studio policy, all attribute-based on the role's ``ml-platform:owner`` tag: shared
      processed data, ``users/<name>/`` only, own private spaces only);
    - ``Profile``: the user profile, named after the person, with that role and the platform
      security group (everything else comes from the domain's defaults);
      ``DeletionPolicy`` and ``UpdateReplacePolicy: Retain`` (removing the person or
      switching the workspace orphans it; the home directory stays on the domain's EFS);
    - ``AccessPolicy``: ``sagemaker:CreatePresignedDomainUrl`` on this profile only, only from
      the person's CIDRs (``aws:SourceIp``) or the platform's endpoints (``aws:SourceVpce``),
      with explicit Denies for any other profile and any other source;
    - ``AccessRole`` (``presign_mode="iam_role"``): the role the person assumes to open Studio,
      with only the access policy (``"sso_managed_policy"``: attached by the institution's
      IAM Identity Center permission set instead).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        user_name: str,
        domain_id: str,
        execution_role_name: str,
        access_name: str,
        security_group: ec2.ISecurityGroup,
        execution_policy_arns: Sequence[str],
        presign_mode: str,
        source_cidrs: Sequence[str] = (),
        source_vpce_ids: Sequence[str] = (),
        access_principals: Sequence[str] = (),
        require_mfa: bool = True,
        tags: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_USER_RE.match(user_name)) and bool(_PROFILE_RE.match(user_name)),
            "StudioUserProfile",
            f"user_name {user_name!r} must be 1-63 lower-case letters, "
            "digits and single hyphens (it is the user-profile name)",
        )
        require_person_access(
            "StudioUserProfile",
            what="Studio",
            execution_role_name=execution_role_name,
            access_name=access_name,
            presign_mode=presign_mode,
            source_cidrs=source_cidrs,
            source_vpce_ids=source_vpce_ids,
            execution_policy_arns=execution_policy_arns,
        )

        stack = adopt(self, scope)
        self.user_name = user_name
        identity = person_identity(user_name, tags)
        cfn_tags = as_cfn_tags(identity)
        # sts:SetSourceIdentity: Studio sets the person as the source identity of the
        # session (ExecutionRoleIdentityConfig USER_PROFILE_NAME), so CloudTrail names them.
        self.execution_role = person_execution_role(
            self,
            role_name=execution_role_name,
            description=f"SageMaker Studio apps and jobs of {user_name}",
            account=stack.account,
            policy_arns=execution_policy_arns,
            tags=cfn_tags,
            actions=["sts:AssumeRole", "sts:SetSourceIdentity"],
        )

        security_groups = [attribute(security_group, "security_group_id")]
        self.profile = sagemaker.CfnUserProfile(
            self,
            "Profile",
            domain_id=domain_id,
            user_profile_name=user_name,
            user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(
                execution_role=self.execution_role.attr_arn,
                security_groups=security_groups,
            ),
            tags=cfn_tags,
        )
        retain_workspace(self.profile)  # and its home directory, spaces and apps with it
        self.profile_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"user-profile/{domain_id}/{user_name}"
        )

        if source_cidrs:
            self.source_condition = {"IpAddress": {"aws:SourceIp": sorted(source_cidrs)}}
            outside_source = {"NotIpAddress": {"aws:SourceIp": sorted(source_cidrs)}}
        else:
            self.source_condition = {"StringEquals": {"aws:SourceVpce": list(source_vpce_ids)}}
            outside_source = {"StringNotEquals": {"aws:SourceVpce": list(source_vpce_ids)}}
        self.access_document = studio_access(
            profile_arn=self.profile_arn,
            source_condition=self.source_condition,
            outside_source=outside_source,
        )
        self.access_policy, self.access_role = person_access(
            self,
            name=access_name,
            user_name=user_name,
            policy_description=f"Open the Studio profile of {user_name} (and no other)",
            role_description=f"{user_name} opens their SageMaker Studio",
            document=self.access_document,
            presign_mode=presign_mode,
            principals=access_principals,
            require_mfa=require_mfa,
            identity=identity,
        )
        self.access_policy_arn = self.access_policy.policy_arn
