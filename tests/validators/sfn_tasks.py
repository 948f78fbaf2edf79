"""Check the Parameters of every Step Functions Task against the API it calls, with botocore's
service models (the machine-readable API definitions AWS's SDKs are generated from).

- Optimized integrations: ``arn:aws:states:::sagemaker:createTrainingJob.sync`` calls
  SageMaker's ``CreateTrainingJob``; the PascalCase Parameters are the API's members.
- AWS SDK integrations: ``arn:aws:states:::aws-sdk:sagemaker:listModelPackages`` likewise
  (the action in camelCase, the parameters in PascalCase).
- A key ending in ``.$`` is a path or an intrinsic function: its NAME is checked, its value is
  resolved at run time.
Checked: every member name exists, every required member is given, every literal string of an
enum shape is one of its values, literal types match (number, boolean, list, structure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import botocore.session

# SDK integration service names (AWS SDK for JavaScript v2 names) that differ from botocore's.
_SDK_SERVICE = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs",
                "configservice": "config"}
# Optimized-integration members whose value Step Functions serializes itself (JSON allowed where
# the API takes a string or blob).
_JSON_PAYLOADS = {("lambda", "Invoke", "Payload"), ("sns", "Publish", "Message"),
                  ("stepfunctions", "StartExecution", "Input"),
                  ("events", "PutEvents", "Detail")}


@dataclass(frozen=True)
class Finding:
    machine: str
    state: str
    message: str

    def __str__(self) -> str:
        return f"{self.machine} {self.state}: {self.message}"


def _session() -> botocore.session.Session:
    return botocore.session.get_session()


_MODELS: dict[str, Any] = {}


def _model(service: str):
    if service not in _MODELS:
        _MODELS[service] = _session().get_service_model(service)
    return _MODELS[service]


def operation_for(resource: str) -> tuple[str, str] | None:
    """(botocore service, OperationName) for a Task's Resource, None for a non-API resource
    (a Lambda function ARN, an activity)."""
    prefix = "arn:aws:states:::"
    if not isinstance(resource, str) or not resource.startswith(prefix):
        return None
    rest = resource[len(prefix):]
    if rest.startswith("aws-sdk:"):
        service, action = rest[len("aws-sdk:"):].split(":", 1)
        service = _SDK_SERVICE.get(service, service)
    else:
        service, action = rest.split(":", 1)
        service = {"states": "stepfunctions"}.get(service, service)
    action = action.split(".", 1)[0]
    return service, action[0].upper() + action[1:]


def task_states(definition: dict, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every state, Parallel branches and Map iterators included."""
    for name, state in definition.get("States", {}).items():
        yield f"{path}{name}", state
        for branch in state.get("Branches", []):
            yield from task_states(branch, f"{path}{name}/")
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_states(state[key], f"{path}{name}/")


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _check(shape, value: Any, where: str, context: tuple[str, str, str]) -> Iterator[str]:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            yield f"{where}: expected an object for {shape.name}, got {type(value).__name__}"
            return
        # Step Functions takes every member name in PascalCase, also where the API's own
        # members are camelCase (CodePipeline, for one).
        members = {_pascal(m): m for m in shape.members}
        given = {}
        for key, item in value.items():
            name = key[:-2] if key.endswith(".$") else key
            if name not in members:
                yield (f"{where}.{name}: not a member of {shape.name} "
                       f"(members: {', '.join(sorted(members))})")
                continue
            given[members[name]] = key
            if not key.endswith(".$"):
                yield from _check(shape.members[members[name]], item, f"{where}.{name}",
                                  (context[0], context[1], name))
        for required in shape.required_members:
            if required not in given:
                yield f"{where}: required member {_pascal(required)} of {shape.name} is missing"
    elif kind == "list":
        if not isinstance(value, list):
            yield f"{where}: expected a list, got {type(value).__name__}"
            return
        for i, item in enumerate(value):
            yield from _check(shape.member, item, f"{where}[{i}]", context)
    elif kind == "map":
        if not isinstance(value, dict):
            yield f"{where}: expected a map, got {type(value).__name__}"
            return
        for key, item in value.items():
            if not key.endswith(".$"):
                yield from _check(shape.value, item, f"{where}.{key}", context)
    elif kind in ("string", "blob"):
        if context in _JSON_PAYLOADS:
            return
        if not isinstance(value, str):
            yield f"{where}: expected a string, got {type(value).__name__}"
            return
        if kind == "string" and shape.enum and value not in shape.enum:
            yield f"{where}: {value!r} is not one of {', '.join(shape.enum)}"
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            yield f"{where}: expected an integer, got {value!r}"
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            yield f"{where}: expected a number, got {value!r}"
    elif kind == "boolean":
        if not isinstance(value, bool):
            yield f"{where}: expected a boolean, got {value!r}"


def check_definition(machine: str, definition: dict) -> tuple[list[Finding], int]:
    """(findings, number of API tasks checked) for one state machine definition."""
    findings: list[Finding] = []
    checked = 0
    for state_name, state in task_states(definition):
        if state.get("Type") != "Task":
            continue
        operation = operation_for(state.get("Resource"))
        if operation is None:
            continue
        service, action = operation
        try:
            model = _model(service).operation_model(action)
        except Exception as error:  # unknown service or operation
            findings.append(Finding(machine, state_name,
                                    f"{state['Resource']}: no such API in botocore ({error})"))
            continue
        checked += 1
        parameters = state.get("Parameters", state.get("Arguments", {}))
        if model.input_shape is None:
            if parameters:
                findings.append(Finding(machine, state_name, f"{action} takes no parameters"))
            continue
        for message in _check(model.input_shape, parameters, action, (service, action, "")):
            findings.append(Finding(machine, state_name, message))
    return findings, checked
