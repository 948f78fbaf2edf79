"""The compliance gate, enforced by the app itself.

The pinned CDK CLI runs the app with ``@aws-cdk/core:failSynthOnValidationErrors=false`` and
then reports only the findings of the stacks it selected (``cdk synth`` with no stack argument
selects none of the stage stacks). A plugin may also conclude "success" while listing
violations (the cfn-guard validator does for some rules). And a plugin that raises (cfn-guard's
process failed, a rule threw) is reported as a "failure" that lists no violation, which the
CLI lets pass. So the gate does not trust any of them: after synthesis the app reads the whole
validation report it has just written and fails on every violation it lists, whatever the CLI
passed, whatever the plugin concluded, and on every check that did not complete.

Every command that runs the app goes through :func:`synth_or_fail`: ``python app.py``,
``cdk synth`` (any selection, none included), ``cdk deploy``, ``make synth``,
``make deploy-local``.
"""

from __future__ import annotations

from pathlib import Path

from compliance._summary import (
    REPORT_NAMES,
    incomplete_checks,
    read_findings,
    summarize_validation_failure,
)


class ComplianceGateFailed(Exception):
    """Unacknowledged findings; ``summary`` is the text to show the user."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


def _is_validation_failure(exc: BaseException) -> bool:
    text = str(exc)
    return "ValidationFailed" in text or "Validation failed" in text


def synth_or_fail(app, outdir: str | Path):
    """``app.synth()``, then fail on any violation in the report it wrote, and on any
    validator that did not complete (CDK reports a plugin that raised as a failure with no
    violation: without this, a broken cfn-guard would pass the gate).

    Raises :class:`ComplianceGateFailed` with the readable summary. A report left in
    ``outdir`` by an earlier run is removed first, so it can neither fail nor pass this one.
    """
    outdir = Path(outdir)
    for name in REPORT_NAMES:
        (outdir / name).unlink(missing_ok=True)
    try:
        assembly = app.synth()
    except RuntimeError as exc:  # failSynthOnValidationErrors=true (python app.py, tests)
        if not _is_validation_failure(exc):
            raise
        assembly = None
    findings = read_findings(outdir)
    if findings or incomplete_checks(outdir) or assembly is None:
        raise ComplianceGateFailed(summarize_validation_failure(outdir))
    return assembly
