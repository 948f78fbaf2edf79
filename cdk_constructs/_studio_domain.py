"""A VPC-only SageMaker AI Studio domain: the data scientists' workspace (issue #15)."""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Sequence

from aws_cdk import CfnDeletionPolicy, CfnTag
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs._jsii_memo import adopt, attribute
from cdk_constructs._validation import require

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
MIN_IDLE_MINUTES = 60  # botocore sagemaker model: IdleTimeoutInMinutes min 60, max 525600
MAX_IDLE_MINUTES = 525600
MAX_SCRIPT_CHARS = 16384  # StudioLifecycleConfigContent (base64) max length
# The two app types the platform offers; every other Studio app is hidden in the portal.
APP_TYPES = ("JupyterLab", "CodeEditor")
HIDDEN_APP_TYPES = ("JupyterServer", "RStudioServerPro", "Canvas")
SHARING_PREFIX = "sharing/"

_ON_START = (
    r"""#!/bin/bash
# Secure ML platform: Studio @APP@ on start (runs as the space's user at every app start).
# pip (and conda, through pip) use the private package mirror: CodeArtifact through the VPC
# endpoints. There is no internet route from a VPC-only domain.
set -euo pipefail
readonly REGION=@REGION@
readonly DOMAIN=@DOMAIN@
readonly DOMAIN_OWNER=@DOMAIN_OWNER@
readonly REPOSITORY=@REPOSITORY@
configure() {
  local cli=(aws --region "$REGION" --cli-connect-timeout 10 --cli-read-timeout 30)
  local token endpoint
  token="$("${cli[@]}" codeartifact get-authorization-token --domain "$DOMAIN" \
    --domain-owner "$DOMAIN_OWNER" --duration-seconds 43200 \
    --query authorizationToken --output text)"
  endpoint="$("${cli[@]}" codeartifact get-repository-endpoint --domain "$DOMAIN" \
    --domain-owner "$DOMAIN_OWNER" --repository "$REPOSITORY" --format pypi \
    --query repositoryEndpoint --output text)"
  umask 077
  mkdir -p "$HOME/.config/pip"
  printf '[global]\nindex-url = https://aws:%s@%ssimple/\ntimeout = 60\n' \
    "$token" "${endpoint#https://}" > "$HOME/.config/pip/pip.conf"
  printf 'offline: true\npip_interop_enabled: true\nchannels: []\n' > "$HOME/.condarc"
}
# Bounded and non-fatal: a slow mirror must not keep the app from starting.
export -f configure
export REGION DOMAIN DOMAIN_OWNER REPOSITORY
"""
    "timeout 120 bash -c 'set -euo pipefail; configure' "
    '|| echo "package mirror not configured at start" >&2\n'
)


def render_on_start(
    *, app: str, region: str, domain: str, domain_owner: str, repository: str
) -> str:
    """The Studio on-start script with concrete values (reviewable and testable as text)."""
    require(app in APP_TYPES, "StudioDomain", f"app {app!r} must be one of {APP_TYPES}")
    require(bool(_REGION_RE.match(region)), "StudioDomain", f"region {region!r} is invalid")
    require(
        bool(_ACCOUNT_RE.match(domain_owner)),
        "StudioDomain",
        f"mirror domain_owner {domain_owner!r} must be a 12-digit account id",
    )
    require(
        bool(re.fullmatch(r"[a-z][a-z0-9-]{1,49}", domain)),
        "StudioDomain",
        f"CodeArtifact domain {domain!r} must be 2-50 lower-case letters, digits, hyphens",
    )
    require(
        bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,99}", repository)),
        "StudioDomain",
        f"repository {repository!r} is not a CodeArtifact repository name",
    )
    script = _ON_START
    for key, value in {
        "APP": app,
        "REGION": region,
        "DOMAIN": domain,
        "DOMAIN_OWNER": domain_owner,
        "REPOSITORY": repository,
    }.items():
        script = script.replace(f"@{key}@", shlex.quote(value))
    return script


class StudioDomain(Construct):
    """Whitepaper: notebooks without internet, encrypted, per person; AWS's current form of
    that is a VPC-only SageMaker AI Studio domain.

    Secure by default (nothing here is an option a caller can switch off):

    - ``AppNetworkAccessType: VpcOnly`` in the given isolated subnets, with the platform
      security group on the domain, every user and every space;
    - home EFS and app EBS volumes encrypted with ``key`` (``KmsId``); the domain is
      ``DeletionPolicy``/``UpdateReplacePolicy: Retain``, so deleting the stack never
      deletes it (and DeleteDomain, run by hand, retains the home file system by default);
    - ``ExecutionRoleIdentityConfig: USER_PROFILE_NAME``: every call made from Studio carries
      the person's profile name as source identity (CloudTrail shows who);
    - JupyterLab and Code Editor only (other app types hidden), each with idle shutdown after
      ``idle_minutes`` (the person may shorten it, not lengthen it), a lifecycle configuration
      pointing pip and conda at the CodeArtifact mirror, an approved default instance type;
      Docker access disabled; tags propagated to what Studio creates;
    - notebook sharing (snapshots) only to ``sharing_bucket`` under ``sharing/``, encrypted
      with ``key``;
    - a default execution role with no permissions: each person's user profile sets their own
      (``StudioUserProfile``).

    Exposes :attr:`domain` (``CfnDomain``), :attr:`domain_id`, :attr:`domain_arn`,
    :attr:`lifecycle_configs` (app type -> ``CfnStudioLifecycleConfig``) and
    :attr:`instance_types` (the approved ones).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        sharing_bucket: s3.IBucket,
        default_execution_role_name: str,
        lifecycle_name_prefix: str,
        idle_minutes: int,
        instance_types: Sequence[str],
        default_instance_type: str,
        mirror_domain: str,
        mirror_domain_owner: str,
        mirror_repository: str,
        region: str,
        auth_mode: str = "IAM",
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_NAME_RE.match(domain_name)),
            "StudioDomain",
            f"domain_name {domain_name!r} must be 1-63 letters, digits and hyphens",
        )
        require(
            len(subnets) >= 1,
            "StudioDomain",
            "give the isolated subnets the domain runs in (at least one)",
        )
        require(
            auth_mode in ("IAM", "SSO"),
            "StudioDomain",
            f"auth_mode {auth_mode!r} must be 'IAM' or 'SSO'",
        )
        require(
            MIN_IDLE_MINUTES <= idle_minutes <= MAX_IDLE_MINUTES,
            "StudioDomain",
            f"idle_minutes {idle_minutes} must be {MIN_IDLE_MINUTES}..{MAX_IDLE_MINUTES} "
            "(SageMaker's IdleTimeoutInMinutes)",
        )
        require(bool(instance_types), "StudioDomain", "give at least one approved instance type")
        for item in instance_types:
            require(
                bool(_INSTANCE_TYPE_RE.match(item)),
                "StudioDomain",
                f"instance type {item!r} is not a SageMaker instance type",
            )
        require(
            default_instance_type in instance_types,
            "StudioDomain",
            f"default_instance_type {default_instance_type!r} is not one of the approved "
            f"instance_types {list(instance_types)}",
        )
        require(
            len(default_execution_role_name) <= 64,
            "StudioDomain",
            "default_execution_role_name is longer than IAM's 64 characters",
        )
        require(
            len(lifecycle_name_prefix) + len("-codeeditor") <= 63,
            "StudioDomain",
            f"lifecycle_name_prefix {lifecycle_name_prefix!r} leaves no room for the app "
            "type within 63 characters",
        )

        stack = adopt(self, scope)
        self.instance_types = tuple(instance_types)
        self.idle_minutes = idle_minutes
        key_arn = attribute(key, "key_arn")
        security_groups = [attribute(security_group, "security_group_id")]

        # A role SageMaker may assume, with no permissions: the domain requires a default
        # execution role; every person's profile names their own.
        self.default_execution_role = iam.CfnRole(
            self,
            "DefaultExecutionRole",
            role_name=default_execution_role_name,
            description="Studio domain default execution role: no permissions (each user "
            "profile has its own role)",
            assume_role_policy_document={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                        "Condition": {"StringEquals": {"aws:SourceAccount": stack.account}},
                    }
                ],
            },
        )

        self.on_start_scripts: dict[str, str] = {}
        self.lifecycle_configs: dict[str, sagemaker.CfnStudioLifecycleConfig] = {}
        for app in APP_TYPES:
            script = render_on_start(
                app=app,
                region=region,
                domain=mirror_domain,
                domain_owner=mirror_domain_owner,
                repository=mirror_repository,
            )
            content = base64.b64encode(script.encode()).decode()
            require(
                len(content) <= MAX_SCRIPT_CHARS,
                "StudioDomain",
                f"the {app} on-start script is {len(content)} characters base64-encoded; "
                f"SageMaker accepts {MAX_SCRIPT_CHARS}",
            )
            self.on_start_scripts[app] = script
            self.lifecycle_configs[app] = sagemaker.CfnStudioLifecycleConfig(
                self,
                f"{app}Lifecycle",
                studio_lifecycle_config_name=f"{lifecycle_name_prefix}-{app.lower()}",
                studio_lifecycle_config_app_type=app,
                studio_lifecycle_config_content=content,
            )

        def idle() -> sagemaker.CfnDomain.AppLifecycleManagementProperty:
            return sagemaker.CfnDomain.AppLifecycleManagementProperty(
                idle_settings=sagemaker.CfnDomain.IdleSettingsProperty(
                    lifecycle_management="ENABLED",
                    idle_timeout_in_minutes=idle_minutes,
                    min_idle_timeout_in_minutes=MIN_IDLE_MINUTES,
                    max_idle_timeout_in_minutes=idle_minutes,
                )
            )

        def resource_spec(app: str) -> sagemaker.CfnDomain.ResourceSpecProperty:
            return sagemaker.CfnDomain.ResourceSpecProperty(
                instance_type=default_instance_type,
                lifecycle_config_arn=self.lifecycle_configs[app].attr_studio_lifecycle_config_arn,
            )

        def lifecycle_arns(app: str) -> list[str]:
            return [self.lifecycle_configs[app].attr_studio_lifecycle_config_arn]

        self.sharing_s3_uri = f"s3://{attribute(sharing_bucket, 'bucket_name')}/{SHARING_PREFIX}"
        default_role_arn = self.default_execution_role.attr_arn
        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=domain_name,
            auth_mode=auth_mode,
            app_network_access_type="VpcOnly",
            vpc_id=attribute(vpc, "vpc_id"),
            subnet_ids=[attribute(s, "subnet_id") for s in subnets],
            kms_key_id=key_arn,
            tag_propagation="ENABLED",
            domain_settings=sagemaker.CfnDomain.DomainSettingsProperty(
                security_group_ids=security_groups,
                execution_role_identity_config="USER_PROFILE_NAME",
                docker_settings=sagemaker.CfnDomain.DockerSettingsProperty(
                    enable_docker_access="DISABLED"
                ),
            ),
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=default_role_arn,
                security_groups=security_groups,
                studio_web_portal="ENABLED",
                default_landing_uri="studio::",
                studio_web_portal_settings=sagemaker.CfnDomain.StudioWebPortalSettingsProperty(
                    hidden_app_types=list(HIDDEN_APP_TYPES)
                ),
                jupyter_lab_app_settings=sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
                    app_lifecycle_management=idle(),
                    default_resource_spec=resource_spec("JupyterLab"),
                    lifecycle_config_arns=lifecycle_arns("JupyterLab"),
                ),
                code_editor_app_settings=sagemaker.CfnDomain.CodeEditorAppSettingsProperty(
                    app_lifecycle_management=idle(),
                    default_resource_spec=resource_spec("CodeEditor"),
                    lifecycle_config_arns=lifecycle_arns("CodeEditor"),
                ),
                sharing_settings=sagemaker.CfnDomain.SharingSettingsProperty(
                    notebook_output_option="Allowed",
                    s3_output_path=self.sharing_s3_uri,
                    s3_kms_key_id=key_arn,
                ),
            ),
            default_space_settings=sagemaker.CfnDomain.DefaultSpaceSettingsProperty(
                execution_role=default_role_arn,
                security_groups=security_groups,
            ),
            tags=[CfnTag(key="ml-platform:workspace", value="studio")],
        )
        # Home directories are people's work: never deleted with the stack.
        self.domain.cfn_options.deletion_policy = CfnDeletionPolicy.RETAIN
        self.domain.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        self.domain_id = self.domain.attr_domain_id
        self.domain_arn = self.domain.attr_domain_arn
        self.key_arn = key_arn
        self.security_group_ids = security_groups
