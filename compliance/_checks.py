"""Register the rule packs as CDK policy-validation plugins (cdk-nag 3 API)."""

from __future__ import annotations

from aws_cdk import Stage, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

from compliance._cfn_validate import CachedCloudFormationValidate
from compliance._cfn_validate import check_ahead as validate_ahead
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


# What CDK puts in an artifact's environment when the stack has none (cx-api UNKNOWN_*).
_UNKNOWN = ("unknown-account", "unknown-region")


def check_stages_ahead(stages: list[Stage], *, cfn_guard: bool = True) -> list[dict]:
    """Synthesize ``stages`` now, and start checking their templates in the background:
    cfn-guard (:func:`compliance._guard.prefetch`) and CDK's validator (its early-started
    engine, :func:`compliance._cfn_validate.check_ahead`). The app calls this for the
    environments whose constructs are final while it still builds others (app.py,
    ``check_ahead``); the plugins of the app's synth then find these results in their caches,
    keyed by template content, so what they report does not depend on it.

    CDK synthesizes a stage once: the app's own synth later uses this assembly (it refuses
    one whose constructs changed since). The cdk-nag packs are not run here; they run in the
    app's jsii process, which the build is using. Returns the stacks given to the checks
    (construct path, template file, account, region), as the plugins will see them."""
    stacks: list[dict] = []
    for stage in stages:
        for artifact in stage.synth().stacks_recursively:
            env = artifact.environment
            stacks.append(
                {
                    "path": artifact.hierarchical_id,
                    "template": artifact.template_full_path,
                    "account": env.account if env.account != _UNKNOWN[0] else None,
                    "region": env.region if env.region != _UNKNOWN[1] else None,
                }
            )
    if cfn_guard:
        prefetch([s["template"] for s in stacks])
    validate_ahead(stacks)
    return stacks
