"""The compliance gate through the commands users type, with the pinned CDK CLI.

The pinned CLI runs the app with ``@aws-cdk/core:failSynthOnValidationErrors=false`` and
reports only the findings of the stacks it selected; these tests show that the app itself
fails anyway: ``cdk synth`` with no stack selected, ``cdk deploy`` of one stage, ``make synth``
(the real Makefile), on a deliberately careless app (tests/cli/careless_app.py: a bucket
without SecureBucket; a queue with a cfn-guard-only finding) and on a bad configuration. The
real app's `cdk synth` of the sample (run as cdk.json says, optimized) must write the templates
the suite's type-checked in-process synth writes.
`make deploy-local` runs the same `cdk synth` of app.py as its synth step and re-checks the
report (tests/test_deploy_rehearsal.py).

All command runs start together in one fixture (they are independent), so the module costs
about the longest run, not the sum.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARELESS_APP = ROOT / "tests" / "cli" / "careless_app.py"
CDK = str(ROOT / "node_modules" / ".bin" / "cdk")
SUMMARY = "COMPLIANCE CHECKS FAILED"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    workdir: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update({
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{Path(sys.executable).parent}"
                f"{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
        # Nothing may reach AWS: dummy credentials and an endpoint nobody listens on.
        "AWS_ACCESS_KEY_ID": "AKIACLITESTDUMMY0000", "AWS_SECRET_ACCESS_KEY": "dummy",
        "AWS_REGION": "eu-west-2", "AWS_ENDPOINT_URL": "http://localhost:9",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })
    env.update(extra)
    return env


def _careless_project(tmp: Path) -> Path:
    """A project folder that uses the real Makefile, venv and node_modules, whose cdk.json
    runs the careless app: `make synth` there is exactly the user's command."""
    tmp.mkdir(parents=True)
    for name in (".venv", "node_modules", "Makefile", "requirements.txt",
                 "requirements-dev.txt", "constraints.txt", "package.json", "package-lock.json"):
        (tmp / name).symlink_to(ROOT / name)
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    (tmp / "cdk.json").write_text(json.dumps(
        {"app": f"{sys.executable} {CARELESS_APP}", "context": context}))
    return tmp


def _bad_config(tmp: Path) -> Path:
    text = (ROOT / "config" / "platform.yaml").read_text()
    text = text.replace('account: "111111111111"', 'account: "11"', 1)  # a field error
    text = text.replace("vpc_cidr: 10.22.0.0/22", "vpc_cidr: 10.21.0.0/22", 1)  # overlap
    text = text.replace("name: jane-smith", "name: Jane Smith", 1)  # a field error
    text = text.replace("region: eu-west-2\n    availability_zones: [eu-west-2a, eu-west-2b, "
                        "eu-west-2c]\n    vpc_cidr: 10.21", "region: us-west-2\n    "
                        "availability_zones: [us-west-2a, us-west-2b, us-west-2c]\n    "
                        "vpc_cidr: 10.21", 1)  # preprod: an unsupported region
    path = tmp / "bad.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("cli")
    project = _careless_project(base / "project")
    previous = base / "previous-out"
    (previous / "assembly-dev").mkdir(parents=True)
    (previous / "marker").write_text("a previous synth")
    bad = _bad_config(base)
    commands = {
        # `make synth` runs `cdk synth` with no stack argument: the CLI selects none of the
        # stage's stacks, so only the app's own gate can fail it.
        "make-synth": (["make", "--no-print-directory", "synth"], project, {}),
        # One stage selected, and the only findings come from cfn-guard.
        "deploy-guard-only": ([CDK, "deploy", "--app", f"{sys.executable} {CARELESS_APP}",
                               "careless/*", "--require-approval", "never", "--no-notices",
                               "--output", str(base / "deploy-out")], base,
                              {"CARELESS": "guard-only"}),
        # cfn-guard cannot run (its binary is gone): CDK reports the plugin as failed with no
        # violation listed, and the CLI exits 0 on that by itself.
        "synth-broken-guard": ([CDK, "synth", "--app", f"{sys.executable} {CARELESS_APP}",
                                "--no-notices", "--quiet", "--output", str(base / "broken-out")],
                               base, {"CARELESS": "broken-guard",
                                      "CFN_GUARD_CACHE": str(base / "broken-guard-cache")}),
        # The real app, as cdk.json runs it (python3 -O), on the sample configuration.
        "cdk-synth-sample": ([CDK, "synth", "--quiet", "--no-notices", "--output",
                              str(base / "sample-out")], ROOT, {}),
        "make-synth-bad-config": (["make", "--no-print-directory", "-C", str(ROOT), "synth",
                                   f"CONFIG={bad}", f"OUT={previous}"], ROOT, {}),
    }
    started = {
        name: (subprocess.Popen(args, cwd=cwd, env=_env(**extra), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), cwd)
        for name, (args, cwd, extra) in commands.items()}
    results = {}
    for name, (process, cwd) in started.items():
        out, err = process.communicate(timeout=600)
        results[name] = Run(process.returncode, out, err, cwd)
    results["previous"] = Run(0, "", "", previous)
    results["sample-out"] = Run(0, "", "", base / "sample-out")
    return results


def test_make_synth_fails_on_a_careless_bucket_with_the_summary(runs) -> None:
    run = runs["make-synth"]
    assert run.returncode != 0, run.output
    assert SUMMARY in run.stderr
    # Every pack reports the careless bucket, each with the id to acknowledge it by.
    for plugin in ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321",
                   "cdk-validator-cfnguard"):
        assert f"({plugin})" in run.stderr, plugin
    assert "careless/Data/Careless/Resource" in run.stderr
    assert "id:   AwsSolutions::AwsSolutions-S1" in run.stderr
    assert "zero unacknowledged" not in run.output
    assert not (run.workdir / "cdk.out").exists()  # nothing half-done is published


def test_cdk_deploy_of_a_stage_fails_on_a_cfn_guard_only_finding(runs) -> None:
    run = runs["deploy-guard-only"]
    assert run.returncode != 0, run.output
    assert SUMMARY in run.stderr
    finding_lines = [line for line in run.stderr.splitlines() if line.startswith("- ")]
    assert finding_lines and all("(cdk-validator-cfnguard)" in line for line in finding_lines)
    assert "sqs_queue_encrypted_check" in run.stderr
    assert "Deployment time" not in run.output


def test_cdk_synth_fails_when_a_validator_cannot_run(runs) -> None:
    """A check that crashed checked nothing: the gate fails, names the validator and its
    error, and offers no acknowledgement (there is no finding to acknowledge)."""
    run = runs["synth-broken-guard"]
    assert run.returncode != 0, run.output
    assert SUMMARY in run.stderr and "did not complete" in run.stderr
    assert "- cdk-validator-cfnguard: " in run.stderr
    assert "cfn-guard" in run.stderr.split("- cdk-validator-cfnguard: ", 1)[1]
    assert "id:   " not in run.stderr  # the cdk-nag findings are acknowledged; nothing else
    report = json.loads((run.workdir / "broken-out" / "validation-report.json").read_text())
    guard = next(p for p in report["pluginReports"] if p["pluginName"] == "cdk-validator-cfnguard")
    assert guard["conclusion"] == "failure" and guard["violations"] == []


def test_make_synth_with_a_bad_config_reports_every_problem_and_keeps_cdk_out(runs) -> None:
    run = runs["make-synth-bad-config"]
    assert run.returncode != 0, run.output
    for fragment in ("environments.dev.account", "12-digit",
                     "environments.prod.vpc_cidr", "overlaps",
                     "environments.preprod.region", "us-west-2 is not supported yet",
                     "users[0].name"):
        assert fragment in run.stderr, f"{fragment!r} not in:\n{run.stderr}"
    previous = runs["previous"].workdir
    assert (previous / "marker").read_text() == "a previous synth"
    assert (previous / "assembly-dev").is_dir()


def test_the_cli_has_no_complaint_about_the_projects_cdk_json(runs) -> None:
    """The pinned CLI warns about a cdk.json it dislikes (e.g. a reserved "aws:" context key)
    on every command, naming the file. `make synth` in this project (the bad-config run reads
    the project's own cdk.json; the careless project carries the same context) says nothing
    about it."""
    for name, cdk_json in (("make-synth-bad-config", ROOT / "cdk.json"),
                           ("make-synth", runs["make-synth"].workdir / "cdk.json")):
        run = runs[name]
        complaints = [line for line in run.output.splitlines() if str(cdk_json) in line]
        assert complaints == [], complaints


def _without_cli_additions(template: dict) -> dict:
    """The CLI's own additions (its default context): the CDKMetadata resource (version
    reporting) and asset metadata on resources with a code asset."""
    template = json.loads(json.dumps(template))
    template.get("Resources", {}).pop("CDKMetadata", None)
    for resource in template.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        for key in [k for k in metadata if k.startswith("aws:asset:")]:
            del metadata[key]
        if "Metadata" in resource and not metadata:
            del resource["Metadata"]
    return template


def test_cdk_synth_of_the_optimized_app_writes_what_the_type_checked_build_writes(
    runs, synth
) -> None:
    """cdk.json runs the app with ``python3 -O`` (no jsii type checks in Python, no asserts;
    tests/test_lint.py). The suite's own synth runs with both: every template the CLI wrote
    is the same, apart from what the CLI's default context adds."""
    run = runs["cdk-synth-sample"]
    assert run.returncode == 0, run.output
    assert "no optimized bytecode" not in run.stderr  # make install compiled it (app.py)
    out = runs["sample-out"].workdir
    written = sorted(out.glob("assembly-*/*.template.json"))
    expected = sorted(synth.outdir.glob("assembly-*/*.template.json"))
    assert written and [p.relative_to(out) for p in written] == [
        p.relative_to(synth.outdir) for p in expected]
    for cli, checked in zip(written, expected):
        assert _without_cli_additions(json.loads(cli.read_text())) == json.loads(
            checked.read_text()), cli.name


def test_make_help_lists_every_target() -> None:
    import re

    targets = {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(),
                                                 re.MULTILINE)}
    shown = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"],
                           capture_output=True, text=True, check=True).stdout
    listed = {m.group(1) for m in re.finditer(r"^make ([a-z-]+)", shown, re.MULTILINE)}
    assert targets - {"help"} <= listed, targets - listed


def _analytics(template: dict) -> str:
    """The CLI's version-reporting string (CDKMetadata), decoded: what the stack was built
    with, the validation plugins that ran on it included."""
    encoded = template["Resources"]["CDKMetadata"]["Properties"]["Analytics"]
    assert encoded.startswith("v2:deflate64:"), encoded[:20]
    return gzip.decompress(base64.b64decode(encoded.removeprefix("v2:deflate64:"))).decode()


def test_every_template_names_the_checks_that_ran_on_it(runs) -> None:
    """The CLI's app synthesizes the environments without people ahead of the rest
    (app.py, check_ahead): their templates must still name every validation plugin in their
    CDKMetadata, as the others do (they did not, when the plugins were registered after the
    early synth)."""
    out = runs["sample-out"].workdir
    templates = sorted(out.glob("assembly-*/*.template.json"))
    assert any(p.parent.name == "assembly-preprod" for p in templates)
    for path in templates:
        analytics = _analytics(json.loads(path.read_text()))
        for plugin in ("CloudFormationValidate", "AwsSolutions", "NIST.800.53.R5",
                       "HIPAA.Security", "PCI.DSS.321", "cdk-validator-cfnguard"):
            assert plugin in analytics, (path.name, plugin, analytics)
