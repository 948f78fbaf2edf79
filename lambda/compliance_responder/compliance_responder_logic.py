"""Detective-and-corrective control for SageMaker resources (plain Python, no Powertools).

An EventBridge rule forwards CloudTrail "AWS API Call via CloudTrail" events from SageMaker.
For each one this module decides whether the resource the call created (or started) breaks the
platform policy and, if it does, contains it:

* notebook instance -> StopNotebookInstance
* training / processing / transform / hyper-parameter tuning job -> Stop*Job
* model -> DeleteModel, endpoint config -> DeleteEndpointConfig

The resource is tagged before the destructive call and one SNS message is published to the
security topic per remediated resource (or per failed attempt). See docs/compliance-responder.md.

Idempotency needs no database: the decision is taken against the resource's *current* state
(a Describe call), so a replayed event finds the notebook or job already stopped / stopping,
or the model / endpoint config gone, or the live configuration compliant, and does nothing.

Nothing here reads the environment at import time, and every AWS client can be injected
(``Dependencies``), so tests can run against moto or botocore stubs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, UTC
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOGGER_NAME = "compliance_responder_logic"
logger = logging.getLogger(LOGGER_NAME)

EXPECTED_SOURCE = "aws.sagemaker"
EXPECTED_DETAIL_TYPE = "AWS API Call via CloudTrail"
EXPECTED_EVENT_SOURCE = "sagemaker.amazonaws.com"

TAG_VIOLATION = "ml-platform:compliance-violation"
TAG_REMEDIATED_AT = "ml-platform:remediated-at"
TAG_EVENT_ID = "ml-platform:compliance-event-id"
TAG_VALUE_MAX = 256  # SageMaker tag value limit

# Outcome statuses
SKIPPED = "SKIPPED"  # event not understood: logged, never retried
COMPLIANT = "COMPLIANT"  # nothing wrong: resource untouched
NO_ACTION = "NO_ACTION"  # violation, but nothing (more) to do: already stopped / gone / fixed
REMEDIATED = "REMEDIATED"
FAILED = "FAILED"  # remediation attempted and an AWS error stopped it

# Violation codes (short: they go into a tag value, which allows letters, digits, space, _.:/=+-@)
INTERNET_ACCESS = "INTERNET_ACCESS"
ROOT_ACCESS = "ROOT_ACCESS"
NO_VPC = "NO_VPC"
SUBNET_UNAPPROVED = "SUBNET_UNAPPROVED"
NO_SG = "NO_SG"
SG_UNAPPROVED = "SG_UNAPPROVED"
NO_KMS = "NO_KMS"
KMS_UNAPPROVED = "KMS_UNAPPROVED"
NO_VOLUME_KMS = "NO_VOLUME_KMS"
VOLUME_KMS_UNAPPROVED = "VOLUME_KMS_UNAPPROVED"
NO_OUTPUT_KMS = "NO_OUTPUT_KMS"
OUTPUT_KMS_UNAPPROVED = "OUTPUT_KMS_UNAPPROVED"
NO_NET_ISOLATION = "NO_NET_ISOLATION"
NO_ICT_ENCRYPTION = "NO_ICT_ENCRYPTION"
NO_TRAINING_DEFINITION = "NO_TRAINING_DEFINITION"

NOTEBOOK_PENDING = "Pending"
DEFAULT_PENDING_MAX_WAIT_SECONDS = 600.0
DEFAULT_PENDING_POLL_SECONDS = 20.0
SAFETY_MARGIN_SECONDS = 30.0  # kept free of the Lambda timeout for tagging, notifying, logging

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
)


# --------------------------------------------------------------------------------------------
# Policy (configuration)
# --------------------------------------------------------------------------------------------


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(item.strip() for item in (value or "").split(",") if item.strip())


@dataclass(frozen=True)
class Policy:
    """The allow-lists and switches the decision depends on.

    An empty allow-list disables that membership check (presence is still required): the CDK
    app always sets them; a warning is logged when one is empty.
    """

    approved_subnet_ids: frozenset[str] = frozenset()
    approved_security_group_ids: frozenset[str] = frozenset()
    approved_kms_key_arns: frozenset[str] = frozenset()
    require_network_isolation: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Policy:
        env = os.environ if environ is None else environ
        isolation = env.get("REQUIRE_NETWORK_ISOLATION", "true").strip().lower()
        return cls(
            approved_subnet_ids=_csv(env.get("APPROVED_SUBNET_IDS")),
            approved_security_group_ids=_csv(env.get("APPROVED_SECURITY_GROUP_IDS")),
            approved_kms_key_arns=_csv(env.get("APPROVED_KMS_KEY_ARNS")),
            # anything but an explicit false keeps the stricter setting
            require_network_isolation=isolation not in {"false", "0", "no", "off"},
        )

    def empty_allow_lists(self) -> list[str]:
        return [
            name
            for name, values in (
                ("APPROVED_SUBNET_IDS", self.approved_subnet_ids),
                ("APPROVED_SECURITY_GROUP_IDS", self.approved_security_group_ids),
                ("APPROVED_KMS_KEY_ARNS", self.approved_kms_key_arns),
            )
            if not values
        ]

    def subnet_ok(self, subnet_id: str) -> bool:
        return not self.approved_subnet_ids or subnet_id in self.approved_subnet_ids

    def security_group_ok(self, group_id: str) -> bool:
        return not self.approved_security_group_ids or group_id in self.approved_security_group_ids

    def kms_ok(self, key: str) -> bool:
        """A key ARN in the allow-list, or the bare key id of one (it resolves in-account).

        Aliases are accepted only if the alias ARN itself is listed: an alias can be re-pointed.
        """
        if not self.approved_kms_key_arns or key in self.approved_kms_key_arns:
            return True
        if key.startswith(("arn:", "alias/")):
            return False
        return any(arn.endswith(f":key/{key}") for arn in self.approved_kms_key_arns)


# --------------------------------------------------------------------------------------------
# Pure decision functions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    code: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def normalise_keys(value: Any) -> Any:
    """Upper-case the first letter of every dict key, recursively.

    CloudTrail records SageMaker request parameters in lowerCamelCase (``vpcConfig``), the API
    and Describe responses use PascalCase (``VpcConfig``): both are accepted.
    """
    if isinstance(value, Mapping):
        return {
            (key[:1].upper() + key[1:] if isinstance(key, str) else key): normalise_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalise_keys(item) for item in value]
    return value


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _enabled_or_default(value: Any) -> bool:
    """DirectInternetAccess / RootAccess: omitted means Enabled in the SageMaker API."""
    return not (isinstance(value, str) and value.strip().lower() == "disabled")


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(item) for item in value if item]
    return []


def _str_or_none(value: Any) -> str | None:
    return value[:2048] if isinstance(value, str) and value else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _check_kms(
    key: Any, policy: Policy, missing: str, unapproved: str, what: str, out: list[Violation]
) -> None:
    if not isinstance(key, str) or not key.strip():
        out.append(Violation(missing, f"no KMS key for {what}"))
    elif not policy.kms_ok(key):
        out.append(Violation(unapproved, f"KMS key {key} for {what} is not approved"))


def _check_security_groups(groups: list[str], policy: Policy, out: list[Violation]) -> None:
    if not groups:
        out.append(Violation(NO_SG, "no security group: the VPC default group would be used"))
        return
    bad = [group for group in groups if not policy.security_group_ok(group)]
    if bad:
        out.append(Violation(SG_UNAPPROVED, f"security groups not approved: {', '.join(bad)}"))


def _check_vpc(vpc_config: Any, policy: Policy, out: list[Violation]) -> None:
    vpc = _mapping(vpc_config)
    subnets = _str_list(vpc.get("Subnets"))
    if not subnets:
        out.append(Violation(NO_VPC, "no VpcConfig: runs outside the platform VPC"))
        return
    bad = [subnet for subnet in subnets if not policy.subnet_ok(subnet)]
    if bad:
        out.append(Violation(SUBNET_UNAPPROVED, f"subnets not approved: {', '.join(bad)}"))
    _check_security_groups(_str_list(vpc.get("SecurityGroupIds")), policy, out)


def _check_isolation(value: Any, policy: Policy, out: list[Violation]) -> None:
    if policy.require_network_isolation and not _is_true(value):
        out.append(Violation(NO_NET_ISOLATION, "EnableNetworkIsolation is not true"))


def evaluate_notebook(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    if _enabled_or_default(params.get("DirectInternetAccess")):
        out.append(Violation(INTERNET_ACCESS, "DirectInternetAccess is Enabled (the default)"))
    if _enabled_or_default(params.get("RootAccess")):
        out.append(Violation(ROOT_ACCESS, "RootAccess is Enabled (the default)"))
    subnet = params.get("SubnetId")
    if not isinstance(subnet, str) or not subnet:
        out.append(Violation(NO_VPC, "no SubnetId: the notebook is not in the platform VPC"))
    else:
        if not policy.subnet_ok(subnet):
            out.append(Violation(SUBNET_UNAPPROVED, f"subnet {subnet} is not approved"))
        _check_security_groups(_str_list(params.get("SecurityGroupIds")), policy, out)
    _check_kms(params.get("KmsKeyId"), policy, NO_KMS, KMS_UNAPPROVED, "the ML storage volume", out)
    return out


def _evaluate_training_definition(
    params: Mapping[str, Any], policy: Policy, resources_key: str = "ResourceConfig"
) -> list[Violation]:
    out: list[Violation] = []
    _check_vpc(params.get("VpcConfig"), policy, out)
    resources = _mapping(params.get(resources_key))
    _check_kms(
        resources.get("VolumeKmsKeyId"),
        policy,
        NO_VOLUME_KMS,
        VOLUME_KMS_UNAPPROVED,
        "the training volume",
        out,
    )
    output = _mapping(params.get("OutputDataConfig"))
    _check_kms(
        output.get("KmsKeyId"), policy, NO_OUTPUT_KMS, OUTPUT_KMS_UNAPPROVED, "the output", out
    )
    _check_isolation(params.get("EnableNetworkIsolation"), policy, out)
    if not _is_true(params.get("EnableInterContainerTrafficEncryption")):
        out.append(
            Violation(NO_ICT_ENCRYPTION, "EnableInterContainerTrafficEncryption is not true")
        )
    return out


def evaluate_training_job(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    return _evaluate_training_definition(params, policy)


def evaluate_tuning_job(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    """A tuning job launches training jobs from its definition(s): same rules, per definition."""
    definitions: list[Mapping[str, Any]] = []
    out: list[Violation] = []
    single = params.get("TrainingJobDefinition")
    several = params.get("TrainingJobDefinitions")
    if isinstance(single, Mapping):
        definitions.append(single)
    elif single is not None:
        out.append(Violation(NO_TRAINING_DEFINITION, "TrainingJobDefinition is not an object"))
    if isinstance(several, list):
        definitions.extend(d for d in several if isinstance(d, Mapping))
        if len(definitions) - (1 if isinstance(single, Mapping) else 0) != len(several):
            out.append(
                Violation(
                    NO_TRAINING_DEFINITION,
                    "TrainingJobDefinitions holds an entry that is not an object",
                )
            )
    elif several is not None:
        out.append(Violation(NO_TRAINING_DEFINITION, "TrainingJobDefinitions is not a list"))
    if not definitions:
        # Nothing to judge is not "compliant": fail closed, the live job decides (Describe).
        out.append(
            Violation(
                NO_TRAINING_DEFINITION,
                "no training job definition to judge: the live job is described",
            )
        )
    for index, definition in enumerate(definitions):
        label = definition.get("DefinitionName") or f"definition {index}"
        key = (
            "ResourceConfig"
            if "ResourceConfig" in definition
            else "HyperParameterTuningResourceConfig"
        )
        for violation in _evaluate_training_definition(definition, policy, key):
            out.append(Violation(violation.code, f"{label}: {violation.detail}"))
    return out


def evaluate_processing_job(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    network = _mapping(params.get("NetworkConfig"))
    _check_vpc(network.get("VpcConfig"), policy, out)
    cluster = _mapping(_mapping(params.get("ProcessingResources")).get("ClusterConfig"))
    _check_kms(
        cluster.get("VolumeKmsKeyId"),
        policy,
        NO_VOLUME_KMS,
        VOLUME_KMS_UNAPPROVED,
        "the processing volume",
        out,
    )
    output = _mapping(params.get("ProcessingOutputConfig"))
    if output:  # a job without outputs writes nothing that needs a key
        _check_kms(
            output.get("KmsKeyId"), policy, NO_OUTPUT_KMS, OUTPUT_KMS_UNAPPROVED, "the output", out
        )
    _check_isolation(network.get("EnableNetworkIsolation"), policy, out)
    return out


def evaluate_transform_job(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    """Transform jobs take their network settings from the model: only encryption is checked."""
    out: list[Violation] = []
    output = _mapping(params.get("TransformOutput"))
    _check_kms(
        output.get("KmsKeyId"), policy, NO_OUTPUT_KMS, OUTPUT_KMS_UNAPPROVED, "the output", out
    )
    resources = _mapping(params.get("TransformResources"))
    _check_kms(
        resources.get("VolumeKmsKeyId"),
        policy,
        NO_VOLUME_KMS,
        VOLUME_KMS_UNAPPROVED,
        "the transform volume",
        out,
    )
    return out


def evaluate_model(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    _check_vpc(params.get("VpcConfig"), policy, out)
    _check_isolation(params.get("EnableNetworkIsolation"), policy, out)
    return out


def evaluate_endpoint_config(params: Mapping[str, Any], policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    _check_kms(
        params.get("KmsKeyId"), policy, NO_KMS, KMS_UNAPPROVED, "the endpoint ML volume", out
    )
    return out


def _notebook_live_config(description: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeNotebookInstance -> the CreateNotebookInstance shape evaluate_notebook reads."""
    return {
        "DirectInternetAccess": description.get("DirectInternetAccess"),
        "RootAccess": description.get("RootAccess"),
        "SubnetId": description.get("SubnetId"),
        "SecurityGroupIds": description.get("SecurityGroups") or [],
        "KmsKeyId": description.get("KmsKeyId"),
    }


def _identity(description: Mapping[str, Any]) -> Mapping[str, Any]:
    return description


@dataclass(frozen=True)
class ResourceKind:
    """How one kind of SageMaker resource is named, described, judged and contained."""

    resource_type: str  # as in the ARN: notebook-instance, training-job, ...
    name_param: str  # request/Describe parameter carrying the name
    describe: str  # boto3 method name
    arn_key: str
    evaluate: Callable[[Mapping[str, Any], Policy], list[Violation]]
    action: str  # API name, for messages and IAM
    action_method: str  # boto3 method name
    destructive: str  # "stop" or "delete"
    status_key: str | None = None  # Describe key of the status (stop kinds)
    inactive_statuses: frozenset[str] = frozenset()
    # The live Describe output, in the request's shape. Every kind has one: the decision to
    # act is always taken on the live resource, never on what an event claims (a crafted or
    # replayed event naming a compliant resource cannot get it stopped or deleted). Describe
    # returns the same keys the Create* request has (VpcConfig, KMS keys, isolation...).
    live_config: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


_JOB_INACTIVE = frozenset({"Completed", "Failed", "Stopping", "Stopped"})

NOTEBOOK = ResourceKind(
    "notebook-instance",
    "NotebookInstanceName",
    "describe_notebook_instance",
    "NotebookInstanceArn",
    evaluate_notebook,
    "StopNotebookInstance",
    "stop_notebook_instance",
    "stop",
    status_key="NotebookInstanceStatus",
    inactive_statuses=frozenset({"Stopping", "Stopped", "Failed", "Deleting", "Updating"}),
    live_config=_notebook_live_config,
)
TRAINING_JOB = ResourceKind(
    "training-job",
    "TrainingJobName",
    "describe_training_job",
    "TrainingJobArn",
    evaluate_training_job,
    "StopTrainingJob",
    "stop_training_job",
    "stop",
    status_key="TrainingJobStatus",
    inactive_statuses=_JOB_INACTIVE,
    live_config=_identity,
)
PROCESSING_JOB = ResourceKind(
    "processing-job",
    "ProcessingJobName",
    "describe_processing_job",
    "ProcessingJobArn",
    evaluate_processing_job,
    "StopProcessingJob",
    "stop_processing_job",
    "stop",
    status_key="ProcessingJobStatus",
    inactive_statuses=_JOB_INACTIVE,
    live_config=_identity,
)
TRANSFORM_JOB = ResourceKind(
    "transform-job",
    "TransformJobName",
    "describe_transform_job",
    "TransformJobArn",
    evaluate_transform_job,
    "StopTransformJob",
    "stop_transform_job",
    "stop",
    status_key="TransformJobStatus",
    inactive_statuses=_JOB_INACTIVE,
    live_config=_identity,
)
TUNING_JOB = ResourceKind(
    "hyper-parameter-tuning-job",
    "HyperParameterTuningJobName",
    "describe_hyper_parameter_tuning_job",
    "HyperParameterTuningJobArn",
    evaluate_tuning_job,
    "StopHyperParameterTuningJob",
    "stop_hyper_parameter_tuning_job",
    "stop",
    status_key="HyperParameterTuningJobStatus",
    inactive_statuses=_JOB_INACTIVE | {"Deleting", "DeleteFailed"},
    live_config=_identity,
)
MODEL = ResourceKind(
    "model",
    "ModelName",
    "describe_model",
    "ModelArn",
    evaluate_model,
    "DeleteModel",
    "delete_model",
    "delete",
    live_config=_identity,
)
ENDPOINT_CONFIG = ResourceKind(
    "endpoint-config",
    "EndpointConfigName",
    "describe_endpoint_config",
    "EndpointConfigArn",
    evaluate_endpoint_config,
    "DeleteEndpointConfig",
    "delete_endpoint_config",
    "delete",
    live_config=_identity,
)

EVENT_KINDS: dict[str, ResourceKind] = {
    "CreateNotebookInstance": NOTEBOOK,
    "UpdateNotebookInstance": NOTEBOOK,
    "StartNotebookInstance": NOTEBOOK,
    "CreateTrainingJob": TRAINING_JOB,
    "CreateProcessingJob": PROCESSING_JOB,
    "CreateTransformJob": TRANSFORM_JOB,
    "CreateHyperParameterTuningJob": TUNING_JOB,
    "CreateModel": MODEL,
    "CreateEndpointConfig": ENDPOINT_CONFIG,
}
# Events whose request parameters do not carry the configuration: judged on Describe only.
CONFIG_NOT_IN_REQUEST = frozenset({"UpdateNotebookInstance", "StartNotebookInstance"})


def evaluate_request(
    event_name: str, request_parameters: Mapping[str, Any], policy: Policy
) -> list[Violation]:
    """The pure decision: the policy violations a Create* request asks for ([] = compliant).

    Accepts CloudTrail's lowerCamelCase as well as the API's PascalCase keys. Raises KeyError
    for an event name it does not know.
    """
    kind = EVENT_KINDS[event_name]
    return kind.evaluate(normalise_keys(request_parameters), policy)


def violation_codes(violations: Iterable[Violation]) -> list[str]:
    """Distinct codes in first-seen order."""
    return list(dict.fromkeys(v.code for v in violations))


# --------------------------------------------------------------------------------------------
# Event parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedEvent:
    event_name: str
    kind: ResourceKind
    resource_name: str
    params: Mapping[str, Any]  # normalised (PascalCase) requestParameters
    event_id: str
    event_time: str | None
    region: str | None
    account: str | None
    user_arn: str | None
    source_ip: str | None


def _own_scope(context: Any, environ: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(account, region) of this function: from the invoked function ARN, else AWS_REGION."""
    env = os.environ if environ is None else environ
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    account = parts[4] if len(parts) > 5 and parts[2] == "lambda" else None
    region = env.get("AWS_REGION") or (parts[3] if len(parts) > 5 else None)
    return account or None, region or None


def scope_problem(
    event: Mapping[str, Any],
    parsed: ParsedEvent | None,
    own_account: str | None,
    own_region: str | None,
) -> str | None:
    """Why an event is outside this function's own account and region (None: it is inside).

    The rule filters on account and region; this is the same check in code, so an event
    relayed from another account's bus, replayed or crafted for another scope is never acted
    on (acting on it would stop a same-named resource here)."""
    if not own_account or not own_region:
        return "the function's own account/region is unknown: not acting on any event"
    detail = _mapping(event.get("detail"))
    for label, value, own in (
        ("account", event.get("account"), own_account),
        ("recipientAccountId", detail.get("recipientAccountId"), own_account),
        ("region", event.get("region"), own_region),
        ("awsRegion", detail.get("awsRegion"), own_region),
    ):
        if value is None and label in {"recipientAccountId", "awsRegion"}:
            continue  # optional in the CloudTrail record; the envelope's value is required
        if value != own:
            return f"event {label} {str(value)[:64]!r} is not this function's {own!r}"
    return None


# SageMaker names: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (botocore's service model, e.g. ModelName,
# TrainingJobName, NotebookInstanceName, EndpointConfigName; tuning jobs allow 32 characters).
_RESOURCE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def parse_event(event: Any) -> ParsedEvent | str:
    """The parsed event, or the reason (a str) why it is skipped."""
    if not isinstance(event, Mapping):
        return "event is not a JSON object"
    if event.get("source") != EXPECTED_SOURCE:
        return f"unexpected source {event.get('source')!r}"
    if event.get("detail-type") != EXPECTED_DETAIL_TYPE:
        return f"unexpected detail-type {event.get('detail-type')!r}"
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return "no detail"
    if detail.get("eventSource") != EXPECTED_EVENT_SOURCE:
        return f"unexpected eventSource {detail.get('eventSource')!r}"
    event_name = detail.get("eventName")
    if event_name not in EVENT_KINDS:
        return f"unhandled eventName {event_name!r}"
    if detail.get("errorCode") or detail.get("errorMessage"):
        return f"the API call failed ({detail.get('errorCode')}): no resource was changed"
    event_id = detail.get("eventID")
    if not isinstance(event_id, str) or not event_id:
        return "no eventID"
    raw = detail.get("requestParameters")
    if not isinstance(raw, Mapping) or not raw:
        return "no requestParameters"
    kind = EVENT_KINDS[event_name]
    params = normalise_keys(raw)
    name = params.get(kind.name_param)
    if not isinstance(name, str) or not name:
        return f"requestParameters has no {kind.name_param}"
    if not _RESOURCE_NAME.fullmatch(name):
        # No SageMaker resource can have this name (the API would have refused it): a
        # crafted or corrupted record, skipped rather than sent to Describe and the DLQ.
        return f"{kind.name_param} {name[:64]!r} is not a valid SageMaker resource name"
    identity = _mapping(detail.get("userIdentity"))
    return ParsedEvent(
        event_name=event_name,
        kind=kind,
        resource_name=name,
        params=params,
        event_id=event_id,
        event_time=_str_or_none(detail.get("eventTime")),
        region=_str_or_none(detail.get("awsRegion") or event.get("region")),
        account=_str_or_none(detail.get("recipientAccountId") or event.get("account")),
        user_arn=_str_or_none(identity.get("arn")),
        source_ip=_str_or_none(detail.get("sourceIPAddress")),
    )


# --------------------------------------------------------------------------------------------
# Remediation
# --------------------------------------------------------------------------------------------

_CLIENTS: dict[tuple[str, str | None], Any] = {}


def get_client(service: str, region: str | None) -> Any:
    """One boto3 client per service and region, kept for the life of the execution environment."""
    key = (service, region)
    if key not in _CLIENTS:
        _CLIENTS[key] = boto3.client(service, region_name=region, config=_CLIENT_CONFIG)
    return _CLIENTS[key]


@dataclass
class Dependencies:
    sagemaker: Any
    sns: Any
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class RemediationFailedError(RuntimeError):
    """Raised by the handler so the invocation fails, is retried and lands in the DLQ."""


@dataclass
class Outcome:
    status: str
    reason: str
    event_id: str | None = None
    event_name: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    resource_arn: str | None = None
    violations: list[Violation] = field(default_factory=list)
    action: str | None = None
    error: dict[str, str] | None = None
    tagging: str | None = None
    notified: bool = False
    remediation_errors: int = 0  # feeds the RemediationErrors metric
    must_fail: bool = False  # the handler raises: the event goes to retries, then the DLQ

    @property
    def codes(self) -> list[str]:
        return violation_codes(self.violations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "eventID": self.event_id,
            "eventName": self.event_name,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "resourceArn": self.resource_arn,
            "violations": self.codes,
            "action": self.action,
            "error": self.error,
            "tagging": self.tagging,
            "notified": self.notified,
        }


def _error_info(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return {"code": str(err.get("Code", "Unknown")), "message": str(err.get("Message", ""))}
    return {"code": type(exc).__name__, "message": str(exc)}


def _is_not_found(exc: ClientError) -> bool:
    err = exc.response.get("Error", {})
    code = str(err.get("Code", ""))
    message = str(err.get("Message", "")).lower()
    if code in {"ResourceNotFound", "ResourceNotFoundException"}:
        return True
    # SageMaker reports a missing resource as a ValidationException in several wordings:
    # "Could not find model ...", "Requested resource not found.", "... does not exist".
    return code == "ValidationException" and any(
        marker in message
        for marker in ("could not find", "recordnotfound", "does not exist", "not found")
    )


def _fallback_arn(parsed: ParsedEvent) -> str:
    partition = "aws"
    if parsed.user_arn and parsed.user_arn.startswith("arn:"):
        partition = parsed.user_arn.split(":")[1] or "aws"
    # SageMaker ARNs carry the resource name in lower case
    return (
        f"arn:{partition}:sagemaker:{parsed.region}:{parsed.account}:"
        f"{parsed.kind.resource_type}/{parsed.resource_name.lower()}"
    )


def _now_iso(deps: Dependencies) -> str:
    return deps.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _remaining_seconds(context: Any) -> float | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        try:
            return float(getter()) / 1000.0
        except (TypeError, ValueError):
            return None
    return None


def _float_env(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def _describe(deps: Dependencies, parsed: ParsedEvent) -> dict[str, Any]:
    method = getattr(deps.sagemaker, parsed.kind.describe)
    return method(**{parsed.kind.name_param: parsed.resource_name})


def _wait_while_pending(
    deps: Dependencies, parsed: ParsedEvent, description: dict[str, Any], context: Any
) -> dict[str, Any]:
    """A notebook in Pending cannot be stopped yet (Stop accepts InService only): poll Describe
    until it leaves Pending, bounded by NOTEBOOK_PENDING_MAX_WAIT_SECONDS and the Lambda's
    remaining time."""
    status_key = parsed.kind.status_key or ""
    budget = _float_env("NOTEBOOK_PENDING_MAX_WAIT_SECONDS", DEFAULT_PENDING_MAX_WAIT_SECONDS)
    remaining = _remaining_seconds(context)
    if remaining is not None:
        budget = min(budget, remaining - SAFETY_MARGIN_SECONDS)
    poll = _float_env("NOTEBOOK_PENDING_POLL_SECONDS", DEFAULT_PENDING_POLL_SECONDS)
    deadline = deps.clock() + budget
    while description.get(status_key) == NOTEBOOK_PENDING and deps.clock() + poll <= deadline:
        logger.info(
            "notebook still Pending, waiting before stopping it",
            extra={"resource_name": parsed.resource_name, "poll_seconds": poll},
        )
        deps.sleep(poll)
        description = _describe(deps, parsed)
    return description


def _tags(outcome: Outcome, parsed: ParsedEvent, deps: Dependencies) -> list[dict[str, str]]:
    codes = " ".join(outcome.codes)[:TAG_VALUE_MAX]
    return [
        {"Key": TAG_VIOLATION, "Value": codes},
        {"Key": TAG_REMEDIATED_AT, "Value": _now_iso(deps)},
        {"Key": TAG_EVENT_ID, "Value": parsed.event_id[:TAG_VALUE_MAX]},
    ]


def _tag(outcome: Outcome, parsed: ParsedEvent, deps: Dependencies) -> None:
    """Tag before the destructive call. Best effort: containment matters more than the label,
    so a tagging error is logged, counted and reported in the notification, not fatal."""
    try:
        deps.sagemaker.add_tags(ResourceArn=outcome.resource_arn, Tags=_tags(outcome, parsed, deps))
        outcome.tagging = "SUCCEEDED"
    except (ClientError, BotoCoreError) as exc:
        info = _error_info(exc)
        outcome.tagging = f"FAILED: {info['code']}"
        outcome.remediation_errors += 1
        logger.warning(
            "could not tag the non-compliant resource; remediating anyway",
            extra={"resource_arn": outcome.resource_arn, "error": info},
        )


def build_notification(outcome: Outcome, parsed: ParsedEvent, deps: Dependencies) -> dict:
    """The SNS message: subject and JSON body for the security team."""
    state = "REMEDIATED" if outcome.status == REMEDIATED else "REMEDIATION FAILED"
    subject = f"[ML compliance] {state}: {outcome.resource_type} {outcome.resource_name}"
    subject = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in subject)[:100]
    body = {
        "status": "REMEDIATED" if outcome.status == REMEDIATED else "REMEDIATION_FAILED",
        "resourceType": outcome.resource_type,
        "resourceName": outcome.resource_name,
        "resourceArn": outcome.resource_arn,
        "violations": outcome.codes,
        "violationDetails": [v.to_dict() for v in outcome.violations],
        "action": outcome.action,
        "actionResult": "SUCCEEDED" if outcome.status == REMEDIATED else "FAILED",
        "error": outcome.error,
        "reason": outcome.reason,
        "tagging": outcome.tagging,
        "processedAt": _now_iso(deps),
        "cloudTrail": {
            "eventID": parsed.event_id,
            "eventName": parsed.event_name,
            "eventTime": parsed.event_time,
            "awsRegion": parsed.region,
            "recipientAccountId": parsed.account,
            "userIdentityArn": parsed.user_arn,
            "sourceIPAddress": parsed.source_ip,
        },
    }
    return {"subject": subject, "body": body}


def _notify(outcome: Outcome, parsed: ParsedEvent, deps: Dependencies) -> None:
    message = build_notification(outcome, parsed, deps)
    topic_arn = os.environ.get("SECURITY_TOPIC_ARN", "").strip()
    try:
        if not topic_arn:
            raise ValueError("SECURITY_TOPIC_ARN is not set")
        deps.sns.publish(
            TopicArn=topic_arn,
            Subject=message["subject"],
            Message=json.dumps(message["body"], sort_keys=True, default=str),
            MessageAttributes={
                "status": {"DataType": "String", "StringValue": message["body"]["status"]},
                "resourceType": {"DataType": "String", "StringValue": str(outcome.resource_type)},
            },
        )
        outcome.notified = True
    except (ClientError, BotoCoreError, ValueError) as exc:
        # The resource state is already changed and a replay would be a no-op: the log line
        # (full message) and the failed invocation in the DLQ are the record.
        outcome.remediation_errors += 1
        outcome.must_fail = True
        logger.error(
            "could not publish the security notification",
            extra={"error": _error_info(exc), "notification": message},
        )


def _fail(outcome: Outcome, parsed: ParsedEvent, deps: Dependencies, exc: Exception) -> Outcome:
    outcome.status = FAILED
    outcome.error = _error_info(exc)
    outcome.remediation_errors += 1
    outcome.must_fail = True
    logger.error(
        "remediation failed",
        extra={
            "event_id": parsed.event_id,
            "event_name": parsed.event_name,
            "resource_arn": outcome.resource_arn,
            "action": outcome.action,
            "violations": outcome.codes,
            "error": outcome.error,
        },
    )
    _notify(outcome, parsed, deps)
    return outcome


def _no_action(outcome: Outcome, reason: str) -> Outcome:
    outcome.status = NO_ACTION
    outcome.reason = reason
    logger.warning(
        "violation needs no (further) action",
        extra={"resource_arn": outcome.resource_arn, "reason": reason, "violations": outcome.codes},
    )
    return outcome


def _became_inactive(deps: Dependencies, parsed: ParsedEvent) -> str | None:
    """After a ValidationException from Stop*/Delete*: is the resource already stopped or gone
    (a concurrent duplicate invocation, or the owner, got there first)? Returns why, or None."""
    try:
        description = _describe(deps, parsed)
    except ClientError as exc:
        return "the resource no longer exists" if _is_not_found(exc) else None
    status = description.get(parsed.kind.status_key or "")
    if status in parsed.kind.inactive_statuses:
        return f"the resource is already {status}"
    return None


def _studio_event_name(event: Mapping[str, Any]) -> bool:
    """Whether the event is one of the Studio calls compliance_responder_studio judges."""
    import compliance_responder_studio

    detail = _mapping(event.get("detail"))
    name = detail.get("eventName")
    return (
        name in compliance_responder_studio.DOMAIN_EVENTS | compliance_responder_studio.APP_EVENTS
    )


def _studio_outcome(
    event: Any, deps: Dependencies | None, environ: Mapping[str, str] | None
) -> Outcome | None:
    """SageMaker AI Studio calls (CreateDomain, UpdateDomain, CreateApp) are judged in
    compliance_responder_studio (issue #15); None for every other event."""
    import compliance_responder_studio

    return compliance_responder_studio.process_studio_event(event, deps, environ)


def process_event(
    event: Any,
    context: Any = None,
    deps: Dependencies | None = None,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Judge one EventBridge event and contain the resource if needed. Never raises for AWS
    errors: a failure is returned with ``must_fail`` set, after the FAILED notification."""
    try:
        parsed = parse_event(event)
        if not isinstance(parsed, str):
            problem = scope_problem(event, parsed, *_own_scope(context, environ))
            if problem:
                parsed = problem
        elif isinstance(event, Mapping):
            # Not a job/notebook/model event: a SageMaker AI Studio call of this account and
            # region is judged by compliance_responder_studio; another scope never is.
            problem = scope_problem(event, None, *_own_scope(context, environ))
            studio = None if problem else _studio_outcome(event, deps, environ)
            if studio is not None:
                return studio
            if problem and _studio_event_name(event):
                parsed = problem
    except (AttributeError, TypeError, ValueError, OverflowError, RecursionError) as exc:
        # A malformed event is skipped with a clear reason, never a traceback.
        parsed = f"malformed event ({type(exc).__name__}: {str(exc)[:200]})"
    if isinstance(parsed, str):
        logger.warning("event skipped", extra={"reason": parsed})
        return Outcome(status=SKIPPED, reason=parsed)

    kind = parsed.kind
    outcome = Outcome(
        status=COMPLIANT,
        reason="",
        event_id=parsed.event_id,
        event_name=parsed.event_name,
        resource_type=kind.resource_type,
        resource_name=parsed.resource_name,
        action=kind.action,
    )
    policy = Policy.from_env(environ)
    empty = policy.empty_allow_lists()
    if empty:
        logger.warning("allow-list(s) empty: membership not enforced", extra={"unset": empty})

    config_in_request = parsed.event_name not in CONFIG_NOT_IN_REQUEST
    if config_in_request:
        outcome.violations = kind.evaluate(parsed.params, policy)
        if not outcome.violations:
            outcome.reason = "request is compliant"
            logger.info(
                "compliant",
                extra={"event_id": parsed.event_id, "resource_name": parsed.resource_name},
            )
            return outcome

    if deps is None:
        topic_region = os.environ.get("SECURITY_TOPIC_ARN", "").split(":")[3:4]
        deps = Dependencies(
            sagemaker=get_client("sagemaker", parsed.region),
            sns=get_client("sns", topic_region[0] if topic_region else parsed.region),
        )

    outcome.resource_arn = _fallback_arn(parsed)
    try:
        description = _describe(deps, parsed)
    except ClientError as exc:
        if _is_not_found(exc):
            return _no_action(outcome, "the resource no longer exists")
        return _fail(outcome, parsed, deps, exc)
    except BotoCoreError as exc:
        return _fail(outcome, parsed, deps, exc)
    outcome.resource_arn = description.get(kind.arn_key) or outcome.resource_arn

    if kind.live_config is not None:
        live = kind.evaluate(normalise_keys(kind.live_config(description)), policy)
        if not live:
            if not config_in_request:
                outcome.reason = "live configuration is compliant"
                return outcome
            return _no_action(outcome, "the live resource is compliant (fixed or re-created)")
        outcome.violations = live

    if kind.destructive == "stop":
        if description.get(kind.status_key or "") == NOTEBOOK_PENDING:
            try:
                description = _wait_while_pending(deps, parsed, description, context)
            except ClientError as exc:
                if _is_not_found(exc):
                    return _no_action(outcome, "the resource no longer exists")
                return _fail(outcome, parsed, deps, exc)
            except BotoCoreError as exc:
                return _fail(outcome, parsed, deps, exc)
        status = description.get(kind.status_key or "")
        if status in kind.inactive_statuses:
            return _no_action(outcome, f"the resource is already {status}: nothing to stop")
        if status == NOTEBOOK_PENDING:
            _tag(outcome, parsed, deps)  # marks it; the retried invocation stops it
            outcome.reason = "still Pending at the end of the wait budget: stop not possible yet"
            return _fail(outcome, parsed, deps, TimeoutError(outcome.reason))

    _tag(outcome, parsed, deps)
    outcome.reason = f"{kind.action} succeeded"
    try:
        getattr(deps.sagemaker, kind.action_method)(**{kind.name_param: parsed.resource_name})
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if not (_is_not_found(exc) or code == "ValidationException"):
            return _fail(outcome, parsed, deps, exc)
        # The Describe above found the resource active, and now our own Stop/Delete says it
        # is stopped or gone. Most often botocore retried our call after the service had
        # performed it but its response was lost (RetryAttempts > 0); otherwise a duplicate
        # invocation acted in between. Either way the resource was contained in answer to
        # this event: it is reported (notification, metric, log) like any remediation, so
        # the audit trail never loses it (a deleted model keeps no tag).
        why = _became_inactive(deps, parsed)
        if not why:
            return _fail(outcome, parsed, deps, exc)
        retried = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts") or 0)
        outcome.reason = f"{kind.action} performed: {why} after our call" + (
            f" (the call was retried {retried} time(s); the service had performed an "
            "earlier attempt whose response was lost)"
            if retried
            else " (stopped or deleted between our Describe and our call)"
        )
    except BotoCoreError as exc:
        return _fail(outcome, parsed, deps, exc)

    outcome.status = REMEDIATED
    logger.warning(
        "non-compliant resource remediated",
        extra={
            "event_id": parsed.event_id,
            "resource_arn": outcome.resource_arn,
            "action": kind.action,
            "violations": outcome.codes,
            "user_arn": parsed.user_arn,
        },
    )
    _notify(outcome, parsed, deps)
    return outcome
