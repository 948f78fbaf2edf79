"""SageMaker AI Studio as the data scientists' workspace (issue #15), on the sample configuration
(``workspace: studio`` in dev): the dev stage synthesized with every compliance gate, its
templates, its policies under the offline IAM evaluator and the pinned IAM references."""

from __future__ import annotations

import copy
import fnmatch
import json
import sys
from pathlib import Path

import pytest

from compliance._iam_eval import Principal, Request, authorize
from compliance.acknowledgements import IAM_REFERENCE_ACKNOWLEDGEMENTS, STUDIO_ACKNOWLEDGEMENTS
from platform_config import PlatformConfig, parse_config
from stacks.access_policies import OWNER

sys.path.insert(0, str(Path(__file__).parent / "validators"))

ACCOUNT = "111111111111"
REGION = "eu-west-2"
DOMAIN = "Access/Studio/Domain"


@pytest.fixture(scope="module")
def studio_config(sample_config) -> PlatformConfig:
    """The sample configuration: Studio in dev."""
    assert sample_config.environment("dev").studio_enabled
    return sample_config


@pytest.fixture(scope="module")
def studio(synth):
    """The session's synth of the sample (every nag pack, cfn-guard, the acknowledgements:
    it raises on any unacknowledged finding), whose dev stage runs Studio."""
    return synth


def _of_type(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _shards(result) -> dict[str, dict]:
    return {k: v for k, v in result.templates.items() if k.startswith("dev/Access-Shard")}


# --- the domain -----------------------------------------------------------------------------

def test_the_domain_is_vpc_only_encrypted_retained_and_attributed(studio) -> None:
    access = studio.template("dev", "Access")
    (domain,) = _of_type(access, "AWS::SageMaker::Domain").values()
    props = domain["Properties"]
    assert props["AppNetworkAccessType"] == "VpcOnly"
    assert props["AuthMode"] == "IAM"
    assert domain["DeletionPolicy"] == "Retain" and domain["UpdateReplacePolicy"] == "Retain"
    settings = props["DomainSettings"]
    assert settings["ExecutionRoleIdentityConfig"] == "USER_PROFILE_NAME"
    assert settings["DockerSettings"] == {"EnableDockerAccess": "DISABLED"}
    # subnets, security group and key are the foundation's isolated subnets, platform SG and
    # notebook key (imports of the Foundation stack's exports)
    foundation = studio.template("dev", "Foundation")
    exports = {o["Export"]["Name"]: o["Value"] for o in foundation["Outputs"].values()
               if "Export" in o}

    def imported(value) -> object:
        return exports[value["Fn::ImportValue"]]

    subnets = {json.dumps(imported(s)) for s in props["SubnetIds"]}
    isolated = {json.dumps({"Ref": k}) for k, v in foundation["Resources"].items()
                if v["Type"] == "AWS::EC2::Subnet"}
    assert subnets == isolated and len(subnets) == 2
    (sg,) = settings["SecurityGroupIds"]
    assert imported(sg)["Fn::GetAtt"][0].startswith("NetworkPlatformSecurityGroup")
    assert imported(props["KmsKeyId"])["Fn::GetAtt"][0].startswith("NotebookKey")
    user = props["DefaultUserSettings"]
    assert user["SecurityGroups"] == settings["SecurityGroupIds"]
    assert props["DefaultSpaceSettings"]["SecurityGroups"] == settings["SecurityGroupIds"]
    sharing = user["SharingSettings"]
    assert sharing["NotebookOutputOption"] == "Allowed"
    assert sharing["S3KmsKeyId"] == props["KmsKeyId"]
    assert "StudioSharingBucket" in json.dumps(sharing["S3OutputPath"])
    assert sharing["S3OutputPath"]["Fn::Join"][1][-1] == "/sharing/"


def test_jupyterlab_and_code_editor_shut_down_when_idle_and_use_the_mirror(studio,
                                                                          studio_config) -> None:
    access = studio.template("dev", "Access")
    (domain,) = _of_type(access, "AWS::SageMaker::Domain").values()
    user = domain["Properties"]["DefaultUserSettings"]
    idle = studio_config.environment("dev").notebook_idle_minutes
    lifecycles = _of_type(access, "AWS::SageMaker::StudioLifecycleConfig")
    assert {v["Properties"]["StudioLifecycleConfigAppType"] for v in lifecycles.values()} == {
        "JupyterLab", "CodeEditor"}
    for app in ("JupyterLabAppSettings", "CodeEditorAppSettings"):
        settings = user[app]
        assert settings["AppLifecycleManagement"]["IdleSettings"] == {
            "LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": idle,
            "MinIdleTimeoutInMinutes": 60, "MaxIdleTimeoutInMinutes": idle}
        spec = settings["DefaultResourceSpec"]
        assert spec["InstanceType"] in studio_config.environment("dev").studio.instance_types
        assert settings["LifecycleConfigArns"] == [spec["LifecycleConfigArn"]]
        (logical,) = {spec["LifecycleConfigArn"]["Fn::GetAtt"][0]}
        import base64
        script = base64.b64decode(
            lifecycles[logical]["Properties"]["StudioLifecycleConfigContent"]).decode()
        assert "codeartifact get-authorization-token" in script
        assert "--domain mlp-dev" not in script and "DOMAIN=mlp-dev" in script
        assert "pip.conf" in script and ".condarc" in script
    assert set(user["StudioWebPortalSettings"]["HiddenAppTypes"]) == {
        "JupyterServer", "RStudioServerPro", "Canvas"}


def test_studio_needs_its_endpoint_and_nothing_reaches_the_internet(studio) -> None:
    foundation = studio.template("dev", "Foundation")
    endpoints = _of_type(foundation, "AWS::EC2::VPCEndpoint")
    services = {json.dumps(v["Properties"]["ServiceName"]) for v in endpoints.values()}
    for service in ("sagemaker.api", "sagemaker.runtime", "studio", "notebook"):
        assert any(service in s for s in services), f"no {service} endpoint"
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway",
                 "AWS::EC2::EgressOnlyInternetGateway"):
        assert not _of_type(foundation, kind)


def test_the_sharing_bucket_is_a_platform_bucket_under_the_notebook_key(studio) -> None:
    foundation = studio.template("dev", "Foundation")
    (bucket,) = [b for b in _of_type(foundation, "AWS::S3::Bucket").values()
                 if "studio-sharing" in json.dumps(b["Properties"].get("BucketName"))]
    assert bucket["DeletionPolicy"] == "Retain"
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert key["Fn::GetAtt"][0].startswith("NotebookKey")
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


# --- per person -----------------------------------------------------------------------------

def test_one_profile_and_role_per_data_scientist_and_no_notebook_instances(studio,
                                                                          studio_config) -> None:
    shards = _shards(studio)
    profiles = {v["Properties"]["UserProfileName"]: v
                for t in shards.values()
                for v in _of_type(t, "AWS::SageMaker::UserProfile").values()}
    data_scientists = {u.name for u in studio_config.users
                       if u.job_function.value == "data_scientist"}
    assert set(profiles) == data_scientists
    assert not any(_of_type(t, "AWS::SageMaker::NotebookInstance") for t in shards.values())
    assert not _of_type(studio.template("dev", "Access"),
                        "AWS::SageMaker::NotebookInstanceLifecycleConfig")
    for template in shards.values():
        roles = _of_type(template, "AWS::IAM::Role")
        for logical, profile in _of_type(template, "AWS::SageMaker::UserProfile").items():
            role_ref = profile["Properties"]["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]
            role = roles[role_ref]["Properties"]
            name = profile["Properties"]["UserProfileName"]
            assert role["RoleName"] == f"mlp-dev-ds-{name}"
            assert {"Key": "ml-platform:owner", "Value": name} in role["Tags"]
            (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
            assert set(statement["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity"}
            # the notebook role's policies (data, jobs, guardrails, KMS guardrails, mirror)
            # plus the shared Studio policy
            policies = json.dumps(role["ManagedPolicyArns"])
            for part in ("ds-data", "ds-sagemaker", "ds-guardrails", "ds-kms-guardrails",
                         "ds-studio"):
                assert part in policies, part


def test_sagemaker_adds_the_home_efs_nfs_group_and_every_group_list_leaves_room_for_it(
    studio,
) -> None:
    """The home EFS is reached over NFS through a security group SageMaker adds itself, so the
    platform group allows only HTTPS; AWS's SageMaker model (the pinned botocore) says so, and
    that a list may therefore hold one group fewer than its maximum. Every group list the
    platform writes (the domain's defaults, each profile) leaves that room."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    member = model.shape_for("UserSettings").members["SecurityGroups"]
    assert "adds a security group to allow NFS traffic" in member.documentation
    room = member.metadata["max"] - 1
    access = studio.template("dev", "Access")
    (domain,) = _of_type(access, "AWS::SageMaker::Domain").values()
    lists = [domain["Properties"]["DefaultUserSettings"]["SecurityGroups"]]
    lists += [p["Properties"]["UserSettings"]["SecurityGroups"]
              for t in _shards(studio).values()
              for p in _of_type(t, "AWS::SageMaker::UserProfile").values()]
    assert len(lists) > 1 and all(1 <= len(groups) <= room for groups in lists)


def test_adding_a_person_moves_nobody_else(studio_config, sample_config_data,
                                           tmp_path_factory) -> None:
    from synth_support import synthesize

    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["workspace"] = "studio"
    data["users"].insert(0, {"name": "ann-new", "job_function": "data_scientist",
                             "allowed_source_cidrs": ["203.0.113.0/24"]})
    more = parse_config(data, "x.yaml")
    kwargs = dict(environments=("dev",), compliance=False)
    before = synthesize(studio_config, tmp_path_factory.mktemp("before"), **kwargs)
    after = synthesize(more, tmp_path_factory.mktemp("after"), **kwargs)
    for stack, template in _shards(before).items():
        old = set(template["Resources"])
        assert old <= set(after.templates[stack]["Resources"]), stack
        for logical in old:
            assert template["Resources"][logical] == after.templates[stack]["Resources"][logical]
    added = {k for k, t in _shards(after).items()
             for v in _of_type(t, "AWS::SageMaker::UserProfile").values()
             if v["Properties"]["UserProfileName"] == "ann-new"}
    assert len(added) == 1


# --- access under the offline IAM evaluator -------------------------------------------------

def _access_policy(studio, user: str) -> dict:
    from cfn_placeholders import resolvers_for
    from iam_reference import policy_documents

    docs = policy_documents(_shards(studio), resolvers_for(studio.templates))
    found = [d.document for d in docs if d.kind == "identity"
             and any("CreatePresignedDomainUrl" in json.dumps(s) and user in json.dumps(s)
                     for s in d.document["Statement"])]
    assert len(found) == 1, user
    return found[0]


def _profile_arn(document: dict) -> str:
    (allow,) = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    return allow["Resource"]


def _presign(document: dict, profile_arn: str, source_ip: str, user: str):
    principal = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/mlp-dev-nb-access-{user}")
    request = Request(principal, "sagemaker:CreatePresignedDomainUrl", profile_arn,
                      {"aws:SourceIp": source_ip})
    return authorize(request, identity_policies=[document], resource_policies=None,
                     resource_account=ACCOUNT)


def test_a_person_opens_their_own_studio_only_and_only_from_their_networks(studio) -> None:
    jane = _access_policy(studio, "jane-smith")
    raj = _access_policy(studio, "raj-patel")
    jane_profile, raj_profile = _profile_arn(jane), _profile_arn(raj)
    assert jane_profile.endswith("/jane-smith") and ":user-profile/" in jane_profile
    assert _presign(jane, jane_profile, "203.0.113.7", "jane-smith").allowed
    # not B's profile, whatever the network
    verdict = _presign(jane, raj_profile, "203.0.113.7", "jane-smith")
    assert not verdict.allowed and "NoOtherProfile" in verdict.reason
    # a range raj may use is not jane's
    assert _presign(raj, raj_profile, "198.51.100.20", "raj-patel").allowed
    verdict = _presign(jane, jane_profile, "198.51.100.20", "jane-smith")
    assert not verdict.allowed and "OnlyFromAllowedSource" in verdict.reason
    # even if another policy of jane's allowed everything, the Denies hold
    everything = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
    principal = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/mlp-dev-nb-access-jane-smith")
    for arn, ip in ((raj_profile, "203.0.113.7"), (jane_profile, "192.0.2.1")):
        request = Request(principal, "sagemaker:CreatePresignedDomainUrl", arn,
                          {"aws:SourceIp": ip})
        assert not authorize(request, identity_policies=[jane, everything],
                             resource_policies=None, resource_account=ACCOUNT).allowed


def _studio_policy(studio, user: str) -> dict:
    """The shared Studio policy as IAM evaluates it for ``user``: the owner-tag variable
    replaced with that user's tag value (the offline evaluator has no policy variables)."""
    from cfn_placeholders import resolvers_for
    from iam_reference import policy_documents

    access = {"dev/Access": studio.template("dev", "Access")}
    (doc,) = [d.document for d in policy_documents(access, resolvers_for(studio.templates))
              if "DataScientistStudioPolicy" in d.location]
    return json.loads(json.dumps(doc).replace(OWNER, user))


def _space_request(studio, user: str, action: str, *, owner: str | None,
                   sharing: str | None = "Private", instance: str | None = None,
                   kind: str = "space"):
    doc = _studio_policy(studio, user)
    (spaces,) = [s for s in doc["Statement"] if s["Sid"] == "OwnPrivateSpaces"]
    space_arn = spaces["Resource"].replace("/*", "/work")
    own_profile = spaces["Condition"]["ArnEquals"]["sagemaker:OwnerUserProfileArn"]
    resource = space_arn if kind == "space" else space_arn.replace(
        ":space/", ":app/").replace("/work", "/work/JupyterLab/default")
    context = {}
    if owner is not None:
        context["sagemaker:OwnerUserProfileArn"] = own_profile.rsplit("/", 1)[0] + "/" + owner
    if sharing is not None:
        context["sagemaker:SpaceSharingType"] = sharing
    if instance is not None:
        context["sagemaker:InstanceTypes"] = [instance]
    principal = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/mlp-dev-ds-{user}")
    return authorize(Request(principal, action, resource, context), identity_policies=[doc],
                     resource_policies=None, resource_account=ACCOUNT)


def test_private_spaces_only_and_nothing_on_anyone_elses(studio) -> None:
    ok = _space_request(studio, "jane-smith", "sagemaker:CreateSpace", owner="jane-smith",
                        instance="ml.t3.medium")
    assert ok.allowed, ok.reason
    assert _space_request(studio, "jane-smith", "sagemaker:CreateApp", owner="jane-smith",
                          kind="app", instance="ml.t3.medium").allowed
    for action, kind in (("sagemaker:CreateSpace", "space"), ("sagemaker:DeleteSpace", "space"),
                         ("sagemaker:CreateApp", "app"), ("sagemaker:DeleteApp", "app")):
        verdict = _space_request(studio, "jane-smith", action, owner="raj-patel", kind=kind)
        assert not verdict.allowed and "NoOtherPeoplesSpaces" in verdict.reason, action
    shared = _space_request(studio, "jane-smith", "sagemaker:CreateSpace", owner="jane-smith",
                            sharing="Shared")
    assert not shared.allowed and "PrivateSpacesOnly" in shared.reason
    ownerless = _space_request(studio, "jane-smith", "sagemaker:CreateSpace", owner=None,
                               sharing=None)
    assert not ownerless.allowed and "SpacesHaveAnOwner" in ownerless.reason


def test_apps_only_on_approved_instance_types(studio, studio_config) -> None:
    approved = studio_config.environment("dev").studio.instance_types
    for instance in approved:
        assert _space_request(studio, "raj-patel", "sagemaker:CreateApp", owner="raj-patel",
                              kind="app", instance=instance).allowed
    verdict = _space_request(studio, "raj-patel", "sagemaker:CreateApp", owner="raj-patel",
                             kind="app", instance="ml.p4d.24xlarge")
    assert not verdict.allowed and "ApprovedInstanceTypesOnly" in verdict.reason


# --- compliance gates and IAM references ----------------------------------------------------

def test_studio_acknowledgements_name_findings_that_occur(unacknowledged) -> None:
    """Without acknowledgements (the sample, Studio in dev), every Studio acknowledgement
    matches a real finding."""
    _, findings = unacknowledged
    for ack in STUDIO_ACKNOWLEDGEMENTS:
        rule = ack.rule_in(account=ACCOUNT, region=REGION, prefix="mlp-dev-")
        assert any(f.plugin == ack.plugin and f.rule == rule
                   and fnmatch.fnmatchcase(f.path.split("/", 1)[1].split(" (", 1)[0], ack.path)
                   for f in findings), ack
    # and nothing of Studio's is left without one (the acknowledged run passed the gate)
    studio_paths = ("Access/Studio", "Access/DataScientistStudioPolicy",
                    "Foundation/StudioSharing", "Access-Shard")
    studio_findings = [f for f in findings if f.path.startswith("dev/")
                       and f.path.split("/", 1)[1].startswith(studio_paths)]
    assert studio_findings, "the raw run found nothing: the acknowledgements are untested"


def test_studio_policies_match_the_pinned_iam_references(studio) -> None:
    from cfn_placeholders import resolvers_for
    from iam_reference import check_documents, parliament_findings, policy_documents

    templates = {k: v for k, v in studio.templates.items()
                 if k in ("dev/Access", "dev/Audit") or k.startswith("dev/Access-Shard")}
    documents = policy_documents(templates, resolvers_for(studio.templates))
    studio_docs = [d for d in documents
                   if "CreatePresignedDomainUrl" in json.dumps(d.document)
                   or "DataScientistStudioPolicy" in d.location
                   or "StudioDomainGuardrails" in d.location
                   or "sagemaker:DeleteApp" in json.dumps(d.document)]
    assert len(studio_docs) >= 5
    findings = check_documents(studio_docs) + parliament_findings(studio_docs)
    unacknowledged = [f for f in findings if not any(
        a.matches(f.code, f.subject, f.location) for a in IAM_REFERENCE_ACKNOWLEDGEMENTS)]
    assert unacknowledged == [], "\n".join(map(str, unacknowledged))


@pytest.mark.parametrize("op, cidrs, ip, expected", [
    ("IpAddress", ["203.0.113.0/24"], "203.0.113.9", True),
    ("IpAddress", ["203.0.113.0/24"], "198.51.100.1", False),
    ("IpAddress", ["198.51.100.16/28"], "198.51.100.31", True),
    ("IpAddress", ["198.51.100.16/28"], "198.51.100.32", False),
    ("NotIpAddress", ["203.0.113.0/24"], "198.51.100.1", True),
    ("NotIpAddress", ["203.0.113.0/24"], "203.0.113.9", False),
    ("NotIpAddress", ["203.0.113.0/24"], None, True),  # absent key: a negated operator holds
    ("IpAddress", ["203.0.113.0/24"], None, False),
])
def test_the_evaluator_checks_source_addresses(op, cidrs, ip, expected) -> None:
    """The operator the presigned-URL policies use (added to compliance/_iam_eval.py for #15)."""
    from compliance._iam_eval import condition_block_matches

    context = {} if ip is None else {"aws:SourceIp": ip}
    request = Request(Principal.role(f"arn:aws:iam::{ACCOUNT}:role/r"),
                      "sagemaker:CreatePresignedDomainUrl", "*", context)
    assert condition_block_matches({op: {"aws:SourceIp": cidrs}}, request) is expected


def test_break_glass_cannot_open_the_domain_to_the_internet(studio) -> None:
    """The admin's PowerUserAccess is AWS-managed (not in the template): stand in for it with
    an Allow of everything; the platform's Studio guardrails must still deny."""
    from cfn_placeholders import resolvers_for
    from iam_reference import policy_documents

    access = {"dev/Access": studio.template("dev", "Access")}
    resource = studio.template("dev", "Access")["Resources"]
    (logical,) = [k for k, v in resource.items() if "StudioDomainGuardrails" in k]
    assert resource[logical]["Properties"]["Roles"] == ["mlp-dev-platform-admin"]
    (guardrails,) = [d.document for d in policy_documents(access, resolvers_for(studio.templates))
                     if logical in d.location]
    power_user = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
    statements = {s["Sid"]: s for s in guardrails["Statement"]}
    subnets = statements["DomainsInPlatformSubnets"]["Condition"][
        "ForAnyValue:StringNotEquals"]["sagemaker:VpcSubnets"]
    groups = statements["DomainsWithPlatformSecurityGroup"]["Condition"][
        "ForAnyValue:StringNotEquals"]["sagemaker:VpcSecurityGroupIds"]
    key = statements["DomainVolumesWithPlatformKeys"]["Condition"]["ArnNotEquals"][
        "sagemaker:VolumeKmsKey"][0]
    compliant = {"sagemaker:AppNetworkAccessType": "VpcOnly", "sagemaker:VpcSubnets": subnets,
                 "sagemaker:VpcSecurityGroupIds": groups, "sagemaker:VolumeKmsKey": key,
                 "sagemaker:DomainSharingOutputKmsKey": key}
    principal = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/mlp-dev-platform-admin")
    domain = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-new"

    def create(**changes):
        context = {k: v for k, v in {**compliant, **changes}.items() if v is not None}
        return authorize(Request(principal, "sagemaker:CreateDomain", domain, context),
                         identity_policies=[power_user, guardrails], resource_policies=None,
                         resource_account=ACCOUNT)

    assert create().allowed
    for changes, sid in (
            ({"sagemaker:AppNetworkAccessType": "PublicInternetOnly"}, "DomainsVpcOnly"),
            ({"sagemaker:AppNetworkAccessType": None}, "DomainsStateNetworkAccess"),
            ({"sagemaker:VpcSubnets": ["subnet-elsewhere"]}, "DomainsInPlatformSubnets"),
            ({"sagemaker:VpcSecurityGroupIds": ["sg-open"]}, "DomainsWithPlatformSecurityGroup"),
            ({"sagemaker:VolumeKmsKey": None}, "DomainVolumeKeyRequired"),
            ({"sagemaker:VolumeKmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other"},
             "DomainVolumesWithPlatformKeys"),
            ({"sagemaker:DomainSharingOutputKmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/x"},
             "SharedNotebooksWithPlatformKeys")):
        verdict = create(**changes)
        assert not verdict.allowed and sid in verdict.reason, (changes, verdict)


def test_through_the_platforms_endpoints_the_api_and_studio_endpoints_are_named(
        sample_config_data, tmp_path_factory) -> None:
    """source_vpce: the presign call comes through the API endpoint, the Studio UI's requests
    (checked against the same policy) through the Studio endpoint; both must be allowed."""
    from synth_support import synthesize

    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["workspace"] = "studio"
    data["access"]["source_condition"] = "source_vpce"
    result = synthesize(parse_config(data, "x.yaml"), tmp_path_factory.mktemp("vpce"),
                        environments=("dev",), compliance=False)
    foundation = result.template("dev", "Foundation")
    endpoint_ids = {k for k, v in foundation["Resources"].items()
                    if v["Type"] == "AWS::EC2::VPCEndpoint"}
    policies = [p for t in _shards(result).values()
                for p in _of_type(t, "AWS::IAM::ManagedPolicy").values()]
    assert policies
    for policy in policies:
        (allow,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if s["Effect"] == "Allow"]
        imports = allow["Condition"]["StringEquals"]["aws:SourceVpce"]
        exports = {o["Export"]["Name"]: o["Value"] for o in foundation["Outputs"].values()
                   if "Export" in o}
        named = {exports[i["Fn::ImportValue"]]["Ref"] for i in imports}
        assert named <= endpoint_ids and len(named) == 2
        assert any("SageMakerStudio" in n for n in named), named
        assert any("SageMakerApi" in n for n in named), named


def test_cfn_lint_accepts_the_studio_templates(studio) -> None:
    """cfn-lint's CloudFormation schemas: property names, enums (VpcOnly, USER_PROFILE_NAME,
    ENABLED, app types) and value shapes of the Domain, profiles and lifecycle configs."""
    import subprocess

    templates = sorted(str(p) for p in studio.outdir.glob("assembly-dev/*.template.json"))
    assert len(templates) == len([k for k in studio.templates if k.startswith("dev/")])
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *templates],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_the_responder_watches_studio_calls_with_the_approved_instance_types(
        studio, studio_config) -> None:
    audit = studio.template("dev", "Audit")
    (rule,) = [r for r in _of_type(audit, "AWS::Events::Rule").values()
               if "CreateNotebookInstance" in json.dumps(r["Properties"].get("EventPattern"))]
    names = rule["Properties"]["EventPattern"]["detail"]["eventName"]
    assert {"CreateDomain", "UpdateDomain", "CreateApp"} <= set(names)
    functions = [f for f in _of_type(audit, "AWS::Lambda::Function").values()
                 if "APPROVED_STUDIO_INSTANCE_TYPES" in json.dumps(f["Properties"])]
    (function,) = functions
    approved = function["Properties"]["Environment"]["Variables"]["APPROVED_STUDIO_INSTANCE_TYPES"]
    assert approved.split(",") == studio_config.environment("dev").studio.instance_types
    rules = {r["Properties"]["Source"]["SourceIdentifier"]
             for r in _of_type(audit, "AWS::Config::ConfigRule").values()}
    assert "SAGEMAKER_DOMAIN_IN_VPC" in rules
