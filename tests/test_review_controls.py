"""The review pack's controls matrix evaluates each check on every resource (issue 12)."""

from __future__ import annotations

from review.assembly import Environment
from review.controls import CONTROLS, evaluate_control

CONTROL = {c.id: c for c in CONTROLS}


def _env(resources: dict[str, tuple[str, dict, str]]) -> Environment:
    return Environment("dev", {"Stack": {"Resources": {
        logical: {"Type": type_, "Properties": props, "Metadata": {"aws:cdk:path": path}}
        for logical, (type_, props, path) in resources.items()}}})


def _requirement(result, description: str):
    _, results = result.per_env["dev"]
    return next(r for r in results if r.requirement.description.startswith(description))


def test_an_unrelated_acknowledgement_does_not_exclude_a_compliant_notebook() -> None:
    notebook_path = "dev/Access-Shard01/Workspace/Notebook"
    env = _env({"Notebook": ("AWS::SageMaker::NotebookInstance",
                             {"SubnetId": "subnet-1", "DirectInternetAccess": "Disabled",
                              "RootAccess": "Disabled", "KmsKeyId": "key"},
                             f"{notebook_path}/Resource")})
    # e.g. an IAM5 finding caused by a cross-stack import, acknowledged on the notebook's path
    acknowledged = {notebook_path: {"AwsSolutions-IAM5", "NIST.800.53.R5-IAMNoInlinePolicy",
                                    "AwsSolutions-SM1", "AwsSolutions-SM3"}}
    result = evaluate_control(CONTROL["network_isolation"], {"dev": env},
                              acknowledged=acknowledged)
    row = _requirement(result, "Notebooks in the VPC")
    assert row.status == "met" and [r.logical_id for r in row.evidence] == ["Notebook"]
    assert "excluded" not in row.note


def test_an_acknowledged_failing_resource_is_named_not_hidden() -> None:
    env = _env({
        "Good": ("AWS::Lambda::Function", {"VpcConfig": {"SubnetIds": ["s"]}}, "dev/Stack/Good/Resource"),
        "Bad": ("AWS::Lambda::Function", {}, "dev/Stack/Bad/Resource"),
        "Vpc": ("AWS::EC2::VPC", {}, "dev/Stack/Vpc/Resource"),
    })
    result = evaluate_control(CONTROL["network_isolation"], {"dev": env},
                              acknowledged={"dev/Stack/Bad": {"HIPAA.Security-LambdaInsideVPC"}})
    row = _requirement(result, "Lambda functions attached")
    assert row.status == "met" and "Stack/Bad" in row.note and "acknowledged" in row.note
    unacknowledged = evaluate_control(CONTROL["network_isolation"], {"dev": env})
    row = _requirement(unacknowledged, "Lambda functions attached")
    assert row.status == "not met" and [r.logical_id for r in row.violations] == ["Bad"]


def test_key_rotation_is_required_of_every_key() -> None:
    env = _env({
        "Rotating": ("AWS::KMS::Key", {"EnableKeyRotation": True}, "dev/Stack/Rotating/Resource"),
        "Support": ("AWS::KMS::Key", {}, "dev/Stack/Support/Resource"),
    })
    result = evaluate_control(CONTROL["encryption"], {"dev": env})
    row = _requirement(result, "Every customer managed KMS key rotates")
    assert row.status == "not met"
    assert [r.logical_id for r in row.violations] == ["Support"]
    assert result.per_env["dev"][0] != "implemented"
