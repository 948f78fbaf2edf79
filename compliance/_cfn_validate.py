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

import atexit
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import threading
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

from compliance import _priority

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "CloudFormation Validate"  # CloudFormationValidatePlugin.PLUGIN_NAME
# Results are cached here (override with CFN_VALIDATE_CACHE); safe to delete at any time.
CACHE_DIR = Path(os.environ.get("CFN_VALIDATE_CACHE") or ROOT / ".cache" / "cfn-validate")


def validator_version() -> str:
    """The validator is part of aws-cdk-lib: the library's version pins it (cache key)."""
    return metadata.version("aws-cdk-lib")


def engine_version() -> str:
    """The version the validator reports: its engine's (``@aws/cloudformation-validate``,
    bundled in aws-cdk-lib). Read from the bundle, never from a run: the version goes into
    the templates' analytics metadata, so it must not depend on what the cache holds (a
    template that changed between a first and a second synth would never be cached)."""
    lib = _cdk_lib_dir()
    if lib is not None:
        manifest = lib / "node_modules" / "@aws" / "cloudformation-validate" / "package.json"
        if manifest.exists():
            return str(json.loads(manifest.read_text())["version"])
    return validator_version()


def _as_dict(report: PolicyValidationPluginReport) -> dict:
    """The jsii report as the JSON the validator writes (the worker's shape)."""
    return {
        "violations": [
            {
                "ruleName": v.rule_name,
                "description": v.description,
                "severity": v.severity,
                "fix": v.fix,
                "ruleMetadata": dict(v.rule_metadata or {}) or None,
                "violatingResources": [
                    {
                        "resourceLogicalId": r.resource_logical_id,
                        "constructPath": r.construct_path,
                        "templatePath": r.template_path,
                        "locations": list(r.locations or []),
                    }
                    for r in v.violating_resources
                ],
            }
            for v in report.violations
        ]
    }


# --- the engine in its own process, started early --------------------------------------------

WORKER = Path(__file__).with_name("cfn_validate_worker.js")
_engine: subprocess.Popen | None = None


@functools.lru_cache(maxsize=1)
def _cdk_lib_dir() -> Path | None:
    """aws-cdk-lib's JavaScript, as jsii unpacked it for this process (None if not found)."""
    root = Path(
        os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT")
        or Path.home() / ".cache" / "aws" / "jsii" / "package-cache"
    )
    version = validator_version()
    for candidate in sorted(root.glob(f"aws-cdk-lib/{version}/*/")):
        plugin = candidate / "core" / "lib" / "validation" / "cloudformation-validate-plugin.js"
        manifest = candidate / "package.json"
        if plugin.exists() and manifest.exists():
            if json.loads(manifest.read_text()).get("version") == version:
                return candidate
    return None


def start_engine() -> None:
    """Start the validator's engine now, in its own node process (about 3 s of CPU to start),
    so that it is ready when a changed template needs it instead of starting then. The app
    calls this before it builds its constructs (app.py); if no template needs the engine,
    :func:`stop_engine` ends it. Without it (or if it cannot start) the validator runs in
    the app's own jsii process, as CDK runs it: same code, same result."""
    global _engine
    if _engine is not None:
        return
    lib = _cdk_lib_dir()
    node = shutil.which("node")
    if lib is None or node is None:
        return
    _engine = subprocess.Popen(
        _priority.command([node, str(WORKER), str(lib)]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    atexit.register(stop_engine)


# What a synth's templates are made of, for deciding whether to start the engine early: the
# configuration, the CLI's context and the app's code. Only a hint: a wrong guess costs time
# (an engine started for nothing, or started late in the app's process), never a result.
_INPUT_FOLDERS = ("cdk_constructs", "stacks", "compliance", "platform_config", "lambda", "ml")


def synth_inputs_digest(config_path: Path) -> str:
    digest = hashlib.sha256()
    digest.update(os.environ.get("CDK_CONTEXT_JSON", "").encode() + b"\0")
    files = [Path(config_path), ROOT / "app.py", ROOT / "cdk.json"]
    for folder in _INPUT_FOLDERS:
        files += sorted(
            p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for path in files:
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def _inputs_file() -> Path:
    return CACHE_DIR / "last-synth-inputs.txt"


def last_synth_inputs() -> str | None:
    path = _inputs_file()
    return path.read_text().strip() if path.exists() else None


def record_synth_inputs(digest: str) -> None:
    """After a synth that passed the gate: the next one with the same inputs finds every
    template in the cache and does not start the engine (~3 s of CPU) early."""
    _inputs_file().parent.mkdir(parents=True, exist_ok=True)
    _inputs_file().write_text(digest)


def stop_engine() -> None:
    global _engine
    if _engine is not None:
        _engine.kill()
        _engine.wait()
        _engine = None


def _run_in_worker(stacks: list[dict]) -> dict | None:
    """The worker's report for ``stacks``, or None if it is not running or failed."""
    global _engine
    engine = _engine
    if engine is None or engine.stdin is None or engine.stdout is None:
        return None
    request = [
        {
            "stackConstructPath": s["path"],
            "templatePath": s["template"],
            "accountId": s.get("account"),
            "region": s.get("region"),
        }
        for s in stacks
    ]
    try:
        engine.stdin.write(json.dumps({"stackTemplates": request}) + "\n")
        engine.stdin.flush()
        answer = None
        for line in engine.stdout:  # the first line may be {"ready": true}: wait past it
            answer = json.loads(line)
            if not answer.get("ready"):
                break
    except (OSError, ValueError):
        answer = None
    if not answer or "report" not in answer:
        stop_engine()  # the in-process validator takes over
        return None
    return dict(answer["report"])


def _run_validator(stacks: list[dict], app_construct=None) -> dict:
    """CDK's validator on ``stacks``: in the early-started worker if there is one, else in
    this app's jsii process."""
    report = _run_in_worker(stacks)
    if report is not None:
        return report
    plugin = CloudFormationValidatePlugin()
    return _as_dict(plugin.validate(_Context(app_construct, stacks)))


class _NoWorker(RuntimeError):
    """The early-started engine is not there (or failed): nothing is stored."""


def _worker_only(stacks: list[dict], _app_construct=None) -> dict:
    report = _run_in_worker(stacks)
    if report is None:
        raise _NoWorker("CDK's validator engine is not running")
    return report


_ahead: threading.Thread | None = None


def check_ahead(stacks: list[dict]) -> bool:
    """Validate ``stacks`` (final templates: their stage is synthesized) in the early-started
    engine, in a background thread, while the app builds the rest (app.py, ``check_ahead``).
    The results go to the cache, where the plugin finds them. Returns at once; a second call
    queues behind the first.

    Only the worker is used here: the in-process validator would need this process's jsii,
    which the build is using. Without a worker nothing happens (False), and nothing is ever
    stored that the worker did not report (a failed run stores nothing; the plugin validates
    those templates itself). The plugin waits for this thread before it uses the engine
    (:func:`wait_ahead`), so the two never share it."""
    global _ahead
    if _engine is None or not stacks:
        return False
    before = _ahead

    def work() -> None:
        if before is not None:
            before.join()
        try:
            diagnostics(None, stacks, run=_worker_only)
        except Exception:  # noqa: BLE001 - the plugin checks these templates again
            pass

    _ahead = threading.Thread(target=work, name="cfn-validate-ahead", daemon=True)
    _ahead.start()
    return True


def wait_ahead() -> None:
    """Wait for :func:`check_ahead`'s threads (the last waits for the ones before it)."""
    global _ahead
    if _ahead is not None:
        _ahead.join()
        _ahead = None


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


def _diagnostics_by_template(report: dict, stacks: list[dict]) -> dict:
    """Split the validator's report (violations merged across templates) per template path."""
    per: dict[str, list[dict]] = {s["template"]: [] for s in stacks}
    for violation in report.get("violations", []):
        for resource in violation.get("violatingResources", []):
            entry = {
                "ruleName": violation["ruleName"],
                "description": violation["description"],
                "severity": violation.get("severity"),
                "fix": violation.get("fix"),
                "ruleMetadata": violation.get("ruleMetadata") or None,
                "resourceLogicalId": resource.get("resourceLogicalId"),
                "constructPath": resource.get("constructPath"),
                "locations": list(resource.get("locations") or []),
            }
            per.setdefault(str(resource.get("templatePath")), []).append(entry)
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
    first's result. ``run(stacks, app_construct)`` replaces the validator (tests)."""
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
                per = _diagnostics_by_template(run(todo, app_construct), todo)
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
        # The engine's version, as the built-in plugin reports it.
        return engine_version()

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
        try:
            wait_ahead()  # templates checked ahead are in the cache now
            report = merge(stacks, diagnostics(context.app_construct, stacks))
        finally:
            stop_engine()  # started early (start_engine); not needed any more
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
