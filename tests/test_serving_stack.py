"""The serving stack: alarms for every metric of issue 6, drift wiring, cross-account roles."""

from __future__ import annotations

import json

import pytest

ENDPOINT = {"preprod": "mlp-preprod-credit-default", "prod": "mlp-prod-credit-default"}


def _alarms(synth, stage) -> list[dict]:
    return [r["Properties"] for r in synth.resources(stage, "Serving",
                                                     "AWS::CloudWatch::Alarm").values()]


@pytest.mark.parametrize("stage", ["preprod", "prod"])
@pytest.mark.parametrize("metric, namespace", [
    ("ModelLatency", "AWS/SageMaker"), ("Invocation5XXErrors", "AWS/SageMaker"),
    ("Invocation4XXErrors", "AWS/SageMaker"), ("CPUUtilization", "/aws/sagemaker/Endpoints"),
    ("MemoryUtilization", "/aws/sagemaker/Endpoints")])
def test_endpoint_alarm_with_a_notification_action(synth, stage, metric, namespace) -> None:
    matching = [a for a in _alarms(synth, stage)
                if a.get("MetricName") == metric and a.get("Namespace") == namespace]
    assert len(matching) == 1
    alarm = matching[0]
    assert {"Name": "EndpointName", "Value": ENDPOINT[stage]} in alarm["Dimensions"]
    assert alarm["AlarmActions"], "an alarm must reach a person"


@pytest.mark.parametrize("stage", ["preprod", "prod"])
def test_latency_alarm_is_p99(synth, stage) -> None:
    latency = next(a for a in _alarms(synth, stage) if a.get("MetricName") == "ModelLatency")
    assert latency["ExtendedStatistic"] == "p99"


@pytest.mark.parametrize("stage", ["preprod", "prod"])
def test_workflow_alarms_on_failed_and_timed_out_executions(synth, stage) -> None:
    metrics = {a.get("MetricName") for a in _alarms(synth, stage)}
    names = json.dumps(_alarms(synth, stage))
    assert "ExecutionsFailed" in names and "ExecutionsTimedOut" in names, metrics


def test_drift_alarm_per_configured_feature(synth, sample_config) -> None:
    drift = [a for a in _alarms(synth, "prod")
             if a.get("Namespace") == "aws/sagemaker/Endpoints/data-metrics"]
    assert sorted(a["MetricName"] for a in drift) == sorted(
        f"feature_baseline_drift_{f}" for f in sample_config.serving.features)
    for alarm in drift:
        assert alarm["AlarmName"].startswith("mlp-prod-credit-default-drift-")
        assert alarm["AlarmActions"]


def test_rollback_alarms_are_the_endpoint_alarms(synth) -> None:
    template = json.dumps(synth.resources("prod", "Serving", "AWS::StepFunctions::StateMachine"))
    assert "mlp-prod-credit-default-latency-p99" in template
    assert "mlp-prod-credit-default-5xx-errors" in template
    assert "BlueGreenUpdatePolicy" in template


def test_drift_events_go_to_the_pipeline_accounts_bus(synth) -> None:
    rules = synth.resources("prod", "Serving", "AWS::Events::Rule")
    patterns = [r["Properties"]["EventPattern"] for r in rules.values()
                if "EventPattern" in r["Properties"]]
    kinds = {p["detail-type"][0] for p in patterns}
    assert {"CloudWatch Alarm State Change", "SageMaker Processing Job State Change"} <= kinds
    for rule in rules.values():
        for target in rule["Properties"].get("Targets", []):
            if "event-bus" in json.dumps(target["Arn"]):
                assert target["Arn"] == "arn:aws:events:eu-west-2:111111111111:event-bus/default"
                assert target["RoleArn"]


def test_pipeline_deploy_role_trusts_only_the_pipeline_role(synth) -> None:
    roles = synth.resources("prod", "Serving", "AWS::IAM::Role")
    deploy = next(r["Properties"] for r in roles.values()
                  if r["Properties"].get("RoleName") == "mlp-prod-pipeline-deploy")
    statement = deploy["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Condition"] == {"ArnEquals": {
        "aws:PrincipalArn": "arn:aws:iam::111111111111:role/mlp-dev-pipeline"}}


def test_dashboard_per_serving_environment(synth) -> None:
    for stage in ("preprod", "prod"):
        assert synth.resources(stage, "Serving", "AWS::CloudWatch::Dashboard")


def test_serving_environments_come_from_config(synth) -> None:
    assert "dev/Serving" not in synth.templates


def test_pipeline_deploys_preprod_then_approval_then_prod(synth) -> None:
    pipeline = next(iter(synth.resources("dev", "Training", "AWS::CodePipeline::Pipeline").values()))
    stages = [s["Name"] for s in pipeline["Properties"]["Stages"]]
    assert stages[-4:] == ["DeployPreProd", "QA", "ApproveProduction", "DeployProd"]
    qa = pipeline["Properties"]["Stages"][-3]["Actions"][0]
    assert qa["Configuration"]["StateMachineArn"] == (
        "arn:aws:states:eu-west-2:222222222222:stateMachine:mlp-preprod-champion-challenger")
    assert qa["RoleArn"] == "arn:aws:iam::222222222222:role/mlp-preprod-pipeline-deploy"
    for stage in pipeline["Properties"]["Stages"][-4:]:
        action = stage["Actions"][0]
        if stage["Name"].startswith("Deploy"):
            env = "preprod" if stage["Name"] == "DeployPreProd" else "prod"
            account = {"preprod": "222222222222", "prod": "333333333333"}[env]
            assert action["RoleArn"] == f"arn:aws:iam::{account}:role/mlp-{env}-pipeline-deploy"
            assert action["Configuration"]["StateMachineArn"] == (
                f"arn:aws:states:eu-west-2:{account}:stateMachine:mlp-{env}-deployment")
            assert "#{BuildVariables.RUN_ID}" in action["Configuration"]["Input"]


def test_model_quality_check_is_scheduled_and_its_alarm_is_a_drift_signal(synth) -> None:
    schedules = synth.resources("prod", "Serving", "AWS::Scheduler::Schedule")
    schedule = next(iter(schedules.values()))["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 6 ? * MON *)"
    assert schedule["KmsKeyArn"]
    degraded = [a for a in _alarms(synth, "prod") if a.get("MetricName") == "Degraded"]
    assert len(degraded) == 1
    assert degraded[0]["AlarmName"] == "mlp-prod-credit-default-drift-model-quality"
    assert {"Name": "ModelPackageGroup", "Value": "mlp-dev-credit-default"} in \
        degraded[0]["Dimensions"]


def test_model_quality_definition_transform_and_comparison() -> None:
    from cdk_constructs._model_quality_workflow import (
        FAILURE_NOTICE, ModelQualitySettings, build_model_quality_definition)

    s = ModelQualitySettings(
        name_prefix="mlp-prod", endpoint_name="e", model_package_group_arn="g",
        model_package_group="grp", validation_metrics_bucket="models", monitoring_bucket="mon",
        monitoring_key_arn="k", instance_type="ml.m5.large", tolerances={"auc": 0.02},
        metrics_function_arn="f", operations_topic_arn="o", model_risk_topic_arn="r")
    d = build_model_quality_definition(s)
    transform = d["States"]["Transform"]["Parameters"]
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input",
                                           "OutputFilter": "$[0,-1]"}
    assert transform["TransformOutput"]["KmsKeyId"] == "k"
    assert transform["TransformResources"]["VolumeKmsKeyId"] == "k"
    payload = d["States"]["ComputeMetrics"]["Parameters"]["Payload"]
    assert payload["tolerances"] == {"auc": 0.02}
    assert payload["baseline_metrics.$"] == "$.baseline.document"
    for name, state in d["States"].items():
        if state["Type"] == "Task":
            assert state["Retry"], name
            assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name
    assert d["States"]["CheckResult"]["Choices"][0]["Next"] == "InvalidInput"
    assert d["States"]["InvalidInput"]["Next"] == FAILURE_NOTICE


def test_champion_challenger_stops_the_pipeline_with_the_figures() -> None:
    from cdk_constructs._champion_challenger_workflow import (
        ChampionChallengerSettings, build_champion_challenger_definition)

    s = ChampionChallengerSettings(
        name_prefix="mlp-preprod", endpoint_name="e", model_package_group_arn="g",
        model_package_group="grp", execution_role_arn="r", subnet_ids=["a"],
        security_group_ids=["sg"], monitoring_bucket="mon", monitoring_key_arn="k",
        instance_type="ml.m5.large", margin=0.01, metrics_function_arn="f",
        model_risk_topic_arn="t")
    d = build_champion_challenger_definition(s)
    states = d["States"]
    candidate = states["CandidateMetrics"]["Parameters"]["Payload"]
    assert candidate["baseline_metrics.$"] == "$.champion.result.metrics"
    assert candidate["default_tolerance"] == 0.01
    assert states["Compare"]["Choices"][1]["Next"] == "NotifyWorse"
    assert "comparison" in states["NotifyWorse"]["Parameters"]["Message.$"]
    assert states["NotifyWorse"]["Next"] == "CandidateWorse"
    assert states["CandidateWorse"]["Type"] == "Fail"
    champion = states["CreateChampionModel"]["Parameters"]
    assert champion["EnableNetworkIsolation"] is True and champion["VpcConfig"]["Subnets"]
    for branch in states["BackTest"]["Branches"]:
        job = next(iter(branch["States"].values()))["Parameters"]
        assert job["TransformOutput"]["KmsKeyId"] == "k"
        assert job["TransformResources"]["VolumeKmsKeyId"] == "k"


def test_qa_workflow_only_in_preprod(synth) -> None:
    def names(stage):
        return [m["Properties"]["StateMachineName"] for m in
                synth.resources(stage, "Serving", "AWS::StepFunctions::StateMachine").values()]
    assert "mlp-preprod-champion-challenger" in names("preprod")
    assert not any("champion" in n for n in names("prod"))


def test_serving_in_the_pipeline_environment_synthesizes_clean(sample_config_data, tmp_path) -> None:
    """serving.environments may include dev (where the pipeline and registry live): the dev
    stage then holds Training and Serving together, with no name clash and zero
    unacknowledged findings from the four nag packs and cfn-guard."""
    import copy

    from platform_config import parse_config
    from synth_support import synthesize

    data = copy.deepcopy(sample_config_data)
    data["serving"]["environments"] = ["dev", "preprod", "prod"]
    result = synthesize(parse_config(data), tmp_path, environments=("dev",))
    assert {"dev/Training", "dev/Serving"} <= set(result.templates)
    pipeline = next(r for r in result.templates["dev/Training"]["Resources"].values()
                    if r["Type"] == "AWS::CodePipeline::Pipeline")
    assert "DeployDev" in [s["Name"] for s in pipeline["Properties"]["Stages"]]
    names: list[tuple[str, str]] = []  # (resource type, physical name): unique per type
    for template in result.templates.values():
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            names += [(resource["Type"], v) for k, v in props.items()
                      if k in ("TopicName", "StateMachineName", "RoleName", "ManagedPolicyName",
                               "BucketName", "FunctionName", "Name", "ModelPackageGroupName",
                               "EndpointName", "MonitoringScheduleName", "TableName")
                      and isinstance(v, str)]
    assert len(names) > 20
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert (tmp_path / "manifest.json").exists()
