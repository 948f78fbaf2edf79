"""The training workflow's states: gate, retries, catches and the security parameters of
every job, checked on the plain definition; the gate also runs in moto's executor."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from cdk_constructs.training_workflow_definition import (
    FAILURE_NOTICE,
    GATE_STATE,
    PROCESSING_SYNC,
    TRAINING_SYNC,
    TrainingWorkflowSettings,
    build_definition,
    task_states,
)

SETTINGS = TrainingWorkflowSettings(
    name_prefix="mlp-dev", job_role_arn="arn:aws:iam::123456789012:role/job",
    subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-1"],
    data_key_arn="arn:aws:kms:eu-west-2:123456789012:key/data",
    model_key_arn="arn:aws:kms:eu-west-2:123456789012:key/model",
    processed_bucket="processed", models_bucket="models",
    sklearn_image="sk:1", xgboost_image="xgb:1",
    processing_instance_type="ml.m5.large", training_instance_type="ml.m5.xlarge",
    max_runtime_seconds=3600, managed_spot=False, inter_container_encryption=True,
    hyperparameters={"max_depth": "5", "eta": "0.2"}, gate_metric="accuracy",
    gate_threshold=0.9, facet_column="SEX", facet_values=["2"],
    notification_topic_arn="arn:aws:sns:eu-west-2:123456789012:ops",
    model_package_group="mlp-dev-credit-default",
    lineage_function_arn="arn:aws:lambda:eu-west-2:123456789012:function:lineage",
)


@pytest.fixture(scope="module")
def definition() -> dict:
    return build_definition(SETTINGS)


def test_state_order(definition) -> None:
    states = definition["States"]
    order, name = [], definition["StartAt"]
    while name and states[name]["Type"] not in ("Succeed", "Fail"):
        order.append(name)
        state = states[name]
        name = state.get("Next") or (state["Choices"][0]["Next"] if state["Type"] == "Choice" else None)
    assert order == ["RecordRawVersion", "Preprocess", "DescribeDatasets", "Train", "Evaluate",
                     "ReadEvaluation", GATE_STATE, "ExplainAndBias", "RegisterModel",
                     "RecordLineage"]


def test_raw_version_is_recorded_before_preprocessing_and_cross_checked(definition) -> None:
    """Issue #14 finding 5: the version is read before Preprocess (an overwrite during the
    run cannot change it), the lineage's raw dataset is that version, and the SHA-256 the
    preprocessing job read goes to the lineage recorder, which compares it with the version."""
    states = definition["States"]
    assert definition["StartAt"] == "RecordRawVersion"
    record = states["RecordRawVersion"]
    assert record["Next"] == "Preprocess" and record["ResultPath"] == "$.raw_version"
    raw_branch = states["DescribeDatasets"]["Branches"][0]["States"]
    (head,) = raw_branch.values()
    assert head["Parameters"]["VersionId.$"] == "$.raw_version.version_id"
    payload = states["RecordLineage"]["Parameters"]["Payload"]
    assert payload["datasets"]["raw"]["sha256.$"] == "$.datasets.raw.sha256"
    assert payload["processing_jobs"]["evaluate.$"] == "$.jobs.evaluate.arn"
    assert "LineageTransientError" in states["RecordLineage"]["Retry"][0]["ErrorEquals"]


def test_every_task_retries_and_is_caught(definition) -> None:
    states = definition["States"]
    parallel_catches = {name for name, st in states.items()
                        if st["Type"] == "Parallel" and st.get("Catch")}
    in_parallel = {inner for name in parallel_catches
                   for branch in states[name]["Branches"] for inner in branch["States"]}
    for name, state in task_states(definition).items():
        retry = state["Retry"][0]
        assert "ThrottlingException" in retry["ErrorEquals"], name
        assert retry["BackoffRate"] == 2.0 and retry["MaxAttempts"] >= 3, name
        if name in in_parallel:
            continue  # the enclosing Parallel catches, notifies and fails
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
        assert state["Catch"][0]["Next"] in (FAILURE_NOTICE, "TrainingFailed",
                                             "QualityGateFailed"), name
    assert states[FAILURE_NOTICE]["Next"] == "TrainingFailed"
    assert states["TrainingFailed"]["Type"] == "Fail"


def _jobs(definition) -> dict[str, dict]:
    return {n: s["Parameters"] for n, s in task_states(definition).items()
            if s["Resource"] in (PROCESSING_SYNC, TRAINING_SYNC)}


def test_every_job_runs_isolated_in_the_vpc_with_kms(definition) -> None:
    jobs = _jobs(definition)
    assert sorted(jobs) == ["Bias", "Evaluate", "Explain", "Preprocess", "Train"]
    for name, job in jobs.items():
        if name == "Train":
            vpc, isolation = job["VpcConfig"], job["EnableNetworkIsolation"]
            volume = job["ResourceConfig"]["VolumeKmsKeyId"]
            output = job["OutputDataConfig"]["KmsKeyId"]
            assert job["EnableInterContainerTrafficEncryption"] is True
        else:
            vpc = job["NetworkConfig"]["VpcConfig"]
            isolation = job["NetworkConfig"]["EnableNetworkIsolation"]
            volume = job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
            output = job["ProcessingOutputConfig"]["KmsKeyId"]
            assert job["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert vpc == {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]}, name
        assert isolation is True, name
        assert volume == SETTINGS.data_key_arn, name
        assert output in (SETTINGS.data_key_arn, SETTINGS.model_key_arn), name
        assert job["RoleArn"] == SETTINGS.job_role_arn
        assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
        name_key = "TrainingJobName.$" if name == "Train" else "ProcessingJobName.$"
        assert job[name_key].startswith("States.Format('mlp-dev-")


def test_training_uses_the_code_channel_not_the_internet(definition) -> None:
    train = _jobs(definition)["Train"]
    channels = {c["ChannelName"] for c in train["InputDataConfig"]}
    assert channels == {"train", "validation", "code"}
    assert json.loads(train["HyperParameters"]["sagemaker_submit_directory"]) == \
        "/opt/ml/input/data/code/sourcedir.tar.gz"
    assert train["HyperParameters"]["max_depth"] == "5"
    assert "CheckpointConfig" not in train and train["EnableManagedSpotTraining"] is False


def test_managed_spot_adds_checkpoints_and_a_wait_limit() -> None:
    from dataclasses import replace

    train = _jobs(build_definition(replace(SETTINGS, managed_spot=True)))["Train"]
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"]["MaxWaitTimeInSeconds"] == 7200
    assert "checkpoints" in train["CheckpointConfig"]["S3Uri.$"]


def test_inter_container_encryption_follows_config() -> None:
    from dataclasses import replace

    train = _jobs(build_definition(replace(SETTINGS, inter_container_encryption=False)))["Train"]
    assert train["EnableInterContainerTrafficEncryption"] is False


def test_gate_and_its_failure_path(definition) -> None:
    gate = definition["States"][GATE_STATE]
    rules = gate["Choices"][0]["And"]
    assert {"Variable": "$.evaluation.document.metrics.accuracy.value",
            "NumericGreaterThanEquals": 0.9} in rules
    assert gate["Default"] == "NotifyGateFailed"
    notify = definition["States"]["NotifyGateFailed"]
    assert notify["Parameters"]["TopicArn"] == SETTINGS.notification_topic_arn
    assert notify["Next"] == "QualityGateFailed"
    assert definition["States"]["QualityGateFailed"]["Error"] == "QualityGateFailed"


def test_registration_is_pending_with_metrics_and_provenance(definition) -> None:
    register = definition["States"]["RegisterModel"]["Parameters"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == "mlp-dev-credit-default"
    metrics = register["ModelMetrics"]
    assert "evaluation.json" in metrics["ModelQuality"]["Statistics"]["S3Uri.$"]
    assert "bias_report.json" in metrics["Bias"]["Report"]["S3Uri.$"]
    assert "explainability.json" in metrics["Explainability"]["Report"]["S3Uri.$"]
    assert register["MetadataProperties"] == {"CommitId.$": "$.commit.id",
                                              "Repository.$": "$.commit.repository",
                                              "GeneratedBy.$": "$$.Execution.Id"}
    customer = register["CustomerMetadataProperties"]
    assert {"raw_data.$", "training_data.$", "hyperparameters", "execution_arn.$"} <= set(customer)


def test_lineage_payload_carries_the_schema_the_recorder_validates(definition) -> None:
    payload = definition["States"]["RecordLineage"]["Parameters"]["Payload"]
    assert payload["schema_version"] == "1"
    assert set(payload["datasets"]) == {"raw", "train", "validation", "test"}
    assert set(payload["processing_jobs"]) == {"preprocess.$", "evaluate.$", "explain.$", "bias.$"}
    for key in ("commit.$", "training_job_arn.$", "model_package_arn.$",
                "pipeline_execution_id.$", "step_functions_execution_arn.$"):
        assert key in payload


# --- The gate, executed by moto's Step Functions interpreter -------------------------------

def _gate_machine(definition: dict) -> str:
    gate = json.loads(json.dumps(definition["States"][GATE_STATE]))
    gate["Choices"][0]["Next"] = "Registered"
    gate["Default"] = "Rejected"
    return json.dumps({"StartAt": GATE_STATE, "States": {
        GATE_STATE: gate,
        "Registered": {"Type": "Succeed"},
        "Rejected": {"Type": "Fail", "Error": "QualityGateFailed", "Cause": "below the bar"},
    }})


@pytest.mark.parametrize("evaluation, expected", [
    ({"metrics": {"accuracy": {"value": 0.93}}}, "SUCCEEDED"),
    ({"metrics": {"accuracy": {"value": 0.90}}}, "SUCCEEDED"),
    ({"metrics": {"accuracy": {"value": 0.89}}}, "FAILED"),
    ({"metrics": {"auc": {"value": 0.99}}}, "FAILED"),          # the gated metric is missing
    ({"metrics": {"accuracy": {"value": "high"}}}, "FAILED"),   # not a number
])
def test_gate_runs_in_moto(definition, evaluation, expected, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="eu-west-2")
        arn = sfn.create_state_machine(
            name="gate", definition=_gate_machine(definition),
            roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
        execution = sfn.start_execution(
            stateMachineArn=arn, input=json.dumps({"evaluation": {"document": evaluation}}))
        # moto runs the execution in a background thread: poll, bounded in time.
        status, deadline = "RUNNING", time.monotonic() + 30
        while status == "RUNNING" and time.monotonic() < deadline:
            status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
            if status == "RUNNING":
                time.sleep(0.02)
        assert status == expected
