"""A SageMaker Model Registry group: where every trained model waits for a human."""

from __future__ import annotations

import re

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs._validation import require

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class ModelRegistry(Construct):
    """A model package group, retained when the stack is deleted: the registry is the
    record of which model was approved, by whom, with which metrics.

    Refused: a group name that is not 1-63 letters, digits and hyphens, and a reader account
    that is not a 12-digit account id.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        group_name: str,
        description: str,
        reader_accounts: list[str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_NAME_RE.match(group_name)),
            "ModelRegistry",
            f"group_name {group_name!r} must be 1-63 letters, digits and hyphens",
        )
        self.group_name = group_name
        for account in reader_accounts or []:
            require(
                bool(re.fullmatch(r"\d{12}", account)),
                "ModelRegistry",
                f"reader account {account!r} is not a 12-digit account id",
            )
        stack = Stack.of(self)
        policy = None
        if reader_accounts:
            arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
            # Serving accounts read (only) the registry to deploy an approved version.
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ServingAccountsReadApprovedModels",
                        "Effect": "Allow",
                        "Principal": {
                            "AWS": [f"arn:{stack.partition}:iam::{a}:root" for a in reader_accounts]
                        },
                        "Action": [
                            "sagemaker:DescribeModelPackageGroup",
                            "sagemaker:DescribeModelPackage",
                            "sagemaker:ListModelPackages",
                        ],
                        "Resource": [
                            f"{arn}:model-package-group/{group_name}",
                            f"{arn}:model-package/{group_name}/*",
                        ],
                    }
                ],
            }
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=group_name,
            model_package_group_description=description,
            model_package_group_policy=policy,
        )
        self.group.apply_removal_policy(RemovalPolicy.RETAIN)
        self.group_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"model-package-group/{group_name}"
        )
        self.packages_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"model-package/{group_name}/*"
        )
