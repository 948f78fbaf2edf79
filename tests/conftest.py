"""Session fixtures: the sample configuration and ONE synthesized assembly shared by all
stack, snapshot, compliance and lint tests (synth costs seconds; do it once)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The pinned Node.js 22 and CDK CLI (jsii starts `node`).
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# A deprecated aws-cdk-lib API raises instead of printing a warning (read by the jsii kernel
# when it starts): every app, stack and construct the tests build uses only current APIs.
os.environ["JSII_DEPRECATED"] = "fail"

from platform_config import PlatformConfig, load_config  # noqa: E402
from synth_support import SynthResult, synthesize  # noqa: E402

SAMPLE_CONFIG = ROOT / "config" / "platform.yaml"


@pytest.fixture(scope="session")
def sample_config() -> PlatformConfig:
    return load_config(SAMPLE_CONFIG)


@pytest.fixture(scope="session")
def sample_config_data() -> dict:
    import yaml

    return yaml.safe_load(SAMPLE_CONFIG.read_text())


@pytest.fixture(scope="session")
def synth(sample_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """The whole app with every compliance check and acknowledgement, as `make synth` runs it.
    Synthesis raises if any finding is unacknowledged."""
    return synthesize(sample_config, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def unacknowledged(sample_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory):
    """The same app with every check but no acknowledgements: (outdir, what the packs really
    find). tests/test_compliance.py and tests/test_studio.py check the acknowledgements
    against it."""
    from compliance._summary import read_findings

    outdir = tmp_path_factory.mktemp("unacknowledged")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        synthesize(sample_config, outdir, acknowledgements=False)
    return outdir, read_findings(outdir)


@pytest.fixture(scope="session")
def notebook_config(sample_config_data: dict) -> PlatformConfig:
    """The sample configuration with dev on notebook instances (``workspace:
    notebook_instance``). The sample runs Studio in dev; both workspaces are first-class, so
    the notebook one is synthesized and gated too (``notebook_synth``)."""
    import copy

    from platform_config import parse_config

    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["workspace"] = "notebook_instance"
    return parse_config(data, str(SAMPLE_CONFIG))


@pytest.fixture(scope="session")
def notebook_synth(notebook_config: PlatformConfig,
                   tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """The dev stage on notebook instances with every compliance check and acknowledgement
    (raises on any unacknowledged finding): one more stage, not a second whole app."""
    return synthesize(notebook_config, tmp_path_factory.mktemp("cdk.out-notebook"),
                      environments=("dev",))


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


# --- the fault-and-hostile-input probes' summary line (issue #17; tests/lambdas/conftest.py
# labels each probe's reports). Counted here, in the process that prints the summary, so the
# line is right with and without pytest-xdist.
_PROBES: dict[tuple[str, str], list[int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    probe = dict(report.user_properties).get("probe")
    if probe is None:
        return
    # one count per probe: its call phase, or the setup phase when that failed or skipped
    if report.when == "call" or (report.when == "setup" and not report.passed):
        counts = _PROBES.setdefault((probe[0], probe[1]), [0, 0, 0])
        counts[0] += 1
        counts[1] += int(report.passed)
        counts[2] += int(report.skipped)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _PROBES:
        return
    terminalreporter.section("fault and hostile-input probes")

    def line(label: str, run: int, passed: int, skipped: int) -> str:
        return f"probes: {label}{run} run, {passed} passed" + (
            f", {skipped} skipped" if skipped else "")

    for (function, category), counts in sorted(_PROBES.items()):
        terminalreporter.write_line(line(f"{function} / {category}: ", *counts))
    terminalreporter.write_line(line("", *(sum(v[i] for v in _PROBES.values()) for i in range(3))))
