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
    record of which model was approved, by whom, with which metrics."""

    def __init__(self, scope: Construct, id: str, *, group_name: str, description: str) -> None:
        super().__init__(scope, id)
        require(bool(_NAME_RE.match(group_name)), "ModelRegistry",
                f"group_name {group_name!r} must be 1-63 letters, digits and hyphens")
        self.group_name = group_name
        self.group = sagemaker.CfnModelPackageGroup(
            self, "Group", model_package_group_name=group_name,
            model_package_group_description=description)
        self.group.apply_removal_policy(RemovalPolicy.RETAIN)
        stack = Stack.of(self)
        self.group_arn = (f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
                          f"model-package-group/{group_name}")
        self.packages_arn = (f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
                             f"model-package/{group_name}/*")
