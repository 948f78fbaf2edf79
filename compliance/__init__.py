"""Compliance gates run on every synth: cdk-nag packs, cfn-guard, and the acknowledgements.

The reusable gate is exactly the names in ``__all__``: :func:`add_compliance_checks` makes
every finding of four cdk-nag packs (AwsSolutions, NIST 800-53 rev 5, HIPAA Security, PCI
DSS 3.2.1) and of the cfn-guard Control Tower rules fail the synth, and
:func:`synth_or_fail` synthesizes and fails on every violation the validation report
lists (whatever the CDK CLI passed) and on every check that did not complete (a validator
that raised), and :func:`summarize_validation_failure` turns that
report into a list a person can act on. :func:`acknowledge_findings` records the findings
an app accepts (a list of :class:`Acknowledgement`: construct path, exact finding id,
reason) and refuses whole-stack and whole-rule entries. ``compliance.acknowledgements`` is
the platform's own reviewed list of acknowledged findings: it is not part of the library
and not in the wheel (its construct paths are this app's; shipped, they could silence
another app's findings).

Names resolve on first use (PEP 562): importing ``compliance._summary`` alone does not load
cdk-nag and start jsii.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance._acknowledge import (
        Acknowledgement,
        AcknowledgementRefused,
        acknowledge_findings,
    )
    from compliance._checks import (
        CFN_GUARD_PLUGIN,
        NAG_PACKS,
        add_compliance_checks,
        plugin_names,
    )
    from compliance._summary import (
        Finding,
        read_findings,
        summarize_validation_failure,
    )
    from compliance.gate import ComplianceGateFailed, synth_or_fail

# Public name -> (module, one line for the reader of this list).
_EXPORTS: dict[str, tuple[str, str]] = {
    "add_compliance_checks": (
        "_checks",
        "register the four cdk-nag packs and (by default) cfn-guard on an app; any finding "
        "fails the synth",
    ),
    "plugin_names": ("_checks", "the plugin names (acknowledgement-id prefixes) that run"),
    "NAG_PACKS": ("_checks", "rule-id prefix of each cdk-nag pack -> its plugin name"),
    "CFN_GUARD_PLUGIN": ("_checks", "the plugin name of the cfn-guard validator"),
    "summarize_validation_failure": (
        "_summary",
        "the failed synth's findings, each with the fix or the acknowledgement it needs",
    ),
    "read_findings": ("_summary", "the unacknowledged findings of a cdk.out folder"),
    "Finding": ("_summary", "one finding: plugin, rule, construct path, description, hint"),
    "synth_or_fail": (
        "gate",
        "app.synth(), then fail on every violation of the whole validation report, whatever "
        "the CLI passed or a plugin concluded, and on any check that did not complete",
    ),
    "ComplianceGateFailed": ("gate", "raised by synth_or_fail; .summary is the text to print"),
    "Acknowledgement": (
        "_acknowledge",
        "one accepted finding: construct path, exact finding id, the reviewer's reason",
    ),
    "acknowledge_findings": (
        "_acknowledge",
        "record a list of Acknowledgements on the constructs they name; refuses whole-stack, "
        "whole-rule, reasonless and unmatched entries",
    ),
    "AcknowledgementRefused": (
        "_acknowledge",
        "raised by acknowledge_findings; the message lists each refused entry and the fix",
    ),
}

# The public API. tests/test_package_api.py checks that it, _EXPORTS and the TYPE_CHECKING
# imports name the same things.
__all__ = [
    "Acknowledgement",
    "AcknowledgementRefused",
    "CFN_GUARD_PLUGIN",
    "NAG_PACKS",
    "ComplianceGateFailed",
    "Finding",
    "acknowledge_findings",
    "add_compliance_checks",
    "plugin_names",
    "read_findings",
    "summarize_validation_failure",
    "synth_or_fail",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    try:
        module, _summary = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'compliance' has no attribute {name!r}") from None
    value = getattr(import_module(f"compliance.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
