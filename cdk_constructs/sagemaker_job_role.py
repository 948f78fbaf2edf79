"""The role SageMaker processing and training jobs run as."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs._sagemaker_images import image_repository_arns
from cdk_constructs._validation import require


class SageMakerJobRole(Construct):
    """Least privilege for jobs that run in the VPC: read the given buckets, write only
    under ``runs/`` of the output buckets, use only the given keys, pull only AWS's own
    SageMaker images, write only SageMaker log groups and metrics. One customer-managed
    policy; trusted only by SageMaker for this account.

    Refused: no ``read_buckets`` or no ``keys`` (a job with neither cannot read its data).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        description: str,
        read_buckets: list[s3.IBucket],
        write_buckets: list[s3.IBucket],
        keys: list[kms.IKey],
        vpc: ec2.IVpc,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(read_buckets) and bool(keys),
            "SageMakerJobRole",
            "give read_buckets and keys: a job with neither cannot read its data",
        )
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        buckets = list({b.node.path: b for b in [*read_buckets, *write_buckets]}.values())
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=description,
            statements=[
                iam.PolicyStatement(
                    sid="ReadData",
                    actions=[
                        "s3:GetObject",
                        "s3:GetObjectVersion",
                        "s3:ListBucket",
                        "s3:GetBucketLocation",
                    ],
                    resources=[r for b in buckets for r in (b.bucket_arn, b.arn_for_objects("*"))],
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="WriteRunOutputs",
                            actions=[
                                "s3:PutObject",
                                "s3:AbortMultipartUpload",
                                "s3:ListMultipartUploadParts",
                            ],
                            resources=[b.arn_for_objects("runs/*") for b in write_buckets],
                        )
                    ]
                    if write_buckets
                    else []
                ),
                iam.PolicyStatement(
                    sid="UsePlatformKeys",
                    actions=[
                        "kms:Decrypt",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:DescribeKey",
                    ],
                    resources=[k.key_arn for k in keys],
                ),
                iam.PolicyStatement(
                    sid="GrantsForEncryptedVolumes",
                    actions=["kms:CreateGrant"],
                    resources=[k.key_arn for k in keys],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                iam.PolicyStatement(
                    sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="PullAwsSageMakerImages",
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    resources=image_repository_arns(stack.region, stack.partition),
                ),
                iam.PolicyStatement(
                    sid="JobLogs",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[
                        f"{arn}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker/*"
                    ],
                ),
                iam.PolicyStatement(
                    sid="JobMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={
                        "StringLike": {
                            "cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="VpcDescribe",
                    actions=[
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeVpcs",
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="VpcNetworkInterfaces",
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                    ],
                    resources=["*"],
                    conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
                ),
            ],
        )
        self.role = iam.Role(
            self,
            "Role",
            description=description,
            managed_policies=[self.policy],
            role_name=role_name,
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
