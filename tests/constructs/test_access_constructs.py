from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._human_role import HumanRole
from cdk_constructs._notebook_lifecycle import NotebookLifecycle
from cdk_constructs._package_mirror import PackageMirror
from cdk_constructs._user_workspace import UserWorkspace

POLICY = "arn:aws:iam::123456789012:policy/p"


def _workspace(stack, **overrides) -> UserWorkspace:
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    props = dict(user_name="jane-smith", notebook_name="mlp-dev-jane-smith",
                 execution_role_name="mlp-dev-ds-jane-smith",
                 access_name="mlp-dev-nb-access-jane-smith", instance_type="ml.t3.medium",
                 subnet=vpc.isolated_subnets[0],
                 security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc),
                 volume_key=kms.Key(stack, "Key"), lifecycle_config_name="mlp-dev-on-start",
                 execution_policy_arns=[POLICY], presign_mode="iam_role",
                 source_cidrs=["203.0.113.0/24"])
    props.update(overrides)
    return UserWorkspace(stack, "User-jane-smith", **props)


def _named_roles(template) -> list[str]:
    """Role names, leaving out the VPC's default-security-group provider role."""
    return sorted(r["Properties"]["RoleName"]
                  for r in template.find_resources("AWS::IAM::Role").values()
                  if "RoleName" in r["Properties"])


def test_workspace_defaults(stack) -> None:
    _workspace(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::NotebookInstance", {
        "DirectInternetAccess": "Disabled", "RootAccess": "Disabled",
        "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
        "KmsKeyId": Match.any_value(), "SubnetId": Match.any_value(),
        "LifecycleConfigName": "mlp-dev-on-start"})
    assert _named_roles(template) == ["mlp-dev-ds-jane-smith", "mlp-dev-nb-access-jane-smith"]
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    assert template.find_resources("AWS::IAM::Policy") == {}


def test_sso_mode_creates_no_access_role(stack) -> None:
    _workspace(stack, presign_mode="sso_managed_policy")
    assert _named_roles(Template.from_stack(stack)) == ["mlp-dev-ds-jane-smith"]


@pytest.mark.parametrize("overrides, message", [
    ({"source_cidrs": []}, "exactly one source condition"),
    ({"source_vpce_ids": ["vpce-1"]}, "exactly one source condition"),
    ({"source_cidrs": ["0.0.0.0/0"]}, "anyone on the internet"),
    ({"presign_mode": "console"}, "presign_mode"),
    ({"instance_type": "t3.medium"}, "instance type"),
    ({"user_name": "Jane"}, "user_name"),
    ({"execution_policy_arns": []}, "1..10 execution policies"),
])
def test_workspace_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _workspace(stack, **overrides)


def test_human_role_refuses_bad_input(stack) -> None:
    with pytest.raises(ConstructPropsError, match="not a principal"):
        HumanRole(stack, "R", role_name="r", description="d", principals=["bob"],
                  managed_policies=[POLICY])
    with pytest.raises(ConstructPropsError, match="managed policies"):
        HumanRole(stack, "R2", role_name="r", description="d", principals=[],
                  managed_policies=[])


def test_human_role_defaults_to_own_account_with_mfa(stack) -> None:
    HumanRole(stack, "R", role_name="r", description="d", principals=[],
              managed_policies=[POLICY])
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Role", {
        "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})]}})


def test_package_mirror(stack) -> None:
    PackageMirror(stack, "Mirror", domain_name="mlp-dev", encryption_key=kms.Key(stack, "K"),
                  upstream="none")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CodeArtifact::Repository", 1)
    template.has_resource("AWS::CodeArtifact::Domain", {"DeletionPolicy": "Retain"})
    with pytest.raises(ConstructPropsError, match="upstream"):
        PackageMirror(stack, "M2", domain_name="mlp-dev", encryption_key=kms.Key(stack, "K2"),
                      upstream="npm")
    with pytest.raises(ConstructPropsError, match="domain_name"):
        PackageMirror(stack, "M3", domain_name="MLP", encryption_key=kms.Key(stack, "K3"),
                      upstream="none")


def test_notebook_lifecycle(stack) -> None:
    lifecycle = NotebookLifecycle(stack, "L", name="mlp-dev-on-start", region="eu-west-2",
                                  domain="mlp-dev", domain_owner="123456789012",
                                  repository="pypi", idle_minutes=30)
    assert "readonly IDLE_MINUTES=30" in lifecycle.on_start_script
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::NotebookInstanceLifecycleConfig",
        {"NotebookInstanceLifecycleConfigName": "mlp-dev-on-start",
         "OnStart": [{"Content": {"Fn::Base64": lifecycle.on_start_script}}]})
    with pytest.raises(ConstructPropsError, match="name"):
        NotebookLifecycle(stack, "L2", name="bad name", region="eu-west-2", domain="mlp-dev",
                          domain_owner="123456789012", repository="pypi", idle_minutes=30)


def test_access_role_carries_identity_tags_without_an_imported_role(stack) -> None:
    workspace = _workspace(stack)
    role = workspace.access_role
    # The IRole view is created on first use only: hundreds of users never need one.
    assert role.node.try_find_child("Imported") is None
    tags = Template.from_stack(stack).find_resources("AWS::IAM::Role", {
        "Properties": {"RoleName": "mlp-dev-nb-access-jane-smith"}})
    (resource,) = tags.values()
    assert {"Key": "ml-platform:owner", "Value": "jane-smith"} in resource["Properties"]["Tags"]
    assert {"Key": "ml-platform:job-function", "Value": "data_scientist"} in (
        resource["Properties"]["Tags"])
    assert role.role.role_arn == role.resource.attr_arn
    assert role.node.try_find_child("Imported") is not None
