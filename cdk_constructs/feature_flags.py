"""The CDK feature flags the constructs are built and tested with.

A consuming app puts these in its ``cdk.json`` ``context`` (or passes them to
``App(context=...)``). Without them some constructs synthesize differently or not at all:
without ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``, CDK grants S3 log delivery
with an ACL, which the buckets' owner-enforced ownership refuses. The platform's own
``cdk.json`` holds the same values (``tests/test_package_api.py`` checks it).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

FEATURE_FLAGS: MappingProxyType[str, Any] = MappingProxyType(
    {
        "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
        "@aws-cdk/aws-ec2:restrictDefaultSecurityGroup": True,
        "@aws-cdk/aws-iam:minimizePolicies": True,
        "@aws-cdk/aws-kms:aliasNameRef": True,
        "@aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal": True,
        "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
        "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
        "@aws-cdk/core:enablePartitionLiterals": True,
        "@aws-cdk/aws-stepfunctions-tasks:useNewS3UriParametersForBedrockInvokeModelTask": True,
        "@aws-cdk/aws-logs:addVpcFlowLogsPermissions": True,
        "@aws-cdk/core:checkSecretUsage": True,
        "@aws-cdk/aws-iam:standardizedServicePrincipals": True,
        "@aws-cdk/core:target-partitions": ["aws"],
    }
)
