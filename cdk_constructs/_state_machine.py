"""The one way the platform builds a Step Functions state machine.

Every workflow (training, deployment, model quality, champion/challenger, retraining) gets
the same secure defaults: CMK encryption, ALL-level logging with execution data to a
KMS-encrypted retained log group, X-Ray tracing, and a role whose only permissions are one
customer-managed policy. A workflow construct passes its own statements; the statements
every state machine needs (its own encryption context, vended-log delivery, tracing) are
added here. Children are created on the calling construct with fixed ids (Logs, Policy,
Role, StateMachine), so templates and acknowledgement paths are the same for every workflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_constructs._lint import tolerate_redundant_depends_on
from cdk_constructs.secure_log_group import SecureLogGroup


@dataclass(frozen=True)
class SecureStateMachineParts:
    log_group: logs.ILogGroup
    policy: iam.ManagedPolicy
    role: iam.Role
    state_machine: sfn.StateMachine


def baseline_statements(stack: Stack, encryption_key: kms.IKey) -> list[iam.PolicyStatement]:
    arn = f"arn:{stack.partition}"
    return [
        iam.PolicyStatement(
            sid="StateEncryption",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[encryption_key.key_arn],
            conditions={
                "StringLike": {
                    "kms:EncryptionContext:aws:states:stateMachineArn": (
                        f"{arn}:states:{stack.region}:{stack.account}:stateMachine:*"
                    )
                }
            },
        ),
        # Execution logs of a state machine encrypted with a customer key are encrypted too:
        # Step Functions asks KMS for a data key as the role, with the log destination as
        # encryption context. (CDK adds this statement itself, but the role here takes no
        # policy updates, so it must be explicit.)
        iam.PolicyStatement(
            sid="LogEncryption",
            actions=["kms:GenerateDataKey"],
            resources=[encryption_key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:EncryptionContext:SourceArn": (
                        f"{arn}:logs:{stack.region}:{stack.account}:*"
                    )
                }
            },
        ),
        # Vended-log delivery and X-Ray APIs have no resource-level permissions.
        iam.PolicyStatement(
            sid="LogDelivery",
            actions=[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="Tracing",
            actions=[
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            resources=["*"],
        ),
    ]


def state_machine_key_statements(
    key_arn: str, state_machine_arns: list[str], *, sid: str, describe: bool = True
) -> list[iam.PolicyStatement]:
    """What a caller of CMK-encrypted state machines needs from the key (Step Functions
    Developer Guide, "Data at rest encryption"): ``kms:GenerateDataKey`` to start an
    execution and, with ``describe``, ``kms:Decrypt`` to describe the machine and its
    executions; only under the machines' own encryption context. Without them Step
    Functions answers KmsAccessDeniedException."""
    context = {
        "StringEquals": {
            "kms:EncryptionContext:aws:states:stateMachineArn": sorted(state_machine_arns)
        }
    }
    actions = ["kms:GenerateDataKey", *(["kms:Decrypt"] if describe else [])]
    return [iam.PolicyStatement(sid=sid, actions=actions, resources=[key_arn], conditions=context)]


def registry_and_endpoint_read(
    sm: str, *, model_package_group_arn: str, endpoint_name: str, name_prefix: str
) -> list[iam.PolicyStatement]:
    """What a serving workflow reads before it acts: the model package group and its versions,
    and the endpoint with its configurations (``sm`` is ``arn:<partition>:sagemaker:<region>:
    <account>``)."""
    packages = model_package_group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    return [
        iam.PolicyStatement(
            sid="ReadRegistry",
            actions=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
            resources=[model_package_group_arn, packages],
        ),
        iam.PolicyStatement(
            sid="ReadEndpoint",
            actions=["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"],
            resources=[f"{sm}:endpoint/{endpoint_name}", f"{sm}:endpoint-config/{name_prefix}-*"],
        ),
    ]


def build_secure_state_machine(
    scope: Construct,
    *,
    purpose: str,
    state_machine_name: str,
    definition: dict,
    statements: list[iam.PolicyStatement],
    encryption_key: kms.IKey,
    log_key: kms.IKey,
    log_retention_days: int,
    role_name: str | None = None,
) -> SecureStateMachineParts:
    """``role_name``: a fixed name, only for a role other accounts name in their policies."""
    stack = Stack.of(scope)
    log_group = SecureLogGroup(
        scope, "Logs", encryption_key=log_key, retention_days=log_retention_days
    ).log_group
    policy = iam.ManagedPolicy(
        scope,
        "Policy",
        description=purpose,
        statements=[*statements, *baseline_statements(stack, encryption_key)],
    )
    role = iam.Role(
        scope,
        "Role",
        description=f"{purpose} state machine",
        managed_policies=[policy],
        role_name=role_name,
        assumed_by=iam.ServicePrincipal(
            "states.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=state_machine_name,
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_string(stack.to_json_string(definition)),
        role=role.without_policy_updates(),
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
        tracing_enabled=True,
        # By reference: given the key itself, CDK would add an unconditioned
        # delivery.logs.amazonaws.com kms:Decrypt* to its key policy; the key's owner grants
        # log delivery under an encryption-context condition instead
        # (ManagedKey.allow_vended_log_delivery).
        encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(
            kms.Key.from_key_arn(scope, "EncryptionKeyRef", encryption_key.key_arn)
        ),
    )
    state_machine.node.add_dependency(policy)
    tolerate_redundant_depends_on(state_machine)
    return SecureStateMachineParts(log_group, policy, role, state_machine)
