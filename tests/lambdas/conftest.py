"""Shared set-up for the Lambda tests.

Every folder under ``lambda/`` is a function asset, not a package. Each one names its
modules uniquely (``<function>_handler.py``, ``<function>_*.py``), so all of them can sit on
``sys.path`` together and tests import them by plain module name, with no CDK involved.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda"

for _folder in sorted(p for p in LAMBDA_ROOT.iterdir() if p.is_dir()):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))


@pytest.fixture(autouse=True)
def _aws_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a fixed region: no test may reach a real AWS account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_REGION": "eu-west-2",
        "POWERTOOLS_SERVICE_NAME": "ml-platform-test",
        "POWERTOOLS_METRICS_NAMESPACE": "MlPlatformTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
