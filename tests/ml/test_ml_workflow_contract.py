"""The training workflow passes each ml/ script only arguments that script accepts.

Finding 3 of issue #14: the workflow passes ``--facet-values`` as separate arguments
(``"--facet-values", *values``), and a facet with two values made ``bias.py`` exit 2 before
registration. These tests parse exactly the ``ContainerArguments`` the Step Functions
definition renders, with each script's own parser.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from credit_default import bias, evaluate, explain, model_card, preprocess

definition_module = pytest.importorskip("cdk_constructs._training_workflow_definition")

PARSERS = {
    "preprocess.py": preprocess.build_parser,
    "evaluate.py": evaluate.build_parser,
    "explain.py": explain.build_parser,
    "bias.py": bias.build_parser,
    "model_card.py": model_card.build_parser,
}


def _placeholder(kind: typing.Any) -> typing.Any:
    text = str(kind)
    for name, value in (("list", ["x"]), ("dict", {}), ("bool", False), ("int", 1), ("float", 0.5)):
        if text.startswith(name) or text == "<class '%s'>" % name:
            return value
    return "x"


def _settings(**overrides):
    """Settings with a placeholder for every required field (robust to new fields)."""
    cls = definition_module.TrainingWorkflowSettings
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    values = {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            values[f.name] = _placeholder(hints[f.name])
    values.update(hyperparameters={"max_depth": "5"}, gate_metric="auc", gate_threshold=0.7)
    values.update(overrides)
    return cls(**values)


def _script_jobs(node, found):
    """Every (script, ContainerArguments) in the definition, Parallel branches included."""
    if isinstance(node, dict):
        app = node.get("AppSpecification")
        if isinstance(app, dict) and app.get("ContainerEntrypoint"):
            found.append((app["ContainerEntrypoint"][-1].rsplit("/", 1)[-1], list(app.get("ContainerArguments", []))))
        for value in node.values():
            _script_jobs(value, found)
    elif isinstance(node, list):
        for value in node:
            _script_jobs(value, found)
    return found


@pytest.mark.parametrize("values", [["2"], ["1", "2"], ["1", "2", "3"]])
def test_bias_parses_exactly_what_the_workflow_passes(values):
    definition = definition_module.build_definition(_settings(facet_column="SEX", facet_values=values))
    jobs = [args for script, args in _script_jobs(definition, []) if script == "bias.py"]
    assert jobs, "the workflow has no bias.py job"
    for args in jobs:
        parsed = bias.build_parser().parse_args(args)  # exits 2 on an argument it does not accept
        assert bias._value_list(parsed.facet_values) == [int(v) for v in values]


def test_every_script_accepts_the_workflow_arguments():
    definition = definition_module.build_definition(_settings(facet_column="SEX", facet_values=["1", "2"]))
    jobs = _script_jobs(definition, [])
    assert {"preprocess.py", "evaluate.py", "explain.py", "bias.py"} <= {script for script, _ in jobs}
    for script, args in jobs:
        if script in PARSERS:
            PARSERS[script]().parse_args(args)


def test_facet_values_forms_all_parse_the_same():
    parser = bias.build_parser()
    forms = (["--facet-values", "1", "2"], ["--facet-values", "1,2"], ["--facet-values=1,2"], ["--facet-values", "1,", "2"])
    assert {tuple(bias._value_list(parser.parse_args(f).facet_values)) for f in forms} == {(1, 2)}
