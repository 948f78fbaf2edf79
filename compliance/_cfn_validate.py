"""CDK's built-in CloudFormation validator, cached by template content.

aws-cdk-lib runs its own validator (``CloudFormationValidatePlugin``: CloudFormation resource
schemas and CDK's default rules, in WebAssembly) on every synth. Starting its engine costs
about 3 s of CPU and checking the platform's templates about 2.5 s more: a third of a warm
``make synth``, spent again on templates that did not change.

This plugin runs *the same validator* (the jsii class from the pinned aws-cdk-lib, with its
defaults, on the same per-stack input: template, construct path, account, region) and keeps
each template's diagnostics under the SHA-256 of (aws-cdk-lib version, construct path,
account, region, template bytes). The engine is started only when some template is not in
the cache. It reports under the validator's own name, so CDK treats its findings exactly as
the built-in plugin's (errors shown as warnings unless ``@aws-cdk/core:validateAgainstDefaultRules``
is set; acknowledgements ``CloudFormation Validate::<rule>``), and the gate
(compliance/gate.py) fails on every one of them, warnings included.

The app must be created with ``builtin_cloud_formation_validation=False`` so that the
built-in instance does not run as well (it would report the same findings again, slowly).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

import jsii
from aws_cdk import (
    CloudFormationValidatePlugin,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyValidationStack,
    PolicyViolatingResource,
    PolicyViolation,
)

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "CloudFormation Validate"  # CloudFormationValidatePlugin.PLUGIN_NAME
# Results are cached here (override with CFN_VALIDATE_CACHE); safe to delete at any time.
CACHE_DIR = Path(os.environ.get("CFN_VALIDATE_CACHE") or ROOT / ".cache" / "cfn-validate")


def validator_version() -> str:
    """The validator is part of aws-cdk-lib: the library's version pins it (cache key)."""
    return metadata.version("aws-cdk-lib")


def _engine_version_file() -> Path:
    return CACHE_DIR / f"engine-version-{validator_version()}.txt"


def engine_version() -> str | None:
    """The version the validator reports (its engine's), recorded when it last ran."""
    path = _engine_version_file()
    return path.read_text().strip() if path.exists() else None


def _run_validator(context: IPolicyValidationContext) -> PolicyValidationPluginReport:
    plugin = CloudFormationValidatePlugin()
    report = plugin.validate(context)
    if plugin.version:
        _engine_version_file().parent.mkdir(parents=True, exist_ok=True)
        _engine_version_file().write_text(plugin.version)
    return report


def _key(stack: dict, template: bytes) -> str:
    head = json.dumps(
        [validator_version(), stack["path"], stack.get("account"), stack.get("region")]
    ).encode()
    return hashlib.sha256(head + b"\0" + template).hexdigest()


@jsii.implements(IPolicyValidationContext)
class _Context:
    """The validator's input for the templates that are not in the cache."""

    def __init__(self, app_construct, stacks: list[dict]) -> None:
        self._app = app_construct
        self._stacks = stacks

    @property
    def app_construct(self):
        return self._app

    @property
    def stack_templates(self) -> list[PolicyValidationStack]:
        return [
            PolicyValidationStack(
                stack_construct_path=s["path"],
                template_path=s["template"],
                account_id=s.get("account"),
                region=s.get("region"),
            )
            for s in self._stacks
        ]

    @property
    def template_paths(self) -> list[str]:
        return [s["template"] for s in self._stacks]

    @property
    def account_id(self) -> str | None:
        accounts = {s.get("account") for s in self._stacks}
        return accounts.pop() if len(accounts) == 1 else None

    @property
    def region(self) -> str | None:
        regions = {s.get("region") for s in self._stacks}
        return regions.pop() if len(regions) == 1 else None


def _diagnostics_by_template(report: PolicyValidationPluginReport, stacks: list[dict]) -> dict:
    """Split the validator's report (violations merged across templates) per template path."""
    per: dict[str, list[dict]] = {s["template"]: [] for s in stacks}
    for violation in report.violations:
        for resource in violation.violating_resources:
            entry = {
                "ruleName": violation.rule_name,
                "description": violation.description,
                "severity": violation.severity,
                "fix": violation.fix,
                "ruleMetadata": dict(violation.rule_metadata or {}) or None,
                "resourceLogicalId": resource.resource_logical_id,
                "constructPath": resource.construct_path,
                "locations": list(resource.locations or []),
            }
            per.setdefault(str(resource.template_path), []).append(entry)
    return per


def _store(path: Path, data: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def diagnostics(app_construct, stacks: list[dict], *, run=None) -> dict[str, list[dict]]:
    """Each template's diagnostics, from the cache or from one run of the validator over the
    templates that are not cached. ``stacks``: dicts with ``path`` (the stack's construct
    path), ``template`` (file), ``account``, ``region``. Two synths checking the same template
    at once run the validator once: the second waits on the template's lock and reads the
    first's result. ``run`` replaces the validator (tests count its calls)."""
    run = run or _run_validator
    keyed = [(s, _key(s, Path(s["template"]).read_bytes())) for s in stacks]
    result_path = {k: CACHE_DIR / "results" / f"{k}.json" for _, k in keyed}
    missing = [(s, k) for s, k in keyed if not result_path[k].exists()]
    if missing:
        with ExitStack() as locks:
            for key in sorted({k for _, k in missing}):
                lock_path = CACHE_DIR / "locks" / f"{key}.lock"
                lock_path.parent.mkdir(parents=True, exist_ok=True)
                handle = locks.enter_context(open(lock_path, "w"))
                fcntl.flock(handle, fcntl.LOCK_EX)
            still = [(s, k) for s, k in missing if not result_path[k].exists()]
            if still:
                todo = [s for s, _ in still]
                per = _diagnostics_by_template(run(_Context(app_construct, todo)), todo)
                for stack, key in still:
                    _store(result_path[key], per.get(stack["template"], []))
    return {s["template"]: json.loads(result_path[k].read_text()) for s, k in keyed}


def merge(stacks: list[dict], per_template: dict[str, list[dict]]) -> dict:
    """The report the validator gives for all of ``stacks`` at once: a violation per (rule,
    severity, description), listing every resource it was found on, in template order."""
    violations: list[dict] = []
    index: dict[tuple, dict] = {}
    for stack in stacks:
        for d in per_template[stack["template"]]:
            key = (d["ruleName"], d["severity"], d["description"])
            if key not in index:
                index[key] = {
                    "ruleName": d["ruleName"],
                    "description": d["description"],
                    "severity": d["severity"],
                    "fix": d.get("fix"),
                    "ruleMetadata": d.get("ruleMetadata"),
                    "violatingResources": [],
                }
                violations.append(index[key])
            index[key]["violatingResources"].append(
                {
                    "resourceLogicalId": d.get("resourceLogicalId"),
                    "constructPath": d.get("constructPath"),
                    "templatePath": stack["template"],
                    "locations": d.get("locations") or [],
                }
            )
    return {
        "success": all(v["severity"] not in ("error", "fatal") for v in violations),
        "violations": violations,
    }


@jsii.implements(IPolicyValidationPlugin)
class CachedCloudFormationValidate:
    """CDK's built-in validator, run only on templates whose content it has not seen.

    ``before`` is called with the template paths before this plugin validates (the compliance
    checks start cfn-guard's processes there, so that they overlap this plugin's engine)."""

    def __init__(self, *, before: Callable[[list[str]], None] | None = None) -> None:
        self._before = before

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        # Read by CDK after validate(): the engine's version, as the built-in plugin reports.
        return engine_version() or validator_version()

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        if self._before is not None:
            self._before(list(context.template_paths))
        stacks = [
            {
                "path": s.stack_construct_path,
                "template": s.template_path,
                "account": s.account_id,
                "region": s.region,
            }
            for s in context.stack_templates
        ]
        report = merge(stacks, diagnostics(context.app_construct, stacks))
        return PolicyValidationPluginReport(
            success=report["success"],
            violations=[
                PolicyViolation(
                    rule_name=v["ruleName"],
                    description=v["description"],
                    fix=v.get("fix"),
                    severity=v.get("severity"),
                    rule_metadata=v.get("ruleMetadata"),
                    violating_resources=[
                        PolicyViolatingResource(
                            resource_logical_id=r.get("resourceLogicalId"),
                            construct_path=r.get("constructPath"),
                            template_path=r["templatePath"],
                            locations=r["locations"],
                        )
                        for r in v["violatingResources"]
                    ],
                )
                for v in report["violations"]
            ],
        )
