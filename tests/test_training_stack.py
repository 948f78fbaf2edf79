"""The training stack in the synthesized app."""

from __future__ import annotations

import json


def test_training_lives_in_the_pipeline_environment_only(synth, sample_config) -> None:
    assert sample_config.training.pipeline_environment == "dev"
    assert "dev/Training" in synth.templates
    assert "preprod/Training" not in synth.templates and "prod/Training" not in synth.templates


def test_gate_uses_configured_metric_and_threshold(synth, sample_config) -> None:
    machines = synth.resources("dev", "Training", "AWS::StepFunctions::StateMachine")
    assert len(machines) == 2  # training and retraining
    training = next(m for k, m in machines.items() if k.startswith("TrainingWorkflow"))
    text = json.dumps(training["Properties"]["DefinitionString"])
    gate = sample_config.training.gate
    assert f"metrics.{gate.metric}.value" in text
    assert f'\\"NumericGreaterThanEquals\\":{gate.threshold}' in text


def test_registry_and_lineage_function(synth) -> None:
    groups = synth.resources("dev", "Training", "AWS::SageMaker::ModelPackageGroup")
    assert [g["Properties"]["ModelPackageGroupName"] for g in groups.values()] == [
        "mlp-dev-credit-default"]
    functions = synth.resources("dev", "Training", "AWS::Lambda::Function")
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == ["lineage_recorder_handler.handler", "retrain_trigger_handler.handler"]
    lineage = next(f["Properties"] for f in functions.values()
                   if f["Properties"]["Handler"] == "lineage_recorder_handler.handler")
    assert lineage["VpcConfig"]["SubnetIds"] and lineage["TracingConfig"] == {"Mode": "Active"}


def test_pipeline_in_the_app(synth) -> None:
    pipelines = synth.resources("dev", "Training", "AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 1
    props = next(iter(pipelines.values()))["Properties"]
    assert props["Name"] == "mlp-dev-credit-default-training"
    assert [s["Name"] for s in props["Stages"]] == [
        "Source", "BuildAndTest", "Train", "Approve",
        "DeployPreProd", "QA", "ApproveProduction", "DeployProd"]


def test_retrain_trigger_is_wired_to_an_encrypted_idempotency_table(synth) -> None:
    tables = synth.resources("dev", "Training", "AWS::DynamoDB::Table")
    table = next(iter(tables.values()))
    assert table["DeletionPolicy"] == "Retain"
    props = table["Properties"]
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["KMSMasterKeyId"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    functions = synth.resources("dev", "Training", "AWS::Lambda::Function")
    trigger = next(f["Properties"] for f in functions.values()
                   if f["Properties"]["Handler"] == "retrain_trigger_handler.handler")
    env = trigger["Environment"]["Variables"]
    assert {"TRAINING_STATE_MACHINE_ARN", "IDEMPOTENCY_TABLE", "RETRAIN_COOLDOWN_HOURS",
            "MODEL_PACKAGE_GROUP_NAME"} <= set(env)


def test_drift_from_serving_accounts_reaches_the_retrain_trigger(synth) -> None:
    rules = synth.resources("dev", "Training", "AWS::Events::Rule")
    drift = [r["Properties"] for r in rules.values()
             if r["Properties"].get("EventPattern", {}).get("account")]
    assert len(drift) == 2
    for rule in drift:
        assert rule["EventPattern"]["account"] == ["222222222222", "333333333333"]
    policies = synth.resources("dev", "Training", "AWS::Events::EventBusPolicy")
    principals = sorted(p["Properties"]["Statement"]["Principal"]["AWS"] for p in policies.values())
    assert principals == ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"]


def test_retraining_starts_the_governed_pipeline_idempotently() -> None:
    from cdk_constructs._retraining_workflow import build_retraining_definition

    definition = build_retraining_definition(pipeline_name="p", topic_arn="t")
    start = definition["States"]["StartPipeline"]
    assert start["Parameters"] == {"Name": "p", "ClientRequestToken.$": "$$.Execution.Name"}
    for state in definition["States"].values():
        if state["Type"] == "Task":
            assert state["Retry"] and state["Catch"]


def test_pipeline_failures_notify_operations(synth) -> None:
    rules = synth.resources("dev", "Training", "AWS::Events::Rule")
    assert any(r["Properties"].get("EventPattern", {}).get("detail", {}).get("state")
               == ["FAILED"] for r in rules.values())
