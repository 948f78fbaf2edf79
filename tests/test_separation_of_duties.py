"""Only the model-risk approver may approve: across every synthesized template, no other
identity policy allows codepipeline:PutApprovalResult or sagemaker:UpdateModelPackage, and
the one AWS managed policy that could (the break-glass admin's PowerUserAccess) is denied."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.control("authorization")

APPROVAL_ACTIONS = {"codepipeline:PutApprovalResult", "sagemaker:UpdateModelPackage"}


def _actions(statement: dict) -> set[str]:
    action = statement.get("Action", [])
    return set(action if isinstance(action, list) else [action])


def _policies(templates: dict[str, dict]):
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                document = resource["Properties"]["PolicyDocument"]
                yield stack, logical_id, resource, document["Statement"]


def test_only_the_approver_policy_allows_approval(synth) -> None:
    allowing = set()
    for stack, logical_id, resource, statements in _policies(synth.templates):
        for statement in statements:
            if statement["Effect"] == "Allow" and _actions(statement) & APPROVAL_ACTIONS:
                allowing.add((stack, resource["Properties"].get("ManagedPolicyName", logical_id)))
    assert allowing, "the approver must be able to approve"
    assert all("approver" in name.lower() for _, name in allowing), allowing
    assert {stack.split("/")[0] for stack, _ in allowing} == {"dev", "preprod", "prod"}


def test_break_glass_admin_is_denied_approval(synth) -> None:
    denied = []
    for stack, logical_id, resource, statements in _policies(synth.templates):
        for statement in statements:
            if statement["Effect"] == "Deny" and APPROVAL_ACTIONS <= _actions(statement):
                denied.append((stack, resource["Properties"].get("ManagedPolicyName", logical_id)))
    assert len(denied) == 3 and all("admin" in name.lower() for _, name in denied), denied
