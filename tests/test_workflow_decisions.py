"""The production workflows' decisions, executed by moto's ASL interpreter: for each input,
the branch the deployment, model-quality and champion/challenger workflows take."""

from __future__ import annotations

import pytest

from cdk_constructs._champion_challenger_workflow import (
    ChampionChallengerSettings, build_champion_challenger_definition)
from cdk_constructs._deployment_workflow_definition import build_definition
from cdk_constructs._model_quality_workflow import (
    ModelQualitySettings, build_model_quality_definition)
from moto_choice import branch_taken
from workflow_settings import DEPLOYMENT_SETTINGS

DEPLOYMENT = build_definition(DEPLOYMENT_SETTINGS)["States"]
QUALITY = build_model_quality_definition(ModelQualitySettings(
    name_prefix="mlp-prod", endpoint_name="e", model_package_group_arn="g",
    model_package_group="grp", validation_metrics_bucket="models", monitoring_bucket="mon",
    monitoring_key_arn="k", instance_type="ml.m5.large", tolerances={"auc": 0.02},
    metrics_function_arn="f", operations_topic_arn="o", model_risk_topic_arn="r"))["States"]
QA = build_champion_challenger_definition(ChampionChallengerSettings(
    name_prefix="mlp-preprod", endpoint_name="e", model_package_group_arn="g",
    model_package_group="grp", execution_role_arn="r", subnet_ids=["a"],
    security_group_ids=["sg"], monitoring_bucket="mon", monitoring_key_arn="k",
    instance_type="ml.m5.large", margin=0.01, metrics_function_arn="f",
    model_risk_topic_arn="t"))["States"]
NEW_CONFIG = "mlp-prod-credit-default-config-abc"
MAX_WAITS = DEPLOYMENT_SETTINGS.max_wait_iterations


@pytest.mark.parametrize("status, config, waits, branch", [
    ("InService", NEW_CONFIG, 3, "Baseline"),          # the new configuration is live
    ("InService", "previous-config", 3, "RolledBack"),  # the guardrails rolled it back
    ("Failed", NEW_CONFIG, 3, "EndpointFailed"),
    ("Updating", NEW_CONFIG, MAX_WAITS, "WaitTimedOut"),
    ("Updating", NEW_CONFIG, MAX_WAITS - 1, "WaitForEndpoint"),
])
def test_deployment_waits_then_continues_rolls_back_or_fails(status, config, waits, branch):
    state_input = {"endpoint": {"status": status, "config": config},
                   "endpoint_config_name": NEW_CONFIG, "wait_count": waits}
    assert branch_taken(DEPLOYMENT["EndpointStatus"], state_input) == branch


@pytest.mark.parametrize("state_input, branch", [
    ({"model_package_arn": "arn:aws:sagemaker:eu-west-2:1:model-package/g/3"}, "Prepare"),
    ({"model_package_group_arn": "arn:aws:sagemaker:eu-west-2:1:model-package-group/g"},
     "FindApprovedPackage"),
])
def test_deployment_uses_the_given_package_or_looks_up_the_approved_one(state_input, branch):
    assert branch_taken(DEPLOYMENT["PackageGiven"], state_input) == branch


@pytest.mark.parametrize("summaries, branch", [
    ([{"ModelPackageArn": "arn:aws:sagemaker:eu-west-2:1:model-package/g/3"}],
     "UseApprovedPackage"),
    ([], "NoApprovedPackage"),  # nothing approved: nothing is deployed
])
def test_deployment_refuses_a_group_without_an_approved_version(summaries, branch):
    state_input = {"approved": {"ModelPackageSummaryList": summaries}}
    assert branch_taken(DEPLOYMENT["ApprovedPackageFound"], state_input) == branch


@pytest.mark.parametrize("result, branch", [
    ({"status": "OK", "degraded": False}, "QualityOk"),
    ({"status": "OK", "degraded": True}, "NotifyDegraded"),
    ({"status": "INVALID_INPUT", "degraded": False}, "InvalidInput"),
    ({"status": "OK", "degraded": False, "evidence": {"sufficient": False, "reason": "r"}},
     "NotifyInsufficientEvidence"),
    ({"status": "OK", "degraded": False, "evidence": {"sufficient": True}}, "QualityOk"),
])
def test_model_quality_check_reports_degradation_and_bad_input(result, branch):
    assert branch_taken(QUALITY["CheckResult"], {"quality": {"result": result}}) == branch


@pytest.mark.parametrize("approved, branch", [
    ([{"ModelPackageArn": "candidate"}, {"ModelPackageArn": "champion"}], "DescribeEndpoint"),
    ([{"ModelPackageArn": "candidate"}], "NotifyNoChampion"),  # first approved model
])
def test_qa_compares_only_when_a_champion_exists(approved, branch):
    assert branch_taken(QA["HasChampion"], {"packages": {"list": approved}}) == branch


@pytest.mark.parametrize("champion, candidate, branch", [
    ({"status": "OK"}, {"status": "OK", "degraded": False}, "NotifyPassed"),
    ({"status": "OK"}, {"status": "OK", "degraded": True}, "NotifyWorse"),
    ({"status": "INVALID_INPUT"}, {"status": "OK", "degraded": False}, "InvalidInput"),
    ({"status": "OK"}, {"status": "INVALID_INPUT", "degraded": False}, "InvalidInput"),
])
def test_qa_stops_a_worse_candidate_and_bad_holdout_data(champion, candidate, branch):
    state_input = {"champion": {"result": champion}, "candidate": {"result": candidate}}
    assert branch_taken(QA["Compare"], state_input) == branch


def _scheduled_calls(states: dict, start: str, keep: list[str], objects: list[str]) -> list[dict]:
    """Execute part of the deployment workflow in moto's ASL interpreter, with ``objects``
    in the monitoring bucket; returns the parameters of every createMonitoringSchedule call
    the interpreter made (moto's SageMaker does not implement that action, so the call itself
    then fails: what is checked is that the workflow makes it, and with what)."""
    import json
    import time

    import boto3
    from moto import mock_aws

    definition = {"StartAt": start, "States": {k: states[k] for k in keep}}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name="eu-west-2")
        s3.create_bucket(Bucket="monitoring-bucket",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        for key in objects:
            s3.put_object(Bucket="monitoring-bucket", Key=key, Body=b"{}")
        sfn = boto3.client("stepfunctions", region_name="eu-west-2")
        arn = sfn.create_state_machine(name="part", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"run_id": "r1"}))
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    return [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in events
            if e.get("taskScheduledEventDetails", {}).get("resource") == "createMonitoringSchedule"]


def test_deployment_schedules_bias_drift_once_the_runs_baseline_is_in_place():
    """Issue #14: the bias-drift monitor is scheduled on the endpoint (after BiasBaseline put
    the training run's analysis config under the monitor's prefix), like feature attribution."""
    from dataclasses import replace

    from test_clarify_monitoring import CLARIFY

    states = build_definition(replace(
        DEPLOYMENT_SETTINGS, clarify_monitors=CLARIFY, clarify_image="clarify:1.0",
        run_artifacts_bucket="pipeline-models",
        copy_image="sk/sagemaker-scikit-learn:1.2-1-cpu-py3"))["States"]
    assert states["BiasBaseline"]["Next"] == "ClarifyMonitors"
    keep = ["ClarifyMonitors", "ClarifyBaselinesPresent", "NotifyClarifyBaselineMissing",
            "Succeeded", "NotifyFailure", "DeploymentFailed"]
    calls = _scheduled_calls(states, "ClarifyMonitors", keep, [key for *_, key in CLARIFY])
    bias = [c for c in calls if c["MonitoringScheduleName"] == "mlp-prod-credit-default-model-bias"]
    assert len(bias) == 1
    assert bias[0]["MonitoringScheduleConfig"] == {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 2 ? * * *)"},
        "MonitoringJobDefinitionName": "mlp-prod-credit-default-model-bias",
        "MonitoringType": "ModelBias"}
    # no baseline under the monitor's prefix: no bias-drift schedule
    calls = _scheduled_calls(states, "ClarifyMonitors", keep, [CLARIFY[0][3]])
    assert not [c for c in calls if c["MonitoringScheduleName"].endswith("-model-bias")]
