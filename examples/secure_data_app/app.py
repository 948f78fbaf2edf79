#!/usr/bin/env python3
"""Another team's CDK app built only from the installed library.

One stack: a customer-managed key (ManagedKey), an access-log bucket (AccessLogBucket) and a
data bucket (SecureBucket) encrypted with the key, with the compliance gate of the library
(four cdk-nag packs and cfn-guard's Control Tower rules). Every finding fails the synth;
those this app accepts are acknowledged below, each on one resource with its reason.

Run it with the library installed (``pip install secure-ml-platform-constructs``) and
Node.js on PATH: ``python app.py [OUTDIR]``. ``make package-check`` runs it from a fresh
virtual environment holding only the wheel and its dependencies.
"""

from __future__ import annotations

import sys

from aws_cdk import Acknowledgment, App, Environment, Stack, Validations
from constructs import Construct

from cdk_constructs import FEATURE_FLAGS, AccessLogBucket, ManagedKey, SecureBucket
from compliance import ComplianceGateFailed, add_compliance_checks, synth_or_fail

ACCOUNT, REGION = "111122223333", "eu-west-1"
PREFIX = "team-risk-"

# The findings this app accepts, per resource: (plugin::rule id, the reason a reviewer
# accepted). Fix before you acknowledge; never acknowledge a whole rule on a whole stack.
REPLICATION = (
    "Cross-region replication is this team's disaster-recovery decision (it would copy "
    "regulated data to a second jurisdiction); versioning and Object Lock protect integrity."
)
LOG_TARGET_SSE_S3 = (
    "S3 server access log delivery writes only to SSE-S3 (AES256) target buckets; the bucket "
    "holds access logs only and is private, TLS-only, versioned and retained."
)
ACCESS_LOG_ACKNOWLEDGEMENTS = {
    **{
        f"{pack}::{pack}-S3BucketReplicationEnabled": REPLICATION
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    },
    **{
        f"{pack}::{pack}-S3DefaultEncryptionKMS": LOG_TARGET_SSE_S3
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    },
    "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check": LOG_TARGET_SSE_S3,
    "cdk-validator-cfnguard::s3_bucket_logging_enabled_check": (
        "The access-log bucket is the log target itself: logging it into itself would log "
        "its own deliveries without end."
    ),
}
DATA_ACKNOWLEDGEMENTS = {
    f"{pack}::{pack}-S3BucketReplicationEnabled": REPLICATION
    for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
}


def acknowledge(construct: Construct, findings: dict[str, str]) -> None:
    """Acknowledge findings on the one CloudFormation resource of ``construct``."""
    resource = construct.node.default_child
    assert resource is not None, f"{construct.node.path} has no CloudFormation resource"
    Validations.of(resource).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding, reason in findings.items())
    )


class RiskDataStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        key = ManagedKey(
            self, "DataKey", alias="alias/team-risk/data", description="Risk team data at rest"
        )
        logs = AccessLogBucket(
            self,
            "AccessLogs",
            bucket_name=f"{PREFIX}access-logs-{ACCOUNT}-{REGION}",
            source_bucket_prefix=PREFIX,
            retention_days=365,
        )
        data = SecureBucket(
            self,
            "Data",
            bucket_name=f"{PREFIX}data-{ACCOUNT}-{REGION}",
            encryption_key=key.key,
            access_logs_bucket=logs.bucket,
            object_lock_days=30,
        )
        acknowledge(logs.bucket, ACCESS_LOG_ACKNOWLEDGEMENTS)
        acknowledge(data.bucket, DATA_ACKNOWLEDGEMENTS)
        self.key, self.logs, self.data = key, logs, data


def build(outdir: str | None = None) -> App:
    # The feature flags the constructs are tested with (without them S3 log delivery would
    # be granted by ACL, which the buckets refuse).
    app = App(outdir=outdir, context=dict(FEATURE_FLAGS), builtin_cloud_formation_validation=False)
    RiskDataStack(app, "RiskData", env=Environment(account=ACCOUNT, region=REGION))
    add_compliance_checks(app)
    return app


def main(argv: list[str]) -> int:
    outdir = argv[1] if len(argv) > 1 else "cdk.out"
    app = build(outdir)
    try:
        # Fails on every unacknowledged finding, also where the CDK CLI passes
        # failSynthOnValidationErrors=false or selects only some stacks.
        synth_or_fail(app, outdir)
    except ComplianceGateFailed as failed:
        print(failed.summary, file=sys.stderr)
        return 1
    print(f"Synthesized RiskData into {outdir}/ with zero unacknowledged findings.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
