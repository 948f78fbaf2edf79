"""People and access on notebook instances (``workspace: notebook_instance``; Studio is
tests/test_studio.py): one notebook per data scientist, isolation between users, stable ids,
role separation, the package mirror, and sharding. One small app is synthesized once
(compliance: ``notebook_synth``, every gate on dev with notebook instances)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import itertools
import json
import subprocess

import pytest

from cdk_constructs._notebook_lifecycle import render_on_start
from platform_config import parse_config
from platform_config._model import shard_of
from stacks import access_policies

USERS = ["ana-lopez", "bo-chen", "chris-okafor", "dana-ivanova"]


def _config_data(sample_config_data: dict, users: list[str], **access) -> dict:
    data = copy.deepcopy(sample_config_data)
    data["users"] = [{"name": n, "job_function": "data_scientist",
                      "allowed_source_cidrs": [_cidr(n)]} for n in users]
    data["access"].update(access)
    # notebook instances (the sample's dev runs Studio: tests/test_studio.py)
    data["environments"]["dev"]["workspace"] = "notebook_instance"
    return data


def _cidr(user: str) -> str:
    return f"203.0.113.{16 * shard_of(user, 16)}/28"


def _synth(data: dict, tmp_path, environments=("dev",)) -> dict[str, dict]:
    from synth_support import synthesize

    return synthesize(parse_config(data), tmp_path, compliance=False,
                      environments=environments).templates


@pytest.fixture(scope="module")
def small(sample_config_data, tmp_path_factory) -> dict[str, dict]:
    return _synth(_config_data(sample_config_data, USERS), tmp_path_factory.mktemp("small"),
                  environments=("dev", "prod"))


def _dev_shards(templates: dict) -> dict[str, dict]:
    return {k: v for k, v in templates.items() if k.startswith("dev/Access-Shard")}


def _of_type(templates, type_) -> dict[str, dict]:
    return {lid: r for t in templates.values() for lid, r in t["Resources"].items()
            if r["Type"] == type_}


def _owner(resource) -> str:
    return next(t["Value"] for t in resource["Properties"]["Tags"]
                if t["Key"] == "ml-platform:owner")


def test_each_user_has_one_notebook_role_and_access_policy(small) -> None:
    shards = _dev_shards(small)
    notebooks = _of_type(shards, "AWS::SageMaker::NotebookInstance")
    assert sorted(_owner(n) for n in notebooks.values()) == USERS
    policies = _of_type(shards, "AWS::IAM::ManagedPolicy")
    assert sorted(p["Properties"]["ManagedPolicyName"] for p in policies.values()) == [
        f"mlp-dev-nb-access-{u}" for u in USERS]
    roles = _of_type(shards, "AWS::IAM::Role")
    names = sorted(r["Properties"]["RoleName"] for r in roles.values())
    assert names == sorted([f"mlp-dev-ds-{u}" for u in USERS]
                           + [f"mlp-dev-nb-access-{u}" for u in USERS])
    for stage in ("prod",):  # notebooks only where notebooks_enabled
        assert not [k for k in small if k.startswith(f"{stage}/Access-Shard")]


def test_notebook_properties(small) -> None:
    for lid, nb in _of_type(_dev_shards(small), "AWS::SageMaker::NotebookInstance").items():
        props = nb["Properties"]
        user = _owner(nb)
        assert props["NotebookInstanceName"] == f"mlp-dev-{user}"
        assert props["DirectInternetAccess"] == "Disabled"
        assert props["RootAccess"] == "Disabled"
        assert props["InstanceMetadataServiceConfiguration"] == {
            "MinimumInstanceMetadataServiceVersion": "2"}
        assert props["LifecycleConfigName"] == "mlp-dev-notebook-on-start"
        text = json.dumps(props)
        assert "isolatedSubnet" in json.dumps(props["SubnetId"])
        assert "PlatformSecurityGroup" in json.dumps(props["SecurityGroupIds"])
        assert "NotebookKey" in json.dumps(props["KmsKeyId"]), text
        tags = {t["Key"]: t["Value"] for t in props["Tags"]}
        assert tags["ml-platform:job-function"] == "data_scientist"
        assert tags["ml-platform:environment"] == "dev"
        assert lid.startswith("User" + user.replace("-", ""))


def _access_policy(small, user) -> dict:
    for p in _of_type(_dev_shards(small), "AWS::IAM::ManagedPolicy").values():
        if p["Properties"]["ManagedPolicyName"] == f"mlp-dev-nb-access-{user}":
            return p["Properties"]["PolicyDocument"]
    raise AssertionError(user)


def _notebook_arn(user: str) -> str:
    return f"arn:aws:sagemaker:eu-west-2:111111111111:notebook-instance/mlp-dev-{user}"


def test_presign_names_only_own_notebook_with_source_condition(small) -> None:
    for user in USERS:
        doc = _access_policy(small, user)
        allows = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
        assert len(allows) == 1
        allow = allows[0]
        assert "sagemaker:CreatePresignedNotebookInstanceUrl" in allow["Action"]
        assert allow["Resource"] == _notebook_arn(user)
        assert allow["Condition"] == {"IpAddress": {"aws:SourceIp": [_cidr(user)]}}
        deny = next(s for s in doc["Statement"] if s["Effect"] == "Deny")
        assert deny["NotResource"] == _notebook_arn(user)


@pytest.mark.parametrize("user, other", list(itertools.permutations(USERS, 2)))
def test_no_user_can_touch_another_users_notebook(small, user, other) -> None:
    doc = _access_policy(small, user)
    for statement in doc["Statement"]:
        if statement["Effect"] == "Allow":
            assert other not in json.dumps(statement)
        elif statement["Sid"] == "NoOtherNotebook":  # every notebook but the user's own
            assert statement["NotResource"] == _notebook_arn(user) != _notebook_arn(other)
        else:  # and from nowhere but the allowed source, whatever other policies say
            assert statement["Sid"] == "OnlyFromAllowedSource"
            assert statement["Resource"] == "*" and statement["Effect"] == "Deny"


def test_source_condition_is_also_a_deny_mirroring_the_allow(small) -> None:
    for user in USERS:
        statements = {s["Sid"]: s for s in _access_policy(small, user)["Statement"]}
        allow = statements["OpenOwnNotebook"]["Condition"]
        deny = statements["OnlyFromAllowedSource"]["Condition"]
        assert allow == {"IpAddress": {"aws:SourceIp": deny["NotIpAddress"]["aws:SourceIp"]}}
        assert statements["OnlyFromAllowedSource"]["Action"] == (
            statements["OpenOwnNotebook"]["Action"])


def test_access_role_trust_pins_the_user(small) -> None:
    for role in _of_type(_dev_shards(small), "AWS::IAM::Role").values():
        name = role["Properties"]["RoleName"]
        if not name.startswith("mlp-dev-nb-access-"):
            continue
        user = name.removeprefix("mlp-dev-nb-access-")
        statement = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert statement["Principal"] == {
            "Federated": ["arn:aws:iam::111111111111:saml-provider/CorpIdP"]}
        assert statement["Condition"]["StringEquals"]["sts:RoleSessionName"] == user
        assert role["Properties"]["MaxSessionDuration"] == 3600


def test_source_vpce_mode_uses_the_platform_endpoints(sample_config_data, tmp_path) -> None:
    data = _config_data(sample_config_data, USERS[:1], source_condition="source_vpce",
                        presign_mode="sso_managed_policy")
    shards = _dev_shards(_synth(data, tmp_path))
    assert _of_type(shards, "AWS::IAM::Role").keys() == {
        k for k, r in _of_type(shards, "AWS::IAM::Role").items()
        if r["Properties"]["RoleName"].startswith("mlp-dev-ds-")}, "no access role with SSO"
    doc = next(iter(_of_type(shards, "AWS::IAM::ManagedPolicy").values()))["Properties"]
    condition = doc["PolicyDocument"]["Statement"][0]["Condition"]
    assert list(condition) == ["StringEquals"]
    endpoints = json.dumps(condition["StringEquals"]["aws:SourceVpce"])
    assert "SageMakerApi" in endpoints and "SageMakerNotebook" in endpoints
    # AWS documents both ids: the API endpoint (the presign call) and the notebook endpoint
    # (the URL's traffic); anything arriving any other way is denied.
    deny = {s["Sid"]: s for s in doc["PolicyDocument"]["Statement"]}["OnlyFromAllowedSource"]
    assert deny["Condition"] == {"StringNotEquals": condition["StringEquals"]}


def test_adding_a_user_changes_no_other_users_resources(sample_config_data, small,
                                                        tmp_path) -> None:
    """A new user in the middle of the list: other users' ids and templates are untouched."""
    users = USERS[:2] + ["bea-newcomer"] + USERS[2:]
    grown = _synth(_config_data(sample_config_data, users), tmp_path)
    new_shard = f"dev/Access-Shard{shard_of('bea-newcomer', 8):02d}"
    for name, template in _dev_shards(small).items():
        resources = grown[name]["Resources"]
        if name != new_shard:
            assert grown[name] == template, name
        for lid, resource in template["Resources"].items():
            assert resources[lid] == resource, f"{lid} changed in {name}"
    assert grown["dev/Access"] == small["dev/Access"]
    assert grown["dev/Foundation"] == small["dev/Foundation"]


def test_shards_are_a_stable_hash_of_the_name() -> None:
    assert shard_of("jane-smith", 8) == shard_of("jane-smith", 8)
    counts = [0] * 8
    for i in range(500):
        counts[shard_of(f"user-{i:03d}", 8)] += 1
    assert max(counts) <= 100 and min(counts) > 0


def _statements(doc: dict, effect: str) -> list[dict]:
    return [s for s in doc["Statement"] if s["Effect"] == effect]


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


@pytest.fixture(scope="module")
def ctx() -> access_policies.AccessContext:
    buckets = {p: f"arn:aws:s3:::mlp-dev-{p}" for p in
               ("raw", "processed", "models", "capture", "monitoring")}
    return access_policies.AccessContext(
        partition="aws", region="eu-west-2", account="111111111111", prefix="mlp-dev-",
        buckets=buckets, platform_key_arns=["arn:aws:kms:k1"], all_key_arns=["arn:aws:kms:k1"],
        subnet_ids=["subnet-1"], security_group_ids=["sg-1"], vpc_id="vpc-1")


def test_approver_cannot_change_pipelines_or_write_data(ctx) -> None:
    doc = access_policies.model_risk_approver(ctx)
    allowed = {a for s in _statements(doc, "Allow") for a in _actions(s)}
    assert "codepipeline:PutApprovalResult" in allowed
    assert "sagemaker:UpdateModelPackage" in allowed
    for forbidden in ("sagemaker:UpdatePipeline", "codepipeline:UpdatePipeline",
                      "s3:PutObject", "codecommit:GitPush"):
        assert forbidden not in allowed
    denied = {a for s in _statements(doc, "Deny") for a in _actions(s)}
    assert {"sagemaker:UpdatePipeline", "codepipeline:UpdatePipeline", "s3:PutObject",
            "codecommit:GitPush", "sagemaker:StartPipelineExecution"} <= denied
    update = next(s for s in _statements(doc, "Allow")
                  if "sagemaker:UpdateModelPackage" in _actions(s))
    assert update["Resource"] == "arn:aws:sagemaker:eu-west-2:111111111111:model-package/mlp-dev-*"
    approve = next(s for s in _statements(doc, "Allow")
                   if "codepipeline:PutApprovalResult" in _actions(s))
    assert approve["Resource"] == "arn:aws:codepipeline:eu-west-2:111111111111:mlp-dev-*"


def test_auditor_and_ml_engineer_cannot_read_data(ctx) -> None:
    for doc, buckets in ((access_policies.auditor(ctx), ("raw", "processed", "capture")),
                         (access_policies.ml_engineer(ctx), ("raw",))):
        for statement in _statements(doc, "Allow"):
            assert not any(a.startswith("s3:") for a in _actions(statement)) or all(
                ctx.buckets["monitoring"] in r for r in statement["Resource"])
        denied = [r for s in _statements(doc, "Deny") if "s3:GetObject" in _actions(s)
                  for r in s["Resource"]]
        for bucket in buckets:
            assert f"{ctx.buckets[bucket]}/*" in denied


def test_no_policy_allows_everything(small) -> None:
    for template in small.values():
        for resource in template["Resources"].values():
            if not resource["Type"].startswith("AWS::IAM::"):
                continue
            for doc in (resource["Properties"].get("PolicyDocument"),
                        resource["Properties"].get("AssumeRolePolicyDocument")):
                for statement in (doc or {}).get("Statement", []):
                    if statement["Effect"] == "Allow":
                        assert not (statement.get("Action") in ("*", ["*"])
                                    and statement.get("Resource") in ("*", ["*"]))


def test_guardrail_keys_deny_on_supported_actions_only(ctx) -> None:
    denies = {s["Sid"]: s for doc in (access_policies.data_scientist_guardrails(ctx),
                                      access_policies.data_scientist_kms_guardrails(ctx))
              for s in _statements(doc, "Deny")}
    keys = {k for s in denies.values() for cond in s["Condition"].values() for k in cond}
    assert {"sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds",
            "sagemaker:VolumeKmsKeyArn", "sagemaker:OutputKmsKeyArn",
            "sagemaker:InterContainerTrafficEncryption",
            "sagemaker:DirectInternetAccess", "sagemaker:RootAccess",
            "sagemaker:MinimumInstanceMetadataServiceVersion"} <= keys
    # Create* of models has no KMS keys: a KMS deny on it would block every model.
    assert "sagemaker:CreateModel" not in denies["VolumesWithPlatformKeysOnly"]["Action"]
    assert denies["NotebooksWithoutInternet"]["Condition"] == {
        "StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}}
    # AWS's docs and the IAM references disagree on the KMS key names: both are checked, each
    # only where present (tests/validators/test_guardrail_kms_keys.py evaluates every reading).
    assert {"sagemaker:VolumeKmsKey", "sagemaker:OutputKmsKey"} <= keys
    for sid, key in (("VolumesWithPlatformKeysOnly", "sagemaker:VolumeKmsKeyArn"),
                     ("OutputsWithPlatformKeysOnly", "sagemaker:OutputKmsKeyArn")):
        assert denies[sid]["Condition"] == {
            "ArnNotEquals": {key: list(ctx.platform_key_arns)}, "Null": {key: "false"}}


def _policy_chars(document) -> int:
    """Size as IAM counts it (no whitespace), with each reference replaced by a long ARN."""
    def resolve(value):
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
                return "x" * 90
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value
    return len(json.dumps(resolve(document), separators=(",", ":")))


def test_managed_policies_fit_iams_size_limit(small) -> None:
    for name, template in small.items():
        for lid, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                assert _policy_chars(resource["Properties"]["PolicyDocument"]) < 6144, lid
            assert resource["Type"] != "AWS::IAM::Policy", f"inline policy {lid} in {name}"


def test_package_mirror_wiring(small, sample_config_data, tmp_path) -> None:
    access = small["dev/Access"]["Resources"]
    domains = [r for r in access.values() if r["Type"] == "AWS::CodeArtifact::Domain"]
    assert len(domains) == 1 and domains[0]["Properties"]["DomainName"] == "mlp-dev"
    assert "PipelineKey" in json.dumps(domains[0]["Properties"]["EncryptionKey"])
    repos = {r["Properties"]["RepositoryName"]: r["Properties"] for r in access.values()
             if r["Type"] == "AWS::CodeArtifact::Repository"}
    assert repos["pypi-store"]["ExternalConnections"] == ["public:pypi"]
    assert "Upstreams" in repos["pypi"]
    roles = _of_type(_dev_shards(small), "AWS::IAM::Role")
    for role in roles.values():
        if role["Properties"]["RoleName"].startswith("mlp-dev-ds-"):
            assert ("arn:aws:iam::111111111111:policy/mlp-dev-package-mirror-read"
                    in role["Properties"]["ManagedPolicyArns"])
    # Curated (air-gapped): no external connection at all.
    data = _config_data(sample_config_data, USERS[:1])
    data["access"]["package_mirror"] = {"upstream": "none"}
    curated = _synth(data, tmp_path, environments=("prod",))["prod/Access"]["Resources"]
    repos = [r for r in curated.values() if r["Type"] == "AWS::CodeArtifact::Repository"]
    assert len(repos) == 1 and "ExternalConnections" not in repos[0]["Properties"]


def test_lifecycle_script_renders_and_is_valid_bash(tmp_path) -> None:
    script = render_on_start(region="eu-west-2", domain="mlp-dev", domain_owner="111111111111",
                             repository="pypi", idle_minutes=45)
    assert "readonly DOMAIN=mlp-dev" in script and "readonly IDLE_MINUTES=45" in script
    assert "readonly DOMAIN_OWNER=111111111111" in script
    assert "get-authorization-token" in script and "get-repository-endpoint" in script
    assert "@" + "REGION@" not in script
    path = tmp_path / "on-start.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    python = script.split("<<'IDLE'\n", 1)[1].split("\nIDLE\n", 1)[0]
    compile(python, "platform-idle-stop", "exec")


def test_lifecycle_refuses_bad_values() -> None:
    from cdk_constructs._validation import ConstructPropsError

    with pytest.raises(ConstructPropsError, match="idle_minutes"):
        render_on_start(region="eu-west-2", domain="mlp-dev", domain_owner="111111111111",
                        repository="pypi", idle_minutes=2)
    with pytest.raises(ConstructPropsError, match="domain"):
        render_on_start(region="eu-west-2", domain="x; rm -rf /", domain_owner="111111111111",
                        repository="pypi", idle_minutes=60)


def test_job_function_roles_exposed_with_mfa(small) -> None:
    roles = {r["Properties"]["RoleName"]: r["Properties"]
             for r in small["prod/Access"]["Resources"].values() if r["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {"mlp-prod-ml-engineer", "mlp-prod-model-risk-approver",
                          "mlp-prod-auditor", "mlp-prod-platform-admin"}
    admin = roles["mlp-prod-platform-admin"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert admin["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    assert admin["Condition"]["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
    auditor = roles["mlp-prod-auditor"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert auditor["Principal"] == {"AWS": ["arn:aws:iam::444444444444:root"]}
    assert auditor["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    engineer = roles["mlp-prod-ml-engineer"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert engineer["Condition"]["ArnLike"]["aws:PrincipalArn"][0].startswith(
        "arn:aws:iam::333333333333:role/aws-reserved/sso.amazonaws.com/")


def _idle_stop_namespace() -> dict:
    script = render_on_start(region="eu-west-2", domain="mlp-dev", domain_owner="111111111111",
                             repository="pypi", idle_minutes=30)
    source = script.split("<<'IDLE'\n", 1)[1].split("\nIDLE\n", 1)[0]
    namespace: dict = {"__name__": "platform_idle_stop"}
    exec(compile(source, "platform-idle-stop", "exec"), namespace)  # defines, does not run
    return namespace


NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)


def _ago(minutes: int) -> str:
    return (NOW - dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("kernels, terminals, started_minutes_ago, stop", [
    ([], [], 31, True),                                    # nothing opened since start
    ([], [], 10, False),                                   # just started
    ([{"last_activity": _ago(40), "execution_state": "idle"}], [], 60, True),
    ([{"last_activity": _ago(5), "execution_state": "idle"}], [], 60, False),
    ([{"kernel": {"last_activity": _ago(5)}}], [], 60, False),   # a session's kernel
    ([{"last_activity": _ago(90), "execution_state": "busy"}], [], 120, False),  # running
    ([{"last_activity": _ago(90)}], [{"last_activity": _ago(3)}], 120, False),  # terminal in use
])
def test_idle_stop_decision(kernels, terminals, started_minutes_ago, stop) -> None:
    should_stop = _idle_stop_namespace()["should_stop"]
    started = NOW - dt.timedelta(minutes=started_minutes_ago)
    assert should_stop(kernels, terminals, started, NOW, 30) is stop


def test_lifecycle_start_is_bounded_and_mirror_failure_is_not_fatal() -> None:
    script = render_on_start(region="eu-west-2", domain="mlp-dev", domain_owner="111111111111",
                             repository="pypi", idle_minutes=30)
    assert "timeout 120 /usr/local/sbin/platform-package-mirror \\\n  || echo" in script
    assert "--cli-connect-timeout 10 --cli-read-timeout 30" in script
    assert "platform-idle-stop ${IDLE_MINUTES} ${REGION}" in script
    assert '"--region", region' in script
    assert "0 * * * * root /usr/local/sbin/platform-package-mirror" in script  # hourly retry
    assert len(base64.b64encode(script.encode())) <= 16384
