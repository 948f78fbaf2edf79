"""The order in which the environments' stages must be deployed, derived from the assembly.

A stage must be deployed after every other stage it names a role of where AWS checks that
the role exists when the resource is created:

- a CodePipeline action whose ``RoleArn`` is a role of another stage: CodePipeline checks
  at creation that the pipeline role can assume it (the dev pipeline's deploy and QA actions
  use roles in the serving accounts);
- a resource-based or trust policy whose ``Principal`` names a role ARN of another stage:
  IAM, S3, KMS and SNS reject a policy naming a principal that does not exist. (Principals
  named through ``aws:PrincipalArn`` conditions, as the platform does, impose no order.)

Within one stage CDK orders the stacks itself (``cdk deploy '<env>/*'``); a cross-stage
``Fn::ImportValue`` cannot exist (stages live in different accounts).

``python -m compliance._deploy_order <cdk.out>`` prints the environments in a valid order
(``make deploy`` uses it); README "Deploying to a real account" documents the same order and
tests/test_deploy_order.py checks both against the prerequisites.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance._cfn_model import World, environments_of
from compliance._iam_eval import as_list


@dataclass(frozen=True)
class Prerequisite:
    first: str  # environment to deploy first
    then: str  # environment that needs it
    reason: str


def _env_of_role(world: World, arn: str) -> str | None:
    role = world.roles.get(arn)
    return role.env if role is not None else None


def _principal_roles(document: Any) -> Iterable[str]:
    for statement in as_list((document or {}).get("Statement")):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            for value in as_list(principal.get("AWS")):
                if isinstance(value, str) and re.match(r"^arn:[^:]+:iam::\d{12}:role/", value):
                    yield value


def prerequisites(world: World) -> list[Prerequisite]:
    found: set[Prerequisite] = set()
    for info in world.stacks.values():
        for body in info.resources.values():
            t = body.get("Type")
            if t == "AWS::CodePipeline::Pipeline":
                props = world.resolve(info, body.get("Properties") or {})
                for stage in props.get("Stages") or []:
                    for action in stage.get("Actions") or []:
                        role_env = _env_of_role(world, str(action.get("RoleArn") or ""))
                        if role_env is None and action.get("RoleArn"):
                            found.add(
                                Prerequisite(
                                    "(missing)",
                                    info.env,
                                    f"{info.env}/{info.stack} pipeline action "
                                    f"{stage['Name']}.{action['Name']} uses "
                                    f"{action['RoleArn']}, which no stage creates",
                                )
                            )
                        elif role_env and role_env != info.env:
                            found.add(
                                Prerequisite(
                                    role_env,
                                    info.env,
                                    f"{info.env}/{info.stack} pipeline action "
                                    f"{stage['Name']}.{action['Name']} assumes "
                                    f"{action['RoleArn']}",
                                )
                            )
    documents: list[tuple[str, str, Any]] = []
    for role in world.roles.values():
        documents.append((role.env, f"trust policy of {role.arn}", role.trust))
    for target in world.targets.values():
        for policy in target.policies:
            documents.append((target.env, f"policy of {target.arn}", policy))
    for env, where, document in documents:
        for arn in _principal_roles(document):
            role_env = _env_of_role(world, arn)
            if role_env and role_env != env:
                found.add(Prerequisite(role_env, env, f"{where} names {arn} as Principal"))
    return sorted(found, key=lambda p: (p.then, p.first, p.reason))


def violations(order: list[str], world: World) -> list[str]:
    """Why ``order`` (environment names, first deployed first) does not work; [] if it does."""
    problems = []
    envs = sorted({info.env for info in world.stacks.values()})
    missing = [e for e in envs if e not in order]
    if missing:
        problems.append(f"the order deploys no stage for {', '.join(missing)}")
    position = {env: i for i, env in enumerate(order)}
    for p in prerequisites(world):
        if p.first == "(missing)":
            problems.append(p.reason)
        elif p.first in position and p.then in position and position[p.first] > position[p.then]:
            problems.append(f"{p.then} is deployed before {p.first}, but {p.reason}")
    return problems


def deploy_order(world: World) -> list[str]:
    """The environments in a valid order (stable: otherwise in configuration order)."""
    envs: list[str] = []
    for info in world.stacks.values():
        if info.env not in envs:
            envs.append(info.env)
    edges = [(p.first, p.then) for p in prerequisites(world) if p.first != "(missing)"]
    order: list[str] = []
    remaining = list(envs)
    while remaining:
        ready = [
            e
            for e in remaining
            if not any(then == e and first in remaining for first, then in edges)
        ]
        if not ready:
            raise ValueError(f"the stages {remaining} need each other first: no deploy order works")
        order.append(ready[0])
        remaining.remove(ready[0])
    return order


def documented_order(markdown: str, section: str = "## Deploying to a real account") -> list[str]:
    """The environments in the order the README's section deploys them (``cdk deploy
    '<env>/*'`` lines)."""
    start = markdown.index(section)
    end = markdown.find("\n## ", start + len(section))
    text = markdown[start : end if end != -1 else None]
    return re.findall(r"cdk deploy '([a-z0-9-]+)/\*'", text)


def world_of(outdir: Path | str) -> World:
    from review.assembly import load_assembly

    assembly = load_assembly(outdir)
    templates = {
        f"{env}/{stack}": template
        for env, environment in assembly.environments.items()
        for stack, template in environment.templates.items()
    }
    return World(templates, environments_of(outdir))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m compliance._deploy_order <cdk.out>", file=sys.stderr)
        return 2
    print(" ".join(deploy_order(world_of(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
