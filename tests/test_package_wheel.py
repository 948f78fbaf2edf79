"""The library as another team gets it: build the wheel, install it into a fresh virtual
environment, synthesize examples/secure_data_app/ from a temporary folder with it alone.

Slow (a venv with aws-cdk-lib is ~0.5 GB; uv links it from its cache), so it runs as its own
step: ``make package-check``, which ``make test`` runs after the suite. In the suite itself
it is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "secure_data_app"
PACKAGES = ("cdk_constructs", "compliance", "platform_config")
NOT_SHIPPED = {"compliance/acknowledgements.py"}  # the platform's own list (docs/package.md)
MECHANISM = "compliance/_acknowledge.py"  # how acknowledgements are applied: shipped
UV = Path(sys.executable).parent / "uv"
VALIDATORS = {
    "AwsSolutions",
    "NIST.800.53.R5",
    "HIPAA.Security",
    "PCI.DSS.321",
    "cdk-validator-cfnguard",
}
# The validators that find something in the example (all acknowledged). A validator with
# nothing to report (AwsSolutions here) is left out of CDK's report.
REPORTING = VALIDATORS - {"AwsSolutions"}

pytestmark = pytest.mark.skipif(
    os.environ.get("PACKAGE_CHECK") != "1",
    reason="builds and installs the wheel into a fresh venv: `make package-check` "
    "(run by `make test` after the suite)",
)

# Runs the example in the fresh venv and records which files its modules came from.
PROBE = """
import importlib, json, runpy, sys
sys.argv = ["app.py", "out"]
code = 0
try:
    runpy.run_path("app.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
shipped = json.load(open("shipped.json"))
for name in shipped:  # every module the wheel ships imports from it
    importlib.import_module(name)
files = {name: getattr(mod, "__file__", None) for name, mod in sys.modules.items()
         if name.split(".")[0] in ("cdk_constructs", "compliance", "platform_config")}
json.dump({"exit": code, "files": files, "prefix": sys.prefix}, open("probe.json", "w"))
"""


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result


def _source_files() -> set[str]:
    files = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if (
                path.is_file()
                and path.suffix in (".py", ".typed", ".js")  # guard_worker.js runs cfn-guard
                and "__pycache__" not in path.parts
            ):
                files.add(path.relative_to(ROOT).as_posix())
    return files - NOT_SHIPPED


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run([str(UV), "build", "--quiet", "--wheel", "--out-dir", str(dist), str(ROOT)])
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def example_run(wheel, tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("consumer")
    venv = base / "venv"
    _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    # The app's exact pins as constraints: the ranges the wheel declares must admit them.
    _run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            str(wheel),
            "-c",
            str(ROOT / "constraints.txt"),
        ]
    )
    work = base / "work"
    work.mkdir()
    shutil.copy(EXAMPLE / "app.py", work / "app.py")
    (work / "probe.py").write_text(PROBE)
    with zipfile.ZipFile(wheel) as whl:
        shipped = sorted(
            n[:-3].replace("/", ".").removesuffix(".__init__")
            for n in whl.namelist()
            if n.endswith(".py")
        )
    (work / "shipped.json").write_text(json.dumps(shipped))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    # -I: neither the working folder nor PYTHONPATH nor user site-packages is on sys.path;
    # the library can only come from the venv.
    result = subprocess.run(
        [str(python), "-I", "probe.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (work / "probe.json").exists(), result.stderr[-3000:]
    probe = json.loads((work / "probe.json").read_text())
    return {
        "work": work,
        "python": python,
        "probe": probe,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "out": work / "out",
        "venv": venv,
    }


def test_wheel_ships_exactly_the_source_the_app_imports(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = {n for n in whl.namelist() if not n.split("/", 1)[0].endswith(".dist-info")}
        assert names == _source_files()
        for name in names:
            assert whl.read(name) == (ROOT / name).read_bytes(), name
    assert not NOT_SHIPPED & names


def test_wheel_ships_the_acknowledgement_mechanism_not_the_platform_list(wheel):
    """Consumers get compliance.acknowledge_findings; the platform's own list of
    acknowledged findings (this app's construct paths) stays out of the wheel."""
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        assert MECHANISM in names
        assert "compliance/acknowledgements.py" not in names
        shipped_source = "\n".join(
            whl.read(n).decode() for n in names if n.endswith(".py") and n.startswith("compl")
        )
    # Nothing shipped names the platform's list or one of its construct paths.
    assert "ACKNOWLEDGEMENTS" not in shipped_source
    assert "Foundation/AccessLogs/Bucket" not in shipped_source


def test_wheel_metadata_has_version_and_dependency_ranges(wheel):
    sys.path.insert(0, str(ROOT))
    from cdk_constructs._version import __version__

    with zipfile.ZipFile(wheel) as whl:
        meta_name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(whl.read(meta_name).decode())
    assert meta["Name"] == "secure-ml-platform-constructs"
    assert meta["Version"] == __version__
    assert meta["Requires-Python"] == ">=3.11"
    requires = {
        canonicalize_name(r.name): r for r in map(Requirement, meta.get_all("Requires-Dist") or [])
    }
    assert set(requires) >= {
        "aws-cdk-lib",
        "constructs",
        "cdk-nag",
        "cdklabs-cdk-validator-cfnguard",
        "pydantic",
        "pyyaml",
    }
    for requirement in requires.values():
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, (
            f"{requirement}: a library declares a compatible range (lower and upper bound); "
            "exact pins belong to the app"
        )


def test_example_synthesizes_clean_from_the_installed_wheel_alone(example_run):
    probe = example_run["probe"]
    assert probe["exit"] == 0, example_run["stderr"][-3000:]
    assert "zero unacknowledged findings" in example_run["stdout"]
    site = Path(probe["prefix"]).resolve()
    assert site == example_run["venv"].resolve()
    files = probe["files"]
    for module in (
        "cdk_constructs",
        "cdk_constructs.managed_key",
        "cdk_constructs.secure_bucket",
        "cdk_constructs.access_log_bucket",
        "compliance._checks",
        "compliance._acknowledge",
    ):
        assert module in files, f"the example did not import {module}"
    for module, file in files.items():
        assert file is not None and Path(file).resolve().is_relative_to(site), (
            f"{module} was imported from {file}, not from the fresh venv {site}"
        )
        assert not Path(file).resolve().is_relative_to(ROOT), f"{module} came from the source tree"


def test_every_validator_ran_and_reported_nothing_unacknowledged(example_run):
    report = json.loads((example_run["out"] / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert REPORTING <= set(plugins) <= VALIDATORS
    for name, plugin in plugins.items():
        assert plugin["conclusion"] == "success", name
        assert plugin["violations"] == [], name
    # The gate did evaluate the resources: what it found is there, each acknowledged on
    # one resource with a reason (the example's acknowledgements), none on a whole stack.
    suppressed = [v for p in plugins.values() for v in p.get("suppressedViolations", [])]
    assert len(suppressed) == 11
    for violation in suppressed:
        assert violation["reason"].strip()
        assert violation["acknowledgedAt"].endswith("/Bucket/Resource")


def test_logical_ids_and_physical_names_match_the_published_contract(example_run):
    """docs/package.md: logical IDs and physical names are part of the contract. A change
    here is a breaking change: bump the version's breaking part, say so in CHANGELOG.md and
    re-record examples/secure_data_app/contract.json."""
    sys.path.insert(0, str(ROOT))
    from cdk_constructs._version import __version__

    template = json.loads((example_run["out"] / "RiskData.template.json").read_text())
    actual = {
        logical_id: {"Type": r["Type"], "Name": _physical_name(r)}
        for logical_id, r in template["Resources"].items()
    }
    contract = json.loads((EXAMPLE / "contract.json").read_text())
    assert actual == contract["resources"], (
        "logical IDs, types or physical names changed: a breaking change (docs/package.md)"
    )
    major, minor, _patch = __version__.split(".")
    breaking_part = f"{major}.{minor}" if major == "0" else major
    assert contract["breaking_part"] == breaking_part, (
        "contract.json was recorded for another breaking version; re-record it"
    )


def _physical_name(resource: dict) -> str | None:
    props = resource.get("Properties", {})
    for key in (
        "BucketName",
        "AliasName",
        "RoleName",
        "ManagedPolicyName",
        "TopicName",
        "LogGroupName",
        "StateMachineName",
        "Name",
    ):
        if isinstance(props.get(key), str):
            return props[key]
    return None


def test_installed_dependencies_are_consistent(example_run):
    _run([str(UV), "pip", "check", "--python", str(example_run["python"])])


# A consumer's mypy run against the installed wheel (PEP 561). aws-cdk-lib and the other
# large dependencies are not followed (their names become Any): analysing aws-cdk-lib's
# stubs takes minutes and proves nothing about this package.
CONSUMER_MYPY = """[mypy]
python_executable = {python}
strict_optional = True
[mypy-aws_cdk.*,constructs.*,cdk_nag.*,cdklabs.*,jsii.*,cdk_monitoring_constructs.*,pydantic.*,pydantic_core.*,yaml.*]
follow_imports = skip
"""


def test_installed_package_is_typed_for_consumers(example_run):
    """py.typed ships: mypy resolves cdk_constructs and compliance from the fresh venv as
    typed packages (without the marker it reports them as untyped) and the example
    type-checks against their signatures."""
    work = example_run["work"]
    (work / "mypy.ini").write_text(CONSUMER_MYPY.format(python=example_run["python"]))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "mypy"),
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(work / ".mypy_cache"),
            "app.py",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    assert "Success" in result.stdout
