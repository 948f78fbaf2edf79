"""Sample settings of the production workflows, shared by the ASL-as-data tests and the
moto-executed decision tests."""

from __future__ import annotations

from cdk_constructs._deployment_workflow_definition import DeploymentWorkflowSettings

DEPLOYMENT_SETTINGS = DeploymentWorkflowSettings(
    name_prefix="mlp-prod", endpoint_name="mlp-prod-credit-default",
    execution_role_arn="arn:aws:iam::333333333333:role/mlp-prod-endpoint",
    subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-1"],
    endpoint_key_arn="arn:aws:kms:eu-west-2:333333333333:key/endpoint",
    monitoring_key_arn="arn:aws:kms:eu-west-2:333333333333:key/monitoring",
    capture_bucket="capture-bucket", monitoring_bucket="monitoring-bucket",
    instance_type="ml.m5.large", instance_count=2, capture_sampling_percent=25,
    rollback_alarm_names=["mlp-prod-credit-default-latency-p99",
                          "mlp-prod-credit-default-5xx-errors"],
    traffic_routing="CANARY", canary_percent=10, wait_seconds=600,
    termination_wait_seconds=300, monitor_image="monitor:latest",
    monitoring_schedule="cron(0 * ? * * *)",
    notification_topic_arn="arn:aws:sns:eu-west-2:333333333333:ops")
