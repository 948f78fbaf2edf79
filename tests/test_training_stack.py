"""The training stack in the synthesized app."""

from __future__ import annotations

import json


def test_training_lives_in_the_pipeline_environment_only(synth, sample_config) -> None:
    assert sample_config.training.pipeline_environment == "dev"
    assert "dev/Training" in synth.templates
    assert "preprod/Training" not in synth.templates and "prod/Training" not in synth.templates


def test_gate_uses_configured_metric_and_threshold(synth, sample_config) -> None:
    machines = synth.resources("dev", "Training", "AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    text = json.dumps(next(iter(machines.values()))["Properties"]["DefinitionString"])
    gate = sample_config.training.gate
    assert f"metrics.{gate.metric}.value" in text
    assert f'\\"NumericGreaterThanEquals\\":{gate.threshold}' in text


def test_registry_and_lineage_function(synth) -> None:
    groups = synth.resources("dev", "Training", "AWS::SageMaker::ModelPackageGroup")
    assert [g["Properties"]["ModelPackageGroupName"] for g in groups.values()] == [
        "mlp-dev-credit-default"]
    functions = synth.resources("dev", "Training", "AWS::Lambda::Function")
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == ["lineage_recorder_handler.handler"]
    lineage = next(iter(functions.values()))["Properties"]
    assert lineage["VpcConfig"]["SubnetIds"] and lineage["TracingConfig"] == {"Mode": "Active"}


def test_pipeline_in_the_app(synth) -> None:
    pipelines = synth.resources("dev", "Training", "AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 1
    props = next(iter(pipelines.values()))["Properties"]
    assert props["Name"] == "mlp-dev-credit-default-training"
    assert [s["Name"] for s in props["Stages"]] == ["Source", "BuildAndTest", "Train", "Approve"]
