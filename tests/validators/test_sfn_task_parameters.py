"""Every Step Functions Task's Parameters are valid for the API it calls, per botocore's service
models (sfn_tasks.py): member names, required members, enum values and literal types, for
optimized integrations (``arn:aws:states:::sagemaker:createTrainingJob.sync``) and AWS SDK
integrations (``arn:aws:states:::aws-sdk:sagemaker:listModelPackages``)."""

from __future__ import annotations

import copy

import botocore
import pytest

from sfn_tasks import check_definition, operation_for


@pytest.mark.slow
def test_every_task_of_every_state_machine_is_valid_for_its_api(state_machines) -> None:
    findings, checked = [], {}
    for name, definition in state_machines.items():
        found, checked[name] = check_definition(name, definition)
        findings += found
    assert not findings, "\n".join(map(str, findings))
    # Every machine calls at least one AWS API through an integration, so each was checked.
    assert all(checked.values()), checked


def _task(resource: str, parameters: dict) -> dict:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource,
                                             "Parameters": parameters, "End": True}}}


def _messages(definition: dict) -> list[str]:
    findings, checked = check_definition("fixture", definition)
    assert checked == 1
    return [f.message for f in findings]


TRANSFORM = "arn:aws:states:::sagemaker:createTransformJob.sync"
GOOD_TRANSFORM = {
    "TransformJobName.$": "States.Format('t-{}', $.id)", "ModelName": "m",
    "TransformInput": {"ContentType": "text/csv", "SplitType": "Line", "DataSource": {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/k"}}},
    "TransformOutput": {"S3OutputPath": "s3://b/o", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
}


def test_a_valid_task_passes_and_paths_are_checked_by_name_only() -> None:
    assert _messages(_task(TRANSFORM, GOOD_TRANSFORM)) == []


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda p: p.update({"TransformJobNames": "x"}), "TransformJobNames: not a member"),
    (lambda p: p.pop("ModelName"), "required member ModelName"),
    (lambda p: p["TransformInput"].update({"SplitType": "Lines"}), "'Lines' is not one of"),
    (lambda p: p["TransformResources"].update({"InstanceCount": "1"}), "expected an integer"),
    (lambda p: p["TransformInput"]["DataSource"]["S3DataSource"].update({"S3Url.$": "$.u"}),
     "S3Url: not a member"),
])
def test_the_checker_reports_each_kind_of_error(mutate, expected) -> None:
    parameters = copy.deepcopy(GOOD_TRANSFORM)
    mutate(parameters)
    messages = _messages(_task(TRANSFORM, parameters))
    assert any(expected in m for m in messages), messages


def test_sdk_integrations_take_pascal_case_parameters_of_camel_case_apis() -> None:
    resource = "arn:aws:states:::aws-sdk:codepipeline:startPipelineExecution"
    assert operation_for(resource) == ("codepipeline", "StartPipelineExecution")
    assert _messages(_task(resource, {"Name": "p", "ClientRequestToken.$": "$.id"})) == []
    assert any("required member Name" in m for m in _messages(_task(resource, {})))


@pytest.mark.slow
def test_a_real_task_missing_a_required_member_is_reported(state_machines) -> None:
    name = next(n for n in sorted(state_machines) if "DeploymentWorkflow" in n)
    broken = copy.deepcopy(state_machines[name])
    del broken["States"]["CreateEndpoint"]["Parameters"]["EndpointConfigName.$"]
    findings, _ = check_definition(name, broken)
    assert [f.state for f in findings] == ["CreateEndpoint"]
    assert "required member EndpointConfigName" in findings[0].message


def test_botocore_is_the_pinned_version() -> None:
    from pathlib import Path
    pins = Path(__file__).resolve().parents[2].joinpath("constraints.txt").read_text()
    assert f"botocore=={botocore.__version__}" in pins.splitlines()
