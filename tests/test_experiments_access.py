"""SageMaker Experiments: the pipeline's runs are comparable by data scientists (read-only),
and every job of a run names the experiment and the trial those grants cover."""

from __future__ import annotations


def _statements(synth, stage: str) -> dict[str, dict]:
    policies = synth.resources(stage, "Access", "AWS::IAM::ManagedPolicy")
    found = {}
    for logical_id, policy in policies.items():
        if "DataScientistSageMaker" in logical_id:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found[statement.get("Sid")] = statement
    return found


def test_data_scientists_read_the_pipeline_runs(synth) -> None:
    statements = _statements(synth, "dev")
    compare = statements["ComparePipelineRuns"]
    assert compare["Effect"] == "Allow"
    assert sorted(compare["Action"]) == ["sagemaker:DescribeExperiment", "sagemaker:DescribeTrial",
                                         "sagemaker:DescribeTrialComponent"]
    assert compare["Resource"] == [
        "arn:aws:sagemaker:eu-west-2:111111111111:experiment/mlp-dev-*",
        "arn:aws:sagemaker:eu-west-2:111111111111:experiment-trial/mlp-dev-*",
        "arn:aws:sagemaker:eu-west-2:111111111111:experiment-trial-component/mlp-dev-*"]
    assert statements["SearchRuns"]["Action"] == "sagemaker:Search"


def test_the_runs_jobs_fall_under_those_grants(synth) -> None:
    """Experiment, trial and job names start with the environment prefix the grant names."""
    import json

    machines = synth.resources("dev", "Training", "AWS::StepFunctions::StateMachine")
    text = json.dumps(machines)
    assert '\\"ExperimentName\\":\\"mlp-dev-credit-default\\"' in text
    assert "States.Format('mlp-dev-credit-default-{}', $.run_id)" in text
