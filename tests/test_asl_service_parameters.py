"""Every service task of the training and deployment workflows names only parameters that
the AWS API accepts, with every required member: checked against botocore's service models
(AWS's machine-readable API definitions), not against a list written from memory."""

from __future__ import annotations

import re
from dataclasses import replace

import botocore.session
import pytest

from cdk_constructs.deployment_workflow_definition import build_definition as deployment
from cdk_constructs.training_workflow_definition import build_definition as training
from tests.constructs.test_training_workflow_definition import SETTINGS
from tests.test_clarify_monitoring import CLARIFY
from tests.workflow_settings import DEPLOYMENT_SETTINGS

_SESSION = botocore.session.get_session()
_OPTIMISED = {  # Step Functions' optimised integrations -> the API they call
    "arn:aws:states:::sagemaker:createProcessingJob.sync": ("sagemaker", "CreateProcessingJob"),
    "arn:aws:states:::sagemaker:createTrainingJob.sync": ("sagemaker", "CreateTrainingJob"),
    "arn:aws:states:::sns:publish": ("sns", "Publish"),
}


def _operation(resource: str) -> tuple[str, str] | None:
    if resource in _OPTIMISED:
        return _OPTIMISED[resource]
    match = re.fullmatch(r"arn:aws:states:::aws-sdk:(\w+):(\w+)", resource)
    if not match:
        return None  # lambda:invoke and other non-SDK resources
    return match.group(1), match.group(2)[0].upper() + match.group(2)[1:]


def _check(shape, value, path: str, problems: list[str]) -> None:
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return
        given = {k[:-2] if k.endswith(".$") else k: k for k in value}
        for name in given:
            if name not in shape.members:
                problems.append(f"{path}.{name}: not a member of {shape.name}")
        for required in shape.required_members:
            if required not in given:
                problems.append(f"{path}: {shape.name} requires {required}")
        for name, key in given.items():
            if name in shape.members and not key.endswith(".$"):
                _check(shape.members[name], value[key], f"{path}.{name}", problems)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", problems)
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, item in value.items():
            _check(shape.value, item, f"{path}.{k}", problems)


def _tasks(states: dict):
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])


DEFINITIONS = {
    "training": training(SETTINGS),
    "deployment": deployment(replace(DEPLOYMENT_SETTINGS, clarify_monitors=CLARIFY,
                                     clarify_image="clarify:1.0",
                                     ground_truth_s3_uri="s3://monitoring-bucket/gt/")),
}


@pytest.mark.parametrize("workflow", sorted(DEFINITIONS))
def test_service_task_parameters_match_the_aws_api(workflow) -> None:
    problems: list[str] = []
    checked = 0
    for name, state in _tasks(DEFINITIONS[workflow]["States"]):
        operation = _operation(state["Resource"])
        if operation is None:
            continue
        service, api = operation
        model = _SESSION.get_service_model(service if service != "sfn" else "stepfunctions")
        shape = model.operation_model(api).input_shape
        _check(shape, state["Parameters"], f"{workflow}.{name}", problems)
        checked += 1
    assert checked >= 10
    assert problems == []


def test_the_checker_catches_a_misspelt_and_a_missing_parameter() -> None:
    model = _SESSION.get_service_model("sagemaker")
    problems: list[str] = []
    _check(model.operation_model("CreateTrial").input_shape,
           {"TrialNmae.$": "$.x", "ExperimentName": "e"}, "t", problems)
    assert "t.TrialNmae: not a member of CreateTrialRequest" in problems
    assert "t: CreateTrialRequest requires TrialName" in problems
