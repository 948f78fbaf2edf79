"""Two claims checked against the assembly (#13 findings 15 and 19): a champion/challenger
back-test never publishes quality metrics on the dimensions of the production model-quality
alarm, and the README's notebook access steps use the sign-in the access role trusts."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from compliance._cfn_model import World, environments_of

ROOT = Path(__file__).resolve().parents[1]
METRICS_HANDLER = "model_quality_metrics_handler.handler"


def _metrics_publishers(world: World) -> dict[tuple[str, str, str], set[str]]:
    """(env, ModelPackageGroup, Endpoint) -> state machines that publish metrics there."""
    from compliance._calls import _Deriver, _task_states_named

    deriver = _Deriver(world)
    deriver.collect_machines()
    out: dict[tuple[str, str, str], set[str]] = {}
    for info, logical, _props, definition in deriver.machines:
        machine = world.physical(info, logical).rsplit(":", 1)[-1]
        for _name, state in _task_states_named(definition):
            params = state.get("Parameters") or {}
            function = deriver._function(str(params.get("FunctionName", "")))
            if function is None or function[1].get("Handler") != METRICS_HANDLER:
                continue
            payload = params.get("Payload") or {}
            key = (info.env, payload.get("model_package_group"), payload.get("endpoint_name") or "none")
            out.setdefault(key, set()).add(machine)
    return out


def _degraded_alarms(world: World) -> dict[tuple[str, str, str], str]:
    alarms = {}
    for info in world.stacks.values():
        for logical, body in info.resources.items():
            props = body.get("Properties") or {}
            if body.get("Type") == "AWS::CloudWatch::Alarm" and props.get("MetricName") == "Degraded":
                dims = {d["Name"]: world.resolve(info, d["Value"]) for d in props["Dimensions"]}
                alarms[(info.env, dims["ModelPackageGroup"], dims["Endpoint"])] = props["AlarmName"]
    return alarms


def _offenders(world: World) -> list[str]:
    publishers = _metrics_publishers(world)
    return [f"{machine} publishes Degraded on the dimensions of alarm {alarm}"
            for dims, alarm in _degraded_alarms(world).items()
            for machine in publishers.get(dims, set())
            if not machine.endswith("-model-quality")]


@pytest.fixture(scope="module")
def environments(synth):
    return environments_of(synth.outdir)


def test_only_the_model_quality_check_feeds_the_quality_alarm(synth, environments) -> None:
    world = World(synth.templates, environments)
    alarms = _degraded_alarms(world)
    publishers = _metrics_publishers(world)
    assert alarms and all(any(m.endswith("-model-quality") for m in publishers.get(d, ()))
                          for d in alarms), "each quality alarm is fed by its model-quality check"
    assert any("champion-challenger" in m for ms in publishers.values() for m in ms)
    assert _offenders(world) == []


def test_finding_15_back_test_on_the_endpoint_dimension_is_caught(synth, environments) -> None:
    templates = copy.deepcopy(synth.templates)
    text = json.dumps(templates["preprod/Serving"])
    assert "mlp-preprod-credit-default-qa-candidate" in text
    templates["preprod/Serving"] = json.loads(
        text.replace("mlp-preprod-credit-default-qa-candidate", "mlp-preprod-credit-default"))
    offenders = _offenders(World(templates, environments))
    assert offenders and "champion-challenger" in offenders[0]


# --- finding 19 -----------------------------------------------------------------------------------

def _section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = re.search(r"\n#{2,3} ", markdown[start + len(heading):])
    return markdown[start:start + len(heading) + end.start()] if end else markdown[start:]


def access_step_problems(section: str, trusts: list[dict]) -> list[str]:
    """What the section's commands get wrong for trust policies ``trusts``."""
    problems = []
    first = re.search(r"aws sts (assume-role(?:-with-saml)?)\b", section)
    kinds = {action for t in trusts for s in t["Statement"]
             for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
             if action in ("sts:AssumeRole", "sts:AssumeRoleWithSAML")}
    if kinds == {"sts:AssumeRoleWithSAML"}:
        if not first or first.group(1) != "assume-role-with-saml":
            problems.append("the role trusts SAML only: the first step must be "
                            "`aws sts assume-role-with-saml`")
        providers = {p for t in trusts for s in t["Statement"]
                     for p in (s.get("Principal") or {}).get("Federated", [])}
        for provider in providers:
            name = provider.split("/")[-1]
            if f"saml-provider/{name}" not in section:
                problems.append(f"the steps do not name the trusted provider {name}")
    if "sts:AssumeRole" in kinds and "--serial-number" not in section:
        problems.append("the role trusts IAM principals with MFA: show --serial-number")
    return problems


def _data_scientist_trusts(synth) -> list[dict]:
    trusts = []
    for key, template in synth.templates.items():
        for body in template["Resources"].values():
            name = json.dumps((body.get("Properties") or {}).get("RoleName", ""))
            if body["Type"] == "AWS::IAM::Role" and "nb-access-" in name:
                trusts.append(body["Properties"]["AssumeRolePolicyDocument"])
    return trusts


def test_readme_notebook_steps_match_the_access_roles_trust(synth) -> None:
    trusts = _data_scientist_trusts(synth)
    assert trusts
    section = _section((ROOT / "README.md").read_text(), "### Open your notebook")
    assert access_step_problems(section, trusts) == []


def test_finding_19_assume_role_steps_for_a_saml_only_role_are_caught(synth) -> None:
    old = ("### Open your notebook\n```bash\naws sts assume-role --role-arn "
           "arn:aws:iam::<account>:role/mlp-dev-nb-access-<you> --role-session-name <you> "
           "--serial-number <mfa device> --token-code <code>\n```\n")
    problems = access_step_problems(old, _data_scientist_trusts(synth))
    assert any("assume-role-with-saml" in p for p in problems)
