"""Register the rule packs as CDK policy-validation plugins (cdk-nag 3 API)."""

from __future__ import annotations

from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

from compliance._cfn_validate import CachedCloudFormationValidate
from compliance._guard import PLUGIN_NAME, ParallelCfnGuardValidator, prefetch
from compliance._packs import NAG_PACKS  # re-exported: compliance.NAG_PACKS

CFN_GUARD_PLUGIN = PLUGIN_NAME


def plugin_names(*, cfn_guard: bool) -> frozenset[str]:
    """The plugin names (acknowledgement-id prefixes) :func:`add_compliance_checks` runs."""
    return frozenset(NAG_PACKS.values()) | ({CFN_GUARD_PLUGIN} if cfn_guard else set())


def nag_packs(scope: IConstruct) -> list:
    return [
        AwsSolutionsChecks(scope),
        NIST80053R5Checks(scope),
        HIPAASecurityChecks(scope),
        PCIDSS321Checks(scope),
    ]


def add_compliance_checks(
    app: IConstruct, *, cfn_guard: bool = True, cloudformation_validate: bool = True
) -> None:
    """Every finding, warnings included, fails the synth (compliance/gate.py). cfn-guard runs
    the cdklabs validator's code and Control Tower rules per template, in parallel, cached by
    template content (compliance/_guard.py).

    ``cloudformation_validate`` adds CDK's own CloudFormation validator, cached by template
    content (compliance/_cfn_validate.py): create the app with
    ``App(builtin_cloud_formation_validation=False)`` so the uncached built-in instance does
    not run as well (it would find the same, slowly)."""
    plugins: list = []
    if cloudformation_validate:
        # First: CDK runs plugins in order, and this one starts cfn-guard's processes before
        # its own engine, so both validators work at once (compliance/_guard.py prefetch).
        plugins.append(CachedCloudFormationValidate(before=prefetch if cfn_guard else None))
    plugins += nag_packs(app)
    if cfn_guard:
        plugins.append(ParallelCfnGuardValidator())
    Validations.of(app).add_plugins(*plugins)
