"""Every state machine definition of every stage passes the pinned ``asl-validator`` (npm), the
Amazon States Language validator: JSON schema, intrinsic functions, JSONPath expressions,
state names unique in the whole machine (Parallel branches included), transitions.

All definitions, and the mutated copies that prove the check catches issue #13's finding 1,
go through ONE node process (asl_validate.js)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules" / ".bin" / "node"
SCRIPT = Path(__file__).with_name("asl_validate.js")


def _asl_validate(definitions: dict[str, dict], workdir: Path) -> dict[str, list[dict]]:
    source = workdir / "definitions.json"
    source.write_text(json.dumps(definitions))
    done = subprocess.run([str(NODE), str(SCRIPT), str(source)], capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def _machine(state_machines: dict, state: str) -> tuple[str, dict]:
    """The first machine (sorted by name) with a top-level state ``state``."""
    for name in sorted(state_machines):
        if state in state_machines[name]["States"]:
            return name, state_machines[name]
    raise AssertionError(f"no state machine has a state {state}")


def _unclosed_format(definition: dict) -> dict:
    """Finding 1 as it was: ``States.Format(...`` without its closing parenthesis."""
    broken = copy.deepcopy(definition)
    mutated = 0
    for branch in broken["States"]["BackTest"]["Branches"]:
        for state in branch["States"].values():
            value = state.get("Parameters", {}).get("TransformJobName.$")
            if value:
                assert value.endswith(")")
                state["Parameters"]["TransformJobName.$"] = value[:-1]
                mutated += 1
    assert mutated == 2
    return broken


def _duplicate_branch_state_names(definition: dict) -> dict:
    """Finding 1 as it was: every Parallel branch's only state is called ``Head``."""
    broken = copy.deepcopy(definition)
    for branch in broken["States"]["DescribeDatasets"]["Branches"]:
        (state,) = branch["States"].values()
        branch["StartAt"], branch["States"] = "Head", {"Head": state}
    return broken


@pytest.fixture(scope="module")
def results(state_machines, tmp_path_factory) -> dict[str, list[dict]]:
    champion_name, champion = _machine(state_machines, "BackTest")
    training_name, training = _machine(state_machines, "DescribeDatasets")
    return _asl_validate({
        **state_machines,
        "mutant/unclosed-format": _unclosed_format(champion),
        "mutant/duplicate-state-names": _duplicate_branch_state_names(training),
    }, tmp_path_factory.mktemp("asl"))


@pytest.mark.slow
def test_every_state_machine_of_every_stage_passes_asl_validator(state_machines,
                                                                   results) -> None:
    stages = {name.split("/")[0] for name in state_machines}
    assert stages == {"dev", "preprod", "prod"}
    invalid = {name: errors for name, errors in results.items()
               if name in state_machines and errors}
    assert not invalid, json.dumps(invalid, indent=1)


@pytest.mark.slow
def test_asl_validator_rejects_an_unclosed_intrinsic_function(results) -> None:
    errors = results["mutant/unclosed-format"]
    assert errors and all(e["code"] == "SCHEMA_VALIDATION_FAILED" for e in errors)
    assert any("TransformJobName.$" in e["message"] for e in errors)


@pytest.mark.slow
def test_asl_validator_rejects_state_names_repeated_across_parallel_branches(results) -> None:
    assert {"code": "DUPLICATE_STATE_NAMES",
            "message": "A state with this name already exists: Head"} in \
        results["mutant/duplicate-state-names"]


def test_asl_validator_is_the_pinned_version() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["asl-validator"]
    installed = json.loads(
        (ROOT / "node_modules" / "asl-validator" / "package.json").read_text())["version"]
    assert installed == pinned == "4.0.0"
