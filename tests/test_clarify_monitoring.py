"""All four Model Monitor types on every endpoint (issue #14): the two SageMaker Clarify job
definitions in each serving stack, their schedules in the deployment workflow (run in moto's
interpreter), and the review pack's Explainability control in pre-production and production."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from cdk_constructs._deployment_workflow_definition import build_definition
from review.assembly import from_templates
from review.controls import IMPLEMENTED, NOT_YET, evaluate
from tests.moto_choice import branch_taken
from tests.workflow_settings import DEPLOYMENT_SETTINGS

CLARIFY = [("FeatureAttributionDrift", "mlp-prod-credit-default-model-explainability",
            "ModelExplainability",
            "baselines/mlp-prod-credit-default/model-explainability/analysis_config.json"),
           ("BiasDrift", "mlp-prod-credit-default-model-bias", "ModelBias",
            "baselines/mlp-prod-credit-default/model-bias/analysis_config.json")]
CLARIFY_TYPES = ("AWS::SageMaker::ModelExplainabilityJobDefinition",
                 "AWS::SageMaker::ModelBiasJobDefinition")


@pytest.mark.parametrize("stage", ["preprod", "prod"])
def test_every_endpoint_has_both_clarify_job_definitions(synth, stage) -> None:
    endpoint = f"mlp-{stage}-credit-default"
    for type_, kind in zip(CLARIFY_TYPES, ("model-explainability", "model-bias")):
        resources = synth.resources(stage, "Serving", type_)
        assert len(resources) == 1, type_
        properties = next(iter(resources.values()))["Properties"]
        assert properties["JobDefinitionName"] == f"{endpoint}-{kind}"
        assert properties["NetworkConfig"]["EnableNetworkIsolation"] is (kind == "model-bias")
        assert properties["NetworkConfig"]["VpcConfig"]["Subnets"]
        assert properties["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        app = next(v for k, v in properties.items() if k.endswith("AppSpecification"))
        assert app["ConfigUri"].endswith(f"/baselines/{endpoint}/{kind}/analysis_config.json")


def test_deployment_workflow_schedules_both_monitors(synth) -> None:
    machines = synth.resources("prod", "Serving", "AWS::StepFunctions::StateMachine")
    text = json.dumps(machines)
    for _, name, monitoring_type, _ in CLARIFY:
        assert name in text and monitoring_type in text


@pytest.fixture(scope="module")
def definition() -> dict:
    return build_definition(replace(DEPLOYMENT_SETTINGS, clarify_monitors=CLARIFY,
                                    clarify_image="clarify:1.0",
                                    ground_truth_s3_uri="s3://monitoring-bucket/ground-truth/",
                                    run_artifacts_bucket="pipeline-models",
                                    copy_image="sk.dkr.ecr/sagemaker-scikit-learn:1.2-1-cpu-py3"))


def test_clarify_branches_create_a_schedule_once_the_baseline_exists(definition) -> None:
    states = definition["States"]
    assert states["UpdateModelQualitySchedule"]["Next"] == "ReadBaselineStatistics"
    # the monitor's config is written only once its baseline exists ...
    assert states["ExplainabilityBaseline"]["Next"] == "WriteExplainabilityConfig"
    assert states["WriteExplainabilityConfig"]["Next"] == "BiasBaseline"
    # ... and a failed baseline does not fail a deployment that is already serving
    for name in ("ReadBaselineStatistics", "WriteBaseliningConfig", "ExplainabilityBaseline",
                 "WriteExplainabilityConfig"):
        assert states[name]["Catch"][-1]["Next"] == "NotifyExplainabilityBaselineFailed", name
    assert states["NotifyExplainabilityBaselineFailed"]["Next"] == "BiasBaseline"
    parallel = states["ClarifyMonitors"]
    assert parallel["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    assert parallel["ResultSelector"] == {"FeatureAttributionDrift.$": "$[0].status",
                                          "BiasDrift.$": "$[1].status"}
    for branch, (stem, name, monitoring_type, key) in zip(parallel["Branches"], CLARIFY):
        head = branch["States"][f"{stem}BaselinePresent"]
        assert head["Parameters"] == {"Bucket": "monitoring-bucket", "Key": key}
        assert head["Catch"][0]["Next"] == f"{stem}BaselineMissing"
        create = branch["States"][f"Create{stem}Schedule"]["Parameters"]
        assert create["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == name
        assert create["MonitoringScheduleConfig"]["MonitoringType"] == monitoring_type
    names = [n for b in parallel["Branches"] for n in b["States"]]
    assert len(names) == len(set(names)) and not set(names) & set(states)  # unique names


def test_the_bias_drift_baseline_of_the_run_is_put_where_the_monitor_reads_it(definition) -> None:
    """The training run's bias step wrote runs/<run>/bias/monitor/{analysis_config,analysis}.json;
    an isolated job as the endpoint role copies both to the bias job definition's stable
    prefix (KMS), then the schedules are created; a failure notifies, the endpoint serves on."""
    states = definition["States"]
    job = states["BiasBaseline"]["Parameters"]
    assert states["BiasBaseline"]["Resource"] == "arn:aws:states:::sagemaker:createProcessingJob.sync"
    assert job["RoleArn"] == DEPLOYMENT_SETTINGS.execution_role_arn
    assert job["AppSpecification"]["ContainerEntrypoint"] == [
        "cp", "/opt/ml/processing/input/monitor/analysis_config.json",
        "/opt/ml/processing/input/monitor/analysis.json", "/opt/ml/processing/output/"]
    source = job["ProcessingInputs"][0]["S3Input"]
    assert source["S3Uri.$"] == "States.Format('s3://pipeline-models/runs/{}/bias/monitor/', $.run_id)"
    output = job["ProcessingOutputConfig"]
    assert output["KmsKeyId"] == DEPLOYMENT_SETTINGS.monitoring_key_arn
    # the folder of the bias monitor's ConfigUri (cdk_constructs/model_bias_monitor.py)
    assert output["Outputs"][0]["S3Output"]["S3Uri"] + "/analysis_config.json" == \
        "s3://monitoring-bucket/" + CLARIFY[1][3]
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == DEPLOYMENT_SETTINGS.monitoring_key_arn
    assert states["BiasBaseline"]["Next"] == "ClarifyMonitors"
    assert states["BiasBaseline"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyBiasBaselineFailed"}]
    assert states["NotifyBiasBaselineFailed"]["Next"] == "ClarifyMonitors"


def test_the_workflow_refuses_a_bias_monitor_without_the_runs_baseline_source() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_kms as kms

    from cdk_constructs._validation import ConstructPropsError
    from cdk_constructs.deployment_workflow import DeploymentWorkflow

    stack = Stack(App(), "S", env={"account": "333333333333", "region": "eu-west-2"})
    key = kms.Key(stack, "K")
    with pytest.raises(ConstructPropsError, match="run_artifacts_bucket"):
        DeploymentWorkflow(stack, "W", settings=replace(DEPLOYMENT_SETTINGS, clarify_monitors=CLARIFY,
                                                         clarify_image="clarify:1.0"),
                           state_machine_name="w", encryption_key=key, log_key=key,
                           log_retention_days=30, topic_key=key,
                           model_package_group_arn="arn:aws:sagemaker:eu-west-2:1:model-package-group/g")


@pytest.mark.parametrize("clarify, branch", [
    ({"FeatureAttributionDrift": "scheduled", "BiasDrift": "scheduled"}, "Succeeded"),
    ({"FeatureAttributionDrift": "scheduled", "BiasDrift": "baseline-missing"},
     "NotifyClarifyBaselineMissing"),
    ({"FeatureAttributionDrift": "baseline-missing", "BiasDrift": "scheduled"},
     "NotifyClarifyBaselineMissing"),
])
def test_missing_baselines_are_reported_not_silently_skipped(definition, clarify, branch) -> None:
    assert branch_taken(definition["States"]["ClarifyBaselinesPresent"],
                        {"clarify": clarify}) == branch


def test_without_clarify_monitors_the_workflow_ends_after_monitoring() -> None:
    states = build_definition(DEPLOYMENT_SETTINGS)["States"]
    assert "ClarifyMonitors" not in states
    assert states["CreateSchedule"]["Next"] == "Succeeded"


def test_explainability_control_holds_in_preprod_and_prod(synth, sample_config) -> None:
    envs = from_templates(synth.templates)
    results = evaluate(envs, {e: sample_config.environment(e) for e in envs})
    control = next(r for r in results if r.control.id == "explainability")
    assert control.per_env["preprod"][0] == IMPLEMENTED
    assert control.per_env["prod"][0] == IMPLEMENTED
    # ... because of the serving stack's Clarify pieces (job definitions, and the deployment
    # workflow that baselines and schedules them): without them production fails it
    templates = copy.deepcopy(synth.templates)
    removed = (*CLARIFY_TYPES, "AWS::StepFunctions::StateMachine")
    for template in templates.values():
        template["Resources"] = {k: v for k, v in template["Resources"].items()
                                 if v["Type"] not in removed}
    envs = from_templates(templates)
    results = evaluate(envs, {e: sample_config.environment(e) for e in envs})
    control = next(r for r in results if r.control.id == "explainability")
    assert control.per_env["prod"][0] == NOT_YET


def test_explainability_baseline_comes_from_the_run(definition) -> None:
    states = definition["States"]
    read = states["ReadBaselineStatistics"]["Parameters"]
    assert read["Key.$"] == ("States.Format('baselines/mlp-prod-credit-default/{}/statistics.json', "
                             "$.deployment_id)")
    config = states["ExplainabilityAnalysisConfig"]["Parameters"]
    assert config["monitor"]["headers.$"] == "$.statistics.document.features[*].name"
    assert "headers.$" not in config["baselining"]  # the dataset's header row names them
    assert config["monitor"]["predictor"]["model_name.$"].startswith("States.Format('mlp-prod-m-")
    write = states["WriteExplainabilityConfig"]["Parameters"]
    assert write["Key"] == CLARIFY[0][3] and write["ServerSideEncryption"] == "aws:kms"
    job = states["ExplainabilityBaseline"]["Parameters"]
    assert {i["InputName"] for i in job["ProcessingInputs"]} == {"analysis_config", "dataset"}
    assert job["ProcessingInputs"][1]["S3Input"]["S3Uri.$"] == "$.baseline_data_uri"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        "s3://monitoring-bucket/baselines/mlp-prod-credit-default/model-explainability"
    assert job["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-a", "subnet-b"]


def test_analysis_config_is_built_from_the_statistics_in_moto(definition) -> None:
    """The Pass state runs in moto's interpreter on a Model Monitor statistics document."""
    import time

    import boto3
    from moto import mock_aws

    state = copy.deepcopy(definition["States"]["ExplainabilityAnalysisConfig"])
    state.pop("Next")
    state["End"] = True
    statistics = {"features": [
        {"name": "LIMIT_BAL", "inferred_type": "Fractional",
         "numerical_statistics": {"mean": 167484.3}},
        {"name": "PAY_0", "inferred_type": "Integral", "numerical_statistics": {"mean": -0.02}}]}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="eu-west-2", aws_access_key_id="t",
                           aws_secret_access_key="t")
        arn = sfn.create_state_machine(
            name="cfg", roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "Cfg", "States": {"Cfg": state}}))["stateMachineArn"]
        run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({
            "statistics": {"document": statistics}, "deployment_id": "d1"}))
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=run["executionArn"]))[
                "status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.02)
    assert described["status"] == "SUCCEEDED", described
    config = json.loads(described["output"])["explainability_config"]
    assert config["monitor"]["headers"] == ["LIMIT_BAL", "PAY_0"]
    assert config["monitor"]["methods"]["shap"]["baseline"] == [[167484.3, -0.02]]
    assert config["monitor"]["predictor"]["model_name"] == "mlp-prod-m-d1"
