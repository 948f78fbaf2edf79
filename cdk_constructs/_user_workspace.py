"""One data scientist's isolated workspace: execution role, notebook and notebook access."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
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
_NOTEBOOK_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
NOTEBOOK_ACTIONS = [
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:DescribeNotebookInstance",
    "sagemaker:StartNotebookInstance",
    "sagemaker:StopNotebookInstance",
]


class UserWorkspace(Construct):
    """Whitepaper: 'each data scientist be provided their own SageMaker notebook instance and
    only have access to that particular notebook. Root access ... should be disabled.'

    Creates, for one user (every id and name derives from the user name, never a position):

    - ``ExecutionRole``: what the notebook and the user's jobs run as; trusted by SageMaker
      for this account only; its permissions are the given customer-managed policies (the
      platform's shared data-scientist policies are attribute-based: they resolve the user's
      own S3 prefix and notebook from the role's ``ml-platform:owner`` tag);
    - ``Notebook``: in one isolated subnet with the platform security group, direct internet
      access and root access Disabled, the volume encrypted with the notebook CMK, IMDSv2
      only, the platform lifecycle configuration, identity tags for ABAC; ``DeletionPolicy``
      and ``UpdateReplacePolicy: Retain`` (removing the person or switching the workspace
      orphans it with its volume; an administrator deletes it);
    - ``AccessPolicy``: a customer-managed policy allowing CreatePresignedNotebookInstanceUrl,
      describe, start and stop on this notebook's ARN only, under a source condition
      (``aws:SourceIp`` in the user's CIDRs, or ``aws:SourceVpce`` of the platform's
      endpoints), denying them for any other notebook, and denying them from any other
      source (so another policy of the same principal cannot widen it);
    - ``AccessRole`` (``presign_mode="iam_role"``): the role the user assumes to open the
      notebook, with only the access policy; with ``"sso_managed_policy"`` the institution's
      IAM Identity Center permission set attaches the access policy by name instead.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        user_name: str,
        notebook_name: str,
        execution_role_name: str,
        access_name: str,
        instance_type: str,
        subnet: ec2.ISubnet,
        security_group: ec2.ISecurityGroup,
        volume_key: kms.IKey,
        lifecycle_config_name: str,
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
            bool(_USER_RE.match(user_name)),
            "UserWorkspace",
            f"user_name {user_name!r} must be lower-case letters, digits, single hyphens",
        )
        require(
            bool(_NOTEBOOK_RE.match(notebook_name)),
            "UserWorkspace",
            f"notebook_name {notebook_name!r} must be 1-63 letters, digits and hyphens",
        )
        require(
            bool(_INSTANCE_TYPE_RE.match(instance_type)),
            "UserWorkspace",
            f"instance_type {instance_type!r} is not a SageMaker instance type",
        )
        require_person_access(
            "UserWorkspace",
            what="notebook",
            execution_role_name=execution_role_name,
            access_name=access_name,
            presign_mode=presign_mode,
            source_cidrs=source_cidrs,
            source_vpce_ids=source_vpce_ids,
            execution_policy_arns=execution_policy_arns,
        )

        stack = adopt(self, scope)
        self.user_name = user_name
        self.notebook_name = notebook_name
        identity = person_identity(user_name, tags)
        cfn_tags = as_cfn_tags(identity)
        self.execution_role = person_execution_role(
            self,
            role_name=execution_role_name,
            description=f"SageMaker notebook and jobs of {user_name}",
            account=stack.account,
            policy_arns=execution_policy_arns,
            tags=cfn_tags,
        )
        self.execution_role_arn = (
            f"arn:{stack.partition}:iam::{stack.account}:role/{execution_role_name}"
        )

        self.notebook = sagemaker.CfnNotebookInstance(
            self,
            "Notebook",
            notebook_instance_name=notebook_name,
            instance_type=instance_type,
            role_arn=self.execution_role.attr_arn,
            subnet_id=attribute(subnet, "subnet_id"),
            security_group_ids=[attribute(security_group, "security_group_id")],
            direct_internet_access="Disabled",
            root_access="Disabled",
            kms_key_id=attribute(volume_key, "key_arn"),
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"
            ),
            lifecycle_config_name=lifecycle_config_name,
            tags=cfn_tags,
        )
        retain_workspace(self.notebook)  # the home volume outlives a workspace switch
        self.notebook_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"notebook-instance/{notebook_name.lower()}"
        )

        if source_cidrs:
            self.source_condition = {"IpAddress": {"aws:SourceIp": sorted(source_cidrs)}}
            outside_source = {"NotIpAddress": {"aws:SourceIp": sorted(source_cidrs)}}
        else:
            self.source_condition = {"StringEquals": {"aws:SourceVpce": list(source_vpce_ids)}}
            outside_source = {"StringNotEquals": {"aws:SourceVpce": list(source_vpce_ids)}}
        self.access_document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OpenOwnNotebook",
                    "Effect": "Allow",
                    "Action": NOTEBOOK_ACTIONS,
                    "Resource": self.notebook_arn,
                    "Condition": self.source_condition,
                },
                {
                    "Sid": "NoOtherNotebook",
                    "Effect": "Deny",
                    "Action": NOTEBOOK_ACTIONS,
                    "NotResource": self.notebook_arn,
                },
                {
                    # As AWS documents it: a Deny, so that no other policy of the same
                    # principal (an SSO permission set, say) can open a notebook from
                    # elsewhere. For aws:SourceIp, AWS applies it to the presigned URL's
                    # every HTTP request and WebSocket frame as well.
                    "Sid": "OnlyFromAllowedSource",
                    "Effect": "Deny",
                    "Action": NOTEBOOK_ACTIONS,
                    "Resource": "*",
                    "Condition": outside_source,
                },
            ],
        }
        self.access_policy, self.access_role = person_access(
            self,
            name=access_name,
            user_name=user_name,
            policy_description=f"Open the notebook of {user_name} (and no other)",
            role_description=f"{user_name} opens their notebook",
            document=self.access_document,
            presign_mode=presign_mode,
            principals=access_principals,
            require_mfa=require_mfa,
            identity=identity,
        )
        self.access_policy_arn = self.access_policy.policy_arn
