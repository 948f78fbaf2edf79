"""Commit-driven training: job role, model registry, lineage recorder, training workflow."""

from __future__ import annotations

import cdk_monitoring_constructs as cmc
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._monitoring import monitoring_facade
from cdk_constructs._platform_function import PlatformFunction
from cdk_constructs._retraining_workflow import RetrainingWorkflow
from cdk_constructs._sagemaker_images import sklearn_image, xgboost_image
from cdk_constructs._training_pipeline import DeploymentTarget, PipelineCode, TrainingPipeline
from cdk_constructs._training_workflow_definition import TrainingWorkflowSettings
from cdk_constructs.event_bus_permission import EventBusPutPermission
from cdk_constructs.model_registry import ModelRegistry
from cdk_constructs.sagemaker_job_role import SageMakerJobRole
from cdk_constructs.secure_bucket import SecureBucket
from cdk_constructs.secure_topic import SecureTopic
from cdk_constructs.training_workflow import TrainingWorkflow
from platform_config._model import EnvironmentConfig, PlatformConfig
from platform_config._naming import ResourceNames
from stacks.foundation_stack import FoundationStack
from stacks.pipeline_replica_stack import replica_stores
from stacks.serving_stack import QA_ENVIRONMENT


class TrainingStack(Stack):
    """Whitepaper section C (model development, pre-production) and section B
    (traceability, explainability, reproducibility)."""

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
        training = config.training
        keys = {purpose: managed.key for purpose, managed in foundation.keys.items()}
        network = foundation.network
        logs_bucket = s3.Bucket.from_bucket_name(
            self, "AccessLogsBucket", names.bucket("access-logs")
        )
        # Buckets by their deterministic names: literal ARNs keep IAM statements readable and
        # avoid cross-stack exports that would pin the foundation's buckets.
        buckets = {
            name: s3.Bucket.from_bucket_name(
                self, f"{name.capitalize()}Bucket", secure.bucket_name_literal
            )
            for name, secure in foundation.buckets.items()
        }

        self.operations_topic = SecureTopic(
            self,
            "OperationsTopic",
            display_name="ML platform operations",
            master_key=keys["monitoring"],
            emails=config.notifications.operations,
            # EventBridge (pipeline failures) and CloudWatch (the workflow alarms) publish here
            allow_services=("cloudwatch.amazonaws.com", "events.amazonaws.com"),
        )
        self.model_risk_topic = SecureTopic(
            self,
            "ModelRiskTopic",
            display_name="Model risk: approvals and model quality",
            master_key=keys["monitoring"],
            emails=config.notifications.model_risk,
        )

        self.registry = ModelRegistry(
            self,
            "ModelRegistry",
            group_name=f"{names.prefix}{training.model_name}",
            description=f"{training.model_name}: every trained model, pending human approval",
            reader_accounts=sorted(
                {
                    config.environment(e).account
                    for e in config.serving.environments
                    if config.environment(e).account != environment.account
                }
            ),
        )

        self.job_role = SageMakerJobRole(
            self,
            "JobRole",
            description="SageMaker processing and training jobs",
            read_buckets=[buckets["raw"], buckets["processed"], buckets["models"]],
            write_buckets=[buckets["processed"], buckets["models"]],
            keys=[keys["data"], keys["pipeline"]],
            vpc=network.vpc,
        )

        self.lineage = PlatformFunction(
            self,
            "LineageRecorder",
            asset="lineage_recorder",
            handler="lineage_recorder_handler.handler",
            description="Records commit, data, jobs and model package as SageMaker lineage",
            vpc=network.vpc,
            security_group=network.security_group,
            encryption_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            powertools_layer_version=config.lambda_layers.powertools_version,
            timeout=Duration.seconds(120),
            memory_size=256,
        )
        sm = f"arn:{self.partition}:sagemaker:{self.region}:{self.account}"
        self.lineage.add_permissions(
            *_lineage_statements(sm, self.registry.group_name),
            # the recorded raw data version, to cross-check the SHA-256 preprocessing read
            iam.PolicyStatement(
                sid="ReadRawDataVersion",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[f"{buckets['raw'].bucket_arn}/*"],
            ),
            iam.PolicyStatement(
                sid="DecryptRawData",
                actions=["kms:Decrypt"],
                resources=[keys["data"].key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
            ),
        )

        settings = TrainingWorkflowSettings(
            name_prefix=names.prefix.rstrip("-"),
            job_role_arn=self.job_role.role_arn,
            subnet_ids=[s.subnet_id for s in network.isolated_subnets],
            security_group_ids=[network.security_group.security_group_id],
            data_key_arn=keys["data"].key_arn,
            model_key_arn=keys["pipeline"].key_arn,
            processed_bucket=buckets["processed"].bucket_name,
            models_bucket=buckets["models"].bucket_name,
            sklearn_image=sklearn_image(self.region),
            xgboost_image=xgboost_image(self.region),
            processing_instance_type=training.processing_instance_type,
            training_instance_type=training.training_instance_type,
            max_runtime_seconds=training.max_runtime_seconds,
            managed_spot=training.managed_spot,
            inter_container_encryption=training.inter_container_encryption,
            hyperparameters={k: str(v) for k, v in training.hyperparameters.items()},
            gate_metric=training.gate.metric,
            gate_threshold=training.gate.threshold,
            facet_column=training.facet.column,
            facet_values=list(training.facet.values),
            notification_topic_arn=self.operations_topic.topic_arn,
            model_package_group=self.registry.group_name,
            lineage_function_arn=self.lineage.function_arn,
            tags={"ml-platform:environment": names.environment},
            **_governance_settings(training),
        )
        self.workflow = TrainingWorkflow(
            self,
            "TrainingWorkflow",
            settings=settings,
            encryption_key=keys["pipeline"],
            log_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            topic_key=keys["monitoring"],
            bucket_keys=[keys["data"], keys["pipeline"]],
            raw_bucket_arn=buckets["raw"].bucket_arn,
            processed_bucket_arn=buckets["processed"].bucket_arn,
            models_bucket_arn=buckets["models"].bucket_arn,
        )
        self.workflow.node.add_dependency(self.registry)

        self.artifacts = SecureBucket(
            self,
            "PipelineArtifacts",
            bucket_name=names.bucket("pipeline-artifacts"),
            encryption_key=keys["pipeline"],
            access_logs_bucket=logs_bucket,
            noncurrent_version_days=90,
        )
        source_bucket = None
        if training.source.kind == "s3":
            source_bucket = SecureBucket(
                self,
                "ModelSource",
                bucket_name=names.bucket("model-source"),
                encryption_key=keys["pipeline"],
                access_logs_bucket=logs_bucket,
            ).bucket
        self.pipeline = TrainingPipeline(
            self,
            "Pipeline",
            pipeline_name=f"{names.prefix}{training.model_name}-training",
            source=training.source,
            artifact_bucket=self.artifacts.bucket,
            artifact_bucket_name=names.bucket("pipeline-artifacts"),
            source_bucket=source_bucket,
            pipeline_key=keys["pipeline"],
            log_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            vpc=network.vpc,
            security_group=network.security_group,
            state_machine=self.workflow.state_machine,
            state_machine_name=self.workflow.state_machine_name,
            approval_topic=self.model_risk_topic.topic,
            approval_topic_key=keys["monitoring"],
            code=PipelineCode(
                models_bucket=buckets["models"],
                models_key=keys["pipeline"],
                raw_bucket_name=buckets["raw"].bucket_name,
                raw_data_key=training.raw_data_key,
                codeartifact_domain=names.codeartifact_domain,
                codeartifact_repository=names.codeartifact_repository,
            ),
            pipeline_role_name=names.pipeline_role,
            replica_stores=replica_stores(config),
            deployments=_deployment_targets(
                config, names, self.registry.group_name, buckets["processed"].bucket_name
            ),
        )
        self._retraining(names, config, environment, keys, network)
        self._dashboard(names)

    def _dashboard(self, names: ResourceNames) -> None:
        """Alarms on failed and timed-out workflow executions, and the pipeline account's
        dashboard (cdk-monitoring-constructs)."""

        facade = monitoring_facade(
            self,
            alarm_name_prefix=names.prefix.rstrip("-"),
            alarm_topic=self.operations_topic.topic,
            dashboard_name_prefix=f"{names.prefix}training",
            header="Training, retraining and the pipeline",
        )
        for machine, name, friendly in (
            (self.workflow.state_machine, "Training workflow", "training"),
            (self.retraining.state_machine, "Retraining workflow", "retraining"),
        ):
            facade.monitor_step_function(
                state_machine=machine,
                human_readable_name=name,
                alarm_friendly_name=friendly,
                add_failed_execution_count_alarm={
                    "Failed": cmc.ErrorCountThreshold(max_error_count=0)
                },
                add_timed_out_execution_count_alarm={
                    "TimedOut": cmc.ErrorCountThreshold(max_error_count=0)
                },
            )
        facade.monitor_lambda_function(
            lambda_function=self.retrain_trigger.function,
            human_readable_name="Retrain trigger",
            alarm_friendly_name="retrain-trigger",
        )
        # CodePipeline publishes events, not metrics: failures reach operations through the
        # PipelineFailed rule; the dashboard links the pipeline.
        facade.add_widget(
            cw.TextWidget(
                markdown=f"Pipeline **{self.pipeline.pipeline.pipeline_name}**: failures are "
                "e-mailed to operations (EventBridge rule PipelineFailed).",
                width=24,
                height=2,
            )
        )

    def _retraining(self, names, config, environment, keys, network) -> None:
        """Drift in any serving account starts ONE governed retraining (docs/production.md)."""
        serving = config.serving
        self.retraining = RetrainingWorkflow(
            self,
            "RetrainingWorkflow",
            state_machine_name=f"{names.prefix}retraining",
            pipeline_name=self.pipeline.pipeline.pipeline_name,
            topic_arn=self.model_risk_topic.topic_arn,
            topic_key=keys["monitoring"],
            encryption_key=keys["pipeline"],
            log_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
        )
        self.idempotency_table = dynamodb.Table(
            self,
            "RetrainIdempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=keys["pipeline"],
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.retrain_trigger = PlatformFunction(
            self,
            "RetrainTrigger",
            asset="retrain_trigger",
            handler="retrain_trigger_handler.handler",
            description="Starts one retraining per drift episode (idempotent)",
            vpc=network.vpc,
            security_group=network.security_group,
            encryption_key=keys["audit"],
            log_retention_days=environment.log_retention_days,
            powertools_layer_version=config.lambda_layers.powertools_version,
            timeout=Duration.seconds(60),
            memory_size=256,
            environment={
                "TRAINING_STATE_MACHINE_ARN": self.retraining.state_machine.state_machine_arn,
                "IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                "RETRAIN_COOLDOWN_HOURS": str(serving.retrain_cooldown_hours),
                "MODEL_PACKAGE_GROUP_NAME": self.registry.group_name,
            },
        )
        self.retrain_trigger.add_permissions(
            iam.PolicyStatement(
                sid="StartRetraining",
                actions=["states:StartExecution"],
                resources=[self.retraining.state_machine.state_machine_arn],
            ),
            # the previous window's execution of an episode (retrain_trigger_start)
            iam.PolicyStatement(
                sid="EarlierEpisodeStart",
                actions=["states:DescribeExecution"],
                resources=[
                    f"arn:{self.partition}:states:{self.region}:"
                    f"{self.account}:execution:"
                    f"{self.retraining.state_machine_name}:*"
                ],
            ),
            iam.PolicyStatement(
                sid="IdempotencyRecords",
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[self.idempotency_table.table_arn],
            ),
            iam.PolicyStatement(
                sid="IdempotencyKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[keys["pipeline"].key_arn],
            ),
        )
        from stacks.serving_stack import drift_event_patterns

        accounts = sorted({config.environment(e).account for e in serving.environments})
        target = event_targets.LambdaFunction(self.retrain_trigger.function, retry_attempts=2)
        for account in accounts:
            if account != self.account:
                EventBusPutPermission(
                    self,
                    f"DriftFrom{account}",
                    source_account=account,
                    statement_id=f"drift-from-{account}",
                )
        alarm_names = {"wildcard": f"{config.project.name}-*-{config.training.model_name}-drift-*"}
        for rule_id, description, pattern in drift_event_patterns(alarm_names, accounts):
            rule = events.Rule(
                self, f"{rule_id}Retrain", description=description, event_pattern=pattern
            )
            rule.add_target(target)
        if serving.scheduled_retraining:
            rule = events.Rule(
                self,
                "ScheduledRetraining",
                description="Scheduled retraining (serving.scheduled_retraining)",
                schedule=events.Schedule.expression(serving.scheduled_retraining),
            )
            rule.add_target(target)
        # Pipeline failures reach operations (the retraining pipeline included).
        failures = events.Rule(
            self,
            "PipelineFailed",
            description="The training pipeline failed",
            event_pattern=events.EventPattern(
                source=["aws.codepipeline"],
                detail_type=["CodePipeline Pipeline Execution State Change"],
                detail={"pipeline": [self.pipeline.pipeline.pipeline_name], "state": ["FAILED"]},
            ),
        )
        failures.add_target(self.operations_topic.as_rule_target())


def _lineage_statements(sm: str, group: str):
    from aws_cdk import aws_iam as iam

    return (
        iam.PolicyStatement(
            sid="ReadModelPackages",
            actions=["sagemaker:DescribeModelPackage"],
            resources=[f"{sm}:model-package/{group}/*"],
        ),
        iam.PolicyStatement(
            sid="ListLineage",
            actions=["sagemaker:ListArtifacts", "sagemaker:ListAssociations"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="WriteLineage",
            actions=[
                "sagemaker:CreateArtifact",
                "sagemaker:CreateAction",
                "sagemaker:DescribeAction",
                "sagemaker:CreateContext",
                "sagemaker:DescribeContext",
                "sagemaker:AddAssociation",
                # the completion marker; removing an artifact this invocation created as a
                # concurrent duplicate (lineage_recorder_logic._Writer._converge)
                "sagemaker:UpdateContext",
                "sagemaker:DeleteArtifact",
            ],
            resources=[f"{sm}:artifact/*", f"{sm}:action/*", f"{sm}:context/*"],
        ),
    )


def _governance_settings(training) -> dict:
    """training.governance as TrainingWorkflowSettings fields (docs/model-governance.md)."""
    governance = training.governance
    card = governance.model_card
    return {
        "protected_attributes": list(governance.protected_attributes),
        "exclude_features": list(governance.exclude_features),
        "additional_facets": list(governance.bias_gate.additional_facets),
        "bias_bounds": governance.bias_gate.conditions(),
        "bias_arguments": governance.bias_gate.arguments(),
        "max_auc_gap": governance.max_auc_gap,
        "model_name": training.model_name,
        "risk_rating": card.risk_rating,
        "intended_use": card.intended_use,
        "decision_threshold": card.decision_threshold,
        "threshold_rationale": card.threshold_rationale,
    }


def _deployment_targets(
    config: PlatformConfig, names: ResourceNames, group: str, processed_bucket: str
) -> list[DeploymentTarget]:
    """The serving environments in other accounts; literal ARNs from configuration."""
    group_arn = f"arn:aws:sagemaker:{names.region}:{names.account}:model-package-group/{group}"
    targets = []
    for env in config.serving.environments:
        # The pipeline's own environment is a target too: its actions role starts the workflow.
        own = env == names.environment
        target = ResourceNames.for_environment(config, env)
        targets.append(
            DeploymentTarget(
                environment=env,
                account=target.account,
                state_machine_arn=target.state_machine_arn(target.deployment_state_machine),
                role_arn=None if own else target.role_arn(target.pipeline_deploy_role),
                model_package_group_arn=group_arn,
                # Headed, features-only: the data-quality baseline (header: true) and the
                # per-feature drift alarms read the model features' names from it.
                baseline_data_uri=(
                    f"s3://{processed_bucket}/runs/#{{BuildVariables.RUN_ID}}/baseline/"
                ),
                qa_state_machine_arn=(
                    target.state_machine_arn(target.qa_state_machine)
                    if env == QA_ENVIRONMENT
                    else None
                ),
            )
        )
    return targets
