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


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())
