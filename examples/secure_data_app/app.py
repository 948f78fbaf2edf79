#!/usr/bin/env python3
"""Another team's CDK app built only from the installed library.

One stack: a customer-managed key (ManagedKey), an access-log bucket (AccessLogBucket) and a
data bucket (SecureBucket) encrypted with the key, with the compliance gate of the library
(four cdk-nag packs and cfn-guard's Control Tower rules). Every finding fails the synth;
those this app accepts are listed below, each on one resource with its reason, and
recorded with the library's acknowledge_findings.

Run it with the library installed (``pip install secure-ml-platform-constructs``) and
Node.js on PATH: ``python app.py [OUTDIR]``. ``make package-check`` runs it from a fresh
virtual environment holding only the wheel and its dependencies.
"""

from __future__ import annotations

import sys

from aws_cdk import App, Environment, Stack
from constructs import Construct

from cdk_constructs import FEATURE_FLAGS, AccessLogBucket, ManagedKey, SecureBucket
from compliance import (
    Acknowledgement,
    ComplianceGateFailed,
    acknowledge_findings,
    add_compliance_checks,
    synth_or_fail,
)

ACCOUNT, REGION = "111122223333", "eu-west-1"
PREFIX = "team-risk-"

# The findings this app accepts: (construct path, exact finding id, the reason a reviewer
# accepted), each on one resource. Fix before you acknowledge; acknowledge_findings refuses
# an entry on a whole stack, a whole granular rule (AwsSolutions-IAM5 without its finding),
# an entry without a reason and one that matches no construct.
REPLICATION = (
    "Cross-region replication is this team's disaster-recovery decision (it would copy "
    "regulated data to a second jurisdiction); versioning and Object Lock protect integrity."
)
LOG_TARGET_SSE_S3 = (
    "S3 server access log delivery writes only to SSE-S3 (AES256) target buckets; the bucket "
    "holds access logs only and is private, TLS-only, versioned and retained."
)
NO_SELF_LOGGING = (
    "The access-log bucket is the log target itself: logging it into itself would log its "
    "own deliveries without end."
)
ACCESS_LOGS = "RiskData/AccessLogs/Bucket/Resource"
DATA = "RiskData/Data/Bucket/Resource"
PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(path, f"{pack}-S3BucketReplicationEnabled", REPLICATION)
        for path in (ACCESS_LOGS, DATA)
        for pack in PACKS
    ),
    *(
        Acknowledgement(ACCESS_LOGS, f"{pack}-S3DefaultEncryptionKMS", LOG_TARGET_SSE_S3)
        for pack in PACKS
    ),
    Acknowledgement(
        ACCESS_LOGS,
        "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check",
        LOG_TARGET_SSE_S3,
    ),
    Acknowledgement(
        ACCESS_LOGS, "cdk-validator-cfnguard::s3_bucket_logging_enabled_check", NO_SELF_LOGGING
    ),
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
        self.key, self.logs, self.data = key, logs, data


def build(
    outdir: str | None = None, acknowledgements: tuple[Acknowledgement, ...] = ACKNOWLEDGEMENTS
) -> App:
    # The feature flags the constructs are tested with (without them S3 log delivery would
    # be granted by ACL, which the buckets refuse).
    app = App(outdir=outdir, context=dict(FEATURE_FLAGS), builtin_cloud_formation_validation=False)
    RiskDataStack(app, "RiskData", env=Environment(account=ACCOUNT, region=REGION))
    add_compliance_checks(app)
    # Paths are relative to the app; one acknowledge() call per resource.
    acknowledge_findings(app, acknowledgements)
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
