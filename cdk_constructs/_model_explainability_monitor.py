"""Feature attribution drift: a SageMaker Clarify ModelExplainabilityJobDefinition for one
endpoint (whitepaper "Model monitoring" and "Explainability")."""

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

KIND = "model-explainability"


class ModelExplainabilityMonitor(Construct):
    """SHAP attributions of the captured requests, compared (NDCG) with the training run's
    global attributions. Runs in the VPC (no internet route) with inter-container encryption
    and KMS volume and output keys (not configurable); not network-isolated, because Clarify
    computes SHAP values on a shadow copy of the model it must call (_clarify_monitor.py).

    Reads ``baselines/<endpoint>/model-explainability/analysis_config.json`` (features,
    SHAP settings, the deployed model) and ``.../analysis.json`` (the baseline attributions).
    """

    def __init__(self, scope: Construct, id: str, *, props: ClarifyMonitorProps) -> None:
        super().__init__(scope, id)
        self.job_definition_name = validate("ModelExplainabilityMonitor", props, KIND)
        baseline = baseline_prefix(props, KIND)
        self.analysis_config_uri = f"{baseline}/analysis_config.json"
        self.baseline_constraints_uri = f"{baseline}/analysis.json"
        settings = job_settings(props, network_isolation=False)  # shadow endpoint
        self.job_definition = sagemaker.CfnModelExplainabilityJobDefinition(
            self,
            "JobDefinition",
            job_definition_name=self.job_definition_name,
            model_explainability_app_specification={
                "imageUri": props.image_uri,
                "configUri": self.analysis_config_uri,
            },
            model_explainability_baseline_config={
                "constraintsResource": {"s3Uri": self.baseline_constraints_uri}
            },
            model_explainability_job_input={
                "endpointInput": {
                    "endpointName": props.endpoint_name,
                    "localPath": LOCAL_INPUT,
                    "s3InputMode": "File",
                    "s3DataDistributionType": "FullyReplicated",
                }
            },
            model_explainability_job_output_config=output_config(props, KIND),
            job_resources=settings["job_resources"],
            network_config=settings["network_config"],
            stopping_condition=settings["stopping_condition"],
            role_arn=settings["role_arn"],
        )
