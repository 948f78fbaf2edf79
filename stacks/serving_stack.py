"""Serving: deployment workflow, endpoint role, alarms, drift detection and the dashboard.

Whitepaper "Model monitoring" (data and model drift), "Production and continuous monitoring"
and "Tracking and alerting". One per serving environment (``serving.environments``).
"""

from __future__ import annotations

import cdk_monitoring_constructs as cmc
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._champion_challenger_workflow import (
    ChampionChallengerSettings,
    ChampionChallengerWorkflow,
)
from cdk_constructs._clarify_monitor import ClarifyMonitorProps
from cdk_constructs._deployment_workflow_definition import DeploymentWorkflowSettings
from cdk_constructs._model_bias_monitor import ModelBiasMonitor
from cdk_constructs._model_explainability_monitor import ModelExplainabilityMonitor
from cdk_constructs._model_quality_workflow import ModelQualitySettings, ModelQualityWorkflow
from cdk_constructs._monitoring import monitoring_facade
from cdk_constructs._platform_function import RUNTIME, PlatformFunction
from cdk_constructs._sagemaker_images import clarify_image, model_monitor_image, sklearn_image
from cdk_constructs._state_machine import state_machine_key_statements
from cdk_constructs.deployment_workflow import DeploymentWorkflow
from cdk_constructs.encrypted_schedule import EncryptedSchedule
from cdk_constructs.sagemaker_job_role import SageMakerJobRole
from cdk_constructs.secure_topic import SecureTopic
from platform_config._model import EnvironmentConfig, PlatformConfig
from platform_config._naming import ResourceNames
from stacks.foundation_stack import FoundationStack

ENDPOINT_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
DRIFT_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
VARIANT = "AllTraffic"
LATENCY_P99_MICROSECONDS = 1_000_000  # ModelLatency is reported in microseconds
CPU_PERCENT = 80
MEMORY_PERCENT = 85
CLIENT_ERRORS_PER_5_MIN = 25
QA_ENVIRONMENT = "preprod"  # champion/challenger runs where the candidate is deployed first


def endpoint_alarm_names(endpoint: str) -> dict[str, str]:
    """Deterministic alarm names: guardrails name them before the endpoint exists."""
    return {
        kind: f"{endpoint}-{kind}"
        for kind in ("latency-p99", "5xx-errors", "4xx-errors", "cpu", "memory")
    }


class ServingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: ResourceNames,
        config: PlatformConfig,
        environment: EnvironmentConfig,
        foundation: FoundationStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        serving = config.serving
        model = config.training.model_name
        pipeline_env = config.training.pipeline_environment
        pipeline_names = ResourceNames.for_environment(config, pipeline_env)
        keys = {purpose: managed.key for purpose, managed in foundation.keys.items()}
        network = foundation.network
        buckets = {
            name: s3.Bucket.from_bucket_name(
                self, f"{name.capitalize()}Bucket", secure.bucket_name_literal
            )
            for name, secure in foundation.buckets.items()
        }
        self.endpoint_name = names.endpoint_name(model)
        alarm_names = endpoint_alarm_names(self.endpoint_name)

        # --- people ------------------------------------------------------------------------
        self.operations_topic = SecureTopic(
            self,
            "OperationsTopic",
            display_name=f"ML platform operations ({names.environment})",
            master_key=keys["monitoring"],
            emails=config.notifications.operations,
            allow_services=("cloudwatch.amazonaws.com", "events.amazonaws.com"),
        )
        self.model_risk_topic = SecureTopic(
            self,
            "ModelRiskTopic",
            display_name=f"Model risk: drift and quality ({names.environment})",
            master_key=keys["monitoring"],
            emails=config.notifications.model_risk,
            allow_services=("cloudwatch.amazonaws.com", "events.amazonaws.com"),
        )

        # --- the endpoint's role (also runs the monitoring jobs) ----------------------------
        self.endpoint_role = SageMakerJobRole(
            self,
            "EndpointRole",
            description="SageMaker endpoint and model-monitoring jobs",
            read_buckets=[buckets["capture"], buckets["monitoring"]],
            write_buckets=[],
            keys=[keys["monitoring"]],
            vpc=network.vpc,
            role_name=names.endpoint_role,
        )
        capture_arn = f"arn:{self.partition}:s3:::{buckets['capture'].bucket_name}"
        monitoring_arn = f"arn:{self.partition}:s3:::{buckets['monitoring'].bucket_name}"
        self.endpoint_role.policy.add_statements(
            iam.PolicyStatement(
                sid="WriteCaptureAndReports",
                actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                resources=[
                    f"{capture_arn}/{self.endpoint_name}/*",
                    f"{monitoring_arn}/baselines/{self.endpoint_name}/*",
                    f"{monitoring_arn}/reports/{self.endpoint_name}/*",
                    f"{monitoring_arn}/quality/{self.endpoint_name}/*",
                ],
            ),
        )
        if pipeline_env != names.environment:
            # Model artifacts and the training data of a run live in the pipeline account.
            models = pipeline_names.bucket("model-artifacts")
            processed = pipeline_names.bucket("processed-features")
            self.endpoint_role.policy.add_statements(
                iam.PolicyStatement(
                    sid="ReadPipelineRunArtifacts",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[
                        f"arn:{self.partition}:s3:::{models}/runs/*",
                        f"arn:{self.partition}:s3:::{processed}/runs/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="ListPipelineRunArtifacts",
                    actions=["s3:ListBucket"],
                    resources=[
                        f"arn:{self.partition}:s3:::{models}",
                        f"arn:{self.partition}:s3:::{processed}",
                    ],
                    conditions={"StringLike": {"s3:prefix": ["runs/*"]}},
                ),
                iam.PolicyStatement(
                    sid="DecryptPipelineRunArtifacts",
                    actions=["kms:Decrypt", "kms:DescribeKey"],
                    resources=[
                        f"arn:{self.partition}:kms:{pipeline_names.region}:"
                        f"{pipeline_names.account}:key/*"
                    ],
                    conditions={
                        "ForAnyValue:StringEquals": {
                            "kms:ResourceAliases": [
                                pipeline_names.key_alias("pipeline"),
                                pipeline_names.key_alias("data"),
                            ]
                        }
                    },
                ),
            )

        # --- endpoint alarms (they also drive the blue/green auto-rollback) ----------------
        def endpoint_metric(
            name: str, statistic: str, period: Duration, namespace: str = ENDPOINT_NAMESPACE
        ) -> cw.Metric:
            return cw.Metric(
                namespace=namespace,
                metric_name=name,
                statistic=statistic,
                period=period,
                dimensions_map={"EndpointName": self.endpoint_name, "VariantName": VARIANT},
            )

        one_minute, five_minutes = Duration.minutes(1), Duration.minutes(5)
        specs = {
            "latency-p99": (
                endpoint_metric("ModelLatency", "p99", one_minute),
                LATENCY_P99_MICROSECONDS,
                3,
                "p99 model latency above 1 s",
            ),
            "5xx-errors": (
                endpoint_metric("Invocation5XXErrors", "Sum", one_minute),
                1,
                2,
                "the model returned server errors",
            ),
            "4xx-errors": (
                endpoint_metric("Invocation4XXErrors", "Sum", five_minutes),
                CLIENT_ERRORS_PER_5_MIN,
                1,
                "many rejected requests",
            ),
            "cpu": (
                endpoint_metric("CPUUtilization", "Average", five_minutes, INSTANCE_NAMESPACE),
                CPU_PERCENT,
                3,
                "CPU above 80 %",
            ),
            "memory": (
                endpoint_metric("MemoryUtilization", "Average", five_minutes, INSTANCE_NAMESPACE),
                MEMORY_PERCENT,
                3,
                "memory above 85 %",
            ),
        }
        operations_action = cw_actions.SnsAction(self.operations_topic.topic)
        self.endpoint_alarms: dict[str, cw.Alarm] = {}
        for kind, (metric, threshold, periods, what) in specs.items():
            alarm = cw.Alarm(
                self,
                f"Endpoint{kind.title().replace('-', '')}Alarm",
                alarm_name=alarm_names[kind],
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{self.endpoint_name}: {what}",
            )
            alarm.add_alarm_action(operations_action)
            self.endpoint_alarms[kind] = alarm

        # --- drift: Model Monitor's per-feature metrics ------------------------------------
        schedule = f"{self.endpoint_name}-data-quality"
        model_risk_action = cw_actions.SnsAction(self.model_risk_topic.topic)
        self.drift_alarm_prefix = f"{self.endpoint_name}-drift-"
        self.drift_alarms: list[cw.Alarm] = []
        for feature in serving.features:
            alarm = cw.Alarm(
                self,
                f"Drift{feature.replace('_', '')}Alarm",
                alarm_name=f"{self.drift_alarm_prefix}{feature}",
                metric=cw.Metric(
                    namespace=DRIFT_NAMESPACE,
                    metric_name=f"feature_baseline_drift_{feature}",
                    statistic="Maximum",
                    period=Duration.hours(1),
                    dimensions_map={"Endpoint": self.endpoint_name, "MonitoringSchedule": schedule},
                ),
                threshold=serving.drift_threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{self.endpoint_name}: feature {feature} drifted from the "
                "training baseline; retraining starts (docs/production.md)",
            )
            alarm.add_alarm_action(model_risk_action)
            self.drift_alarms.append(alarm)

        # --- bias drift and feature attribution drift (SageMaker Clarify) -----------------
        self._clarify_monitors(names, serving, keys, network, buckets)

        # --- deployment workflow -----------------------------------------------------------
        settings = DeploymentWorkflowSettings(
            name_prefix=names.prefix.rstrip("-"),
            endpoint_name=self.endpoint_name,
            execution_role_arn=self.endpoint_role.role_arn,
            subnet_ids=[s.subnet_id for s in network.isolated_subnets],
            security_group_ids=[network.security_group.security_group_id],
            endpoint_key_arn=keys["monitoring"].key_arn,
            monitoring_key_arn=keys["monitoring"].key_arn,
            capture_bucket=buckets["capture"].bucket_name,
            monitoring_bucket=buckets["monitoring"].bucket_name,
            instance_type=serving.instance_type,
            instance_count=serving.instance_count,
            capture_sampling_percent=serving.capture_sampling_percent,
            rollback_alarm_names=[alarm_names["latency-p99"], alarm_names["5xx-errors"]],
            traffic_routing=serving.guardrails.traffic_routing,
            canary_percent=serving.guardrails.canary_percent,
            wait_seconds=serving.guardrails.wait_seconds,
            termination_wait_seconds=serving.guardrails.termination_wait_seconds,
            monitor_image=model_monitor_image(self.region),
            monitoring_schedule=serving.monitoring_schedule,
            ground_truth_s3_uri=(
                f"s3://{buckets['monitoring'].bucket_name}/{serving.ground_truth_s3_prefix}"
                if serving.ground_truth_s3_prefix
                else None
            ),
            notification_topic_arn=self.operations_topic.topic_arn,
            tags={"ml-platform:environment": names.environment},
            clarify_image=clarify_image(self.region),
            run_artifacts_bucket=pipeline_names.bucket("model-artifacts"),
            copy_image=sklearn_image(self.region),
            clarify_monitors=[
                (
                    stem,
                    m.job_definition_name,
                    monitoring_type,
                    m.analysis_config_uri.split("/", 3)[3],
                )
                for stem, monitoring_type, m in self.clarify_monitors
            ],
        )
        group_arn = (
            f"arn:{self.partition}:sagemaker:{pipeline_names.region}:"
            f"{pipeline_names.account}:model-package-group/"
            f"{pipeline_names.prefix}{model}"
        )
        self.workflow = DeploymentWorkflow(
            self,
            "DeploymentWorkflow",
            settings=settings,
            state_machine_name=names.deployment_state_machine,
            encryption_key=keys["pipeline"],
            log_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            topic_key=keys["monitoring"],
            model_package_group_arn=group_arn,
        )

        self._model_quality(
            names, config, environment, keys, network, pipeline_names, group_arn, monitoring_arn
        )

        # --- champion/challenger QA before the production approval ------------------------
        self.qa: ChampionChallengerWorkflow | None = None
        if names.environment == QA_ENVIRONMENT:
            self.qa = ChampionChallengerWorkflow(
                self,
                "ChampionChallenger",
                state_machine_name=names.qa_state_machine,
                settings=ChampionChallengerSettings(
                    name_prefix=names.prefix.rstrip("-"),
                    endpoint_name=self.endpoint_name,
                    model_package_group_arn=group_arn,
                    model_package_group=f"{pipeline_names.prefix}{model}",
                    execution_role_arn=self.endpoint_role.role_arn,
                    subnet_ids=[s.subnet_id for s in network.isolated_subnets],
                    security_group_ids=[network.security_group.security_group_id],
                    monitoring_bucket=buckets["monitoring"].bucket_name,
                    monitoring_key_arn=keys["monitoring"].key_arn,
                    instance_type=serving.instance_type,
                    margin=serving.champion_challenger_margin,
                    metrics_function_arn=self.metrics_function.function_arn,
                    model_risk_topic_arn=self.model_risk_topic.topic_arn,
                ),
                encryption_key=keys["pipeline"],
                log_key=keys["audit"],
                log_retention_days=environment.log_retention_days,
                topic_key=keys["monitoring"],
            )

        # --- the pipeline account may start (only) these workflows -------------------------
        if pipeline_env != names.environment:
            startable = [names.state_machine_arn(names.deployment_state_machine)]
            if self.qa is not None:
                startable.append(names.state_machine_arn(names.qa_state_machine))
            deploy_policy = iam.ManagedPolicy(
                self,
                "PipelineDeployPolicy",
                statements=[
                    iam.PolicyStatement(
                        sid="StartDeployment",
                        actions=["states:StartExecution"],
                        resources=startable,
                    ),
                    iam.PolicyStatement(
                        sid="WatchDeployment",
                        actions=["states:DescribeExecution"],
                        resources=[
                            a.replace(":stateMachine:", ":execution:") + ":*" for a in startable
                        ],
                    ),
                    # CodePipeline's Step Functions action describes the state machine.
                    iam.PolicyStatement(
                        sid="DescribeDeployment",
                        actions=["states:DescribeStateMachine"],
                        resources=startable,
                    ),
                    *state_machine_key_statements(
                        keys["pipeline"].key_arn, startable, sid="DeploymentWorkflowEncryption"
                    ),
                ],
            )
            self.pipeline_deploy_role = iam.Role(
                self,
                "PipelineDeployRole",
                role_name=names.pipeline_deploy_role,
                description="The pipeline account starts the deployment workflow",
                managed_policies=[deploy_policy],
                assumed_by=iam.AccountPrincipal(pipeline_names.account).with_conditions(
                    {
                        "ArnEquals": {
                            "aws:PrincipalArn": pipeline_names.role_arn(
                                pipeline_names.pipeline_role
                            )
                        }
                    }
                ),
            )

            # Drift signals go to the pipeline account, where the training workflow and the
            # idempotent retrain trigger live.
            forward_policy = iam.ManagedPolicy(
                self,
                "DriftForwarderPolicy",
                statements=[
                    iam.PolicyStatement(
                        sid="ForwardToPipelineAccount",
                        actions=["events:PutEvents"],
                        resources=[pipeline_names_bus(pipeline_names)],
                    )
                ],
            )
            forwarder = iam.Role(
                self,
                "DriftForwarderRole",
                role_name=names.drift_forwarder_role,
                description="Forwards drift events to the pipeline account's event bus",
                managed_policies=[forward_policy],
                assumed_by=iam.ServicePrincipal(
                    "events.amazonaws.com",
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                ),
            )
            bus = events.EventBus.from_event_bus_arn(
                self, "PipelineBus", pipeline_names_bus(pipeline_names)
            )
            self.drift_rules: list[events.Rule] = []
            for rule_id, description, pattern in drift_event_patterns(
                {"prefix": self.drift_alarm_prefix}
            ):
                rule = events.Rule(
                    self, f"{rule_id}ToRetraining", description=description, event_pattern=pattern
                )
                rule.add_target(targets.EventBus(bus, role=forwarder.without_policy_updates()))
                rule.node.add_dependency(forward_policy)
                self.drift_rules.append(rule)

        # --- dashboard and workflow alarms (cdk-monitoring-constructs) ---------------------
        facade = monitoring_facade(
            self,
            alarm_name_prefix=names.prefix.rstrip("-"),
            alarm_topic=self.operations_topic.topic,
            dashboard_name_prefix=f"{names.prefix}serving",
            header=f"{self.endpoint_name}: endpoint, deployment and drift",
        )
        facade.monitor_step_function(
            state_machine=self.workflow.state_machine,
            human_readable_name="Deployment workflow",
            alarm_friendly_name="deployment",
            add_failed_execution_count_alarm={"Failed": cmc.ErrorCountThreshold(max_error_count=0)},
            add_timed_out_execution_count_alarm={
                "TimedOut": cmc.ErrorCountThreshold(max_error_count=0)
            },
        )
        facade.monitor_custom(
            human_readable_name=f"Endpoint {self.endpoint_name}",
            alarm_friendly_name="endpoint",
            metric_groups=[
                cmc.CustomMetricGroup(
                    title="Latency and errors",
                    metrics=[
                        specs["latency-p99"][0],
                        specs["5xx-errors"][0],
                        specs["4xx-errors"][0],
                    ],
                ),
                cmc.CustomMetricGroup(
                    title="Utilization", metrics=[specs["cpu"][0], specs["memory"][0]]
                ),
            ],
        )
        facade.monitor_step_function(
            state_machine=self.quality.state_machine,
            human_readable_name="Model-quality check",
            alarm_friendly_name="model-quality",
            add_failed_execution_count_alarm={"Failed": cmc.ErrorCountThreshold(max_error_count=0)},
            add_timed_out_execution_count_alarm={
                "TimedOut": cmc.ErrorCountThreshold(max_error_count=0)
            },
        )
        if self.drift_alarms:
            facade.monitor_custom(
                human_readable_name="Feature drift (Model Monitor)",
                alarm_friendly_name="drift",
                metric_groups=[
                    cmc.CustomMetricGroup(
                        title="feature_baseline_drift_<feature>",
                        # Alarm.metric is an IMetric; the library's annotation lists the
                        # concrete metric classes, which these are at run time.
                        metrics=[a.metric for a in self.drift_alarms],  # type: ignore[misc]
                    )
                ],
            )

    def _clarify_monitors(self, names, serving, keys, network, buckets) -> None:
        """All four Model Monitor types on every endpoint: data and model quality (the
        deployment workflow) plus these two Clarify job definitions; the deployment workflow
        schedules them once their baselines exist (docs/production.md)."""
        props = ClarifyMonitorProps(
            endpoint_name=self.endpoint_name,
            role=self.endpoint_role.role,
            image_uri=clarify_image(self.region),
            monitoring_bucket_name=buckets["monitoring"].bucket_name,
            volume_key=keys["monitoring"],
            output_key=keys["monitoring"],
            subnet_ids=[s.subnet_id for s in network.isolated_subnets],
            security_group_ids=[network.security_group.security_group_id],
            instance_type=serving.instance_type,
        )
        self.explainability_monitor = ModelExplainabilityMonitor(
            self, "FeatureAttributionDrift", props=props
        )
        self.clarify_monitors: list[
            tuple[str, str, ModelExplainabilityMonitor | ModelBiasMonitor]
        ] = [("FeatureAttributionDrift", "ModelExplainability", self.explainability_monitor)]
        self.bias_monitor: ModelBiasMonitor | None = None
        if serving.ground_truth_s3_prefix:  # post-training bias needs the outcomes
            self.bias_monitor = ModelBiasMonitor(
                self,
                "BiasDrift",
                props=props,
                ground_truth_s3_uri=(
                    f"s3://{buckets['monitoring'].bucket_name}/{serving.ground_truth_s3_prefix}"
                ),
            )
            self.clarify_monitors.append(("BiasDrift", "ModelBias", self.bias_monitor))
        # The monitors' shadow endpoint (Clarify computes SHAP values and predictions on a
        # temporary copy of the deployed model, named sm-clarify-*).
        self.endpoint_role.policy.add_statements(
            iam.PolicyStatement(
                sid="ClarifyShadowEndpoint",
                actions=[
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:DeleteEndpointConfig",
                ],
                resources=[
                    f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:"
                    f"{kind}/sm-clarify-*"
                    for kind in ("endpoint", "endpoint-config")
                ],
            )
        )

    def _model_quality(
        self,
        names,
        config,
        environment,
        keys,
        network,
        pipeline_names,
        group_arn: str,
        monitoring_arn: str,
    ) -> None:
        """Scheduled batch-transform quality check; its Degraded metric is a drift alarm."""
        serving = config.serving
        sdk_pandas = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "SdkPandas",
            f"arn:{self.partition}:lambda:{self.region}:336392948345:layer:AWSSDKPandas-"
            f"{RUNTIME.name.replace('python', 'Python').replace('.', '')}:"
            f"{config.lambda_layers.sdk_pandas_version}",
        )
        self.metrics_function = PlatformFunction(
            self,
            "ModelQualityMetrics",
            asset="model_quality_metrics",
            handler="model_quality_metrics_handler.handler",
            description="Model-quality metrics against ground truth, compared with validation",
            vpc=network.vpc,
            security_group=network.security_group,
            encryption_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            powertools_layer_version=config.lambda_layers.powertools_version,
            extra_layers=[sdk_pandas],
            timeout=Duration.minutes(10),
            memory_size=1024,
        )
        self.metrics_function.add_permissions(
            iam.PolicyStatement(
                sid="ReadTransformOutput",
                actions=["s3:GetObject"],
                resources=[f"{monitoring_arn}/quality/{self.endpoint_name}/*"],
            ),
            iam.PolicyStatement(
                sid="DecryptTransformOutput",
                actions=["kms:Decrypt"],
                resources=[keys["monitoring"].key_arn],
            ),
        )
        group = f"{pipeline_names.prefix}{config.training.model_name}"
        settings = ModelQualitySettings(
            name_prefix=names.prefix.rstrip("-"),
            endpoint_name=self.endpoint_name,
            model_package_group_arn=group_arn,
            model_package_group=group,
            validation_metrics_bucket=pipeline_names.bucket("model-artifacts"),
            monitoring_bucket=names.bucket("monitoring-reports"),
            monitoring_key_arn=keys["monitoring"].key_arn,
            instance_type=serving.instance_type,
            tolerances=dict(serving.quality_tolerances),
            metrics_function_arn=self.metrics_function.function_arn,
            operations_topic_arn=self.operations_topic.topic_arn,
            model_risk_topic_arn=self.model_risk_topic.topic_arn,
        )
        self.quality = ModelQualityWorkflow(
            self,
            "ModelQualityWorkflow",
            settings=settings,
            state_machine_name=f"{names.prefix}model-quality",
            encryption_key=keys["pipeline"],
            log_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            topic_key=keys["monitoring"],
            validation_metrics_key_alias_arn_pattern=(
                f"arn:{self.partition}:kms:{pipeline_names.region}:{pipeline_names.account}:key/*"
            ),
            validation_metrics_key_aliases=[pipeline_names.key_alias("pipeline")],
            # named: the pipeline account's bucket and key policies admit it by ARN
            role_name=(
                names.model_quality_role
                if config.training.pipeline_environment != names.environment
                else None
            ),
        )
        quality_arn = names.state_machine_arn(self.quality.state_machine_name)
        schedule_policy = iam.ManagedPolicy(
            self,
            "QualityScheduleRolePolicy",
            statements=[
                iam.PolicyStatement(
                    sid="StartQualityCheck",
                    actions=["states:StartExecution"],
                    resources=[self.quality.state_machine.state_machine_arn],
                ),
                *state_machine_key_statements(
                    keys["pipeline"].key_arn,
                    [quality_arn],
                    sid="QualityCheckEncryption",
                    describe=False,
                ),
                # The schedule's target input is encrypted with the monitoring key; Scheduler
                # decrypts it as the execution role.
                iam.PolicyStatement(
                    sid="ScheduleInputDecrypt",
                    actions=["kms:Decrypt"],
                    resources=[keys["monitoring"].key_arn],
                ),
            ],
        )
        schedule_role = iam.Role(
            self,
            "QualityScheduleRole",
            description="EventBridge Scheduler: model-quality check",
            managed_policies=[schedule_policy],
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            ),
        )
        schedule = EncryptedSchedule(
            self,
            "QualitySchedule",
            name=f"{names.prefix}model-quality",
            description="Model-quality check (serving.quality_check_schedule)",
            expression=serving.quality_check_schedule,
            encryption_key=keys["monitoring"],
            target_arn=self.quality.state_machine.state_machine_arn,
            role=schedule_role,
        )
        schedule.node.add_dependency(schedule_policy)
        # The Degraded metric (embedded metric format) as a drift alarm: it is forwarded
        # with the feature-drift alarms and starts one retraining per episode.
        self.quality_alarm = cw.Alarm(
            self,
            "ModelQualityDegradedAlarm",
            alarm_name=f"{self.drift_alarm_prefix}model-quality",
            metric=cw.Metric(
                namespace="SecureMlPlatform",
                metric_name="Degraded",
                statistic="Maximum",
                period=Duration.hours(1),
                dimensions_map={"ModelPackageGroup": group, "Endpoint": self.endpoint_name},
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{self.endpoint_name}: model quality dropped past tolerance; "
            "retraining starts (docs/production.md)",
        )
        self.quality_alarm.add_alarm_action(cw_actions.SnsAction(self.model_risk_topic.topic))


def pipeline_names_bus(pipeline_names: ResourceNames) -> str:
    return f"arn:aws:events:{pipeline_names.region}:{pipeline_names.account}:event-bus/default"


def drift_event_patterns(
    alarm_name: dict, accounts: list[str] | None = None
) -> list[tuple[str, str, events.EventPattern]]:
    """Drift alarms going to ALARM, and Model Monitor executions that found violations
    (a monitoring execution is a processing job; its ExitMessage carries the result)."""
    account = {"account": accounts} if accounts else {}
    return [
        (
            "DriftAlarm",
            "A feature-drift alarm went to ALARM",
            events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                detail={"alarmName": [alarm_name], "state": {"value": ["ALARM"]}},
                **account,
            ),
        ),
        (
            "MonitoringViolations",
            "A Model Monitor execution completed with violations",
            events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                detail={
                    "ProcessingJobStatus": ["Completed"],
                    "ExitMessage": [{"prefix": "CompletedWithViolations"}],
                },
                **account,
            ),
        ),
    ]
