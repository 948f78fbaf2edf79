"""A deliberately careless CDK app for the gate's command-line tests (tests/test_cli_gate.py).

It uses the platform's own compliance checks and gate (compliance._checks, compliance.gate),
exactly as app.py does, on one small stack:

- CARELESS=bucket (default): a plain ``s3.Bucket`` instead of SecureBucket; every pack finds it.
- CARELESS=guard-only: an unencrypted SQS queue whose cdk-nag findings are all acknowledged,
  so that the only unacknowledged findings come from cfn-guard (Control Tower CT.SQS.PR.1/2).
- CARELESS=broken-guard: the same queue, with the cfn-guard binary gone from the validator's
  unpacked bundle (in the throwaway CFN_GUARD_CACHE the test gives): the cfn-guard plugin
  cannot run at all, which CDK reports as a failure that lists no violation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aws_cdk import Acknowledgment, App, Environment, Stack, Stage, Validations  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402
from aws_cdk import aws_sqs as sqs  # noqa: E402

from compliance._checks import add_compliance_checks  # noqa: E402
from compliance.gate import ComplianceGateFailed, synth_or_fail  # noqa: E402

# cdk-nag findings of an unencrypted queue, acknowledged so only cfn-guard is left.
NAG_FINDINGS_OF_QUEUE = (
    "AwsSolutions::AwsSolutions-SQS2", "AwsSolutions::AwsSolutions-SQS3", "AwsSolutions::AwsSolutions-SQS4",
    "NIST.800.53.R5::NIST.800.53.R5-SQSQueueSSLRequestsOnly",
    "HIPAA.Security::HIPAA.Security-SQSQueueSSLRequestsOnly",
    "PCI.DSS.321::PCI.DSS.321-SQSQueueSSLRequestsOnly",
)


def build(outdir: str) -> App:
    app = App(outdir=outdir)
    stage = Stage(app, "careless", env=Environment(account="111111111111", region="eu-west-2"))
    stack = Stack(stage, "Data")
    mode = os.environ.get("CARELESS", "bucket")
    if mode == "broken-guard":
        from compliance import _guard

        cache = os.environ.get("CFN_GUARD_CACHE", "")
        assert cache and "broken" in cache, "broken-guard needs a throwaway CFN_GUARD_CACHE"
        for binary in _guard.package_dir().glob("bin/*/*/cfn-guard*"):
            binary.unlink()
    if mode in ("guard-only", "broken-guard"):
        queue = sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)
        Validations.of(queue).acknowledge(*(
            Acknowledgment(id=finding, reason="CLI test: only cfn-guard is left")
            for finding in NAG_FINDINGS_OF_QUEUE))
    else:
        s3.Bucket(stack, "Careless")
    add_compliance_checks(app)
    return app


def main() -> int:
    outdir = os.environ.get("CDK_OUTDIR") or "cdk.out"
    try:
        synth_or_fail(build(outdir), outdir)
    except ComplianceGateFailed as failed:
        print(failed.summary, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
