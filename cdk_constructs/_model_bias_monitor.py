"""Model bias drift: a SageMaker Clarify ModelBiasJobDefinition for one endpoint
(whitepaper "Model monitoring": bias drift in production)."""

from __future__ import annotations

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs._clarify_monitor import (
    LOCAL_INPUT,
    ClarifyMonitorProps,
    baseline_prefix,
    job_settings,
    output_config,
    validate,
)
from cdk_constructs._validation import require

KIND = "model-bias"


class ModelBiasMonitor(Construct):
    """Post-training bias metrics of the captured predictions, merged with the ground truth,
    compared with the training run's bias baseline. Runs in the VPC with network isolation,
    inter-container encryption and KMS volume and output keys (not configurable).

    Reads ``baselines/<endpoint>/model-bias/analysis_config.json`` (the Clarify analysis
    config: headers, facets, label, favourable outcome) and ``.../analysis.json`` (the
    baseline constraints). The training run's bias step writes both
    (ml/credit_default/bias_monitor.py); the deployment workflow's ``BiasBaseline`` job puts
    them here and then schedules the monitor. The facets are in the captured requests: the
    endpoint's first container drops the protected attributes before the model
    (ml/credit_default/serve_drop.py).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        props: ClarifyMonitorProps,
        ground_truth_s3_uri: str,
        probability_threshold: float = 0.5,
        start_time_offset: str = "-P2D",
        end_time_offset: str = "-P1D",
    ) -> None:
        super().__init__(scope, id)
        self.job_definition_name = validate("ModelBiasMonitor", props, KIND)
        require(
            ground_truth_s3_uri.startswith("s3://"),
            "ModelBiasMonitor",
            "ground_truth_s3_uri must be an s3:// URI: bias drift needs the labelled "
            "outcomes (serving.ground_truth_s3_prefix)",
        )
        require(
            0 < probability_threshold < 1,
            "ModelBiasMonitor",
            "probability_threshold must be in (0, 1)",
        )
        require(
            start_time_offset.startswith("-P") and end_time_offset.startswith("-P"),
            "ModelBiasMonitor",
            "time offsets are negative ISO 8601 durations, e.g. -P2D: "
            "labels arrive after the predictions",
        )
        baseline = baseline_prefix(props, KIND)
        self.analysis_config_uri = f"{baseline}/analysis_config.json"
        self.baseline_constraints_uri = f"{baseline}/analysis.json"
        settings = job_settings(props, network_isolation=True)
        self.job_definition = sagemaker.CfnModelBiasJobDefinition(
            self,
            "JobDefinition",
            job_definition_name=self.job_definition_name,
            model_bias_app_specification={
                "imageUri": props.image_uri,
                "configUri": self.analysis_config_uri,
            },
            model_bias_baseline_config={
                "constraintsResource": {"s3Uri": self.baseline_constraints_uri}
            },
            model_bias_job_input={
                "endpointInput": {
                    "endpointName": props.endpoint_name,
                    "localPath": LOCAL_INPUT,
                    "s3InputMode": "File",
                    "s3DataDistributionType": "FullyReplicated",
                    # The XGBoost endpoint answers one probability per CSV row.
                    "probabilityAttribute": "0",
                    "probabilityThresholdAttribute": probability_threshold,
                    "startTimeOffset": start_time_offset,
                    "endTimeOffset": end_time_offset,
                },
                "groundTruthS3Input": {"s3Uri": ground_truth_s3_uri},
            },
            model_bias_job_output_config=output_config(props, KIND),
            job_resources=settings["job_resources"],
            network_config=settings["network_config"],
            stopping_condition=settings["stopping_condition"],
            role_arn=settings["role_arn"],
        )
