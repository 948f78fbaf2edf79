"""Turn CDK's validation report into a summary a person can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REPORT_NAMES = ("validation-report.json", "policy-validation-report.json")

# What to change for the findings engineers meet most; anything else falls back to the
# rule's own description plus the two ways out.
FIX_HINTS: dict[str, str] = {
    "S1": "give the bucket server_access_logs_bucket (SecureBucket does this for you)",
    "S10": "enforce TLS: enforce_ssl=True (SecureBucket does this for you)",
    "IAM4": "replace the AWS managed policy with a least-privilege inline policy",
    "IAM5": "name exact actions and resources instead of wildcards",
    "KMS5": "enable key rotation (ManagedKey does this for you)",
    "L1": "use the latest Lambda runtime",
    "VPC7": "add VPC flow logs (IsolatedNetwork does this for you)",
    "LambdaInsideVPC": "pass vpc= and vpc_subnets= from the IsolatedNetwork",
    "LambdaDLQ": "give the function a dead_letter_queue",
    "LambdaConcurrency": "set reserved_concurrent_executions",
    "CloudWatchLogGroupEncrypted": "use SecureLogGroup (KMS-encrypted)",
    "CloudWatchLogGroupRetentionPeriod": "use SecureLogGroup (retention from config)",
    "S3BucketReplicationEnabled": "configure replication, or acknowledge with the DR rationale",
}


@dataclass(frozen=True)
class Finding:
    """One unacknowledged finding of a synth: the validator (``plugin``), the rule id
    (granular where the rule reports one), the construct path and the rule's description;
    ``hint`` says what to change, ``acknowledgement_id`` what to acknowledge if accepted."""

    plugin: str
    rule: str
    path: str
    description: str

    @property
    def acknowledgement_id(self) -> str:
        return f"{self.plugin}::{self.rule}"

    @property
    def hint(self) -> str:
        base = self.rule.split("[", 1)[0]
        short = base.split("-", 1)[-1]
        return FIX_HINTS.get(short) or FIX_HINTS.get(base) or self.description


def load_validation_report(outdir: Path) -> dict:
    """CDK's policy-validation report of a synth (empty when no plugin reported)."""
    for name in REPORT_NAMES:
        report = outdir / name
        if report.exists():
            return json.loads(report.read_text())
    return {}


def read_findings(outdir: Path) -> list[Finding]:
    """The unacknowledged findings in the validation report of ``outdir`` (a cdk.out
    folder), each once, sorted by construct path and rule: every violation every plugin
    listed, whatever the plugin concluded (a report whose conclusion reads "success" still
    fails the gate on a violation it lists)."""
    data = load_validation_report(outdir)
    findings = []
    for plugin in data.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                findings.append(
                    Finding(
                        plugin=plugin.get("pluginName", "?"),
                        rule=violation.get("ruleName", "?"),
                        path=construct.get("constructPath")
                        or construct.get("resourceLogicalId", "?"),
                        description=violation.get("description", "").strip(),
                    )
                )
    return sorted(set(findings), key=lambda f: (f.path, f.rule))


@dataclass(frozen=True)
class IncompleteCheck:
    """A validator that did not finish: CDK catches a plugin that raised (cfn-guard's process
    failed, a rule pack threw) and reports it as concluded "failure", with the error in its
    metadata and no violation listed. Nothing it checks was checked, so the gate fails; it
    cannot be acknowledged."""

    plugin: str
    error: str


def incomplete_checks(outdir: Path) -> list[IncompleteCheck]:
    """The validators of the synth in ``outdir`` that did not complete (see
    :class:`IncompleteCheck`): an error in a plugin's report, or a conclusion of "failure"
    without a violation to show for it."""
    incomplete = []
    for plugin in load_validation_report(outdir).get("pluginReports", []):
        error = (plugin.get("metadata") or {}).get("error")
        if error or (plugin.get("conclusion") == "failure" and not plugin.get("violations")):
            incomplete.append(
                IncompleteCheck(
                    plugin=plugin.get("pluginName", "?"),
                    error=str(error or "concluded failure without listing a violation"),
                )
            )
    return incomplete


def report_path(outdir: Path) -> Path:
    return next(
        (outdir / n for n in REPORT_NAMES if (outdir / n).exists()), outdir / REPORT_NAMES[0]
    )


def summarize_validation_failure(outdir: Path) -> str:
    """A readable summary of a failed synth's findings: per finding the rule, the construct,
    the fix and the acknowledgement id; print it when ``app.synth()`` raised."""
    findings = read_findings(outdir)
    incomplete = incomplete_checks(outdir)
    if not findings and not incomplete:
        return (
            f"COMPLIANCE CHECKS FAILED: synthesis stopped on a validation error; see "
            f"{report_path(outdir)}"
        )
    lines = [""]
    if incomplete:
        lines += [
            f"COMPLIANCE CHECKS FAILED: {len(incomplete)} check(s) did not complete, so "
            "nothing they check was checked.",
            "This cannot be acknowledged: repair the tool named in the error, then synthesize "
            "again (`make install` reinstalls the pinned packages; removing `.cache/` makes "
            "the app unpack the validators again).",
            "",
        ]
        for check in incomplete:
            lines.append(f"- {check.plugin}: {check.error.strip()}")
        lines.append("")
        if not findings:
            lines.append(f"Full report: {report_path(outdir)}")
            return "\n".join(lines)
    lines += [
        f"COMPLIANCE CHECKS FAILED: {len(findings)} unacknowledged finding(s).",
        "Fix the resource (preferred), or acknowledge the exact finding with a reason: an",
        "Acknowledgement(path, finding id as below, reason) for compliance.acknowledge_findings",
        "(this platform: compliance/acknowledgements.py, paths relative to the stage).",
        "",
    ]
    for f in findings:
        lines.append(f"- {f.rule}  ({f.plugin})")
        lines.append(f"    at:   {f.path}")
        lines.append(f"    fix:  {f.hint}")
        lines.append(f"    id:   {f.acknowledgement_id}")
    lines.append("")
    lines.append(f"Full report: {report_path(outdir)}")
    return "\n".join(lines)
