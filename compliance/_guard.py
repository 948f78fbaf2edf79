"""cfn-guard with the Control Tower rules, one template per process, in parallel, cached.

The cdklabs CfnGuardValidator plugin runs cfn-guard once over every template of the app in
one single-threaded process (about 20 s for the sample's 14 templates). This plugin runs the
*same* validator code and rules (``guard_worker.js`` loads them from the pinned Python
package's bundle) on each template in its own process, as many at once as there are CPUs,
and keeps each template's result under the SHA-256 of (validator version, template bytes):
a synth re-checks only the templates that changed.

It reports under the same plugin name, so CDK applies the same acknowledgements
(``cdk-validator-cfnguard::<rule>``) and writes the same report; the gate
(compliance/gate.py) fails on its violations exactly as before.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import jsii
from aws_cdk import (
    IPolicyValidationContextBeta1,
    IPolicyValidationPluginBeta1,
    PolicyValidationPluginReportBeta1,
    PolicyViolatingResourceBeta1,
    PolicyViolationBeta1,
)

from compliance import _priority

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "cdk-validator-cfnguard"
WORKER = Path(__file__).with_name("guard_worker.js")
# Results are cached here (override with CFN_GUARD_CACHE); safe to delete at any time.
CACHE_DIR = Path(os.environ.get("CFN_GUARD_CACHE") or ROOT / ".cache" / "cfn-guard")


def _bundle() -> Path:
    import cdklabs.cdk_validator_cfnguard._jsii as bundled

    return next(Path(bundled.__file__).parent.glob("cdk-validator-cfnguard@*.jsii.tgz"))


def validator_version() -> str:
    return _bundle().name.split("@", 1)[1].removesuffix(".jsii.tgz")


def package_dir() -> Path:
    """The validator package (code, rules, cfn-guard binary), unpacked once per version."""
    target = CACHE_DIR / f"package-{validator_version()}"
    if (target / "lib" / "plugin.js").exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=CACHE_DIR, prefix=".unpack-"))
    with tarfile.open(_bundle()) as archive:
        archive.extractall(staging, filter="tar")
    try:
        (staging / "package").rename(target)
    except OSError:  # another synth unpacked it first
        pass
    shutil.rmtree(staging, ignore_errors=True)
    return target


@functools.lru_cache(maxsize=1)
def _worker_digest() -> str:
    """The worker decides which resources each rule file sees: its code is part of the key."""
    return hashlib.sha256(WORKER.read_bytes()).hexdigest()


def _key(template: bytes) -> str:
    head = f"{validator_version()}\0{_worker_digest()}\0".encode()
    return hashlib.sha256(head + template).hexdigest()


def check_template(path: str, package: Path) -> dict:
    """The validator's report for one template: {"success": bool, "violations": [...]}.

    Two processes checking the same template at once (two synths, two test workers) do not
    both run cfn-guard: the second waits on the template's lock, then reads the first's
    result from the cache."""
    content = Path(path).read_bytes()
    key = _key(content)
    cached = CACHE_DIR / "results" / f"{key}.json"
    if not cached.exists():
        lock_path = CACHE_DIR / "locks" / f"{key}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cached.exists():
                _store(cached, _run_worker(path, package))
    report = json.loads(cached.read_text())
    for violation in report.get("violations", []):
        for resource in violation.get("violatingResources", []):
            resource["templatePath"] = path
    return report


def _run_worker(path: str, package: Path) -> dict:
    done = subprocess.run(
        _priority.command(["node", str(WORKER), str(package), path]),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cfn-guard failed on {path}:\n{done.stderr.strip()}")
    report: dict = json.loads(done.stdout)
    for violation in report.get("violations", []):
        for resource in violation.get("violatingResources", []):
            resource["templatePath"] = ""  # the path is filled in per run
    return report


def _store(cached: Path, report: dict) -> None:
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report))
    tmp.replace(cached)


# Checks started ahead of the plugin's turn (see :func:`prefetch`), by (path, content digest).
_STARTED: dict[tuple[str, str], Future] = {}
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
    return _POOL


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def prefetch(paths: list[str]) -> None:
    """Start checking ``paths`` in the background, now. CDK runs validation plugins one after
    the other; the plugin that runs first calls this (compliance/_checks.py), so cfn-guard's
    processes run while CDK's own validator and the cdk-nag packs do their work, instead of
    after them. :func:`check_templates` then takes the results (checked against the
    template's content, so a template rewritten since is checked again)."""
    package = package_dir()
    for path in sorted(paths):
        key = (path, _digest(path))
        if key not in _STARTED:
            _STARTED[key] = _pool().submit(check_template, path, package)


def check_templates(paths: list[str], workers: int | None = None) -> dict:
    """Every template's violations together, as the plugin reports them for the whole app."""
    package = package_dir()
    futures = []
    with ThreadPoolExecutor(max_workers=workers or max(1, os.cpu_count() or 1)) as pool:
        for path in sorted(paths):
            started = _STARTED.pop((path, _digest(path)), None)
            futures.append(started or pool.submit(check_template, path, package))
        reports = [f.result() for f in futures]
    # The plugin reports each failed check of each rule on its own; so does this.
    violations = [v for report in reports for v in report.get("violations", [])]
    return {
        "success": not violations and all(r.get("success", True) for r in reports),
        "violations": violations,
    }


@jsii.implements(IPolicyValidationPluginBeta1)
class ParallelCfnGuardValidator:
    """Drop-in for ``CfnGuardValidator(control_tower_rules_enabled=True)``."""

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return validator_version()

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: IPolicyValidationContextBeta1) -> PolicyValidationPluginReportBeta1:
        report = check_templates(list(context.template_paths))
        return PolicyValidationPluginReportBeta1(
            success=report["success"],
            violations=[
                PolicyViolationBeta1(
                    rule_name=v["ruleName"],
                    description=v.get("description") or v["ruleName"],
                    fix=v.get("fix"),
                    severity=v.get("severity"),
                    rule_metadata=v.get("ruleMetadata"),
                    violating_resources=[
                        PolicyViolatingResourceBeta1(
                            resource_logical_id=r["resourceLogicalId"],
                            template_path=r["templatePath"],
                            locations=r.get("locations") or [],
                        )
                        for r in v.get("violatingResources", [])
                    ],
                )
                for v in report["violations"]
            ],
        )
