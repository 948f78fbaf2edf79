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
