"""What the two SageMaker Clarify monitors (model bias drift, feature attribution drift)
share: validated props and the secure job settings (VPC, inter-container encryption, KMS
volume and output keys, a bounded run time; network isolation where the job allows it).

Network isolation: the bias-drift job reads the captured requests and predictions and the
ground truth only, so it runs isolated. The feature-attribution job computes SHAP values by
calling a temporary shadow copy of the deployed model (CreateEndpoint, InvokeEndpoint): an isolated
container cannot make those calls, so it runs in the VPC without isolation; the VPC has no
internet route and reaches AWS only through its interface endpoints.

Job definitions are CloudFormation resources, stable per endpoint. Their analysis config and
baseline constraints live at stable keys under the monitoring bucket
(``baselines/<endpoint>/<kind>/``), which each deployment refreshes from the training run, so
the definitions do not change when a new model version is deployed. Schedules need an
existing endpoint (CreateMonitoringSchedule validates it), so the deployment workflow creates
them after the endpoint is InService (docs/production.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from cdk_constructs._validation import is_concrete, require

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
LOCAL_INPUT = "/opt/ml/processing/input/endpoint"
LOCAL_OUTPUT = "/opt/ml/processing/output"


@dataclass(frozen=True)
class ClarifyMonitorProps:
    """Props both monitors take (keyword-only in the constructs)."""

    endpoint_name: str
    role: iam.IRole
    image_uri: str
    monitoring_bucket_name: str
    volume_key: kms.IKey
    output_key: kms.IKey
    subnet_ids: list[str]
    security_group_ids: list[str]
    instance_type: str = "ml.m5.large"
    max_runtime_seconds: int = 3300


def validate(construct: str, props: ClarifyMonitorProps, kind: str) -> str:
    """Checks and returns the job definition name ``<endpoint>-<kind>``."""
    name = f"{props.endpoint_name}-{kind}"
    if is_concrete(props.endpoint_name):
        require(
            bool(_NAME_RE.match(name)),
            construct,
            f"job definition name {name!r} must be 1-63 letters, digits and hyphens: "
            "shorten endpoint_name",
        )
    require(
        bool(props.subnet_ids) and bool(props.security_group_ids),
        construct,
        "monitoring jobs run in the VPC: give subnet_ids and security_group_ids",
    )
    require(
        bool(_INSTANCE_RE.match(props.instance_type)),
        construct,
        f"instance_type {props.instance_type!r} is not a SageMaker instance type, e.g. ml.m5.large",
    )
    require(
        60 <= props.max_runtime_seconds <= 3300,
        construct,
        "max_runtime_seconds must be 60..3300: an hourly schedule's job must end within "
        "the hour (SageMaker refuses longer)",
    )
    require(
        "sagemaker-clarify-processing" in props.image_uri,
        construct,
        f"image_uri {props.image_uri!r} is not a SageMaker Clarify image: use "
        "sagemaker_images.clarify_image(region)",
    )
    require(
        not props.monitoring_bucket_name.startswith("s3://"),
        construct,
        "monitoring_bucket_name is a bucket name, not an S3 URI",
    )
    return name


def baseline_prefix(props: ClarifyMonitorProps, kind: str) -> str:
    return f"s3://{props.monitoring_bucket_name}/baselines/{props.endpoint_name}/{kind}"


def job_settings(props: ClarifyMonitorProps, *, network_isolation: bool) -> dict:
    """Secure by default: nothing here is optional (isolation is decided per monitor)."""
    return {
        "job_resources": {
            "clusterConfig": {
                "instanceCount": 1,
                "instanceType": props.instance_type,
                "volumeSizeInGb": 30,
                "volumeKmsKeyId": props.volume_key.key_arn,
            }
        },
        "network_config": {
            "enableNetworkIsolation": network_isolation,
            "enableInterContainerTrafficEncryption": True,
            "vpcConfig": {
                "subnets": list(props.subnet_ids),
                "securityGroupIds": list(props.security_group_ids),
            },
        },
        "stopping_condition": {"maxRuntimeInSeconds": props.max_runtime_seconds},
        "role_arn": props.role.role_arn,
    }


def output_config(props: ClarifyMonitorProps, kind: str) -> dict:
    return {
        "kmsKeyId": props.output_key.key_arn,
        "monitoringOutputs": [
            {
                "s3Output": {
                    "s3Uri": f"s3://{props.monitoring_bucket_name}/reports/{props.endpoint_name}/{kind}",
                    "localPath": LOCAL_OUTPUT,
                    "s3UploadMode": "EndOfJob",
                }
            }
        ],
    }
