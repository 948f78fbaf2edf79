"""StudioDomain and StudioUserProfile: secure defaults and what they refuse (issue #15)."""

from __future__ import annotations

import base64

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._studio_domain import StudioDomain, render_on_start
from cdk_constructs._studio_user_profile import StudioUserProfile

POLICY = "arn:aws:iam::123456789012:policy/p"


def _domain(stack, **overrides) -> StudioDomain:
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    key = kms.Key(stack, "Key")
    props = dict(domain_name="mlp-dev-studio", vpc=vpc, subnets=vpc.isolated_subnets,
                 security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc), key=key,
                 sharing_bucket=s3.Bucket(stack, "Sharing"),
                 default_execution_role_name="mlp-dev-studio-default",
                 lifecycle_name_prefix="mlp-dev-studio-on-start", idle_minutes=60,
                 instance_types=["ml.t3.medium", "ml.m5.large"],
                 default_instance_type="ml.t3.medium", mirror_domain="mlp-dev",
                 mirror_domain_owner="123456789012", mirror_repository="pypi",
                 region="eu-west-2")
    props.update(overrides)
    return StudioDomain(stack, "Studio", **props)


def test_domain_defaults(stack) -> None:
    _domain(stack)
    template = Template.from_stack(stack)
    template.has_resource("AWS::SageMaker::Domain", {
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": Match.object_like({
            "AppNetworkAccessType": "VpcOnly", "AuthMode": "IAM",
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
            "TagPropagation": "ENABLED",
            "DomainSettings": Match.object_like({
                "ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"}),
            "DefaultUserSettings": Match.object_like({
                "SharingSettings": {
                    "NotebookOutputOption": "Allowed",
                    "S3KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
                    "S3OutputPath": Match.any_value()},
                "JupyterLabAppSettings": Match.object_like({
                    "AppLifecycleManagement": {"IdleSettings": {
                        "LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 60,
                        "MinIdleTimeoutInMinutes": 60, "MaxIdleTimeoutInMinutes": 60}}}),
            }),
        }),
    })
    template.resource_count_is("AWS::SageMaker::StudioLifecycleConfig", 2)
    # the default execution role has no permissions at all
    roles = template.find_resources("AWS::IAM::Role", {
        "Properties": {"RoleName": "mlp-dev-studio-default"}})
    (role,) = roles.values()
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]


def test_the_on_start_script_points_pip_at_the_mirror_and_never_fails_the_app() -> None:
    script = render_on_start(app="JupyterLab", region="eu-west-2", domain="mlp-dev",
                             domain_owner="123456789012", repository="pypi")
    assert "readonly DOMAIN=mlp-dev" in script and "readonly REPOSITORY=pypi" in script
    assert "codeartifact get-authorization-token" in script
    assert "timeout 120" in script and "|| echo" in script
    assert "http://" not in script and "pypi.org" not in script


def test_the_on_start_script_runs_under_bash(tmp_path) -> None:
    import subprocess

    script = render_on_start(app="CodeEditor", region="eu-west-2", domain="mlp-dev",
                             domain_owner="123456789012", repository="pypi")
    fake = tmp_path / "bin"
    fake.mkdir()
    # an `aws` that fails like an unreachable mirror: the script must still exit 0
    (fake / "aws").write_text("#!/bin/sh\necho unreachable >&2\nexit 255\n")
    (fake / "aws").chmod(0o755)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={"PATH": f"{fake}:/usr/bin:/bin", "HOME": str(tmp_path)},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "package mirror not configured" in result.stderr


@pytest.mark.parametrize("overrides, message", [
    ({"domain_name": "bad_name"}, "domain_name"),
    ({"subnets": []}, "isolated subnets"),
    ({"auth_mode": "SAML"}, "auth_mode"),
    ({"idle_minutes": 30}, "IdleTimeoutInMinutes"),
    ({"instance_types": []}, "at least one approved"),
    ({"instance_types": ["m5.large"], "default_instance_type": "m5.large"},
     "not a SageMaker instance type"),
    ({"default_instance_type": "ml.p4d.24xlarge"}, "not one of the approved"),
    ({"mirror_domain_owner": "me"}, "12-digit"),
    ({"lifecycle_name_prefix": "x" * 60}, "63 characters"),
])
def test_domain_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _domain(stack, **overrides)


def _profile(stack, **overrides) -> StudioUserProfile:
    vpc = ec2.Vpc(stack, "Vpc2", nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    props = dict(user_name="jane-smith", domain_id="d-abc123",
                 execution_role_name="mlp-dev-ds-jane-smith",
                 access_name="mlp-dev-nb-access-jane-smith",
                 security_group=ec2.SecurityGroup(stack, "Sg2", vpc=vpc),
                 execution_policy_arns=[POLICY], presign_mode="iam_role",
                 source_cidrs=["203.0.113.0/24"])
    props.update(overrides)
    return StudioUserProfile(stack, "User-jane-smith", **props)


def test_profile_defaults(stack) -> None:
    profile = _profile(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::UserProfile", {
        "DomainId": "d-abc123", "UserProfileName": "jane-smith",
        "UserSettings": {"ExecutionRole": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
                         "SecurityGroups": [Match.any_value()]},
        "Tags": Match.array_with([{"Key": "ml-platform:owner", "Value": "jane-smith"}])})
    assert "/user-profile/d-abc123/jane-smith" in str(stack.resolve(profile.profile_arn)) or \
        profile.profile_arn.endswith(":user-profile/d-abc123/jane-smith")
    statements = {s["Sid"]: s for s in profile.access_document["Statement"]}
    assert statements["OpenOwnStudioProfile"]["Condition"] == {
        "IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}
    assert statements["NoOtherProfile"]["NotResource"] == profile.profile_arn
    assert statements["OnlyFromAllowedSource"]["Effect"] == "Deny"
    # the access role has only the access policy; the execution role only the given ones
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    assert template.find_resources("AWS::IAM::Policy") == {}


def test_the_profile_is_retained_with_its_home_directory(stack) -> None:
    """Removing the person or switching the environment's workspace orphans the profile
    (docs/studio.md, "Switching the workspace"); CloudFormation never deletes it."""
    _profile(stack)
    Template.from_stack(stack).has_resource("AWS::SageMaker::UserProfile", {
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_profile_through_the_platforms_endpoint(stack) -> None:
    profile = _profile(stack, source_cidrs=(), source_vpce_ids=["vpce-1"])
    statements = {s["Sid"]: s for s in profile.access_document["Statement"]}
    assert statements["OpenOwnStudioProfile"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": ["vpce-1"]}}
    assert statements["OnlyFromAllowedSource"]["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": ["vpce-1"]}}


def test_sso_mode_creates_no_access_role(stack) -> None:
    _profile(stack, presign_mode="sso_managed_policy")
    names = [r["Properties"].get("RoleName") for r in
             Template.from_stack(stack).find_resources("AWS::IAM::Role").values()]
    assert "mlp-dev-nb-access-jane-smith" not in names and "mlp-dev-ds-jane-smith" in names


@pytest.mark.parametrize("overrides, message", [
    ({"user_name": "Jane_Smith"}, "user-profile name"),
    ({"source_cidrs": []}, "exactly one source condition"),
    ({"source_vpce_ids": ["vpce-1"]}, "exactly one source condition"),
    ({"source_cidrs": ["0.0.0.0/0"]}, "anyone on the internet"),
    ({"presign_mode": "console"}, "presign_mode"),
    ({"execution_policy_arns": []}, "1..10 execution policies"),
    ({"execution_role_name": "x" * 65}, "64 characters"),
])
def test_profile_refuses(stack, overrides, message) -> None:
    with pytest.raises(ConstructPropsError, match=message):
        _profile(stack, **overrides)


def test_lifecycle_content_is_the_rendered_script(stack) -> None:
    domain = _domain(stack)
    template = Template.from_stack(stack)
    for config in template.find_resources("AWS::SageMaker::StudioLifecycleConfig").values():
        props = config["Properties"]
        app = props["StudioLifecycleConfigAppType"]
        assert base64.b64decode(props["StudioLifecycleConfigContent"]).decode() == \
            domain.on_start_scripts[app]


def test_an_unreachable_mirror_leaves_no_half_written_pip_config(tmp_path) -> None:
    import subprocess

    script = render_on_start(app="JupyterLab", region="eu-west-2", domain="mlp-dev",
                             domain_owner="123456789012", repository="pypi")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "aws").write_text("#!/bin/sh\nexit 255\n")
    (fake / "aws").chmod(0o755)
    subprocess.run(["bash", "-c", script], env={"PATH": f"{fake}:/usr/bin:/bin",
                                                "HOME": str(tmp_path)}, timeout=60, check=True)
    assert not (tmp_path / ".config" / "pip" / "pip.conf").exists()


def test_a_reachable_mirror_configures_pip_and_conda(tmp_path) -> None:
    import subprocess

    script = render_on_start(app="JupyterLab", region="eu-west-2", domain="mlp-dev",
                             domain_owner="123456789012", repository="pypi")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "aws").write_text(
        "#!/bin/sh\ncase \"$*\" in\n"
        "  *get-authorization-token*) echo TOKEN ;;\n"
        "  *get-repository-endpoint*) echo https://mlp-dev-123456789012.d.codeartifact"
        ".eu-west-2.amazonaws.com/pypi/pypi/ ;;\n  *) exit 1 ;;\nesac\n")
    (fake / "aws").chmod(0o755)
    subprocess.run(["bash", "-c", script], env={"PATH": f"{fake}:/usr/bin:/bin",
                                                "HOME": str(tmp_path)}, timeout=60, check=True)
    pip_conf = (tmp_path / ".config" / "pip" / "pip.conf").read_text()
    assert ("index-url = https://aws:TOKEN@mlp-dev-123456789012.d.codeartifact.eu-west-2"
            ".amazonaws.com/pypi/pypi/simple/") in pip_conf
    assert "offline: true" in (tmp_path / ".condarc").read_text()
