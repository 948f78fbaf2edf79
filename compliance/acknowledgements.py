"""Every acknowledged compliance finding of the platform, in one reviewed module.

Each entry names one construct (path relative to its stage, e.g.
``Foundation/AccessLogs/Bucket``), one exact finding id (granular where the rule reports
granular findings, e.g. ``AwsSolutions-IAM5[Action::s3:GetObject*]``) and the reason a
security reviewer accepted. ``tests/test_compliance.py`` fails when an entry has no reason,
targets a whole stack or stage, or names a finding that no longer occurs.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Stage, Validations
from constructs import IConstruct

from compliance.checks import NAG_PACKS


@dataclass(frozen=True)
class Acknowledgement:
    path: str  # relative to the stage; fnmatch patterns allowed for per-user constructs
    finding: str  # e.g. "NIST.800.53.R5-S3BucketReplicationEnabled"
    reason: str

    @property
    def plugin(self) -> str:
        for prefix, plugin in NAG_PACKS.items():
            if self.finding.startswith(prefix + "-"):
                return plugin
        if "::" in self.finding.split("[", 1)[0]:
            return self.finding.split("::", 1)[0]
        raise ValueError(f"{self.finding}: unknown rule pack; prefix it with 'Plugin::'")

    @property
    def rule(self) -> str:
        head, sep, tail = self.finding.partition("[")
        return head.split("::", 1)[-1] + sep + tail

    @property
    def acknowledgement_id(self) -> str:
        return f"{self.plugin}::{self.rule}"


_REPLICATION = (
    "Cross-region replication is a disaster-recovery decision each institution makes for "
    "itself (it copies regulated data to a second jurisdiction). Durability within the "
    "region is S3's 11 nines; integrity is protected by versioning and, for model and audit "
    "artifacts, Object Lock."
)

_ACCESS_LOGS = "Foundation/AccessLogs/Bucket/Resource"
_SSE_S3_FOR_LOG_DELIVERY = (
    "S3 server access log delivery only writes to a target bucket encrypted with SSE-S3 "
    "(AES256); SSE-KMS is not supported for the log target. The bucket is private, "
    "TLS-only, versioned, Object Lock-enabled and holds no customer data, only access logs."
)
_FOUNDATION_BUCKETS = ("AccessLogs", "RawData", "ProcessedFeatures", "ModelArtifacts",
                       "DataCapture", "MonitoringReports")

ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(f"Foundation/{bucket}/Bucket/Resource",
                        f"{pack}-S3BucketReplicationEnabled", _REPLICATION)
        for bucket in _FOUNDATION_BUCKETS
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    *(
        Acknowledgement(_ACCESS_LOGS, f"{pack}-S3DefaultEncryptionKMS", _SSE_S3_FOR_LOG_DELIVERY)
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    Acknowledgement(_ACCESS_LOGS, "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check",
                    _SSE_S3_FOR_LOG_DELIVERY),
    Acknowledgement(
        _ACCESS_LOGS,
        "cdk-validator-cfnguard::s3_bucket_logging_enabled_check",
        "This is the server-access-log target of every platform bucket. Logging it into "
        "itself would log each log delivery, without end; reads of it are recorded by the "
        "CloudTrail S3 data events instead.",
    ),
    Acknowledgement(
        "Foundation/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler",
        "cdk-validator-cfnguard::lambda_inside_vpc_check",
        "CDK's provider that removes every rule from the VPC's default security group "
        "(restrictDefaultSecurityGroup) runs once per deployment and calls only the EC2 API. "
        "The isolated VPC has no EC2 endpoint, and closing the default group is the control "
        "NIST SC-7 asks for; the function holds no data.",
    ),
)


def _descendants(scope: IConstruct) -> list[IConstruct]:
    return list(scope.node.find_all())


def resolve(stage: Stage, ack: Acknowledgement) -> list[IConstruct]:
    """Constructs under ``stage`` whose stage-relative path matches the acknowledgement."""
    base = stage.node.path + "/"
    matches = []
    for node in _descendants(stage):
        path = node.node.path
        if path.startswith(base) and fnmatch.fnmatchcase(path[len(base):], ack.path):
            matches.append(node)
    return matches


def apply_acknowledgements(stage: Stage,
                           acknowledgements: tuple[Acknowledgement, ...] = ACKNOWLEDGEMENTS) -> None:
    for ack in acknowledgements:
        for node in resolve(stage, ack):
            if isinstance(node, (Stack, Stage)):
                raise ValueError(
                    f"acknowledgement {ack.finding} at {ack.path!r} targets a whole "
                    f"{type(node).__name__}; name the resource it applies to"
                )
            Validations.of(node).acknowledge(
                Acknowledgment(id=ack.acknowledgement_id, reason=ack.reason)
            )
