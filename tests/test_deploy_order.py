"""Deploy order (#13 finding 2): the prerequisites between stages come from the assembly;
the README's documented order and `make deploy` satisfy them; deploying dev first does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance._cfn_model import World, environments_of
from compliance._deploy_order import (
    deploy_order,
    documented_order,
    main,
    prerequisites,
    violations,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(synth) -> World:
    return World(synth.templates, environments_of(synth.outdir))


def test_pipeline_actions_in_other_accounts_are_prerequisites(world) -> None:
    found = {(p.first, p.then) for p in prerequisites(world)}
    assert ("preprod", "dev") in found and ("prod", "dev") in found
    reasons = " ".join(p.reason for p in prerequisites(world))
    assert "mlp-preprod-pipeline-deploy" in reasons and "mlp-prod-pipeline-deploy" in reasons


def test_readme_documents_an_order_that_works(world) -> None:
    order = documented_order((ROOT / "README.md").read_text())
    assert order, "README 'Deploying to a real account' shows no cdk deploy commands"
    assert violations(order, world) == []


def test_deploying_the_pipeline_stage_first_is_refused(world) -> None:
    problems = violations(["dev", "preprod", "prod"], world)
    assert any("dev is deployed before preprod" in p for p in problems)
    assert violations(["preprod", "dev"], world)  # prod missing, and before dev


def test_make_deploy_runs_the_derived_order(world, synth, capsys) -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("\ndeploy:"):makefile.index("\ndeploy-local:")]
    assert "-m compliance._deploy_order $(OUT)" in target and 'cdk deploy "$$env/*"' in target
    assert main([str(synth.outdir)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == deploy_order(world)
    assert violations(printed, world) == []


def test_a_role_named_as_principal_across_stages_is_a_prerequisite(synth) -> None:
    """Besides pipeline actions: a policy naming another stage's role ARN as Principal."""
    import copy

    templates = copy.deepcopy(synth.templates)
    bucket_policy = next(body for body in templates["dev/Foundation"]["Resources"].values()
                         if body["Type"] == "AWS::S3::BucketPolicy")
    bucket_policy["Properties"]["PolicyDocument"]["Statement"].append({
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Principal": {"AWS": "arn:aws:iam::333333333333:role/mlp-prod-endpoint"}})
    world = World(templates, environments_of(synth.outdir))
    assert any(p.first == "prod" and p.then == "dev" and "as Principal" in p.reason
               for p in prerequisites(world))
