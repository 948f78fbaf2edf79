"""A VPC with no path to or from the internet, reaching AWS services through endpoints."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._lint import tolerate_redundant_depends_on
from cdk_constructs._validation import require
from cdk_constructs.secure_log_group import SecureLogGroup

S = ec2.InterfaceVpcEndpointAwsService


@dataclass(frozen=True)
class EndpointSpec:
    """One interface endpoint: a stable construct id, the service, and whether the service
    accepts a VPC endpoint policy (a policy on a service that does not is rejected)."""

    construct_id: str
    service: ec2.InterfaceVpcEndpointAwsService
    supports_policy: bool = True


# Every AWS API the platform calls from inside the VPC. Order does not matter: construct
# ids are explicit, so adding or removing one endpoint never replaces another.
DEFAULT_INTERFACE_ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec("SageMakerApi", S.SAGEMAKER_API),
    EndpointSpec("SageMakerRuntime", S.SAGEMAKER_RUNTIME),
    # The notebook endpoint serves the Jupyter UI behind presigned URLs; endpoint policies
    # are not documented for it, so access is controlled by IAM (aws:SourceVpce) instead.
    EndpointSpec("SageMakerNotebook", S.SAGEMAKER_NOTEBOOK, supports_policy=False),
    EndpointSpec("Sts", S.STS),
    EndpointSpec("Kms", S.KMS),
    EndpointSpec("Logs", S.CLOUDWATCH_LOGS),
    EndpointSpec("Monitoring", S.CLOUDWATCH_MONITORING),
    EndpointSpec("EcrApi", S.ECR),
    EndpointSpec("EcrDocker", S.ECR_DOCKER),
    EndpointSpec("StepFunctions", S.STEP_FUNCTIONS),
    EndpointSpec("CodeArtifactApi", S.CODEARTIFACT_API),
    EndpointSpec("CodeArtifactRepositories", S.CODEARTIFACT_REPOSITORIES),
    EndpointSpec("Ssm", S.SSM),
    EndpointSpec("EventBridge", S.EVENTBRIDGE),
    EndpointSpec("Sns", S.SNS),
)

# Added where data scientists work in a VPC-only SageMaker AI Studio domain (issue #15): the
# browser reaches Studio (aws.sagemaker.<region>.studio) through this endpoint. Like the
# notebook endpoint it takes no endpoint policy here; the presigned-URL policies' source
# conditions control who opens Studio. Studio's other needs (SageMaker API, runtime,
# notebook, STS, logs, ECR, CodeArtifact, S3 gateway) are in the default list.
STUDIO_ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec("SageMakerStudio", S.SAGEMAKER_STUDIO, supports_policy=False),
)

# Read-only S3 actions on platform buckets go through the gateway; writes too, for jobs
# writing outputs. Never s3:* and never Resource "*".
_PLATFORM_BUCKET_ACTIONS = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectTagging",
    "s3:GetObjectRetention",
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
]


class IsolatedNetwork(Construct):
    """Isolated subnets only (no internet, NAT or egress-only gateway, no EIP), VPC flow
    logs of all traffic to a KMS-encrypted retained log group, one security group allowing
    TCP 443 from the VPC CIDR, interface endpoints with private DNS and endpoint policies
    limited to this account's principals, and S3 and DynamoDB gateway endpoints whose
    policies name the platform's buckets and the AWS-owned buckets the services need.

    ``vpc_cidr`` is the literal CIDR from configuration (not a token), so security-group
    rules stay concrete and reviewable.

    Refused: a ``vpc_cidr`` that is not a private CIDR, fewer than two availability zones, an
    ``endpoint_az_count`` outside 1..number of zones, a ``platform_bucket_prefix`` that is
    not lower-case or does not end with '-', and repeated interface endpoint ids.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc_cidr: str,
        availability_zones: list[str],
        endpoint_az_count: int,
        flow_log_key: kms.IKey,
        flow_log_retention_days: int,
        platform_bucket_prefix: str,
        shared_read_locations: tuple[str, ...] = (),
        interface_endpoints: tuple[EndpointSpec, ...] = DEFAULT_INTERFACE_ENDPOINTS,
    ) -> None:
        super().__init__(scope, id)
        try:
            network = ipaddress.IPv4Network(vpc_cidr, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"IsolatedNetwork: vpc_cidr {vpc_cidr!r} is not a CIDR ({exc})"
            ) from None
        require(network.is_private, "IsolatedNetwork", f"vpc_cidr {vpc_cidr} must be private")
        require(
            len(availability_zones) >= 2,
            "IsolatedNetwork",
            "give at least two availability_zones so SageMaker can spread across AZs",
        )
        require(
            1 <= endpoint_az_count <= len(availability_zones),
            "IsolatedNetwork",
            f"endpoint_az_count {endpoint_az_count} must be 1..{len(availability_zones)}",
        )
        require(
            platform_bucket_prefix.endswith("-") and platform_bucket_prefix.islower(),
            "IsolatedNetwork",
            f"platform_bucket_prefix {platform_bucket_prefix!r} must be lower-case and end "
            "with '-' so the S3 endpoint policy cannot match another owner's bucket name",
        )
        for location in shared_read_locations:
            require(
                location.startswith("arn:")
                and ":s3:::" in location
                and location.endswith("/*")
                and "*" not in location[:-2],
                "IsolatedNetwork",
                f"shared_read_locations entry {location!r} must be an S3 object ARN prefix "
                "ending in '/*' with no other wildcard (e.g. "
                "'arn:aws:s3:::mlp-dev-model-artifacts-111111111111-eu-west-2/runs/*')",
            )
        ids = [e.construct_id for e in interface_endpoints]
        require(len(ids) == len(set(ids)), "IsolatedNetwork", "interface endpoint ids repeat")

        stack = Stack.of(self)
        self.vpc_cidr = str(network)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(self.vpc_cidr),
            availability_zones=list(availability_zones),
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )

        self._tolerate_cdk_provider_lint(stack)

        self.flow_log_group = SecureLogGroup(
            self, "FlowLogs", encryption_key=flow_log_key, retention_days=flow_log_retention_days
        ).log_group
        # The flow-log role gets a customer-managed policy rather than the inline policy the
        # L2 would generate (NIST/HIPAA/PCI IAMNoInlinePolicy), trusted only for this account's
        # flow logs.
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:ec2:{stack.region}:"
                        f"{stack.account}:vpc-flow-log/*"
                    },
                },
            ),
            description="VPC flow logs delivery to the platform's encrypted log group",
        )
        flow_log_role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "FlowLogDeliveryPolicy",
                statements=[
                    iam.PolicyStatement(
                        actions=[
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        resources=[self.flow_log_group.log_group_arn],
                    )
                ],
            )
        )
        self.flow_log = ec2.CfnFlowLog(
            self,
            "FlowLog",
            resource_id=self.vpc.vpc_id,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_group_name=self.flow_log_group.log_group_name,
            deliver_logs_permission_arn=flow_log_role.role_arn,
        )

        self.security_group = ec2.SecurityGroup(
            self,
            "PlatformSecurityGroup",
            vpc=self.vpc,
            description="Secure ML platform: HTTPS within the VPC only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.ipv4(self.vpc_cidr), ec2.Port.tcp(443), "HTTPS from inside the VPC"
        )
        # With no internet or NAT gateway, 443 egress can only reach the interface endpoints
        # inside the VPC and the S3/DynamoDB gateway endpoints (whose prefix lists are
        # public ranges routed to the gateway); nothing else is routable.
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to VPC interface endpoints and S3/DynamoDB gateway endpoints only (no internet "
            "route)",
        )

        endpoint_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
            availability_zones=list(availability_zones[:endpoint_az_count]),
        )
        account_only = {"StringEquals": {"aws:PrincipalAccount": stack.account}}
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for spec in interface_endpoints:
            endpoint = self.vpc.add_interface_endpoint(
                spec.construct_id,
                service=spec.service,
                subnets=endpoint_subnets,
                security_groups=[self.security_group],
                private_dns_enabled=True,
                open=False,
            )
            if spec.supports_policy:
                endpoint.add_to_policy(
                    iam.PolicyStatement(
                        sid="OnlyThisAccountsPrincipals",
                        principals=[iam.AnyPrincipal()],
                        actions=["*"],
                        resources=["*"],
                        conditions=account_only,
                    )
                )
            self.interface_endpoints[spec.construct_id] = endpoint

        isolated = [ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)]
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=isolated
        )
        platform_buckets = f"arn:{stack.partition}:s3:::{platform_bucket_prefix}*"
        self.s3_endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="PlatformBucketsForThisAccount",
                principals=[iam.AnyPrincipal()],
                actions=_PLATFORM_BUCKET_ACTIONS,
                resources=[platform_buckets, f"{platform_buckets}/*"],
                conditions=account_only,
            )
        )
        if shared_read_locations:
            # Another environment's objects this VPC's jobs read (the pipeline account's run
            # artifacts: models and training data), read-only, by this account's principals.
            buckets = sorted({loc.split("/", 1)[0] for loc in shared_read_locations})
            self.s3_endpoint.add_to_policy(
                iam.PolicyStatement(
                    sid="SharedRunArtifactsReadOnly",
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=sorted(shared_read_locations),
                    conditions=account_only,
                )
            )
            self.s3_endpoint.add_to_policy(
                iam.PolicyStatement(
                    sid="SharedRunArtifactsList",
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=buckets,
                    conditions=account_only,
                )
            )
        # AWS-owned buckets: the downloads use URLs signed by AWS's own identities, so no
        # principal condition may apply (Amazon ECR User Guide, "Minimum Amazon S3 bucket
        # permissions for Amazon ECR"; CodeArtifact User Guide, "Create the Amazon S3 gateway
        # endpoint": both example policies use Principal "*" without conditions).
        self.s3_endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="AwsOwnedBucketsTheServicesNeed",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[
                    # ECR image layers (SageMaker's own algorithm and framework images)
                    f"arn:{stack.partition}:s3:::prod-{stack.region}-starport-layer-bucket/*",
                    # CodeArtifact package assets
                    f"arn:{stack.partition}:s3:::assets-*-{stack.region}/*",
                ],
            )
        )
        self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=isolated
        )
        self.dynamodb_endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="PlatformTablesForThisAccount",
                principals=[iam.AnyPrincipal()],
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:DescribeTable",
                ],
                resources=[
                    f"arn:{stack.partition}:dynamodb:{stack.region}:{stack.account}:table/*"
                ],
                conditions=account_only,
            )
        )

    @staticmethod
    def _tolerate_cdk_provider_lint(stack: Stack) -> None:
        """CDK's default-security-group provider declares DependsOn on a role it also
        references with GetAtt; cfn-lint flags the redundancy (W3005). It is harmless and
        not ours to change, so that one check is silenced on that one resource."""
        provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.try_find_child("Handler") if provider else None
        if handler is not None:
            tolerate_redundant_depends_on(handler)

    @property
    def isolated_subnets(self) -> list[ec2.ISubnet]:
        return list(self.vpc.isolated_subnets)
