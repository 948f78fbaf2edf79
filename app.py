#!/usr/bin/env python3
"""Secure ML Platform: one CDK Stage per environment, compliance checks on every synth.

``cdk synth`` runs this file. The configuration file comes from the CDK context value
``config`` (``cdk synth -c config=path``), the PLATFORM_CONFIG variable, or
config/platform.yaml.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import aws_cdk
from aws_cdk import App, Tags

from compliance._cfn_validate import (
    last_synth_inputs,
    record_synth_inputs,
    start_engine,
    synth_inputs_digest,
)
from compliance._checks import add_compliance_checks, check_stages_ahead, plugin_names
from compliance._priority import run_checks_at_low_priority
from compliance.acknowledgements import apply_acknowledgements, stage_acknowledgements
from compliance.gate import ComplianceGateFailed, synth_or_fail
from platform_config import ConfigError, PlatformConfig, load_config
from platform_config._model import ENVIRONMENT_NAMES
from rehearsal import omit as rehearsal_omit
from stacks.platform_stage import PlatformStage

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "config" / "platform.yaml"


def cdk_json_context() -> dict:
    """Feature flags from cdk.json, so tests and `python app.py` build what `cdk` builds."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def build_app(
    config: PlatformConfig,
    *,
    outdir: str | None = None,
    compliance: bool = True,
    acknowledgements: bool = True,
    cfn_guard: bool = True,
    omit_custom_resources: bool = False,
    environments: tuple[str, ...] = ENVIRONMENT_NAMES,
    check_ahead: bool = False,
) -> App:
    """``environments`` builds a subset of the stages (tests and benchmarks only; `cdk
    synth` always builds all three).

    ``check_ahead`` (the app's ``main``, so every CLI command): the people's stacks (the user
    shards, hundreds of constructs with 500 data scientists) are built last. Every environment
    without them is synthesized as soon as its constructs are final, and cfn-guard and CDK's
    validator check its templates in the background while the people are built
    (compliance/_checks.py ``check_stages_ahead``). The templates, the checks and the gate are
    the same either way: tests/test_cli_gate.py compares the CLI's synth with the suite's,
    which builds without it."""
    if check_ahead and (omit_custom_resources or not compliance):
        raise ValueError(
            "build_app: check_ahead needs the compliance checks and the unchanged app "
            "(omit_custom_resources rewrites the stages after they are built)"
        )
    context = dict(cdk_json_context())
    # As the CDK CLI does: construct paths in template metadata (reviewers and cfn-lint use them).
    context.setdefault("aws:cdk:enable-path-metadata", True)
    # No creation stack traces: in a Python app each only says "jsii runtime, node internals",
    # and CDK captured one per construct into every stack's metadata file. Set here, not in
    # cdk.json: the CLI warns about any "aws:" key in cdk.json's context ("reserved").
    context.setdefault("aws:cdk:disable-creation-stack-traces", True)
    for name in ENVIRONMENT_NAMES:
        env = config.environment(name)
        # Availability zones come from configuration: no lookup, no credentials needed.
        context[f"availability-zones:account={env.account}:region={env.region}"] = list(
            env.availability_zones
        )
    # With the checks on, CDK's own CloudFormation validator runs as a plugin cached by
    # template content (compliance/_cfn_validate.py) instead of the uncached built-in one.
    app = App(outdir=outdir, context=context, builtin_cloud_formation_validation=not compliance)
    if compliance:
        # Registered first: a stage synthesized ahead (check_ahead) names the plugins in its
        # templates' CDKMetadata as the app's synth does.
        add_compliance_checks(app, cfn_guard=cfn_guard)

    def finish(name: str, stage: PlatformStage) -> None:
        """Tags and acknowledgements, once the stage's constructs are all there."""
        Tags.of(stage).add("ml-platform:project", config.project.name)
        Tags.of(stage).add("ml-platform:environment", name)
        if acknowledgements:
            apply_acknowledgements(
                stage,
                stage_acknowledgements(
                    notebook_instances=config.environment(name).notebook_instances_enabled,
                    rehearsal=omit_custom_resources,
                ),
                plugins=plugin_names(cfn_guard=cfn_guard) if compliance else None,
            )

    stages: dict[str, PlatformStage] = {}
    checked_ahead: set[str] = set()
    for name in ENVIRONMENT_NAMES:
        if name not in environments:
            continue
        stage = stages[name] = PlatformStage(
            app, name, config=config, defer_user_shards=check_ahead
        )
        if check_ahead and not stage.user_shards_pending:
            # Final already: synthesized and checked while the rest is built.
            finish(name, stage)
            check_stages_ahead([stage], cfn_guard=cfn_guard)
            checked_ahead.add(name)
    for name, stage in stages.items():
        if name in checked_ahead:
            continue
        if stage.user_shards_pending:
            stage.add_user_shards()
        finish(name, stage)
    if omit_custom_resources:
        # Deploy rehearsal only (make deploy-local): see rehearsal/omit.py. The compliance
        # checks still run, on exactly the templates that get deployed.
        rehearsal_omit.omit_custom_resources(app)
    return app


def missing_bytecode_hint(
    module_file: str | None = None, optimized: bool | None = None
) -> str | None:
    """cdk.json runs this app with ``python3 -O``, which reads the ``.opt-1.pyc`` files that
    `make install` compiles. Without them (a venv made another way), every synth compiles
    aws-cdk-lib from source, about 6 s more: say so instead of being slow in silence.
    ``module_file`` and ``optimized`` default to aws-cdk-lib and this interpreter (tests)."""
    if not (sys.flags.optimize > 0 if optimized is None else optimized):
        return None
    cached = importlib.util.cache_from_source(module_file or aws_cdk.__file__, optimization=1)
    if Path(cached).exists():
        return None
    return (
        "note: aws-cdk-lib has no optimized bytecode in this venv, so this synth compiles it "
        "from source (about 6 s more); `make install` compiles it once"
    )


def config_path(app_context: dict | None = None) -> Path:
    ctx = app_context or {}
    return Path(ctx.get("config") or os.environ.get("PLATFORM_CONFIG") or DEFAULT_CONFIG)


def main() -> int:
    hint = missing_bytecode_hint()
    if hint:
        print(hint, file=sys.stderr)
    probe = App()  # reads the CLI's context (cdk.json and -c values)
    path = config_path({"config": probe.node.try_get_context("config")})
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"\n{exc}\n", file=sys.stderr)
        return 2
    # CDK's validator engine starts now, in its own process, while the constructs are built:
    # a changed template then does not wait ~3 s for it (compliance/_cfn_validate.py).
    # The checks' processes take only the CPU the build leaves (compliance/_priority.py).
    run_checks_at_low_priority()
    inputs = synth_inputs_digest(path)
    if inputs != last_synth_inputs():
        start_engine()  # something changed: some template will need the validator
    outdir = os.environ.get("CDK_OUTDIR") or probe.outdir
    omit = rehearsal_omit.enabled(probe.node.try_get_context(rehearsal_omit.CONTEXT_KEY))
    app = build_app(config, outdir=outdir, omit_custom_resources=omit, check_ahead=not omit)
    try:
        # The gate: fails on every unacknowledged finding of every pack, whatever context the
        # CLI passed and whichever stacks it selected (compliance/gate.py).
        synth_or_fail(app, outdir)
    except ComplianceGateFailed as failed:
        print(failed.summary, file=sys.stderr)
        return 1
    record_synth_inputs(inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
