"""Tests of the SageMaker compliance responder (lambda/compliance_responder).

Everything AWS goes to moto. Where moto 5.2.5 lacks an operation (StopTrainingJob,
StopTransformJob, StopHyperParameterTuningJob) a single-operation stub is registered on the
client with a botocore ``before-call`` hook (see ``fake_operation``): unlike a whole-client
``botocore.stub.Stubber`` it leaves Describe*/AddTags/ListTags on moto, and the fake flips the
moto job to Stopping the way the real API would. ``Stubber`` itself is used where the brief asks
for it: StopNotebookInstance raising AccessDeniedException.

moto also creates every job straight in "Completed" state; tests that need a running job set
the moto record to "InProgress" (``set_status``), since a completed job cannot be stopped.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from cryptography.hazmat.primitives.asymmetric import rsa
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends
from moto.sns.models import Subscription

import compliance_responder_logic as logic

pytestmark = pytest.mark.control("auditability", "operations")

REGION = "eu-west-2"
ACCOUNT = DEFAULT_ACCOUNT_ID
SUBNET_1 = "subnet-0a1b2c3d4e5f60001"
SUBNET_2 = "subnet-0a1b2c3d4e5f60002"
ROGUE_SUBNET = "subnet-0fffffffffffff999"
SG_1 = "sg-0a1b2c3d4e5f60001"
ROGUE_SG = "sg-0fffffffffffff999"
KMS_KEY_ID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
KMS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KMS_KEY_ID}"
ROGUE_KMS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ml-platform-sagemaker-execution"
USER_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice@bank.example"
SOURCE_IP = "10.20.30.40"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ml-platform/xgboost:1.7-1"
BUCKET = "s3://ml-platform-artifacts-123456789012"

POLICY = logic.Policy(
    approved_subnet_ids=frozenset({SUBNET_1, SUBNET_2}),
    approved_security_group_ids=frozenset({SG_1}),
    approved_kms_key_arns=frozenset({KMS_ARN}),
    require_network_isolation=True,
)
DROP = object()  # marks a key to remove in `changed`


# --------------------------------------------------------------------------------------------
# Compliant request parameters (API PascalCase) for each event, and helpers to break them
# --------------------------------------------------------------------------------------------

VPC = {"SecurityGroupIds": [SG_1], "Subnets": [SUBNET_1, SUBNET_2]}


def notebook_request(name: str = "nb-compliant") -> dict[str, Any]:
    return {
        "NotebookInstanceName": name,
        "InstanceType": "ml.t3.medium",
        "RoleArn": ROLE_ARN,
        "SubnetId": SUBNET_1,
        "SecurityGroupIds": [SG_1],
        "KmsKeyId": KMS_ARN,
        "DirectInternetAccess": "Disabled",
        "RootAccess": "Disabled",
        "VolumeSizeInGB": 20,
    }


def training_request(name: str = "train-compliant") -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/train/"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/models/", "KmsKeyId": KMS_ARN},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": KMS_ARN,
        },
        "VpcConfig": copy.deepcopy(VPC),
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
    }


def processing_request(name: str = "proc-compliant") -> dict[str, Any]:
    return {
        "ProcessingJobName": name,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": KMS_ARN,
            }
        },
        "AppSpecification": {"ImageUri": IMAGE},
        "RoleArn": ROLE_ARN,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "features",
                    "S3Output": {
                        "S3Uri": f"{BUCKET}/features/",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": KMS_ARN,
        },
        "NetworkConfig": {"EnableNetworkIsolation": True, "VpcConfig": copy.deepcopy(VPC)},
    }


def transform_request(name: str = "batch-compliant") -> dict[str, Any]:
    return {
        "TransformJobName": name,
        "ModelName": "credit-risk-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/in/"}},
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": f"{BUCKET}/scores/", "KmsKeyId": KMS_ARN},
        "TransformResources": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeKmsKeyId": KMS_ARN,
        },
    }


def tuning_request(name: str = "hpo-compliant") -> dict[str, Any]:
    definition = training_request()
    definition.pop("TrainingJobName")
    definition["StaticHyperParameters"] = {"num_round": "100"}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        },
        "TrainingJobDefinition": definition,
    }


def model_request(name: str = "model-compliant") -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": ROLE_ARN,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": f"{BUCKET}/models/model.tar.gz"},
        "VpcConfig": copy.deepcopy(VPC),
        "EnableNetworkIsolation": True,
    }


def endpoint_config_request(name: str = "epc-compliant") -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "credit-risk-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        "KmsKeyId": KMS_ARN,
    }


REQUESTS: dict[str, Callable[..., dict[str, Any]]] = {
    "CreateNotebookInstance": notebook_request,
    "CreateTrainingJob": training_request,
    "CreateProcessingJob": processing_request,
    "CreateTransformJob": transform_request,
    "CreateHyperParameterTuningJob": tuning_request,
    "CreateModel": model_request,
    "CreateEndpointConfig": endpoint_config_request,
}


def changed(params: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Deep copy of params with dotted paths set (or removed with DROP)."""
    out = copy.deepcopy(params)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is DROP:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return out


def to_cloudtrail_case(value: Any) -> Any:
    """CloudTrail records SageMaker request parameters in lowerCamelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: to_cloudtrail_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cloudtrail_case(v) for v in value]
    return value


def cloudtrail_event(
    event_name: str,
    request_parameters: dict[str, Any] | None,
    *,
    event_id: str | None = None,
    response_elements: dict[str, Any] | None = None,
    event_time: datetime | None = None,
) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event, as the rule delivers it."""
    when = (event_time or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": when,
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLEROLEID:alice@bank.example",
                "arn": USER_ARN,
                "accountId": ACCOUNT,
                "accessKeyId": "ASIAEXAMPLEKEYID",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROAEXAMPLEROLEID",
                        "arn": f"arn:aws:iam::{ACCOUNT}:role/DataScientist",
                        "accountId": ACCOUNT,
                        "userName": "DataScientist",
                    },
                    "attributes": {"creationDate": when, "mfaAuthenticated": "true"},
                },
            },
            "eventTime": when,
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name,
            "awsRegion": REGION,
            "sourceIPAddress": SOURCE_IP,
            "userAgent": "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.12",
            "requestParameters": (
                None if request_parameters is None else to_cloudtrail_case(request_parameters)
            ),
            "responseElements": response_elements,
            "requestID": str(uuid.uuid4()),
            "eventID": event_id or str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"api.sagemaker.{REGION}.amazonaws.com",
            },
        },
    }


# --------------------------------------------------------------------------------------------
# 1. The pure decision function, exhaustively
# --------------------------------------------------------------------------------------------

# fmt: off  (one case per line reads better than the formatter's wrapping)
DECISION_CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    # notebook
    ("nb-compliant", "CreateNotebookInstance", {}, []),
    ("nb-internet", "CreateNotebookInstance", {"DirectInternetAccess": "Enabled"}, ["INTERNET_ACCESS"]),
    ("nb-internet-default", "CreateNotebookInstance", {"DirectInternetAccess": DROP}, ["INTERNET_ACCESS"]),
    ("nb-root", "CreateNotebookInstance", {"RootAccess": "Enabled"}, ["ROOT_ACCESS"]),
    ("nb-root-default", "CreateNotebookInstance", {"RootAccess": DROP}, ["ROOT_ACCESS"]),
    ("nb-disabled-any-case", "CreateNotebookInstance", {"RootAccess": "disabled", "DirectInternetAccess": "DISABLED"}, []),
    ("nb-no-subnet", "CreateNotebookInstance", {"SubnetId": DROP, "SecurityGroupIds": DROP}, ["NO_VPC"]),
    ("nb-rogue-subnet", "CreateNotebookInstance", {"SubnetId": ROGUE_SUBNET}, ["SUBNET_UNAPPROVED"]),
    ("nb-no-sg", "CreateNotebookInstance", {"SecurityGroupIds": DROP}, ["NO_SG"]),
    ("nb-rogue-sg", "CreateNotebookInstance", {"SecurityGroupIds": [SG_1, ROGUE_SG]}, ["SG_UNAPPROVED"]),
    ("nb-no-kms", "CreateNotebookInstance", {"KmsKeyId": DROP}, ["NO_KMS"]),
    ("nb-empty-kms", "CreateNotebookInstance", {"KmsKeyId": " "}, ["NO_KMS"]),
    ("nb-rogue-kms", "CreateNotebookInstance", {"KmsKeyId": ROGUE_KMS_ARN}, ["KMS_UNAPPROVED"]),
    ("nb-kms-bare-id-of-approved", "CreateNotebookInstance", {"KmsKeyId": KMS_KEY_ID}, []),
    ("nb-kms-alias-not-listed", "CreateNotebookInstance", {"KmsKeyId": "alias/ml-platform"}, ["KMS_UNAPPROVED"]),
    ("nb-everything-default", "CreateNotebookInstance",
     {"DirectInternetAccess": DROP, "RootAccess": DROP, "SubnetId": DROP, "SecurityGroupIds": DROP, "KmsKeyId": DROP},
     ["INTERNET_ACCESS", "ROOT_ACCESS", "NO_VPC", "NO_KMS"]),
    # training job
    ("tj-compliant", "CreateTrainingJob", {}, []),
    ("tj-no-vpc", "CreateTrainingJob", {"VpcConfig": DROP}, ["NO_VPC"]),
    ("tj-empty-subnets", "CreateTrainingJob", {"VpcConfig.Subnets": []}, ["NO_VPC"]),
    ("tj-rogue-subnet", "CreateTrainingJob", {"VpcConfig.Subnets": [SUBNET_1, ROGUE_SUBNET]}, ["SUBNET_UNAPPROVED"]),
    ("tj-rogue-sg", "CreateTrainingJob", {"VpcConfig.SecurityGroupIds": [ROGUE_SG]}, ["SG_UNAPPROVED"]),
    ("tj-no-sg", "CreateTrainingJob", {"VpcConfig.SecurityGroupIds": []}, ["NO_SG"]),
    ("tj-no-volume-kms", "CreateTrainingJob", {"ResourceConfig.VolumeKmsKeyId": DROP}, ["NO_VOLUME_KMS"]),
    ("tj-rogue-volume-kms", "CreateTrainingJob", {"ResourceConfig.VolumeKmsKeyId": ROGUE_KMS_ARN}, ["VOLUME_KMS_UNAPPROVED"]),
    ("tj-no-output-kms", "CreateTrainingJob", {"OutputDataConfig.KmsKeyId": DROP}, ["NO_OUTPUT_KMS"]),
    ("tj-rogue-output-kms", "CreateTrainingJob", {"OutputDataConfig.KmsKeyId": ROGUE_KMS_ARN}, ["OUTPUT_KMS_UNAPPROVED"]),
    ("tj-no-isolation", "CreateTrainingJob", {"EnableNetworkIsolation": False}, ["NO_NET_ISOLATION"]),
    ("tj-isolation-omitted", "CreateTrainingJob", {"EnableNetworkIsolation": DROP}, ["NO_NET_ISOLATION"]),
    ("tj-isolation-string-true", "CreateTrainingJob", {"EnableNetworkIsolation": "true"}, []),
    ("tj-no-ict", "CreateTrainingJob", {"EnableInterContainerTrafficEncryption": False}, ["NO_ICT_ENCRYPTION"]),
    ("tj-ict-omitted", "CreateTrainingJob", {"EnableInterContainerTrafficEncryption": DROP}, ["NO_ICT_ENCRYPTION"]),
    ("tj-all-wrong", "CreateTrainingJob",
     {"VpcConfig": DROP, "ResourceConfig.VolumeKmsKeyId": DROP, "OutputDataConfig.KmsKeyId": DROP,
      "EnableNetworkIsolation": DROP, "EnableInterContainerTrafficEncryption": DROP},
     ["NO_VPC", "NO_VOLUME_KMS", "NO_OUTPUT_KMS", "NO_NET_ISOLATION", "NO_ICT_ENCRYPTION"]),
    # processing job
    ("pj-compliant", "CreateProcessingJob", {}, []),
    ("pj-no-network-config", "CreateProcessingJob", {"NetworkConfig": DROP}, ["NO_VPC", "NO_NET_ISOLATION"]),
    ("pj-no-vpc", "CreateProcessingJob", {"NetworkConfig.VpcConfig": DROP}, ["NO_VPC"]),
    ("pj-rogue-subnet", "CreateProcessingJob", {"NetworkConfig.VpcConfig.Subnets": [ROGUE_SUBNET]}, ["SUBNET_UNAPPROVED"]),
    ("pj-no-isolation", "CreateProcessingJob", {"NetworkConfig.EnableNetworkIsolation": False}, ["NO_NET_ISOLATION"]),
    ("pj-no-volume-kms", "CreateProcessingJob", {"ProcessingResources.ClusterConfig.VolumeKmsKeyId": DROP}, ["NO_VOLUME_KMS"]),
    ("pj-no-output-kms", "CreateProcessingJob", {"ProcessingOutputConfig.KmsKeyId": DROP}, ["NO_OUTPUT_KMS"]),
    ("pj-rogue-output-kms", "CreateProcessingJob", {"ProcessingOutputConfig.KmsKeyId": ROGUE_KMS_ARN}, ["OUTPUT_KMS_UNAPPROVED"]),
    ("pj-no-outputs-needs-no-key", "CreateProcessingJob", {"ProcessingOutputConfig": DROP}, []),
    # transform job (network comes from the model: only encryption is judged)
    ("xj-compliant", "CreateTransformJob", {}, []),
    ("xj-no-output-kms", "CreateTransformJob", {"TransformOutput.KmsKeyId": DROP}, ["NO_OUTPUT_KMS"]),
    ("xj-no-volume-kms", "CreateTransformJob", {"TransformResources.VolumeKmsKeyId": DROP}, ["NO_VOLUME_KMS"]),
    ("xj-rogue-volume-kms", "CreateTransformJob", {"TransformResources.VolumeKmsKeyId": ROGUE_KMS_ARN}, ["VOLUME_KMS_UNAPPROVED"]),
    # hyper-parameter tuning job (its training job definition follows the training rules)
    ("hpo-compliant", "CreateHyperParameterTuningJob", {}, []),
    ("hpo-no-vpc", "CreateHyperParameterTuningJob", {"TrainingJobDefinition.VpcConfig": DROP}, ["NO_VPC"]),
    ("hpo-no-ict-no-kms", "CreateHyperParameterTuningJob",
     {"TrainingJobDefinition.EnableInterContainerTrafficEncryption": False,
      "TrainingJobDefinition.ResourceConfig.VolumeKmsKeyId": DROP},
     ["NO_VOLUME_KMS", "NO_ICT_ENCRYPTION"]),
    # model
    ("model-compliant", "CreateModel", {}, []),
    ("model-no-vpc", "CreateModel", {"VpcConfig": DROP}, ["NO_VPC"]),
    ("model-rogue-sg", "CreateModel", {"VpcConfig.SecurityGroupIds": [ROGUE_SG]}, ["SG_UNAPPROVED"]),
    ("model-no-isolation", "CreateModel", {"EnableNetworkIsolation": False}, ["NO_NET_ISOLATION"]),
    ("model-isolation-omitted", "CreateModel", {"EnableNetworkIsolation": DROP}, ["NO_NET_ISOLATION"]),
    # endpoint config
    ("epc-compliant", "CreateEndpointConfig", {}, []),
    ("epc-no-kms", "CreateEndpointConfig", {"KmsKeyId": DROP}, ["NO_KMS"]),
    ("epc-rogue-kms", "CreateEndpointConfig", {"KmsKeyId": ROGUE_KMS_ARN}, ["KMS_UNAPPROVED"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("event_name", "changes", "expected"),
    [pytest.param(e, c, x, id=i) for i, e, c, x in DECISION_CASES],
)
def test_decision_on_api_shaped_request(event_name, changes, expected) -> None:
    params = changed(REQUESTS[event_name](), changes)
    violations = logic.evaluate_request(event_name, params, POLICY)
    assert sorted(v.code for v in violations) == sorted(expected)
    assert all(v.detail for v in violations)


@pytest.mark.parametrize(
    ("event_name", "changes", "expected"),
    [pytest.param(e, c, x, id=i) for i, e, c, x in DECISION_CASES],
)
def test_decision_on_cloudtrail_cased_request_is_the_same(event_name, changes, expected) -> None:
    params = to_cloudtrail_case(changed(REQUESTS[event_name](), changes))
    assert all(key[0].islower() for key in params)  # really CloudTrail-cased
    violations = logic.evaluate_request(event_name, params, POLICY)
    assert sorted(v.code for v in violations) == sorted(expected)


@pytest.mark.parametrize(
    ("event_name", "changes"),
    [
        ("CreateTrainingJob", {"EnableNetworkIsolation": False}),
        ("CreateProcessingJob", {"NetworkConfig.EnableNetworkIsolation": DROP}),
        ("CreateModel", {"EnableNetworkIsolation": False}),
        ("CreateHyperParameterTuningJob", {"TrainingJobDefinition.EnableNetworkIsolation": False}),
    ],
)
def test_network_isolation_is_only_required_when_configured(event_name, changes) -> None:
    params = changed(REQUESTS[event_name](), changes)
    relaxed = logic.Policy(
        POLICY.approved_subnet_ids,
        POLICY.approved_security_group_ids,
        POLICY.approved_kms_key_arns,
        require_network_isolation=False,
    )
    assert [v.code for v in logic.evaluate_request(event_name, params, POLICY)] == [
        "NO_NET_ISOLATION"
    ]
    assert logic.evaluate_request(event_name, params, relaxed) == []


def test_empty_allow_lists_only_require_presence() -> None:
    open_policy = logic.Policy(require_network_isolation=True)
    assert open_policy.empty_allow_lists() == [
        "APPROVED_SUBNET_IDS",
        "APPROVED_SECURITY_GROUP_IDS",
        "APPROVED_KMS_KEY_ARNS",
    ]
    rogue = changed(
        training_request(),
        {"VpcConfig.Subnets": [ROGUE_SUBNET], "ResourceConfig.VolumeKmsKeyId": ROGUE_KMS_ARN},
    )
    assert logic.evaluate_request("CreateTrainingJob", rogue, open_policy) == []
    missing = changed(training_request(), {"VpcConfig": DROP, "OutputDataConfig.KmsKeyId": DROP})
    codes = [v.code for v in logic.evaluate_request("CreateTrainingJob", missing, open_policy)]
    assert codes == ["NO_VPC", "NO_OUTPUT_KMS"]


def test_tuning_job_with_several_definitions_labels_each() -> None:
    good = tuning_request()["TrainingJobDefinition"]
    bad = changed(good, {"VpcConfig": DROP})
    params = {
        "HyperParameterTuningJobName": "hpo-multi",
        "TrainingJobDefinitions": [
            dict(good, DefinitionName="xgb"),
            dict(bad, DefinitionName="linear"),
        ],
    }
    violations = logic.evaluate_request("CreateHyperParameterTuningJob", params, POLICY)
    assert [(v.code, v.detail.split(":")[0]) for v in violations] == [("NO_VPC", "linear")]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, logic.Policy(require_network_isolation=True)),
        (
            {
                "APPROVED_SUBNET_IDS": f" {SUBNET_1} ,{SUBNET_2},, ",
                "APPROVED_SECURITY_GROUP_IDS": SG_1,
                "APPROVED_KMS_KEY_ARNS": KMS_ARN,
                "REQUIRE_NETWORK_ISOLATION": "true",
            },
            POLICY,
        ),
        ({"REQUIRE_NETWORK_ISOLATION": "False"}, logic.Policy(require_network_isolation=False)),
        ({"REQUIRE_NETWORK_ISOLATION": "0"}, logic.Policy(require_network_isolation=False)),
        ({"REQUIRE_NETWORK_ISOLATION": "yes please"}, logic.Policy(require_network_isolation=True)),
    ],
)
def test_policy_from_env(environ, expected) -> None:
    assert logic.Policy.from_env(environ) == expected


def test_unknown_event_name_is_not_decided() -> None:
    with pytest.raises(KeyError):
        logic.evaluate_request("CreateEndpoint", {"EndpointName": "x"}, POLICY)


def test_tag_value_fits_sagemaker_limits() -> None:
    """Codes are joined with spaces (commas are not allowed in SageMaker tag values)."""
    outcome = logic.Outcome(
        status=logic.REMEDIATED,
        reason="",
        violations=[logic.Violation(f"CODE_{i:03d}_PADDING_PADDING", "x") for i in range(40)],
    )
    parsed = logic.parse_event(cloudtrail_event("CreateModel", model_request()))
    deps = logic.Dependencies(sagemaker=None, sns=None)
    tags = {t["Key"]: t["Value"] for t in logic._tags(outcome, parsed, deps)}
    assert len(tags[logic.TAG_VIOLATION]) == 256
    assert "," not in tags[logic.TAG_VIOLATION]
    assert tags[logic.TAG_REMEDIATED_AT].endswith("Z")


# --------------------------------------------------------------------------------------------
# 2. The handler against moto
# --------------------------------------------------------------------------------------------


class FakeContext:
    function_name = "ml-platform-compliance-responder"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2025/01/01/[$LATEST]abcdef"

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Aws:
    sm: Any
    sns: Any
    sqs: Any
    queue_url: str
    topic_arn: str
    hooks: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def backend(self) -> Any:
        return sagemaker_backends[ACCOUNT][REGION]

    def messages(self) -> list[dict[str, Any]]:
        """Everything published to the security topic so far (drains the queue)."""
        out = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return out
            for message in batch:
                envelope = json.loads(message["Body"])
                out.append(
                    {
                        "subject": envelope.get("Subject"),
                        "body": json.loads(envelope["Message"]),
                        "attributes": {
                            k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                        },
                    }
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.sm.list_tags(ResourceArn=arn)["Tags"]}


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """Building clients is slow (mock_aws resets boto3's session, so every test would reload
    the service models; SageMaker's is huge): one set serves the module. moto intercepts them
    inside each test's own mock_aws(), whose state is fresh."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    made: dict[str, Any] = {name: session.client(name) for name in ("sagemaker", "sns", "sqs")}
    made["session"] = session
    # moto signs every SNS->SQS delivery with a new 2048-bit RSA key per subscription
    # (~0.1 s each): one key for the module keeps the suite fast
    made["signing_key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return made


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, clients: dict[str, Any]) -> Iterator[Aws]:
    monkeypatch.setenv("APPROVED_SUBNET_IDS", f"{SUBNET_1},{SUBNET_2}")
    monkeypatch.setenv("APPROVED_SECURITY_GROUP_IDS", SG_1)
    monkeypatch.setenv("APPROVED_KMS_KEY_ARNS", KMS_ARN)
    monkeypatch.setenv("REQUIRE_NETWORK_ISOLATION", "true")
    logic._CLIENTS.clear()
    monkeypatch.setattr(Subscription, "private_key", lambda _self: clients["signing_key"])
    with mock_aws():
        sagemaker_client, sns, sqs = clients["sagemaker"], clients["sns"], clients["sqs"]
        topic_arn = sns.create_topic(Name="ml-platform-security-findings")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="security-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("SECURITY_TOPIC_ARN", topic_arn)
        # the function's lazily created clients: the ones the tests hook into
        logic._CLIENTS[("sagemaker", REGION)] = sagemaker_client
        logic._CLIENTS[("sns", REGION)] = sns
        state = Aws(sm=sagemaker_client, sns=sns, sqs=sqs, queue_url=queue_url,
                    topic_arn=topic_arn)
        try:
            yield state
        finally:
            for event_name, hook in state.hooks:  # the client outlives the test: unhook
                sagemaker_client.meta.events.unregister(event_name, hook)
    logic._CLIENTS.clear()


@pytest.fixture
def handler_module(aws: Aws, capsys: pytest.CaptureFixture[str]) -> Any:
    """The handler module, imported once the env is set (Powertools reads it at init) and
    outside capsys, so its Logger keeps a stream that outlives this test."""
    with capsys.disabled():
        import compliance_responder_handler
    return compliance_responder_handler


@pytest.fixture
def run(handler_module: Any, capsys: pytest.CaptureFixture[str]) -> Callable[..., dict[str, Any]]:
    """Invoke the real handler; returns its result plus the EMF metrics it flushed."""

    def _run(event: dict[str, Any], context: FakeContext | None = None) -> dict[str, Any]:
        capsys.readouterr()
        result = handler_module.handler(event, context or FakeContext())
        result["metrics"] = emitted_metrics(capsys.readouterr().out)
        return result

    return _run


def emitted_metrics(stdout: str, namespace: str = "MlPlatformTest") -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            assert definition["Namespace"] == namespace
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


def create(aws: Aws, event_name: str, params: dict[str, Any]) -> str:
    """Create the resource in moto as the caller did; returns its ARN."""
    method = {
        "CreateNotebookInstance": "create_notebook_instance",
        "CreateTrainingJob": "create_training_job",
        "CreateProcessingJob": "create_processing_job",
        "CreateTransformJob": "create_transform_job",
        "CreateHyperParameterTuningJob": "create_hyper_parameter_tuning_job",
        "CreateModel": "create_model",
        "CreateEndpointConfig": "create_endpoint_config",
    }[event_name]
    if event_name == "CreateEndpointConfig":  # moto, like AWS, wants the model to exist
        model = params["ProductionVariants"][0]["ModelName"]
        if model not in aws.backend._models:
            aws.sm.create_model(ModelName=model, ExecutionRoleArn=ROLE_ARN,
                                PrimaryContainer={"Image": IMAGE})
    response = getattr(aws.sm, method)(**params)
    arn = next(v for k, v in response.items() if k.endswith("Arn"))
    record = aws.backend._get_resource_from_arn(arn)
    if record.tags is None:  # moto keeps None when Tags is omitted, then fails in AddTags
        record.tags = []
    if event_name == "CreateProcessingJob":
        # moto drops ProcessingResources on CreateProcessingJob (DescribeProcessingJob returns
        # it in AWS, with the volume key the responder judges): mirror the request
        record.processing_resources = copy.deepcopy(params.get("ProcessingResources"))
    if event_name == "CreateModel":
        # moto drops EnableNetworkIsolation on CreateModel: mirror the request in its record
        aws.backend._models[params["ModelName"]].enable_network_isolation = bool(
            params.get("EnableNetworkIsolation", False)
        )
    return arn


JOB_RECORDS = {
    "CreateTrainingJob": ("training_jobs", "TrainingJobName", "training_job_status"),
    "CreateProcessingJob": ("processing_jobs", "ProcessingJobName", "processing_job_status"),
    "CreateTransformJob": ("transform_jobs", "TransformJobName", "transform_job_status"),
    "CreateHyperParameterTuningJob": (
        "hyper_parameter_tuning_jobs",
        "HyperParameterTuningJobName",
        "hyper_parameter_tuning_job_status",
    ),
}


def job_status(aws: Aws, event_name: str, name: str) -> str:
    store, _, attribute = JOB_RECORDS[event_name]
    return getattr(getattr(aws.backend, store)[name], attribute)


def set_status(aws: Aws, event_name: str, name: str, status: str) -> None:
    store, _, attribute = JOB_RECORDS[event_name]
    setattr(getattr(aws.backend, store)[name], attribute, status)


def fake_response(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(f"https://api.sagemaker.{REGION}.amazonaws.com/", status, {}, None), parsed


def fake_operation(
    aws: Aws, operation: str, reply: Callable[[dict[str, Any]], tuple[int, dict[str, Any]] | None]
) -> list[dict[str, Any]]:
    """Answer one SageMaker operation without sending it (all other calls still go to moto).
    A reply of None lets the call through to moto. Returns the request bodies it received."""
    calls: list[dict[str, Any]] = []

    def _hook(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = json.loads(params["body"] or b"{}")
        calls.append(body)
        answer = reply(body)
        return None if answer is None else fake_response(*answer)

    event_name = f"before-call.sagemaker.{operation}"
    aws.sm.meta.events.register(event_name, _hook)
    aws.hooks.append((event_name, _hook))
    return calls


def error_reply(code: str, message: str, status: int = 400) -> Callable[..., Any]:
    return lambda _body: (status, {"Error": {"Code": code, "Message": message}})


def stop_job_like_aws(aws: Aws, event_name: str, operation: str) -> list[dict[str, Any]]:
    """moto lacks Stop{Training,Transform,HyperParameterTuning}Job: answer it and move the
    moto record to Stopping, which is what the real service does."""
    _, name_param, _ = JOB_RECORDS[event_name]

    def _reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        set_status(aws, event_name, body[name_param], "Stopping")
        return 200, {}

    return fake_operation(aws, operation, _reply)


def assert_notification(message: dict[str, Any], *, arn: str, event: dict[str, Any], action: str,
                        violations: list[str], status: str = "REMEDIATED") -> None:
    body = message["body"]
    assert body["status"] == status
    assert body["resourceArn"] == arn
    assert body["action"] == action
    assert sorted(body["violations"]) == sorted(violations)
    assert {d["code"] for d in body["violationDetails"]} == set(violations)
    trail = body["cloudTrail"]
    assert trail["eventID"] == event["detail"]["eventID"]
    assert trail["userIdentityArn"] == USER_ARN
    assert trail["sourceIPAddress"] == SOURCE_IP
    assert trail["eventName"] == event["detail"]["eventName"]
    assert message["attributes"]["status"] == status
    assert ("REMEDIATED" if status == "REMEDIATED" else "REMEDIATION FAILED") in message["subject"]
    assert len(message["subject"]) <= 100


# ---- notebooks ------------------------------------------------------------------------------


def test_compliant_notebook_is_left_alone(aws: Aws, run) -> None:
    params = notebook_request("nb-ok")
    arn = create(aws, "CreateNotebookInstance", params)
    result = run(cloudtrail_event("CreateNotebookInstance", params))
    assert result["status"] == "COMPLIANT"
    assert aws.sm.describe_notebook_instance(NotebookInstanceName="nb-ok")[
        "NotebookInstanceStatus"
    ] == "InService"
    assert aws.tags(arn) == {}
    assert aws.messages() == []
    assert result["metrics"] == {
        "ViolationsFound": 0, "ResourcesRemediated": 0, "EventsSkipped": 0, "RemediationErrors": 0
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"DirectInternetAccess": DROP, "RootAccess": DROP}, ["INTERNET_ACCESS", "ROOT_ACCESS"]),
        ({"DirectInternetAccess": "Enabled"}, ["INTERNET_ACCESS"]),
        ({"RootAccess": "Enabled"}, ["ROOT_ACCESS"]),
        ({"SubnetId": DROP, "SecurityGroupIds": DROP}, ["NO_VPC", "INTERNET_ACCESS"]),
        ({"SubnetId": ROGUE_SUBNET}, ["SUBNET_UNAPPROVED"]),
        ({"SecurityGroupIds": [ROGUE_SG]}, ["SG_UNAPPROVED"]),
        ({"KmsKeyId": DROP}, ["NO_KMS"]),
        ({"KmsKeyId": ROGUE_KMS_ARN}, ["KMS_UNAPPROVED"]),
    ],
)
def test_non_compliant_notebook_is_stopped_tagged_and_reported(aws: Aws, run, changes, expected):
    params = changed(notebook_request("nb-bad"), changes)
    if "SubnetId" not in params:  # without a VPC SageMaker forces direct internet access
        params["DirectInternetAccess"] = "Enabled"
    arn = create(aws, "CreateNotebookInstance", params)
    event = cloudtrail_event(
        "CreateNotebookInstance", params, response_elements={"notebookInstanceArn": arn}
    )
    result = run(event)
    assert result["status"] == "REMEDIATED"
    assert aws.sm.describe_notebook_instance(NotebookInstanceName="nb-bad")[
        "NotebookInstanceStatus"
    ] == "Stopped"
    tags = aws.tags(arn)
    assert sorted(tags["ml-platform:compliance-violation"].split()) == sorted(expected)
    assert tags["ml-platform:compliance-event-id"] == event["detail"]["eventID"]
    remediated_at = datetime.strptime(tags["ml-platform:remediated-at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(remediated_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(
        minutes=1
    )
    (message,) = aws.messages()
    assert_notification(message, arn=arn, event=event, action="StopNotebookInstance",
                        violations=expected)
    assert message["body"]["tagging"] == "SUCCEEDED"
    assert result["metrics"] == {
        "ViolationsFound": len(expected),
        "ResourcesRemediated": 1,
        "EventsSkipped": 0,
        "RemediationErrors": 0,
    }


def test_same_notebook_event_twice_acts_once(aws: Aws, run) -> None:
    params = changed(notebook_request("nb-twice"), {"RootAccess": "Enabled"})
    arn = create(aws, "CreateNotebookInstance", params)
    event = cloudtrail_event("CreateNotebookInstance", params)
    assert run(event)["status"] == "REMEDIATED"
    first_tags = aws.tags(arn)
    second = run(copy.deepcopy(event))
    assert second["status"] == "NO_ACTION"
    assert "Stopped" in second["reason"]
    assert second["metrics"]["ResourcesRemediated"] == 0
    assert aws.tags(arn) == first_tags  # not re-tagged
    assert len(aws.messages()) == 1


def test_restarted_non_compliant_notebook_is_stopped_again(aws: Aws, run) -> None:
    params = changed(notebook_request("nb-restart"), {"RootAccess": DROP})
    create(aws, "CreateNotebookInstance", params)
    assert run(cloudtrail_event("CreateNotebookInstance", params))["status"] == "REMEDIATED"
    aws.sm.start_notebook_instance(NotebookInstanceName="nb-restart")
    # StartNotebookInstance carries only the name: the decision comes from Describe
    start = cloudtrail_event("StartNotebookInstance", {"NotebookInstanceName": "nb-restart"})
    result = run(start)
    assert result["status"] == "REMEDIATED"
    assert result["violations"] == ["ROOT_ACCESS"]
    assert aws.sm.describe_notebook_instance(NotebookInstanceName="nb-restart")[
        "NotebookInstanceStatus"
    ] == "Stopped"
    messages = aws.messages()
    assert len(messages) == 2
    assert messages[1]["body"]["cloudTrail"]["eventName"] == "StartNotebookInstance"


def test_starting_a_compliant_notebook_is_left_alone(aws: Aws, run) -> None:
    arn = create(aws, "CreateNotebookInstance", notebook_request("nb-start-ok"))
    result = run(cloudtrail_event("StartNotebookInstance", {"NotebookInstanceName": "nb-start-ok"}))
    assert result["status"] == "COMPLIANT"
    assert aws.tags(arn) == {}
    assert aws.messages() == []


def test_update_of_a_stopped_notebook_is_only_logged(aws: Aws, run) -> None:
    """UpdateNotebookInstance needs a stopped notebook: nothing to stop; the StartNotebookInstance
    event that follows is the one that enforces."""
    params = changed(notebook_request("nb-update"), {"RootAccess": "Enabled"})
    arn = create(aws, "CreateNotebookInstance", params)
    aws.sm.stop_notebook_instance(NotebookInstanceName="nb-update")
    result = run(
        cloudtrail_event(
            "UpdateNotebookInstance", {"NotebookInstanceName": "nb-update", "RootAccess": "Enabled"}
        )
    )
    assert result["status"] == "NO_ACTION"
    assert result["violations"] == ["ROOT_ACCESS"]
    assert result["metrics"]["ViolationsFound"] == 1
    assert aws.tags(arn) == {}
    assert aws.messages() == []


def test_replayed_create_event_spares_a_notebook_fixed_since(aws: Aws, run) -> None:
    """The event says RootAccess was left at its default, but the live notebook is compliant
    (fixed and re-created under the same name): the live state wins, nothing is stopped."""
    arn = create(aws, "CreateNotebookInstance", notebook_request("nb-fixed"))
    stale = changed(notebook_request("nb-fixed"), {"RootAccess": DROP})
    result = run(cloudtrail_event("CreateNotebookInstance", stale))
    assert result["status"] == "NO_ACTION"
    assert aws.sm.describe_notebook_instance(NotebookInstanceName="nb-fixed")[
        "NotebookInstanceStatus"
    ] == "InService"
    assert aws.tags(arn) == {}
    assert aws.messages() == []


def test_notebook_deleted_before_the_event_is_processed(aws: Aws, run) -> None:
    params = changed(notebook_request("nb-gone"), {"KmsKeyId": DROP})
    result = run(cloudtrail_event("CreateNotebookInstance", params))  # never created in moto
    assert result["status"] == "NO_ACTION"
    assert result["reason"] == "the resource no longer exists"
    assert aws.messages() == []


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pending_notebook_is_stopped_once_in_service(aws: Aws, monkeypatch) -> None:
    monkeypatch.setenv("NOTEBOOK_PENDING_POLL_SECONDS", "20")
    params = changed(notebook_request("nb-pending"), {"DirectInternetAccess": "Enabled"})
    create(aws, "CreateNotebookInstance", params)
    record = aws.backend.notebook_instances["nb-pending"]
    record.status = "Pending"
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            record.status = "InService"  # provisioning finished during the second wait

    deps = logic.Dependencies(aws.sm, aws.sns, sleep=sleep, clock=lambda: clock.now)
    outcome = logic.process_event(
        cloudtrail_event("CreateNotebookInstance", params), FakeContext(), deps
    )
    assert outcome.status == "REMEDIATED"
    assert clock.sleeps == [20.0, 20.0]
    assert record.status == "Stopped"
    assert len(aws.messages()) == 1


@pytest.mark.parametrize(
    ("max_wait", "remaining_ms", "expected_sleeps"),
    [("60", 900_000, 3), ("600", 40_000, 0)],  # env budget, then the Lambda's remaining time
)
def test_notebook_still_pending_fails_loudly_for_a_retry(
    aws: Aws, monkeypatch, max_wait, remaining_ms, expected_sleeps
) -> None:
    monkeypatch.setenv("NOTEBOOK_PENDING_POLL_SECONDS", "20")
    monkeypatch.setenv("NOTEBOOK_PENDING_MAX_WAIT_SECONDS", max_wait)
    params = changed(notebook_request("nb-slow"), {"RootAccess": "Enabled"})
    arn = create(aws, "CreateNotebookInstance", params)
    aws.backend.notebook_instances["nb-slow"].status = "Pending"
    clock = Clock()
    deps = logic.Dependencies(aws.sm, aws.sns, sleep=clock.sleep, clock=lambda: clock.now)
    outcome = logic.process_event(
        cloudtrail_event("CreateNotebookInstance", params), FakeContext(remaining_ms), deps
    )
    assert outcome.status == "FAILED"
    assert outcome.must_fail
    assert len(clock.sleeps) == expected_sleeps
    assert aws.tags(arn)["ml-platform:compliance-violation"] == "ROOT_ACCESS"  # marked already
    (message,) = aws.messages()
    assert message["body"]["status"] == "REMEDIATION_FAILED"
    assert "Pending" in message["body"]["reason"]


# ---- jobs -----------------------------------------------------------------------------------

JOB_CASES = [
    # (event, stop operation, moto implements the stop?, violating changes, expected codes)
    ("CreateTrainingJob", "StopTrainingJob", False, {"VpcConfig": DROP}, ["NO_VPC"]),
    ("CreateTrainingJob", "StopTrainingJob", False,
     {"ResourceConfig.VolumeKmsKeyId": DROP, "OutputDataConfig.KmsKeyId": ROGUE_KMS_ARN},
     ["NO_VOLUME_KMS", "OUTPUT_KMS_UNAPPROVED"]),
    ("CreateTrainingJob", "StopTrainingJob", False,
     {"EnableNetworkIsolation": False, "EnableInterContainerTrafficEncryption": False},
     ["NO_NET_ISOLATION", "NO_ICT_ENCRYPTION"]),
    ("CreateTrainingJob", "StopTrainingJob", False,
     {"VpcConfig.Subnets": [ROGUE_SUBNET], "VpcConfig.SecurityGroupIds": [ROGUE_SG]},
     ["SUBNET_UNAPPROVED", "SG_UNAPPROVED"]),
    ("CreateProcessingJob", "StopProcessingJob", True, {"NetworkConfig": DROP},
     ["NO_VPC", "NO_NET_ISOLATION"]),
    ("CreateProcessingJob", "StopProcessingJob", True,
     {"ProcessingResources.ClusterConfig.VolumeKmsKeyId": DROP, "ProcessingOutputConfig.KmsKeyId": DROP},
     ["NO_VOLUME_KMS", "NO_OUTPUT_KMS"]),
    ("CreateTransformJob", "StopTransformJob", False, {"TransformOutput.KmsKeyId": DROP},
     ["NO_OUTPUT_KMS"]),
    ("CreateTransformJob", "StopTransformJob", False,
     {"TransformResources.VolumeKmsKeyId": ROGUE_KMS_ARN}, ["VOLUME_KMS_UNAPPROVED"]),
    ("CreateHyperParameterTuningJob", "StopHyperParameterTuningJob", False,
     {"TrainingJobDefinition.VpcConfig": DROP}, ["NO_VPC"]),
]


def _job_name(event_name: str, suffix: str) -> str:
    prefix = {"CreateTrainingJob": "tj", "CreateProcessingJob": "pj",
              "CreateTransformJob": "xj", "CreateHyperParameterTuningJob": "hpo"}[event_name]
    return f"{prefix}-{suffix}"


@pytest.mark.parametrize(
    ("event_name", "operation", "moto_stops", "changes", "expected"),
    [pytest.param(*case, id=f"{case[0]}-{'+'.join(case[4])}") for case in JOB_CASES],
)
def test_non_compliant_job_is_stopped_tagged_and_reported(
    aws: Aws, run, event_name, operation, moto_stops, changes, expected
) -> None:
    name = _job_name(event_name, "bad")
    params = changed(REQUESTS[event_name](name), changes)
    arn = create(aws, event_name, params)
    set_status(aws, event_name, name, "InProgress")
    stops = [] if moto_stops else stop_job_like_aws(aws, event_name, operation)
    event = cloudtrail_event(event_name, params)

    result = run(event)

    assert result["status"] == "REMEDIATED"
    assert job_status(aws, event_name, name) in {"Stopping", "Stopped"}
    if not moto_stops:
        assert stops == [{JOB_RECORDS[event_name][1]: name}]
    tags = aws.tags(arn)
    assert sorted(tags["ml-platform:compliance-violation"].split()) == sorted(expected)
    assert "ml-platform:remediated-at" in tags
    (message,) = aws.messages()
    assert_notification(message, arn=arn, event=event, action=operation, violations=expected)
    assert result["metrics"]["ResourcesRemediated"] == 1
    assert result["metrics"]["ViolationsFound"] == len(expected)


@pytest.mark.parametrize(
    ("event_name", "operation"),
    [
        ("CreateTrainingJob", "StopTrainingJob"),
        ("CreateProcessingJob", "StopProcessingJob"),
        ("CreateTransformJob", "StopTransformJob"),
        ("CreateHyperParameterTuningJob", "StopHyperParameterTuningJob"),
    ],
)
def test_compliant_job_is_left_alone(aws: Aws, run, event_name, operation) -> None:
    name = _job_name(event_name, "ok")
    params = REQUESTS[event_name](name)
    arn = create(aws, event_name, params)
    set_status(aws, event_name, name, "InProgress")
    stops = fake_operation(aws, operation, lambda _b: (200, {}))
    result = run(cloudtrail_event(event_name, params))
    assert result["status"] == "COMPLIANT"
    assert stops == []
    assert job_status(aws, event_name, name) == "InProgress"
    assert aws.tags(arn) == {}
    assert aws.messages() == []


@pytest.mark.parametrize(
    ("event_name", "operation", "changes"),
    [
        ("CreateTrainingJob", "StopTrainingJob", {"EnableInterContainerTrafficEncryption": False}),
        ("CreateProcessingJob", "StopProcessingJob", {"NetworkConfig.VpcConfig": DROP}),
        ("CreateTransformJob", "StopTransformJob", {"TransformOutput.KmsKeyId": DROP}),
    ],
)
def test_same_job_event_twice_stops_and_notifies_once(
    aws: Aws, run, event_name, operation, changes
) -> None:
    name = _job_name(event_name, "twice")
    params = changed(REQUESTS[event_name](name), changes)
    create(aws, event_name, params)
    set_status(aws, event_name, name, "InProgress")
    # count the Stop calls whether moto or the fake answers them
    stops = stop_job_like_aws(aws, event_name, operation)
    event = cloudtrail_event(event_name, params)
    assert run(event)["status"] == "REMEDIATED"
    second = run(copy.deepcopy(event))
    assert second["status"] == "NO_ACTION"
    assert len(stops) == 1
    assert len(aws.messages()) == 1


def test_job_that_already_finished_is_not_touched(aws: Aws, run) -> None:
    params = changed(training_request("tj-done"), {"VpcConfig": DROP})
    arn = create(aws, "CreateTrainingJob", params)  # moto: Completed at once
    stops = fake_operation(aws, "StopTrainingJob", lambda _b: (200, {}))
    result = run(cloudtrail_event("CreateTrainingJob", params))
    assert result["status"] == "NO_ACTION"
    assert "Completed" in result["reason"]
    assert result["metrics"]["ViolationsFound"] == 1
    assert stops == []
    assert aws.tags(arn) == {}
    assert aws.messages() == []


# ---- models and endpoint configs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_name", "changes", "expected", "action", "describe"),
    [
        ("CreateModel", {"VpcConfig": DROP}, ["NO_VPC"], "DeleteModel", "describe_model"),
        ("CreateModel", {"EnableNetworkIsolation": False}, ["NO_NET_ISOLATION"], "DeleteModel",
         "describe_model"),
        ("CreateModel", {"VpcConfig.Subnets": [ROGUE_SUBNET]}, ["SUBNET_UNAPPROVED"],
         "DeleteModel", "describe_model"),
        ("CreateEndpointConfig", {"KmsKeyId": DROP}, ["NO_KMS"], "DeleteEndpointConfig",
         "describe_endpoint_config"),
        ("CreateEndpointConfig", {"KmsKeyId": ROGUE_KMS_ARN}, ["KMS_UNAPPROVED"],
         "DeleteEndpointConfig", "describe_endpoint_config"),
    ],
)
def test_non_compliant_model_or_endpoint_config_is_deleted_and_reported(
    aws: Aws, run, event_name, changes, expected, action, describe
) -> None:
    name_key = "ModelName" if event_name == "CreateModel" else "EndpointConfigName"
    params = changed(REQUESTS[event_name]("bad-one"), changes)
    arn = create(aws, event_name, params)
    # record the best-effort tag (the resource is gone afterwards, so it can't be listed)
    tag_calls = fake_operation(aws, "AddTags", lambda _body: None)
    event = cloudtrail_event(event_name, params)
    result = run(event)
    assert result["status"] == "REMEDIATED"
    with pytest.raises(ClientError, match="Could not find"):
        getattr(aws.sm, describe)(**{name_key: "bad-one"})
    (tag_call,) = tag_calls
    assert tag_call["ResourceArn"] == arn
    tags = {t["Key"]: t["Value"] for t in tag_call["Tags"]}
    assert tags["ml-platform:compliance-violation"] == " ".join(expected)
    (message,) = aws.messages()
    assert_notification(message, arn=arn, event=event, action=action, violations=expected)
    assert message["body"]["tagging"] == "SUCCEEDED"


@pytest.mark.parametrize("event_name", ["CreateModel", "CreateEndpointConfig"])
def test_compliant_model_or_endpoint_config_is_left_alone(aws: Aws, run, event_name) -> None:
    arn = create(aws, event_name, REQUESTS[event_name]("good-one"))
    result = run(cloudtrail_event(event_name, REQUESTS[event_name]("good-one")))
    assert result["status"] == "COMPLIANT"
    assert aws.tags(arn) == {}
    assert aws.messages() == []
    if event_name == "CreateModel":
        assert aws.sm.describe_model(ModelName="good-one")["ModelArn"] == arn
    else:
        assert aws.sm.describe_endpoint_config(EndpointConfigName="good-one")[
            "EndpointConfigArn"
        ] == arn


@pytest.mark.parametrize(
    ("event_name", "changes"),
    [("CreateModel", {"VpcConfig": DROP}), ("CreateEndpointConfig", {"KmsKeyId": DROP})],
)
def test_same_delete_event_twice_deletes_and_notifies_once(aws, run, event_name, changes) -> None:
    params = changed(REQUESTS[event_name]("twice"), changes)
    create(aws, event_name, params)
    event = cloudtrail_event(event_name, params)
    assert run(event)["status"] == "REMEDIATED"
    second = run(copy.deepcopy(event))
    assert second["status"] == "NO_ACTION"
    assert second["reason"] == "the resource no longer exists"
    assert len(aws.messages()) == 1


def test_stale_model_event_spares_a_compliant_model_recreated_under_the_name(aws, run) -> None:
    stale = cloudtrail_event(
        "CreateModel",
        changed(model_request("reused-name"), {"VpcConfig": DROP}),
        event_time=datetime.now(timezone.utc) - timedelta(hours=3),
    )
    create(aws, "CreateModel", model_request("reused-name"))  # the compliant re-creation
    result = run(stale)
    assert result["status"] == "NO_ACTION"
    assert aws.sm.describe_model(ModelName="reused-name")["ModelName"] == "reused-name"
    assert aws.messages() == []


# ---- events that are not understood ---------------------------------------------------------


def _valid() -> dict[str, Any]:
    return cloudtrail_event("CreateModel", changed(model_request("m-skip"), {"VpcConfig": DROP}))


def _mutated(mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    event = _valid()
    mutate(event)
    return event


SKIP_CASES = {
    "not-an-object": ["not", "an", "event"],
    "wrong-source": _mutated(lambda e: e.update(source="aws.ec2")),
    "wrong-detail-type": _mutated(lambda e: e.update({"detail-type": "SageMaker Model State"})),
    "no-detail": _mutated(lambda e: e.pop("detail")),
    "wrong-event-source": _mutated(lambda e: e["detail"].update(eventSource="ec2.amazonaws.com")),
    "unknown-event-name": _mutated(lambda e: e["detail"].update(eventName="CreateEndpoint")),
    "api-call-failed": _mutated(
        lambda e: e["detail"].update(
            errorCode="AccessDenied", errorMessage="User is not authorized", responseElements=None
        )
    ),
    "no-request-parameters": _mutated(lambda e: e["detail"].update(requestParameters=None)),
    "request-parameters-not-an-object": _mutated(
        lambda e: e["detail"].update(requestParameters="HIDDEN_DUE_TO_SECURITY_REASONS")
    ),
    "no-resource-name": _mutated(lambda e: e["detail"]["requestParameters"].pop("modelName")),
    "no-event-id": _mutated(lambda e: e["detail"].pop("eventID")),
    "empty": {},
}


@pytest.mark.parametrize("event", list(SKIP_CASES.values()), ids=list(SKIP_CASES))
def test_event_not_understood_is_skipped_without_raising(aws: Aws, run, event) -> None:
    arn = create(aws, "CreateModel", changed(model_request("m-skip"), {"VpcConfig": DROP}))
    result = run(event)
    assert result["status"] == "SKIPPED"
    assert result["reason"]
    assert result["metrics"]["EventsSkipped"] == 1
    assert result["metrics"]["ResourcesRemediated"] == 0
    assert aws.sm.describe_model(ModelName="m-skip")["ModelArn"] == arn  # untouched
    assert aws.messages() == []


def test_the_control_case_of_the_skip_table_is_acted_on(aws: Aws, run) -> None:
    """Proves the skip cases above are skipped for their defect, not for some other reason."""
    create(aws, "CreateModel", changed(model_request("m-skip"), {"VpcConfig": DROP}))
    assert run(_valid())["status"] == "REMEDIATED"


# ---- AWS errors during remediation ----------------------------------------------------------


def test_access_denied_on_stop_is_reported_and_raised(aws: Aws, clients, handler_module) -> None:
    # botocore Stubber: the whole SageMaker client is scripted (SNS stays on moto)
    stubbed = clients["session"].client("sagemaker")
    logic._CLIENTS[("sagemaker", REGION)] = stubbed
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/nb-denied"
    with Stubber(stubbed) as stub:
        stub.add_response(
            "describe_notebook_instance",
            {
                "NotebookInstanceArn": arn,
                "NotebookInstanceName": "nb-denied",
                "NotebookInstanceStatus": "InService",
                "DirectInternetAccess": "Enabled",
                "RootAccess": "Disabled",
                "SubnetId": SUBNET_1,
                "SecurityGroups": [SG_1],
                "KmsKeyId": KMS_ARN,
            },
            {"NotebookInstanceName": "nb-denied"},
        )
        stub.add_response("add_tags", {"Tags": []}, {"ResourceArn": arn, "Tags": ANY})
        stub.add_client_error(
            "stop_notebook_instance",
            service_error_code="AccessDeniedException",
            service_message="not authorized to perform: sagemaker:StopNotebookInstance",
            http_status_code=400,
            expected_params={"NotebookInstanceName": "nb-denied"},
        )
        params = changed(notebook_request("nb-denied"), {"DirectInternetAccess": "Enabled"})
        event = cloudtrail_event("CreateNotebookInstance", params)
        with pytest.raises(logic.RemediationFailedError, match="AccessDeniedException"):
            handler_module.handler(event, FakeContext())
        stub.assert_no_pending_responses()
    (message,) = aws.messages()
    assert_notification(message, arn=arn, event=event, action="StopNotebookInstance",
                        violations=["INTERNET_ACCESS"], status="REMEDIATION_FAILED")
    assert message["body"]["error"]["code"] == "AccessDeniedException"
    assert message["body"]["actionResult"] == "FAILED"


def test_metrics_namespace_has_a_default(aws: Aws, handler_module, capsys, monkeypatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    capsys.readouterr()
    handler_module.handler(_valid(), FakeContext())  # violation found; model gone: no action
    metrics = emitted_metrics(capsys.readouterr().out, namespace="SecureMlPlatform")
    assert metrics["ViolationsFound"] == 1
    assert metrics["ResourcesRemediated"] == 0


def test_remediation_error_metric_is_flushed_even_though_the_handler_raises(
    aws: Aws, handler_module, capsys
) -> None:
    params = changed(model_request("m-locked"), {"VpcConfig": DROP})
    create(aws, "CreateModel", params)
    fake_operation(aws, "DeleteModel", error_reply("ValidationException", "Cannot delete: in use"))
    capsys.readouterr()
    with pytest.raises(logic.RemediationFailedError):
        handler_module.handler(cloudtrail_event("CreateModel", params), FakeContext())
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["RemediationErrors"] == 1
    assert metrics["ResourcesRemediated"] == 0
    assert aws.sm.describe_model(ModelName="m-locked")["ModelName"] == "m-locked"
    (message,) = aws.messages()
    assert message["body"]["status"] == "REMEDIATION_FAILED"
    assert message["body"]["error"] == {"code": "ValidationException", "message": "Cannot delete: in use"}


def test_stop_rejected_because_it_is_already_stopping_after_our_call_is_reported(aws, run) -> None:
    """Issue #17 finding 2: Describe found the notebook InService, and our Stop is answered
    "Status (Stopping)": it was stopped in answer to this event (our own earlier attempt whose
    response was lost, or a duplicate invocation). That is a remediation: notified, counted."""
    params = changed(notebook_request("nb-race"), {"RootAccess": "Enabled"})
    arn = create(aws, "CreateNotebookInstance", params)
    record = aws.backend.notebook_instances["nb-race"]

    def _concurrently_stopped(_body):
        record.status = "Stopping"
        return 400, {"Error": {"Code": "ValidationException",
                               "Message": "Status (Stopping) not in ([InService])."}}

    fake_operation(aws, "StopNotebookInstance", _concurrently_stopped)
    event = cloudtrail_event("CreateNotebookInstance", params)
    result = run(event)
    assert result["status"] == "REMEDIATED"
    assert "already Stopping after our call" in result["reason"]
    assert result["metrics"]["ResourcesRemediated"] == 1
    assert result["metrics"]["RemediationErrors"] == 0
    (message,) = aws.messages()
    assert_notification(message, arn=arn, event=event, action="StopNotebookInstance",
                        violations=["ROOT_ACCESS"])


def test_describe_denied_is_reported_and_raised(aws: Aws, handler_module) -> None:
    params = changed(training_request("tj-nodescribe"), {"VpcConfig": DROP})
    fake_operation(aws, "DescribeTrainingJob", error_reply("AccessDeniedException", "denied"))
    with pytest.raises(logic.RemediationFailedError):
        handler_module.handler(cloudtrail_event("CreateTrainingJob", params), FakeContext())
    (message,) = aws.messages()
    assert message["body"]["status"] == "REMEDIATION_FAILED"
    assert message["body"]["resourceArn"] == (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/tj-nodescribe"
    )


def test_tagging_denied_still_contains_and_reports(aws: Aws, run) -> None:
    params = changed(notebook_request("nb-notag"), {"KmsKeyId": DROP})
    arn = create(aws, "CreateNotebookInstance", params)
    fake_operation(aws, "AddTags", error_reply("AccessDeniedException", "no tagging"))
    result = run(cloudtrail_event("CreateNotebookInstance", params))
    assert result["status"] == "REMEDIATED"
    assert result["metrics"]["RemediationErrors"] == 1
    assert aws.sm.describe_notebook_instance(NotebookInstanceName="nb-notag")[
        "NotebookInstanceStatus"
    ] == "Stopped"
    assert aws.tags(arn) == {}
    (message,) = aws.messages()
    assert message["body"]["tagging"] == "FAILED: AccessDeniedException"


@pytest.mark.parametrize("topic", ["missing", "unset"])
def test_notification_failure_after_containment_is_raised(
    aws: Aws, handler_module, monkeypatch, topic
) -> None:
    if topic == "unset":
        monkeypatch.delenv("SECURITY_TOPIC_ARN")
    else:
        monkeypatch.setenv("SECURITY_TOPIC_ARN", aws.topic_arn + "-deleted")
    params = changed(notebook_request("nb-nosns"), {"RootAccess": "Enabled"})
    create(aws, "CreateNotebookInstance", params)
    with pytest.raises(logic.RemediationFailedError, match="notified=False"):
        handler_module.handler(cloudtrail_event("CreateNotebookInstance", params), FakeContext())
    assert aws.sm.describe_notebook_instance(NotebookInstanceName="nb-nosns")[
        "NotebookInstanceStatus"
    ] == "Stopped"
    assert aws.messages() == []
