"""The training workflow's states: gate, retries, catches and the security parameters of
every job, checked on the plain definition; the gate also runs in moto's executor."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from cdk_constructs._training_workflow_definition import (
    BIAS_GATE_STATE,
    FAILURE_NOTICE,
    GATE_STATE,
    OVERFIT_GATE_STATE,
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
    bias_bounds=[("DI_min", "min", 0.8), ("DI_max", "max", 1.25), ("RD_max_abs", "max", 0.2)],
    bias_arguments=["--di-min", "0.8", "--di-max", "1.25", "--rd-max-abs", "0.2"],
    max_auc_gap=0.05, exclude_features=["EDUCATION"],
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
    assert order == ["FindExperiment", "CreateTrial", "RecordRawVersion",
                     "Preprocess", "DescribeDatasets", "Train",
                     "Evaluate", "ReadEvaluation", GATE_STATE, OVERFIT_GATE_STATE,
                     "ExplainAndBias", "ReadBiasReport", BIAS_GATE_STATE, "ModelCard",
                     "ReadModelCard", "RegisterModel", "RecordLineage"]
    # nothing is registered before every gate has passed
    assert order.index("RegisterModel") > max(order.index(g) for g in (
        GATE_STATE, OVERFIT_GATE_STATE, BIAS_GATE_STATE))



def test_raw_version_is_recorded_before_preprocessing_and_cross_checked(definition) -> None:
    """Issue #14 finding 5: the version is read before Preprocess (an overwrite during the
    run cannot change it), the lineage's raw dataset is that version, and the SHA-256 the
    preprocessing job read goes to the lineage recorder, which compares it with the version."""
    states = definition["States"]
    assert states["CreateTrial"]["Next"] == "RecordRawVersion"
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
        catch_all = [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
        assert catch_all and catch_all[0]["Next"] in (
            FAILURE_NOTICE, "TrainingFailed", "QualityGateFailed", "OverfitGateFailed",
            "BiasGateFailed"), name
    assert states[FAILURE_NOTICE]["Next"] == "TrainingFailed"
    assert states["TrainingFailed"]["Type"] == "Fail"


def _jobs(definition) -> dict[str, dict]:
    return {n: s["Parameters"] for n, s in task_states(definition).items()
            if s["Resource"] in (PROCESSING_SYNC, TRAINING_SYNC)}


def test_every_job_runs_isolated_in_the_vpc_with_kms(definition) -> None:
    jobs = _jobs(definition)
    assert sorted(jobs) == ["Bias", "Evaluate", "Explain", "ModelCard", "Preprocess", "Train"]
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
        # SageMaker Experiments: experiment = the model, trial = the run
        assert job["ExperimentConfig"]["ExperimentName"] == "mlp-dev-credit-default", name
        assert job["ExperimentConfig"]["TrialName.$"] == \
            "States.Format('mlp-dev-credit-default-{}', $.run_id)", name


def test_the_experiment_is_created_once_and_each_run_is_a_trial(definition) -> None:
    states = definition["States"]
    find = states["FindExperiment"]
    assert find["Catch"][0] == {"ErrorEquals": ["SageMaker.ResourceNotFoundException"],
                                "ResultPath": None, "Next": "CreateExperiment"}
    assert find["Next"] == "CreateTrial" and states["CreateExperiment"]["Next"] == "CreateTrial"
    trial = states["CreateTrial"]["Parameters"]
    assert trial["ExperimentName"] == "mlp-dev-credit-default"
    assert trial["TrialName.$"] == SETTINGS.trial_name


def test_jobs_follow_the_ml_contract(definition) -> None:
    """ml/README.md, "Outputs and arguments contract"."""
    jobs = _jobs(definition)
    pre = jobs["Preprocess"]
    args = pre["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--protected-attributes") + 1] == "SEX,AGE,MARRIAGE"
    assert args[args.index("--exclude-features") + 1] == "EDUCATION"
    outputs = {o["OutputName"] for o in pre["ProcessingOutputConfig"]["Outputs"]}
    assert {"baseline", "facets"} <= outputs
    evaluate = jobs["Evaluate"]["AppSpecification"]["ContainerArguments"]
    assert evaluate[evaluate.index("--train") + 1] == "/opt/ml/processing/input/train"
    assert evaluate[evaluate.index("--validation") + 1] == "/opt/ml/processing/input/validation"
    bias = jobs["Bias"]
    bargs = bias["AppSpecification"]["ContainerArguments"]
    # two facet values stay ONE argument (argparse exited 2 on the old form)
    from dataclasses import replace
    two = _jobs(build_definition(replace(SETTINGS, facet_values=["1", "2"])))["Bias"]
    two_args = two["AppSpecification"]["ContainerArguments"]
    assert two_args[two_args.index("--facet-values") + 1] == "1,2"
    assert two_args[two_args.index("--facet-values") + 2].startswith("--")
    assert bargs[bargs.index("--pretraining-facets") + 1].endswith("facets/train_facets.csv")
    assert [bargs[i + 1] for i, a in enumerate(bargs) if a == "--facet"] == ["AGE_BAND", "MARRIAGE"]
    assert bargs[bargs.index("--gate-metrics") + 1] == "DI,RD"
    assert bargs[bargs.index("--di-min") + 1] == "0.8"
    assert "facets" in {i["InputName"] for i in bias["ProcessingInputs"]}
    card = jobs["ModelCard"]["AppSpecification"]["ContainerArguments"]
    for flag in ("--evaluation", "--bias", "--explainability", "--preprocess-params",
                 "--risk-rating", "--threshold", "--threshold-rationale", "--intended-use"):
        assert flag in card


def test_the_model_card_is_the_packages_card(definition) -> None:
    states = definition["States"]
    assert states["ModelCard"]["Next"] == "ReadModelCard"
    assert states["ReadModelCard"]["ResultSelector"] == {"content.$": "$.Body"}
    register = states["RegisterModel"]["Parameters"]
    assert register["ModelCard"] == {"ModelCardContent.$": "$.model_card.content",
                                     "ModelCardStatus": "PendingReview"}
    assert register["SecurityConfig"] == {"KmsKeyId": SETTINGS.model_key_arn}
    card = _jobs(definition)["ModelCard"]["AppSpecification"]["ContainerArguments"]
    gates = [card[i + 1] for i, a in enumerate(card) if a == "--gate"]
    assert [g.split("=", 1)[0] for g in gates] == ["quality", "overfitting", "bias"]
    assert "accuracy >= 0.9" in gates[0] and "DI_min >= 0.8" in gates[2]


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


# --- The overfitting and bias gates, executed by moto's interpreter -------------------------

def _run_choice(definition, state: str, state_input: dict) -> str:
    from tests.moto_choice import branch_taken

    return branch_taken(definition["States"][state], state_input)


@pytest.mark.parametrize("metrics, branch", [
    ({"auc_gap": {"value": 0.01}}, "ExplainAndBias"),
    ({"auc_gap": {"value": 0.05}}, "ExplainAndBias"),             # boundary: at the bound
    ({"auc_gap": {"value": 0.0500001}}, "NotifyOverfitGateFailed"),
    ({"auc_gap": {"value": 0.2}, "auc": {"value": 0.99}}, "NotifyOverfitGateFailed"),  # overfit
    ({"auc": {"value": 0.99}}, "NotifyOverfitGateFailed"),       # gap missing
    ({"auc_gap": {"value": None}}, "NotifyOverfitGateFailed"),   # not a number
])
def test_overfit_gate_runs_in_moto(definition, metrics, branch) -> None:
    state_input = {"evaluation": {"document": {"metrics": metrics}}}
    assert _run_choice(definition, OVERFIT_GATE_STATE, state_input) == branch


def _bias(passed=True, **worst):
    base = {"DI_min": 0.9, "DI_max": 1.1, "RD_max_abs": 0.05}
    base.update(worst)
    return {"bias_report": {"document": {"gate": {"passed": passed, "worst": base}}}}


@pytest.mark.parametrize("state_input, branch", [
    (_bias(), "ModelCard"),
    # beyond the bound as a point estimate but within sampling error: bias.py's evidence
    # verdict (computed with the configured bounds) decides
    (_bias(DI_min=0.79), "ModelCard"),
    (_bias(passed=False), "NotifyBiasGateFailed"),
    (_bias(passed=False, DI_min=0.5), "NotifyBiasGateFailed"),
    (_bias(passed="true"), "NotifyBiasGateFailed"),                  # not a boolean
    (_bias(DI_min=None), "ModelCard"),                               # no group large enough
    ({"bias_report": {"document": {"gate": {"passed": True, "worst": {"DI_min": 0.9}}}}},
     "NotifyBiasGateFailed"),                                        # a bounded metric not covered
    ({"bias_report": {"document": {"gate": {"worst": {}}}}}, "NotifyBiasGateFailed"),
    ({"bias_report": {"document": {}}}, "NotifyBiasGateFailed"),
])
def test_bias_gate_runs_in_moto(definition, state_input, branch) -> None:
    assert _run_choice(definition, BIAS_GATE_STATE, state_input) == branch


def test_failed_gates_notify_operations_and_register_nothing(definition) -> None:
    states = definition["States"]
    for notify, failed in (("NotifyOverfitGateFailed", "OverfitGateFailed"),
                           ("NotifyBiasGateFailed", "BiasGateFailed")):
        assert states[notify]["Parameters"]["TopicArn"] == SETTINGS.notification_topic_arn
        assert states[notify]["Next"] == failed and states[failed]["Type"] == "Fail"
    assert states[BIAS_GATE_STATE]["Default"] == "NotifyBiasGateFailed"
    assert states[OVERFIT_GATE_STATE]["Default"] == "NotifyOverfitGateFailed"


def test_the_package_is_a_two_container_inference_pipeline(definition) -> None:
    """Container 1 (scikit-learn image) runs serve_drop.py from the archive preprocess writes
    and drops the protected attributes; container 2 (XGBoost) serves the trained model."""
    import botocore.session

    register = definition["States"]["RegisterModel"]["Parameters"]
    drop, model = register["InferenceSpecification"]["Containers"]
    assert drop["Image"] == SETTINGS.sklearn_image and model["Image"] == SETTINGS.xgboost_image
    assert drop["Environment"] == {"SAGEMAKER_PROGRAM": "serve_drop.py",
                                   "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    assert drop["ModelDataUrl.$"] == "States.Format('s3://processed/runs/{}/serving/model.tar.gz', $.run_id)"
    assert model["ModelDataUrl.$"] == "$.jobs.train.model_data"
    preprocess = _jobs(definition)["Preprocess"]["ProcessingOutputConfig"]["Outputs"]
    serving = next(o for o in preprocess if o["OutputName"] == "serving")
    assert serving["S3Output"]["LocalPath"] == "/opt/ml/processing/serving"
    # AWS's own model of the API: a package lists up to 15 containers, each with an environment
    shapes = botocore.session.get_session().get_service_model("sagemaker")
    assert shapes.shape_for("InferenceSpecification").members["Containers"].metadata["max"] >= 2
    assert "Environment" in shapes.shape_for("ModelPackageContainerDefinition").members
