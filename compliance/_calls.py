"""THE table of AWS calls the platform makes once deployed: who calls what, on which resource.

Most rows are derived from the synthesized templates, not written by hand:

- state machines: every Task state of every definition (its integration's API on the
  resource its parameters name; ``.sync`` polling: the job's Describe call and
  ``events:PutTargets/PutRule/DescribeRule`` on Step Functions' managed rule; ``iam:PassRole``
  of every role a parameter passes; the S3 locations a created job reads and writes, made by
  the job's role; KMS use for CMK-encrypted topics and buckets);
- CodePipeline: the pipeline role assumes each action's role, each action's role makes the
  action type's calls (Step Functions actions start and describe CMK-encrypted machines);
- CodeBuild: artifact reads and writes, log writes, package-mirror reads, the source the
  build clones (``CODEBUILD_CLONE_REF``) and the S3 uploads of its buildspec;
- EventBridge Scheduler schedules, CloudWatch alarm actions, EventBridge rule targets;
- Lambda functions: the boto3 calls their code makes (``LAMBDA_CALLS``, the one hand-written
  part, keyed by handler; each entry names the environment variable that carries its
  resource, so the resource itself still comes from the template).

:func:`derive_calls` returns the rows; :func:`calls_table` renders them for the review pack.
docs/permission-closure.md explains how to add a caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance._cfn_model import PARTITION, StackInfo, World
from compliance._iam_eval import Principal

EXAMPLE = "example"  # stands for a value known only at run time (an id, a run id)

# Step Functions' managed rules for .sync SageMaker jobs.
_SYNC_RULES = {
    "createTrainingJob": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "createTransformJob": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
    "createProcessingJob": "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
}
# SageMaker resource type authorized for each API (the API's own noun): the name parameter.
_SAGEMAKER_RESOURCE = {
    "Endpoint": ("endpoint", "EndpointName"),
    "EndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "Model": ("model", "ModelName"),
    "TransformJob": ("transform-job", "TransformJobName"),
    "ProcessingJob": ("processing-job", "ProcessingJobName"),
    "TrainingJob": ("training-job", "TrainingJobName"),
    "ModelPackageGroup": ("model-package-group", "ModelPackageGroupName"),
    "ModelPackages": ("model-package-group", "ModelPackageGroupName"),
    "ModelPackage": ("model-package", "ModelPackageName"),
    "MonitoringSchedule": ("monitoring-schedule", "MonitoringScheduleName"),
    "DataQualityJobDefinition": ("data-quality-job-definition", "JobDefinitionName"),
    "ModelQualityJobDefinition": ("model-quality-job-definition", "JobDefinitionName"),
    "ModelBiasJobDefinition": ("model-bias-job-definition", "JobDefinitionName"),
    "ModelExplainabilityJobDefinition": (
        "model-explainability-job-definition",
        "JobDefinitionName",
    ),
}
_VERBS = ("Create", "Describe", "Update", "Delete", "Stop", "List", "Add", "Start")

# Lambda functions: the boto3 calls their code makes. resource: an environment variable of
# the function (its value comes from the template) or an event field the state machine sends.
LAMBDA_CALLS: dict[str, list[tuple[str, str]]] = {
    "retrain_trigger_handler.handler": [
        ("states:StartExecution", "env:TRAINING_STATE_MACHINE_ARN"),
        ("dynamodb:GetItem", "env:IDEMPOTENCY_TABLE"),
        ("dynamodb:PutItem", "env:IDEMPOTENCY_TABLE"),
        ("dynamodb:UpdateItem", "env:IDEMPOTENCY_TABLE"),
        ("dynamodb:DeleteItem", "env:IDEMPOTENCY_TABLE"),
    ],
    # s3.get_object of the event's data_s3_uri (from the invoking state machine's payload)
    "model_quality_metrics_handler.handler": [("s3:GetObject", "payload:data_s3_uri")],
    "compliance_responder_handler.handler": [("sns:Publish", "env:SECURITY_TOPIC_ARN")],
    # record_run (the handler's only entry point; the module's query helpers are not run)
    "lineage_recorder_handler.handler": [
        ("sagemaker:ListArtifacts", "*"),
        ("sagemaker:CreateArtifact", "sagemaker:artifact"),
        ("sagemaker:CreateContext", "sagemaker:context"),
        ("sagemaker:DescribeContext", "sagemaker:context"),
        ("sagemaker:CreateAction", "sagemaker:action"),
        ("sagemaker:DescribeAction", "sagemaker:action"),
        ("sagemaker:ListAssociations", "*"),
        ("sagemaker:AddAssociation", "sagemaker:artifact"),
        ("sagemaker:DescribeModelPackage", "sagemaker:model-package"),
    ],
}
LAMBDA_ROOT = Path(__file__).resolve().parents[1] / "lambda"


def _camel(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def derived_lambda_calls(handler: str) -> list[tuple[str, str]]:
    """Calls read from a function's own code: the compliance responder's table of the
    resource kinds it contains (describe, tag, then stop or delete each).
    ``sagemaker:<type>`` stands for a resource of that type in the function's account, named
    at run time."""
    if handler == "compliance_responder_handler.handler":
        import sys

        sys.path.insert(0, str(LAMBDA_ROOT / "compliance_responder"))
        try:
            import compliance_responder_logic as logic
        finally:
            sys.path.pop(0)
        calls = []
        for kind in {k.resource_type: k for k in logic.EVENT_KINDS.values()}.values():
            for action in (_camel(kind.describe), "AddTags", kind.action):
                calls.append((f"sagemaker:{action}", f"sagemaker:{kind.resource_type}"))
        return calls
    return []


@dataclass(frozen=True)
class Call:
    caller: str  # readable: "preprod/Serving DeploymentWorkflow/Role"
    principal: Principal
    action: str
    resource: str
    source: str  # where the row comes from
    env: str
    context: tuple[tuple[str, Any], ...] = ()
    vpc_env: str | None = None  # the call leaves this environment's VPC (S3 gateway check)

    @property
    def context_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.context}


def _ctx(**values: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted(
            (k.replace("__", ":"), tuple(v) if isinstance(v, list) else v)
            for k, v in values.items()
        )
    )


# --- helpers ---------------------------------------------------------------------------------


def _path_value(document: Any, path: str) -> Any:
    """``$.a.b`` (or ``$.a[0]``) in ``document``; None when absent."""
    if not path.startswith("$."):
        return None
    node = document
    for part in re.findall(r"[^.\[\]]+", path[2:]):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _format_example(expression: str, example_input: dict | None = None) -> str | None:
    """``States.Format('s3://{}/{}', $.raw.bucket, $.x)`` -> the template with each ``{}``
    replaced by the argument's value in ``example_input`` (the literal input the pipeline
    starts the machine with) or by ``example``; a plain ``$.path`` -> its value there;
    None for anything else."""
    if expression.startswith("$.") and example_input is not None:
        value = _path_value(example_input, expression)
        return value if isinstance(value, str) else None
    match = re.match(r"^States\.Format\('((?:[^'\\]|\\.)*)'\s*(.*?)\)?$", expression, re.S)
    if not match:
        return None
    template, rest = match.group(1), match.group(2)
    args = [a.strip() for a in re.split(r",(?![^(]*\))", rest.lstrip(",")) if a.strip()]
    out = template
    for arg in args:
        value = _path_value(example_input or {}, arg) if arg.startswith("$.") else None
        out = out.replace("{}", value if isinstance(value, str) else EXAMPLE, 1)
    return out.replace("{}", EXAMPLE)


def _value(params: dict, name: str, example_input: dict | None = None) -> tuple[str | None, bool]:
    """(value, dynamic) of parameter ``name`` (literal or ``name.$``)."""
    if name in params and isinstance(params[name], str):
        return params[name], False
    if f"{name}.$" in params:
        return _format_example(params[f"{name}.$"], example_input), True
    return None, True


def _s3_uri_object(uri: str) -> tuple[str, str] | None:
    match = re.match(r"^s3://([^/]+)/?(.*)$", uri)
    if not match:
        return None
    bucket, key = match.group(1), match.group(2)
    # A key whose last segment has no extension is a prefix (job inputs and outputs).
    if not key or "." not in key.rsplit("/", 1)[-1]:
        key = f"{key.rstrip('/')}/{EXAMPLE}".lstrip("/")
    key = key.replace("#{", "").replace("}", "")
    return bucket, key


def _walk(node: Any, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))
    else:
        yield path, node


class _Deriver:
    def __init__(self, world: World):
        self.world = world
        self.calls: list[Call] = []
        # names each environment's workflows give the resources they create, by type
        self.created_names: dict[tuple[str, str], str] = {}
        self.model_roles: dict[str, str] = {}  # env -> execution role of models it creates
        self.machines: list[
            tuple[StackInfo, str, dict, dict]
        ] = []  # info, logical, props, definition
        self.pipeline_inputs: dict[str, dict] = {}  # state machine ARN -> literal input
        self.example_input: dict = {}  # of the machine being derived

    # -- generic -------------------------------------------------------------------------

    def add(
        self,
        caller: str,
        principal: Principal,
        action: str,
        resource: str,
        source: str,
        env: str,
        *,
        vpc_env: str | None = None,
        **context: Any,
    ) -> None:
        self.calls.append(
            Call(caller, principal, action, resource, source, env, _ctx(**context), vpc_env)
        )

    def role_principal(self, arn: str) -> Principal:
        return Principal.role(arn)

    def caller_name(self, arn: str) -> str:
        role = self.world.roles.get(arn)
        if role is None:
            return arn
        name = (
            role.path.split("/", 2)[-1].removesuffix("/Resource") if role.path else role.logical_id
        )
        return f"{role.env}/{role.stack} {name}"

    def s3_object(
        self,
        caller_arn: str,
        uri: str,
        *,
        write: bool,
        source: str,
        env: str,
        vpc_env: str | None,
        sse_key: str | None = None,
    ) -> None:
        """An object read or write, and the KMS call S3 makes for it as the caller. A write
        names its key in the SSE headers when the writer is configured with one
        (``sse_key``); otherwise it sends no encryption headers."""
        parsed = _s3_uri_object(uri)
        if parsed is None:
            return
        bucket, key = parsed
        principal = self.role_principal(caller_arn)
        caller = self.caller_name(caller_arn)
        arn = f"arn:{PARTITION}:s3:::{bucket}/{key}"
        action = "s3:PutObject" if write else "s3:GetObject"
        headers = {}
        if write and sse_key:
            headers = {
                "s3:x-amz-server-side-encryption": "aws:kms",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": sse_key,
            }
        self.add(caller, principal, action, arn, source, env, vpc_env=vpc_env, **headers)
        target = self.world.bucket(bucket)
        key_arn = (sse_key if write and sse_key else None) or (target.key_arn if target else None)
        if key_arn:
            key_region = key_arn.split(":")[3]
            self.add(
                caller,
                principal,
                "kms:GenerateDataKey" if write else "kms:Decrypt",
                key_arn,
                f"{source} (bucket key)",
                env,
                kms__ViaService=f"s3.{key_region}.amazonaws.com",
                kms__CallerAccount=principal.account,
                **{"kms:EncryptionContext:aws:s3:arn": f"arn:{PARTITION}:s3:::{bucket}"},
            )

    def kms_for_topic(
        self,
        caller: str,
        principal: Principal,
        topic_arn: str,
        source: str,
        env: str,
        service_context: dict | None = None,
    ) -> None:
        topic = self.world.targets.get(topic_arn)
        if topic is None or not topic.key_arn:
            return
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            self.add(
                caller,
                principal,
                action,
                topic.key_arn,
                f"{source} (topic key)",
                env,
                kms__ViaService=f"sns.{topic_arn.split(':')[3]}.amazonaws.com",
                **{"kms:EncryptionContext:aws:sns:topicArn": topic_arn},
                **(service_context or {}),
            )

    def state_machine_kms(
        self,
        caller: str,
        principal: Principal,
        machine_arn: str,
        actions: Iterable[str],
        source: str,
        env: str,
    ) -> None:
        machine = self.world.targets.get(machine_arn)
        if machine is None or not machine.key_arn:
            return
        for action in actions:
            self.add(
                caller,
                principal,
                action,
                machine.key_arn,
                f"{source} (state machine key)",
                env,
                kms__ViaService=f"states.{machine_arn.split(':')[3]}.amazonaws.com",
                **{"kms:EncryptionContext:aws:states:stateMachineArn": machine_arn},
            )

    def start_state_machine(
        self,
        caller: str,
        principal: Principal,
        machine_arn: str,
        source: str,
        env: str,
        *,
        describe: bool,
    ) -> None:
        self.add(caller, principal, "states:StartExecution", machine_arn, source, env)
        self.state_machine_kms(caller, principal, machine_arn, ["kms:GenerateDataKey"], source, env)
        if describe:
            execution = machine_arn.replace(":stateMachine:", ":execution:") + f":{EXAMPLE}"
            self.add(caller, principal, "states:DescribeExecution", execution, source, env)
            self.add(caller, principal, "states:DescribeStateMachine", machine_arn, source, env)
            self.state_machine_kms(caller, principal, machine_arn, ["kms:Decrypt"], source, env)

    # -- state machines ------------------------------------------------------------------

    def collect_machines(self) -> None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::StepFunctions::StateMachine":
                    continue
                props = body.get("Properties") or {}
                raw = self.world.resolve(info, props.get("DefinitionString"))
                try:
                    definition = json.loads(raw)
                except (TypeError, ValueError):
                    continue
                self.machines.append((info, logical, props, definition))
                self._log_delivery(info, logical, props)
                for state in _task_states(definition):
                    self._learn_names(info, state)

    def _log_delivery(self, info: StackInfo, logical: str, props: dict) -> None:
        """A CMK-encrypted machine logging to CloudWatch Logs: vended-log delivery decrypts
        the log data keys, whose encryption context Step Functions sets to this account's
        logs (``SourceArn``)."""
        encryption = props.get("EncryptionConfiguration") or {}
        if encryption.get("Type") != "CUSTOMER_MANAGED_KMS_KEY" or not props.get(
            "LoggingConfiguration"
        ):
            return
        key = self.world.resolve(info, encryption["KmsKeyId"])
        name = self.world.physical(info, logical).rsplit(":", 1)[-1]
        self.add(
            "delivery.logs.amazonaws.com",
            Principal.aws_service("delivery.logs.amazonaws.com"),
            "kms:Decrypt",
            key,
            f"execution logs of {name}",
            info.env,
            **{
                "kms:EncryptionContext:SourceArn": (
                    f"arn:{PARTITION}:logs:{info.region}:{info.account}:*"
                )
            },
        )

    def _learn_names(self, info: StackInfo, state: dict) -> None:
        resource = state.get("Resource", "")
        api = resource.rsplit(":", 1)[-1].removesuffix(".sync")
        params = state.get("Parameters") or {}
        for noun, (kind, param) in _SAGEMAKER_RESOURCE.items():
            if api == f"create{noun}":
                value, _ = _value(params, param)
                if value:
                    self.created_names[(info.env, kind)] = value
        if api == "createModel" and isinstance(params.get("ExecutionRoleArn"), str):
            self.model_roles[info.env] = params["ExecutionRoleArn"]

    def sagemaker_resource(self, info: StackInfo, api: str, params: dict) -> str | None:
        noun = next((api[len(v) :] for v in _VERBS if api.startswith(v.lower())), None)
        if noun is None or noun not in _SAGEMAKER_RESOURCE:
            return None
        kind, param = _SAGEMAKER_RESOURCE[noun]
        value, dynamic = _value(params, param, self.example_input)
        if value is None and dynamic and not api.startswith("create"):
            value = self.created_names.get((info.env, kind))
            if value is None and kind == "model-package":
                group = next(
                    (
                        v
                        for k, v in _all_params(self.machines, info)
                        if k == "ModelPackageGroupName" and isinstance(v, str)
                    ),
                    None,
                )
                if group:
                    return (
                        (group.replace(":model-package-group/", ":model-package/") + f"/{EXAMPLE}")
                        if group.startswith("arn:")
                        else None
                    )
        if value is None:
            return None
        if value.startswith("arn:"):
            return value
        sm = f"arn:{PARTITION}:sagemaker:{info.region}:{info.account}"
        return f"{sm}:{kind}/{value.lower() if kind != 'model-package' else value}"

    def state_machines(self) -> None:
        for info, logical, props, definition in self.machines:
            role_arn = self.world.resolve(info, props.get("RoleArn"))
            machine_arn = self.world.physical(info, logical)
            principal = self.role_principal(role_arn)
            caller = self.caller_name(role_arn)
            name = machine_arn.rsplit(":", 1)[-1]
            self.example_input = self.pipeline_inputs.get(machine_arn, {})
            for state_name, state in _task_states_named(definition):
                self._task(info, caller, principal, role_arn, f"{name}.{state_name}", state)

    def _task(
        self,
        info: StackInfo,
        caller: str,
        principal: Principal,
        role_arn: str,
        source: str,
        state: dict,
    ) -> None:
        resource = state.get("Resource", "")
        params = state.get("Parameters") or {}
        env = info.env
        match = re.match(
            r"^arn:aws:states:::(aws-sdk:)?([a-z0-9]+):([A-Za-z]+)(\.sync|\.waitForTaskToken)?$",
            resource,
        )
        if not match:
            if resource.startswith(f"arn:{PARTITION}:lambda:"):
                self.add(caller, principal, "lambda:InvokeFunction", resource, source, env)
            return
        _sdk, service, api, suffix = match.groups()
        if service == "sns" and api == "publish":
            topic = params.get("TopicArn")
            if isinstance(topic, str):
                self.add(caller, principal, "sns:Publish", topic, source, env)
                self.kms_for_topic(caller, principal, topic, source, env)
            return
        if service == "lambda" and api == "invoke":
            function = params.get("FunctionName")
            if isinstance(function, str):
                self.add(caller, principal, "lambda:InvokeFunction", function, source, env)
                self._lambda_payload_calls(function, params.get("Payload") or {}, source)
            return
        if service == "s3" and api in ("getObject", "putObject"):
            bucket, key = params.get("Bucket"), _value(params, "Key", self.example_input)[0]
            # A putObject names its key in the request (ServerSideEncryption + SSEKMSKeyId):
            # the headers the bucket policy's upload denies look at.
            sse_key = (
                params.get("SSEKMSKeyId")
                if params.get("ServerSideEncryption") == "aws:kms"
                else None
            )
            if isinstance(bucket, str) and key:
                self.s3_object(
                    role_arn,
                    f"s3://{bucket}/{key}",
                    write=api == "putObject",
                    source=source,
                    env=env,
                    vpc_env=None,
                    sse_key=sse_key if isinstance(sse_key, str) else None,
                )
            return
        if service == "states" and api == "startExecution":
            machine = params.get("StateMachineArn")
            if isinstance(machine, str):
                self.start_state_machine(
                    caller, principal, machine, source, env, describe=suffix == ".sync"
                )
            return
        if service == "sagemaker":
            action = f"sagemaker:{api[0].upper()}{api[1:]}"
            target = self.sagemaker_resource(info, api, params)
            if target is not None:
                self.add(caller, principal, action, target, source, env)
            if suffix == ".sync" and api in _SYNC_RULES:
                describe = "sagemaker:Describe" + api[len("create") :]
                if target is not None:
                    self.add(caller, principal, describe, target, f"{source} (.sync polling)", env)
                rule = (
                    f"arn:{PARTITION}:events:{info.region}:{info.account}:rule/{_SYNC_RULES[api]}"
                )
                for events_action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                    self.add(
                        caller,
                        principal,
                        events_action,
                        rule,
                        f"{source} (.sync managed rule)",
                        env,
                    )
            self._passed_roles(info, caller, principal, source, params)
            if api in ("createEndpointConfig",):
                self._storage_keys(info, caller, principal, source, params)
            self._job_data(info, api, params, source)
            return
        # any other aws-sdk integration: the API on the resource "*" is not derivable here
        return

    def _storage_keys(
        self, info: StackInfo, caller: str, principal: Principal, source: str, params: dict
    ) -> None:
        """An endpoint configuration with KMS keys: SageMaker checks the key
        (``kms:DescribeKey``) and creates grants for the instances' volumes as the caller
        (``kms:CreateGrant`` with ``kms:GrantIsForAWSResource``)."""
        keys = sorted(
            {
                v
                for path, v in _walk(params)
                if path and path[-1] == "KmsKeyId" and isinstance(v, str)
            }
        )
        via = f"sagemaker.{info.region}.amazonaws.com"
        for key in keys:
            self.add(
                caller,
                principal,
                "kms:DescribeKey",
                key,
                f"{source} (storage key)",
                info.env,
                kms__ViaService=via,
            )
            self.add(
                caller,
                principal,
                "kms:CreateGrant",
                key,
                f"{source} (storage key)",
                info.env,
                kms__ViaService=via,
                kms__GrantIsForAWSResource="true",
            )

    def _passed_roles(
        self, info: StackInfo, caller: str, principal: Principal, source: str, params: dict
    ) -> None:
        for path, value in _walk(params):
            if path and path[-1] in ("RoleArn", "ExecutionRoleArn") and isinstance(value, str):
                self.add(
                    caller,
                    principal,
                    "iam:PassRole",
                    value,
                    f"{source} (passes {path[-1]})",
                    info.env,
                    iam__PassedToService="sagemaker.amazonaws.com",
                )

    def _job_data(self, info: StackInfo, api: str, params: dict, source: str) -> None:
        """The S3 locations a created job or job definition reads and writes, as its role.
        A job with a VpcConfig reaches S3 through its environment's gateway endpoint."""
        if not api.startswith("create"):
            return
        role = params.get("RoleArn") or params.get("ExecutionRoleArn")
        if api == "createTransformJob":
            role = self.model_roles.get(info.env)
        if not isinstance(role, str):
            return
        in_vpc = any("VpcConfig" in path for path, _ in _walk(params)) or (
            api == "createTransformJob"
        )  # the model's VpcConfig applies to its transform jobs
        vpc_env = info.env if in_vpc else None
        for path, value in _walk(params):
            key = path[-1] if path else None
            if not isinstance(key, str) or not isinstance(value, str):
                continue
            name = key.removesuffix(".$")
            if name not in ("S3Uri", "S3OutputPath", "ModelDataUrl", "S3InputUri"):
                continue
            uri = value if not key.endswith(".$") else _format_example(value, self.example_input)
            if not uri or not uri.startswith("s3://"):
                continue
            write = name == "S3OutputPath" or any(
                p in ("ProcessingOutputConfig", "MonitoringOutputs", "OutputDataConfig", "S3Output")
                for p in path
                if isinstance(p, str)
            )
            self.s3_object(
                role,
                uri,
                write=write,
                source=f"{source} ({'/'.join(map(str, path))})",
                env=info.env,
                vpc_env=vpc_env,
                sse_key=_nearest(params, path, "KmsKeyId") if write else None,
            )

    def _lambda_payload_calls(self, function_arn: str, payload: dict, source: str) -> None:
        function = self._function(function_arn)
        if function is None:
            return
        info, props, role_arn = function
        handler = props.get("Handler", "")
        for action, where in LAMBDA_CALLS.get(handler, []):
            if not where.startswith("payload:"):
                continue
            field_name = where.split(":", 1)[1]
            value = payload.get(field_name) or payload.get(f"{field_name}.$")
            uri = (
                value
                if isinstance(value, str) and value.startswith("s3://")
                else (_format_example(value) if isinstance(value, str) else None)
            )
            if uri and action == "s3:GetObject":
                self.s3_object(
                    role_arn,
                    uri,
                    write=False,
                    source=f"{handler} via {source}",
                    env=info.env,
                    vpc_env=info.env if props.get("VpcConfig") else None,
                )

    def _function(self, arn: str) -> tuple[StackInfo, dict, str] | None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::Lambda::Function":
                    continue
                if self.world.physical(info, logical, "Arn") == arn:
                    props = self.world.resolve(info, body.get("Properties") or {})
                    return info, props, props.get("Role")
        return None

    # -- Lambda code ----------------------------------------------------------------------

    def lambdas(self) -> None:
        for info in self.world.stacks.values():
            for body in info.resources.values():
                if body.get("Type") != "AWS::Lambda::Function":
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                handler = props.get("Handler", "")
                role_arn = props.get("Role")
                env_vars = (props.get("Environment") or {}).get("Variables") or {}
                for action, where in [
                    *LAMBDA_CALLS.get(handler, []),
                    *derived_lambda_calls(handler),
                ]:
                    if where.startswith("sagemaker:") or where == "*":
                        resource = self._run_time_resource(info, where)
                        self.add(
                            self.caller_name(role_arn),
                            self.role_principal(role_arn),
                            action,
                            resource,
                            f"{handler} (its code)",
                            info.env,
                        )
                        continue
                    if not where.startswith("env:"):
                        continue
                    value = env_vars.get(where.split(":", 1)[1])
                    if value is None:
                        continue
                    resource = value
                    if action.startswith("dynamodb:") and not value.startswith("arn:"):
                        resource = (
                            f"arn:{PARTITION}:dynamodb:{info.region}:{info.account}:table/{value}"
                        )
                    principal = self.role_principal(role_arn)
                    caller = self.caller_name(role_arn)
                    source = f"{handler} ({where})"
                    if action == "states:StartExecution":
                        self.start_state_machine(
                            caller, principal, resource, source, info.env, describe=False
                        )
                        continue
                    self.add(caller, principal, action, resource, source, info.env)
                    if action == "sns:Publish":
                        self.kms_for_topic(caller, principal, resource, source, info.env)
                    if action.startswith("dynamodb:"):
                        table = self.world.targets.get(resource)
                        if table is not None and table.key_arn:
                            kms_action = (
                                "kms:Decrypt"
                                if action == "dynamodb:GetItem"
                                else "kms:GenerateDataKey"
                            )
                            self.add(
                                caller,
                                principal,
                                kms_action,
                                table.key_arn,
                                f"{source} (table key)",
                                info.env,
                                kms__ViaService=f"dynamodb.{info.region}.amazonaws.com",
                            )

    def _run_time_resource(self, info: StackInfo, where: str) -> str:
        if where == "*":
            return "*"
        kind = where.split(":", 1)[1]
        name = EXAMPLE
        if kind == "model-package":  # a version of a model package group of this stack
            group = next(
                (
                    self.world.physical(info, logical, "ModelPackageGroupName")
                    for logical, body in info.resources.items()
                    if body.get("Type") == "AWS::SageMaker::ModelPackageGroup"
                ),
                EXAMPLE,
            )
            name = f"{group}/{EXAMPLE}"
        return f"arn:{PARTITION}:sagemaker:{info.region}:{info.account}:{kind}/{name}"

    # -- CodePipeline and CodeBuild -------------------------------------------------------

    def pipelines(self) -> None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::CodePipeline::Pipeline":
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                pipeline_role = props["RoleArn"]
                name = props.get("Name", logical)
                store = props.get("ArtifactStore") or {}
                bucket = store.get("Location")
                store_key = (store.get("EncryptionKey") or {}).get("Id")
                for stage in props.get("Stages") or []:
                    for action in stage.get("Actions") or []:
                        self._pipeline_action(
                            info, name, pipeline_role, bucket, store_key, stage["Name"], action
                        )

    def _pipeline_action(
        self,
        info: StackInfo,
        pipeline: str,
        pipeline_role: str,
        bucket: str | None,
        store_key: str | None,
        stage: str,
        action: dict,
    ) -> None:
        type_id = action.get("ActionTypeId") or {}
        provider = type_id.get("Provider")
        config = action.get("Configuration") or {}
        source = f"pipeline {pipeline} {stage}.{action.get('Name')}"
        actor = action.get("RoleArn") or pipeline_role
        principal = self.role_principal(actor)
        caller = self.caller_name(actor)
        if action.get("RoleArn"):
            self.add(
                self.caller_name(pipeline_role),
                self.role_principal(pipeline_role),
                "sts:AssumeRole",
                actor,
                f"{source} (action role)",
                info.env,
            )
        if bucket and (action.get("InputArtifacts") or action.get("OutputArtifacts")):
            obj = f"arn:{PARTITION}:s3:::{bucket}/{pipeline[:20]}/{EXAMPLE}"
            # A CodeBuild action's artifacts are moved by the build itself (its service role,
            # from inside its VPC); every other action's by the action's role.
            movers: list[tuple[str, Principal, str | None]] = [(caller, principal, None)]
            if provider == "CodeBuild":
                project = self._project(info, config.get("ProjectName"))
                if project is not None:
                    role, in_vpc = project
                    movers = [
                        (
                            self.caller_name(role),
                            self.role_principal(role),
                            info.env if in_vpc else None,
                        )
                    ]
            for who, as_principal, vpc_env in movers:
                if action.get("OutputArtifacts"):
                    self.add(
                        who,
                        as_principal,
                        "s3:PutObject",
                        obj,
                        f"{source} (artifact)",
                        info.env,
                        vpc_env=vpc_env,
                        **(
                            {
                                "s3:x-amz-server-side-encryption": "aws:kms",
                                "s3:x-amz-server-side-encryption-aws-kms-key-id": store_key,
                            }
                            if store_key
                            else {}
                        ),
                    )
                    if store_key:
                        self.add(
                            who,
                            as_principal,
                            "kms:GenerateDataKey",
                            store_key,
                            f"{source} (artifact key)",
                            info.env,
                        )
                if action.get("InputArtifacts"):
                    self.add(
                        who,
                        as_principal,
                        "s3:GetObject",
                        obj,
                        f"{source} (artifact)",
                        info.env,
                        vpc_env=vpc_env,
                    )
                    if store_key:
                        self.add(
                            who,
                            as_principal,
                            "kms:Decrypt",
                            store_key,
                            f"{source} (artifact key)",
                            info.env,
                        )
        if provider == "StepFunctions":
            machine = config["StateMachineArn"]  # required by the action type
            self.start_state_machine(caller, principal, machine, source, info.env, describe=True)
            try:
                text = re.sub(r"#\{[^}]*\}", EXAMPLE, config.get("Input") or "{}")
                literal = json.loads(text)
            except ValueError:
                literal = {}
            if isinstance(literal, dict):
                self.pipeline_inputs[machine] = literal
        elif provider == "CodeBuild":
            project = config.get("ProjectName")
            arn = f"arn:{PARTITION}:codebuild:{info.region}:{info.account}:project/{project}"
            for api in ("codebuild:StartBuild", "codebuild:BatchGetBuilds"):
                self.add(caller, principal, api, arn, source, info.env)
        elif provider == "Manual":
            topic = config.get("NotificationArn")
            if topic:
                self.add(caller, principal, "sns:Publish", topic, source, info.env)
                self.kms_for_topic(caller, principal, topic, source, info.env)
        elif provider == "S3" and type_id.get("Category") == "Source":
            obj = f"arn:{PARTITION}:s3:::{config['S3Bucket']}/{config['S3ObjectKey']}"
            self.add(caller, principal, "s3:GetObject", obj, source, info.env)
            target = self.world.bucket(config["S3Bucket"])
            if target is not None and target.key_arn:
                self.add(
                    caller,
                    principal,
                    "kms:Decrypt",
                    target.key_arn,
                    f"{source} (bucket key)",
                    info.env,
                    kms__ViaService=f"s3.{info.region}.amazonaws.com",
                )
        elif provider == "CodeCommit":
            repo = (
                f"arn:{PARTITION}:codecommit:{info.region}:{info.account}:"
                f"{config['RepositoryName']}"
            )
            for api in (
                "codecommit:GetBranch",
                "codecommit:GetCommit",
                "codecommit:UploadArchive",
                "codecommit:GetUploadArchiveStatus",
            ):
                self.add(caller, principal, api, repo, source, info.env)
            self._clone_ref(info, config, repo, "codecommit:GitPull", source)
        elif provider in ("CodeStarSourceConnection",):
            connection = config["ConnectionArn"]
            self.add(
                caller, principal, "codeconnections:UseConnection", connection, source, info.env
            )
            self._clone_ref(info, config, connection, "codeconnections:UseConnection", source)

    def _clone_ref(
        self, info: StackInfo, config: dict, resource: str, action: str, source: str
    ) -> None:
        """With CODEBUILD_CLONE_REF the build project clones the repository itself."""
        if config.get("OutputArtifactFormat") != "CODEBUILD_CLONE_REF":
            return
        for project_role, in_vpc in self._build_roles(info):
            self.add(
                self.caller_name(project_role),
                self.role_principal(project_role),
                action,
                resource,
                f"{source} (CODEBUILD_CLONE_REF: the build clones)",
                info.env,
                vpc_env=info.env if in_vpc else None,
            )

    def _project(self, info: StackInfo, name: str | None) -> tuple[str, bool] | None:
        for logical, body in info.resources.items():
            if (
                body.get("Type") == "AWS::CodeBuild::Project"
                and self.world.physical(info, logical) == name
            ):
                props = body["Properties"]
                return self.world.resolve(info, props["ServiceRole"]), bool(props.get("VpcConfig"))
        return None

    def _build_roles(self, info: StackInfo) -> list[tuple[str, bool]]:
        return [
            (
                self.world.resolve(info, body["Properties"]["ServiceRole"]),
                bool(body["Properties"].get("VpcConfig")),
            )
            for body in info.resources.values()
            if body.get("Type") == "AWS::CodeBuild::Project"
        ]

    def _env_of_arn(self, arn: str | None) -> str | None:
        if not arn:
            return None
        account = arn.split(":")[4]
        for stack in self.world.stacks.values():
            if stack.account == account:
                return stack.env
        return None

    def builds(self) -> None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::CodeBuild::Project":
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                role = props["ServiceRole"]
                principal, caller = self.role_principal(role), self.caller_name(role)
                vpc_env = info.env if props.get("VpcConfig") else None
                source = f"build project {props.get('Name', logical)}"
                spec_text = (props.get("Source") or {}).get("BuildSpec") or ""
                for command in _shell_commands(spec_text):
                    upload = re.search(r"aws s3 cp .*?s3://(\S+?)\"?(\s|$)", command)
                    if not upload:
                        continue
                    sse = re.search(r"--sse-kms-key-id (\S+)", command)
                    self.s3_object(
                        role,
                        f"s3://{_expand(upload.group(1), spec_text)}",
                        write=True,
                        source=f"{source} (buildspec upload)",
                        env=info.env,
                        vpc_env=vpc_env,
                        sse_key=sse.group(1) if sse else None,
                    )
                logs = (props.get("LogsConfig") or {}).get("CloudWatchLogs") or {}
                if logs.get("GroupName"):
                    group = (
                        f"arn:{PARTITION}:logs:{info.region}:{info.account}:log-group:"
                        f"{logs['GroupName']}:log-stream:{EXAMPLE}"
                    )
                    self.add(caller, principal, "logs:PutLogEvents", group, source, info.env)
                if "codeartifact login" in spec_text:
                    domain = re.search(r"--domain (\S+)", spec_text)
                    if domain:
                        arn = (
                            f"arn:{PARTITION}:codeartifact:{info.region}:{info.account}:"
                            f"domain/{domain.group(1)}"
                        )
                        self.add(
                            caller,
                            principal,
                            "codeartifact:GetAuthorizationToken",
                            arn,
                            f"{source} (package mirror)",
                            info.env,
                        )
                # Image layers: a build in the VPC that pulls a SageMaker or ECR image
                # downloads layers from AWS's layer bucket (not for CodeBuild's curated images).

    # -- schedules, alarms, rules ---------------------------------------------------------

    def schedules(self) -> None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::Scheduler::Schedule":
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                target = props.get("Target") or {}
                role, arn = target["RoleArn"], target["Arn"]  # both required by the resource
                schedule = self.world.physical(info, logical)
                source = f"schedule {props.get('Name', logical)}"
                self.add(
                    "scheduler.amazonaws.com",
                    Principal.aws_service("scheduler.amazonaws.com"),
                    "sts:AssumeRole",
                    role,
                    source,
                    info.env,
                    aws__SourceAccount=info.account,
                    aws__SourceArn=schedule,
                )
                principal, caller = self.role_principal(role), self.caller_name(role)
                if props.get("KmsKeyArn"):
                    self.add(
                        caller,
                        principal,
                        "kms:Decrypt",
                        props["KmsKeyArn"],
                        f"{source} (schedule key)",
                        info.env,
                    )
                if ":states:" in arn and ":stateMachine:" in arn:
                    self.start_state_machine(
                        caller, principal, arn, source, info.env, describe=False
                    )

    def audit_delivery(self) -> None:
        """CloudTrail (service principal) and AWS Config (the recorder's role) deliver to
        their buckets, encrypted with the trail's and the channel's keys."""
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                t = body.get("Type")
                if t not in ("AWS::CloudTrail::Trail", "AWS::Config::DeliveryChannel"):
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                bucket = props.get("S3BucketName")
                prefix = f"{props['S3KeyPrefix'].strip('/')}/" if props.get("S3KeyPrefix") else ""
                if t == "AWS::CloudTrail::Trail":
                    trail = self.world.physical(info, logical, "Arn")
                    service = Principal.aws_service("cloudtrail.amazonaws.com")
                    ctx = {"aws:SourceArn": trail, "aws:SourceAccount": info.account}
                    source = f"trail {props.get('TrailName', logical)}"
                    key = props.get("KMSKeyId")
                    caller, principal = "cloudtrail.amazonaws.com", service
                    obj_prefix = f"{prefix}AWSLogs/{info.account}/CloudTrail/"
                    extra = {"s3:x-amz-acl": "bucket-owner-full-control"}
                else:
                    recorder = next(
                        (
                            b
                            for b in info.resources.values()
                            if b.get("Type") == "AWS::Config::ConfigurationRecorder"
                        ),
                        None,
                    )
                    if recorder is None:
                        continue
                    role = self.world.resolve(info, recorder["Properties"]["RoleARN"])
                    caller, principal = self.caller_name(role), self.role_principal(role)
                    ctx = {}
                    source = f"config delivery channel {props.get('Name', logical)}"
                    key = props.get("S3KmsKeyArn")
                    obj_prefix = f"{prefix}AWSLogs/{info.account}/Config/"
                    extra = {"s3:x-amz-acl": "bucket-owner-full-control"}
                self.add(
                    caller,
                    principal,
                    "s3:GetBucketAcl",
                    f"arn:{PARTITION}:s3:::{bucket}",
                    source,
                    info.env,
                    **ctx,
                )
                headers = (
                    {
                        "s3:x-amz-server-side-encryption": "aws:kms",
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": key,
                    }
                    if key
                    else {}
                )
                self.add(
                    caller,
                    principal,
                    "s3:PutObject",
                    f"arn:{PARTITION}:s3:::{bucket}/{obj_prefix}{EXAMPLE}.json.gz",
                    source,
                    info.env,
                    **ctx,
                    **extra,
                    **headers,
                )
                if key:
                    kms_ctx = dict(ctx)
                    if t == "AWS::CloudTrail::Trail":
                        kms_ctx["kms:EncryptionContext:aws:cloudtrail:arn"] = ctx["aws:SourceArn"]
                    else:
                        kms_ctx["kms:ViaService"] = f"s3.{info.region}.amazonaws.com"
                    self.add(
                        caller,
                        principal,
                        "kms:GenerateDataKey",
                        key,
                        f"{source} (key)",
                        info.env,
                        **kms_ctx,
                    )

    def alarms(self) -> None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::CloudWatch::Alarm":
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                alarm = self.world.physical(info, logical, "Arn")
                for action in [
                    *props.get("AlarmActions", []),
                    *props.get("OKActions", []),
                    *props.get("InsufficientDataActions", []),
                ]:
                    if not str(action).startswith(f"arn:{PARTITION}:sns:"):
                        continue
                    service = Principal.aws_service("cloudwatch.amazonaws.com")
                    ctx = {"aws:SourceAccount": info.account, "aws:SourceArn": alarm}
                    source = f"alarm {props.get('AlarmName', logical)}"
                    self.add(
                        "cloudwatch.amazonaws.com",
                        service,
                        "sns:Publish",
                        action,
                        source,
                        info.env,
                        **{k.replace(":", "__"): v for k, v in ctx.items()},
                    )
                    self.kms_for_topic(
                        "cloudwatch.amazonaws.com",
                        service,
                        action,
                        source,
                        info.env,
                        {k.replace(":", "__"): v for k, v in ctx.items()},
                    )

    def rules(self) -> None:
        for info in self.world.stacks.values():
            for logical, body in info.resources.items():
                if body.get("Type") != "AWS::Events::Rule":
                    continue
                props = self.world.resolve(info, body.get("Properties") or {})
                rule = self.world.physical(info, logical, "Arn")
                source = f"rule {logical}"
                service = Principal.aws_service("events.amazonaws.com")
                ctx = {"aws__SourceAccount": info.account, "aws__SourceArn": rule}
                for target in props.get("Targets") or []:
                    arn, role = target.get("Arn"), target.get("RoleArn")
                    if role:
                        self.add(
                            "events.amazonaws.com",
                            service,
                            "sts:AssumeRole",
                            role,
                            source,
                            info.env,
                            **ctx,
                        )
                        principal, caller = self.role_principal(role), self.caller_name(role)
                        if ":event-bus/" in arn:
                            self.add(caller, principal, "events:PutEvents", arn, source, info.env)
                        elif ":codepipeline:" in arn:
                            self.add(
                                caller,
                                principal,
                                "codepipeline:StartPipelineExecution",
                                arn,
                                source,
                                info.env,
                            )
                        elif ":stateMachine:" in arn:
                            self.start_state_machine(
                                caller, principal, arn, source, info.env, describe=False
                            )
                        continue
                    if arn.startswith(f"arn:{PARTITION}:sns:"):
                        self.add(
                            "events.amazonaws.com",
                            service,
                            "sns:Publish",
                            arn,
                            source,
                            info.env,
                            **ctx,
                        )
                        # EventBridge sends no source condition keys to KMS (SNS developer guide)
                        self.kms_for_topic("events.amazonaws.com", service, arn, source, info.env)
                    elif arn.startswith(f"arn:{PARTITION}:lambda:"):
                        self.add(
                            "events.amazonaws.com",
                            service,
                            "lambda:InvokeFunction",
                            arn,
                            source,
                            info.env,
                            **ctx,
                        )


def _nearest(params: dict, path: tuple, key: str) -> str | None:
    """The ``key`` of the closest enclosing object of ``path`` that has one (the KmsKeyId of
    an output configuration)."""
    for end in range(len(path) - 1, -1, -1):
        node: Any = params
        for part in path[:end]:
            node = node[part]
        if isinstance(node, dict) and isinstance(node.get(key), str):
            return node[key]
    return None


def _shell_commands(spec_text: str) -> list[str]:
    try:
        spec = json.loads(spec_text)
    except ValueError:
        return []
    return [
        c for phase in (spec.get("phases") or {}).values() for c in (phase.get("commands") or [])
    ]


def _expand(text: str, spec_text: str) -> str:
    """Shell variables of a buildspec upload path: ``VAR="value"`` assignments of the
    buildspec, recursively; anything else (a build number, a commit) is ``example``."""
    assignments = dict(re.findall(r'(\b[A-Z_]+)=\\?"([^"\\]*)\\?"', spec_text))
    for _ in range(5):
        text = re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: assignments.get(m.group(1), EXAMPLE), text)
    return text


def _task_states_named(definition: dict) -> Iterable[tuple[str, dict]]:
    for name, state in (definition.get("States") or {}).items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches") or []:
            yield from _task_states_named(branch)
        if state.get("Iterator"):
            yield from _task_states_named(state["Iterator"])
        if state.get("ItemProcessor"):
            yield from _task_states_named(state["ItemProcessor"])


def _task_states(definition: dict) -> Iterable[dict]:
    return (state for _, state in _task_states_named(definition))


def _all_params(machines: list, info: StackInfo) -> Iterable[tuple[str, Any]]:
    for m_info, _logical, _props, definition in machines:
        if m_info.env != info.env:
            continue
        for state in _task_states(definition):
            for path, value in _walk(state.get("Parameters") or {}):
                if path and isinstance(path[-1], str):
                    yield path[-1], value


def derive_calls(world: World) -> list[Call]:
    """Every call of the table, in a stable order."""
    deriver = _Deriver(world)
    deriver.collect_machines()
    deriver.pipelines()  # first: state machine inputs come from pipeline actions
    deriver.state_machines()
    deriver.lambdas()
    deriver.builds()
    deriver.schedules()
    deriver.audit_delivery()
    deriver.alarms()
    deriver.rules()
    unique = {(c.caller, c.action, c.resource, c.context, c.source): c for c in deriver.calls}
    return sorted(unique.values(), key=lambda c: (c.env, c.caller, c.action, c.resource, c.source))


@dataclass(frozen=True)
class CallRow:
    env: str
    caller: str
    action: str
    resource: str
    source: str


def calls_table(world_or_assembly: Any) -> list[CallRow]:
    """The table for the review pack: one row per call. Accepts a :class:`World`, or an
    assembly (``review.assembly.Assembly``) whose cloud-assembly directory has manifests."""
    world = (
        world_or_assembly
        if isinstance(world_or_assembly, World)
        else world_of_assembly(world_or_assembly)
    )
    return [CallRow(c.env, c.caller, c.action, c.resource, c.source) for c in derive_calls(world)]


def world_of_assembly(assembly: Any) -> World:
    from compliance._cfn_model import environments_of

    templates = {
        f"{env}/{stack}": template
        for env, environment in assembly.environments.items()
        for stack, template in environment.templates.items()
    }
    return World(templates, environments_of(assembly.outdir))


def main(argv: list[str]) -> int:
    """``python -m compliance._calls <cdk.out>``: the table as tab-separated text."""
    import sys

    if len(argv) != 1:
        print("usage: python -m compliance._calls <cdk.out>", file=sys.stderr)
        return 2
    from compliance._deploy_order import world_of

    print("env\tcaller\taction\tresource\tderived from")
    for row in calls_table(world_of(argv[0])):
        print(f"{row.env}\t{row.caller}\t{row.action}\t{row.resource}\t{row.source}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
