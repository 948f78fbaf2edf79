"""The deploy rehearsal (make deploy-local): its failure handling and its smoke checks.

The full rehearsal itself runs in CI after the suite (.ci/run: make deploy-local); here the
orchestrator runs fake steps, and each smoke check meets hand-made resources in moto's
in-process mock, one compliant and one violating, so every check is seen to fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from rehearsal import deploy_local, smoke
from rehearsal.deploy_local import MotoServer, Rehearsal, Step, StepFailed
from rehearsal.smoke import FAIL, NOT_EXERCISED, PASS, SKIP, Deployed, DeployedResource, DeployedStack

REGION = "eu-west-2"


# --- orchestrator --------------------------------------------------------------------------


class FakeServer:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _rehearsal(tmp_path: Path, steps: list[Step]) -> tuple[Rehearsal, FakeServer, list[str]]:
    state = tmp_path / "state"
    state.mkdir()
    (state / "moto.log").write_text("x")
    server = FakeServer()
    lines: list[str] = []
    rehearsal = Rehearsal(server=server, state_dir=state, steps=steps, out=lines.append)  # type: ignore[arg-type]
    return rehearsal, server, lines


def test_a_failing_step_stops_the_server_names_the_step_and_skips_the_rest(tmp_path: Path) -> None:
    ran: list[str] = []

    def fail() -> None:
        raise StepFailed("stack mlp-dev-foundation is CREATE_IN_PROGRESS")

    rehearsal, server, lines = _rehearsal(tmp_path, [
        Step("start emulator", lambda: ran.append("start")),
        Step("cdk deploy", fail),
        Step("smoke test", lambda: ran.append("smoke")),
    ])
    assert rehearsal.run() == 1
    assert ran == ["start"]
    assert server.stopped == 1
    assert not rehearsal.state_dir.exists()
    assert "FAILED at step 'cdk deploy': stack mlp-dev-foundation is CREATE_IN_PROGRESS" in lines[-1]


def test_an_unexpected_exception_is_a_failed_step_too(tmp_path: Path) -> None:
    def boom() -> None:
        raise KeyError("Stacks")

    rehearsal, server, lines = _rehearsal(tmp_path, [Step("verify deploy", boom)])
    assert rehearsal.run() == 1
    assert server.stopped == 1 and not rehearsal.state_dir.exists()
    assert "FAILED at step 'verify deploy': KeyError" in lines[-1]


def test_success_reports_ok_and_still_stops_the_server(tmp_path: Path) -> None:
    rehearsal, server, lines = _rehearsal(tmp_path, [Step("a", lambda: None), Step("b", lambda: None)])
    assert rehearsal.run() == 0
    assert server.stopped == 1 and not rehearsal.state_dir.exists()
    assert lines[-1].startswith("\ndeploy-local: OK, 2 steps")


def test_keep_state_says_where_the_state_is_kept(tmp_path: Path) -> None:
    rehearsal, server, lines = _rehearsal(tmp_path, [Step("a", lambda: None)])
    rehearsal.keep_state = True
    assert rehearsal.run() == 0
    assert server.stopped == 1 and rehearsal.state_dir.exists()
    assert "state removed" not in lines[-1]
    assert f"state kept in {rehearsal.state_dir}" in lines[-1]


def _check_templates_step(tmp_path: Path, report: dict) -> Step:
    """The rehearsal's "check templates" step, over an assembly whose report is ``report``."""
    import argparse

    args = argparse.Namespace(config=str(Path(__file__).parents[1] / "config" / "platform.yaml"),
                              state_dir=str(tmp_path / "state"), port=0, keep_state=False)
    rehearsal = deploy_local.build(args)
    assembly = tmp_path / "state" / "cdk.out"
    assembly.mkdir()
    (assembly / "validation-report.json").write_text(json.dumps(report))
    return next(step for step in rehearsal.steps if step.name == "check templates")


def test_nothing_is_deployed_from_an_assembly_with_an_unacknowledged_finding(tmp_path: Path) -> None:
    check = _check_templates_step(tmp_path, {"pluginReports": [{
        "pluginName": "cdk-validator-cfnguard", "conclusion": "success",
        "violations": [{"ruleName": "s3_bucket_versioning_enabled_check", "severity": "error",
                        "description": "versioning",
                        "violatingConstructs": [{"constructPath": "dev/Foundation/X/Resource"}]}]}]})
    with pytest.raises(StepFailed, match="COMPLIANCE CHECKS FAILED: 1 unacknowledged"):
        check.run()


def test_nothing_is_deployed_from_an_assembly_whose_checks_did_not_complete(tmp_path: Path) -> None:
    check = _check_templates_step(tmp_path, {"pluginReports": [{
        "pluginName": "cdk-validator-cfnguard", "conclusion": "failure", "violations": [],
        "metadata": {"error": "Validation plugin 'cdk-validator-cfnguard' failed: spawn"}}]})
    with pytest.raises(StepFailed, match="1 check\\(s\\) did not complete"):
        check.run()


def test_sigterm_during_a_command_stops_the_command_and_the_server(tmp_path: Path) -> None:
    started: dict[str, int] = {}

    def long_command() -> None:
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        rehearsal.command([sys.executable, "-c", "import time; time.sleep(60)"],
                          env=dict(os.environ), cwd=tmp_path, what="sleep")

    rehearsal, server, lines = _rehearsal(tmp_path, [Step("cdk deploy", long_command)])
    original_popen = subprocess.Popen

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        process = original_popen(*args, **kwargs)
        started["pid"] = process.pid
        return process

    deploy_local.subprocess.Popen = spy  # type: ignore[misc]
    try:
        status = rehearsal.run()
    finally:
        deploy_local.subprocess.Popen = original_popen  # type: ignore[misc]
    assert status == 128 + signal.SIGTERM
    assert "INTERRUPTED (SIGTERM) during step 'cdk deploy'" in lines[-1]
    assert server.stopped == 1 and not rehearsal.state_dir.exists()
    assert not _alive(started["pid"])
    assert signal.getsignal(signal.SIGTERM) is not None  # handlers restored, not left raising


def test_the_real_moto_server_starts_on_localhost_and_stops_by_its_process_group(tmp_path: Path) -> None:
    server = MotoServer(state_dir=tmp_path, account="111111111111")
    server.start(timeout=60)
    pid = server.process.pid  # type: ignore[union-attr]
    try:
        assert server.endpoint.startswith("http://localhost:")
        account = boto3.client("sts", region_name=REGION, endpoint_url=server.endpoint,
                               aws_access_key_id="x", aws_secret_access_key="x"
                               ).get_caller_identity()["Account"]
        assert account == "111111111111"
    finally:
        server.stop()
    assert not _alive(pid)
    server.stop()  # idempotent


def test_server_errors_in_the_log_are_found(tmp_path: Path) -> None:
    server = MotoServer(state_dir=tmp_path, account="111111111111")
    server.log_path.write_text(
        '127.0.0.1 - - [27/Nov/2026 03:51:53] "POST / HTTP/1.1" 200 -\n'
        '127.0.0.1 - - [27/Nov/2026 03:51:53] "\x1b[35m\x1b[1mPOST / HTTP/1.1\x1b[0m" 500 -\n'
        "KeyError: 'TagKey'\n")
    errors = server.errors_since(0)
    assert len(errors) == 2 and "500" in errors[0] and "KeyError" in errors[1]
    assert server.errors_since(server.log_size()) == []


def _assembly(tmp_path: Path, resources: dict, outputs: dict | None = None) -> Path:
    folder = tmp_path / "cdk.out" / "assembly-dev"
    folder.mkdir(parents=True)
    (folder / "devX.template.json").write_text(json.dumps({"Resources": resources, "Outputs": outputs or {}}))
    (folder / "manifest.json").write_text(json.dumps({"artifacts": {"devX": {
        "type": "aws:cloudformation:stack",
        "properties": {"stackName": "mlp-dev-x", "templateFile": "devX.template.json"}}}}))
    return tmp_path / "cdk.out"


def test_template_check_finds_references_to_left_out_resources(tmp_path: Path) -> None:
    assembly = _assembly(tmp_path, {
        "Fn": {"Type": "AWS::Lambda::Function", "DependsOn": ["Gone"],
               "Properties": {"Role": {"Fn::GetAtt": ["Gone", "Arn"]},
                              "Handler": {"Fn::Sub": ["${Var}-${AWS::Region}", {"Var": "x"}]}}},
        "Cr": {"Type": "Custom::Thing", "Properties": {"ServiceToken": {"Ref": "Fn"}}},
    }, outputs={"Out": {"Value": {"Ref": "AlsoGone"}}})
    problems = deploy_local.check_templates(assembly)
    assert any("Cr (Custom::Thing) was not left out" in p for p in problems)
    assert any("DependsOn Gone" in p for p in problems)
    assert any("refers to Gone" in p for p in problems)
    assert any("output Out refers to AlsoGone" in p for p in problems)
    assert not any("Var" in p or "AWS::Region" in p for p in problems)


def test_rehearsal_synth_leaves_custom_resources_out_and_records_them() -> None:
    from aws_cdk import App, CfnResource, CustomResource, Stack
    from aws_cdk.assertions import Template

    from rehearsal.omit import METADATA_KEY, omit_custom_resources

    app = App()
    stack = Stack(app, "S")
    CustomResource(stack, "Cr", service_token="arn:aws:lambda:eu-west-2:111111111111:function:f",
                   resource_type="Custom::Thing")
    CfnResource(stack, "Topic", type="AWS::SNS::Topic")
    omitted = omit_custom_resources(app)
    assert [(o["type"], o["path"]) for o in omitted] == [("Custom::Thing", "S/Cr/Default")]
    template = Template.from_stack(stack).to_json()
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::SNS::Topic"]
    assert template["Metadata"][METADATA_KEY][0]["type"] == "Custom::Thing"


# --- smoke checks against moto's in-process mock ------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield boto3.Session(region_name=REGION)


def _res(resource_type: str, physical_id: str | None, properties: dict | None = None,
         logical_id: str | None = None, path: str | None = None) -> DeployedResource:
    definition: dict = {"Type": resource_type, "Properties": properties or {}}
    if path:
        definition["Metadata"] = {"aws:cdk:path": path}
    return DeployedResource("mlp-dev-x", logical_id or f"L{physical_id}", resource_type,
                            physical_id, definition)


def _deployed(*resources: DeployedResource, status: str = "CREATE_COMPLETE",
              metadata: dict | None = None) -> Deployed:
    template = {"Resources": {r.logical_id: r.definition for r in resources}}
    if metadata:
        template["Metadata"] = metadata
    return Deployed([DeployedStack("mlp-dev-x", status, template, list(resources))])


def _by_status(results: list[smoke.Result]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in results:
        out.setdefault(r.status, []).append(r.check)
    return out


def test_stack_check_fails_an_incomplete_stack_and_lists_what_was_not_exercised(aws) -> None:
    deployed = _deployed(_res("AWS::SNS::Topic", "arn:t"), _res("AWS::S3::BucketPolicy", None, logical_id="P"),
                         status="CREATE_IN_PROGRESS",
                         metadata={"MlPlatformRehearsalOmitted": [
                             {"logicalId": "Cr", "type": "Custom::VpcRestrictDefaultSG", "path": "p", "reason": "r"}]})
    results = smoke.check_stacks(deployed, aws)
    assert results[0].status == FAIL and "CREATE_IN_PROGRESS; 1 of 2" in results[0].detail
    assert [r.status for r in results[1:]] == [NOT_EXERCISED, NOT_EXERCISED]
    assert "Custom::VpcRestrictDefaultSG" in results[1].check
    assert "does not implement AWS::S3::BucketPolicy" in results[2].detail


def test_network_check_fails_a_vpc_with_an_internet_gateway(aws) -> None:
    ec2 = aws.client("ec2")
    clean = ec2.create_vpc(CidrBlock="10.20.0.0/22")["Vpc"]["VpcId"]
    ec2.create_flow_logs(ResourceIds=[clean], ResourceType="VPC", TrafficType="ALL",
                         LogDestinationType="cloud-watch-logs", LogGroupName="flow",
                         DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/flow")
    open_vpc = ec2.create_vpc(CidrBlock="10.21.0.0/22")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=open_vpc)
    results = smoke.check_network(_deployed(_res("AWS::EC2::VPC", clean, logical_id="Clean"),
                                            _res("AWS::EC2::VPC", open_vpc, logical_id="Open")), aws)
    status = {r.check: r for r in results}
    assert status["VPC Clean no internet path"].status == PASS
    assert status["VPC Clean flow logs"].status == PASS
    assert status["VPC Open no internet path"].status == FAIL
    assert igw in status["VPC Open no internet path"].detail
    assert status["VPC Open flow logs"].status == FAIL


def test_bucket_check_fails_a_bucket_without_kms_and_skips_what_moto_does_not_keep(aws) -> None:
    s3, kms = aws.client("s3"), aws.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    config = {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
    s3.create_bucket(Bucket="good", **config)
    s3.put_bucket_encryption(Bucket="good", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    s3.create_bucket(Bucket="plain", **config)
    s3.put_bucket_encryption(Bucket="plain", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    declared = {"VersioningConfiguration": {"Status": "Enabled"}}
    deployed = _deployed(_res("AWS::S3::Bucket", "good", declared), _res("AWS::S3::Bucket", "plain"),
                         _res("AWS::S3::Bucket", "missing"), _res("AWS::S3::BucketPolicy", None, logical_id="P"))
    by = _by_status(smoke.check_buckets(deployed, aws))
    assert by[PASS] == ["bucket good encryption"]
    assert set(by[FAIL]) == {"bucket plain encryption", "bucket missing"}
    assert set(by[SKIP]) == {"bucket versioning (1 buckets)", "bucket policies (TLS only)"}


def test_bucket_check_accepts_sse_s3_only_where_acknowledged(aws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="mlp-dev-access-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(Bucket="mlp-dev-access-logs", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    declared = {"BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}
    bucket = _res("AWS::S3::Bucket", "mlp-dev-access-logs", declared, path="dev/Foundation/AccessLogs/Bucket/Resource")
    [result] = smoke.check_buckets(_deployed(bucket), aws)
    assert result.status == PASS and "acknowledged" in result.detail


def test_kms_check_fails_a_key_without_rotation(aws) -> None:
    kms = aws.client("kms")
    rotating = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotating)
    still = kms.create_key()["KeyMetadata"]["KeyId"]
    results = smoke.check_kms_keys(_deployed(_res("AWS::KMS::Key", rotating, logical_id="A"),
                                             _res("AWS::KMS::Key", still, logical_id="B")), aws)
    assert [(r.check, r.status) for r in results] == [("KMS key A", PASS), ("KMS key B", FAIL)]
    assert "rotation is off" in results[1].detail


def test_notebook_check_needs_one_notebook_per_data_scientist(aws, notebook_config) -> None:
    iam = aws.client("iam")
    role = iam.create_role(RoleName="nb", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="mlp-dev-jane-smith", InstanceType="ml.t3.medium", RoleArn=role)
    results = smoke.check_notebooks(
        _deployed(_res("AWS::SageMaker::NotebookInstance", "mlp-dev-jane-smith")), aws, notebook_config)
    status = {r.check: r.status for r in results}
    assert status == {"notebook for jane-smith": PASS, "notebook for raj-patel": FAIL,
                      "notebook DirectInternetAccess/RootAccess": SKIP}
    [skipped] = smoke.check_notebooks(_deployed(), aws, notebook_config)
    assert skipped.status == SKIP and "no AWS::SageMaker::NotebookInstance" in skipped.detail


def test_state_machine_check_needs_the_gate_in_the_live_definition(aws) -> None:
    sfn = aws.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/sfn"
    gated = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "ComplianceGate", "States": {"ComplianceGate": {"Type": "Pass", "End": True}}}]}}}
    ungated = {"StartAt": "Train", "States": {"Train": {"Type": "Pass", "End": True}}}
    a = sfn.create_state_machine(name="x-gated-training", definition=json.dumps(gated),
                                 roleArn=role)["stateMachineArn"]
    b = sfn.create_state_machine(name="x-ungated-training", definition=json.dumps(ungated),
                                 roleArn=role)["stateMachineArn"]
    c = sfn.create_state_machine(name="x-retraining-starter", definition=json.dumps(ungated),
                                 roleArn=role)["stateMachineArn"]
    results = smoke.check_state_machines(_deployed(_res("AWS::StepFunctions::StateMachine", a),
                                                   _res("AWS::StepFunctions::StateMachine", b),
                                                   _res("AWS::StepFunctions::StateMachine", c)), aws)
    # A training workflow must carry the gate; other workflows need only exist.
    assert [(r.check, r.status) for r in results] == [
        ("state machine x-gated-training", PASS), ("state machine x-ungated-training", FAIL),
        ("state machine x-retraining-starter", PASS)]
    assert "ComplianceGate" in results[0].detail


def test_pipeline_check_needs_an_approval_or_gate_action(aws) -> None:
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    role = iam.create_role(RoleName="cp", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    codepipeline = aws.client("codepipeline")

    def pipeline(name: str, second_stage: dict) -> None:
        codepipeline.create_pipeline(pipeline={
            "name": name, "roleArn": role,
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [
                {"name": "Source", "actions": [{"name": "Source", "actionTypeId": {
                    "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"},
                    "outputArtifacts": [{"name": "src"}]}]},
                second_stage,
            ]})

    pipeline("gated", {"name": "Approve", "actions": [{"name": "ModelRisk", "actionTypeId": {
        "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]})
    pipeline("ungated", {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {
        "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "p"}, "inputArtifacts": [{"name": "src"}]}]})
    results = smoke.check_pipelines(_deployed(_res("AWS::CodePipeline::Pipeline", "gated"),
                                              _res("AWS::CodePipeline::Pipeline", "ungated")), aws)
    assert [(r.check, r.status) for r in results] == [("pipeline gated", PASS), ("pipeline ungated", FAIL)]


def test_lambda_check_needs_vpc_config_unless_acknowledged(aws) -> None:
    import io
    import zipfile

    ec2, lam = aws.client("ec2"), aws.client("lambda")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/22")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
    role = aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")

    def function(name: str, **extra) -> str:
        return lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                   Handler="index.handler", Code={"ZipFile": code.getvalue()},
                                   **extra)["FunctionName"]

    inside = function("inside", VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [group]})
    outside = function("outside")
    provider = function("provider")
    deployed = _deployed(
        _res("AWS::EC2::VPC", vpc, logical_id="Vpc"),
        _res("AWS::Lambda::Function", inside, logical_id="Inside"),
        _res("AWS::Lambda::Function", outside, logical_id="Outside"),
        _res("AWS::Lambda::Function", provider, logical_id="Provider",
             path="dev/Foundation/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler"),
    )
    status = {r.check: r for r in smoke.check_lambda_functions(deployed, aws)}
    assert status["Lambda Inside"].status == PASS and "1 subnet(s)" in status["Lambda Inside"].detail
    assert status["Lambda Outside"].status == FAIL
    assert status["Lambda Provider"].status == PASS and "acknowledged" in status["Lambda Provider"].detail


def test_checks_skip_with_a_reason_when_nothing_of_their_kind_was_deployed(aws) -> None:
    results = smoke.run_checks(_deployed(), aws, None)
    skipped = [r for r in results if r.status == SKIP]
    assert {r.check for r in skipped} >= {"isolated VPC", "S3 buckets", "KMS keys", "user notebooks", "Studio domain",
                                          "state machines", "pipelines", "Lambda functions"}
    assert all(r.detail.startswith("no ") for r in skipped)
    assert "0 fail" in smoke.format_table(results)


def test_a_crashing_check_is_reported_as_a_failure(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args):  # type: ignore[no-untyped-def]
        raise RuntimeError("emulator said 500")

    monkeypatch.setattr(smoke, "CHECKS", (broken,))
    [result] = smoke.run_checks(_deployed(), aws, None)
    assert result.status == FAIL and "emulator said 500" in result.detail


def test_moto_launcher_repairs_kms_keys_created_by_cloudformation(aws, monkeypatch) -> None:
    from moto.kms.models import Key

    from rehearsal.moto_launcher import apply_shims

    # Patched for this test only (the launcher patches its own server process).
    monkeypatch.setattr(Key, "create_from_cloudformation_json", Key.create_from_cloudformation_json)
    apply_shims()
    template = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {
        "EnableKeyRotation": True, "Tags": [{"Key": "ml-platform:environment", "Value": "dev"}],
        "KeyPolicy": {"Version": "2012-10-17", "Statement": []}}}}}
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="k", TemplateBody=json.dumps(template))
    key = cfn.describe_stack_resources(StackName="k")["StackResources"][0]["PhysicalResourceId"]
    kms = aws.client("kms")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Enabled"]
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [
        {"TagKey": "ml-platform:environment", "TagValue": "dev"}]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]


# --- Studio ----------------------------------------------------------------------------------

def _studio_template(access: str = "VpcOnly", identity: str = "USER_PROFILE_NAME",
                     sharing_key: object = None) -> dict:
    key = {"Fn::GetAtt": ["Key", "Arn"]}
    return {"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {
            "EnableKeyRotation": True, "KeyPolicy": {"Version": "2012-10-17", "Statement": []}}},
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/22"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.20.0.0/24"}},
        "Domain": {"Type": "AWS::SageMaker::Domain", "Properties": {
            "DomainName": "mlp-dev-studio", "AuthMode": "IAM", "AppNetworkAccessType": access,
            "VpcId": {"Ref": "Vpc"}, "SubnetIds": [{"Ref": "Subnet"}], "KmsKeyId": key,
            "DomainSettings": {"ExecutionRoleIdentityConfig": identity},
            "DefaultUserSettings": {"ExecutionRole": "arn:aws:iam::123456789012:role/x",
                                    "SharingSettings": {"S3KmsKeyId": sharing_key or key}}}},
        "Lifecycle": {"Type": "AWS::SageMaker::StudioLifecycleConfig", "Properties": {
            "StudioLifecycleConfigName": "mlp-dev-studio-on-start-jupyterlab",
            "StudioLifecycleConfigAppType": "JupyterLab", "StudioLifecycleConfigContent": "IyE="}},
        "Profile": {"Type": "AWS::SageMaker::UserProfile", "Properties": {
            "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]}, "UserProfileName": "jane-smith",
            "UserSettings": {"ExecutionRole": {"Fn::GetAtt": ["Lifecycle", "StudioLifecycleConfigArn"]}}}},
    }, "Outputs": {"DomainId": {"Value": {"Fn::GetAtt": ["Domain", "DomainId"]}}}}


@pytest.fixture
def shimmed(aws, monkeypatch):
    """moto's in-process CloudFormation with the launcher's shims (patched for this test)."""
    from moto.cloudformation import parsing
    from moto.kms.models import Key

    from rehearsal.moto_launcher import apply_shims

    monkeypatch.setattr(Key, "create_from_cloudformation_json", Key.create_from_cloudformation_json)
    monkeypatch.setattr(parsing, "resource_class_from_type", parsing.resource_class_from_type)
    apply_shims()
    return aws


@pytest.mark.parametrize("changes, expected", [
    ({}, None),
    ({"access": "PublicInternetOnly"}, "not VpcOnly"),
    ({"identity": "DISABLED"}, "not attributed to the person"),
    ({"sharing_key": "arn:aws:kms:eu-west-2:123456789012:key/other"},
     "shared notebooks are not encrypted with the domain's key"),
])
def test_a_studio_domain_is_created_by_moto_and_read_back(shimmed, notebook_config, sample_config,
                                                          changes, expected) -> None:
    """The launcher translates AWS::SageMaker::Domain into moto's CreateDomain; the smoke
    test reads it back and fails a domain that is not VpcOnly. Profiles and lifecycle
    configurations (no moto API) are placeholders, listed as not exercised."""
    cfn = shimmed.client("cloudformation")
    cfn.create_stack(StackName="mlp-dev-studio", TemplateBody=json.dumps(_studio_template(**changes)))
    stack = cfn.describe_stacks(StackName="mlp-dev-studio")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    domain_id = stack["Outputs"][0]["OutputValue"]
    live = shimmed.client("sagemaker").describe_domain(DomainId=domain_id)
    assert live["AppNetworkAccessType"] == changes.get("access", "VpcOnly")
    assert live["DomainName"] == "mlp-dev-studio"
    deployed = smoke.load_deployed(shimmed, ["mlp-dev-studio"])
    results = {r.check: r for r in smoke.check_studio(deployed, shimmed, sample_config)}
    domain = results["Studio domain Domain"]
    if expected is None:
        assert domain.status == PASS, domain
    else:
        assert domain.status == FAIL and expected in domain.detail, domain
    # raj-patel, a data scientist of the sample, has no profile in this stack
    assert results["Studio user profile for raj-patel"].status == FAIL
    assert "Studio user profile for jane-smith" not in results
    for check in ("AWS::SageMaker::UserProfile x1", "AWS::SageMaker::StudioLifecycleConfig x1",
                  "Studio spaces, apps, idle shutdown, presigned domain URL"):
        assert results[check].status == NOT_EXERCISED, check
    # where the environment works on notebook instances, no profile is expected
    assert not any(r.check.startswith("Studio user profile for")
                   for r in smoke.check_studio(deployed, shimmed, notebook_config))


def test_the_studio_check_skips_without_a_domain_and_fails_a_domain_off_the_platform_vpc(
        shimmed, sample_config) -> None:
    [skipped] = smoke.check_studio(_deployed(), shimmed, sample_config)
    assert skipped.status == SKIP and "no AWS::SageMaker::Domain" in skipped.detail
    cfn = shimmed.client("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(_studio_template()))
    deployed = smoke.load_deployed(shimmed, ["s"])
    # the same domain, read with a deployment whose VPC is another one
    deployed.stacks[0].resources = [r for r in deployed.stacks[0].resources
                                    if r.type != "AWS::EC2::VPC"]
    [domain] = [r for r in smoke.check_studio(deployed, shimmed, sample_config)
                if r.check.startswith("Studio domain")]
    assert domain.status == FAIL and "not in the platform VPC" in domain.detail
