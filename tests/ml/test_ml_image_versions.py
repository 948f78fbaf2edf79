"""``ml/images/``: one pinned requirement file per SageMaker image the steps run in, and the
script ``make test`` runs them with (it must say clearly when Python 3.9 is missing)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ml" / "images" / "test_images.sh"


def _pins(name: str) -> dict:
    pins = {}
    for line in (ROOT / "ml" / "images" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, version = line.split("==")
            pins[package.lower()] = version
    return pins


def test_files_mirror_the_image_tags_the_platform_deploys():
    source = (ROOT / "cdk_constructs" / "_sagemaker_images.py").read_text()
    xgboost_tag = re.search(r'XGBOOST_VERSION = "([^"]+)"', source).group(1)
    sklearn_tag = re.search(r'SKLEARN_VERSION = "([^"]+)"', source).group(1)
    assert (ROOT / "ml" / "images" / ("xgboost-%s.txt" % xgboost_tag)).is_file()
    assert (ROOT / "ml" / "images" / ("sklearn-%s.txt" % sklearn_tag.split("-cpu")[0])).is_file()
    xgb = _pins("xgboost-1.7-1.txt")
    assert (xgb["xgboost"], xgb["pandas"], xgb["numpy"]) == ("1.7.4", "1.2.4", "1.24.1")
    skl = _pins("sklearn-1.2-1.txt")
    assert (skl["scikit-learn"], skl["pandas"], skl["numpy"]) == ("1.2.1", "1.1.3", "1.24.1")
    assert "xgboost" not in skl  # the scikit-learn image does not ship it


def _run(python: str):
    env = dict(os.environ, PY39=python)
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_missing_python39_is_skipped_with_a_clear_message(tmp_path):
    result = _run(str(tmp_path / "no-such-python"))
    assert result.returncode == 0
    assert "SKIPPED" in result.stderr and "did NOT run" in result.stderr


def test_another_python_version_is_an_error(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")  # answers the version check with "not 3.9"
    fake.chmod(0o755)
    result = _run(str(fake))
    assert result.returncode == 1 and "is not Python 3.9" in result.stderr
