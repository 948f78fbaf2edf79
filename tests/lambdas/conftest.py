"""Shared set-up for the Lambda tests.

Every folder under ``lambda/`` is a function asset, not a package. Each one names its
modules uniquely (``<function>_handler.py``, ``<function>_*.py``), so all of them can sit on
``sys.path`` together and tests import them by plain module name, with no CDK involved.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------------------------
# The fault-and-hostile-input probes (issue #17): tests marked
# ``@pytest.mark.probe(function, category)`` are counted per function and category, and the
# run ends with a summary line per pair and a total, e.g.
#   probes: compliance_responder / faults: 9 run, 9 passed
#   probes: 95 run, 95 passed
# --------------------------------------------------------------------------------------------

PROBE_CATEGORIES = (
    "bad input",
    "faults",
    "idempotency and concurrency",
    "security of the corrective control",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "probe(function, category): a fault or hostile-input probe of a Lambda function; "
        f"category one of {', '.join(PROBE_CATEGORIES)}",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("probe")
        if marker is not None and (len(marker.args) != 2 or marker.args[1] not in PROBE_CATEGORIES):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.probe(function, category) needs a category in "
                f"{PROBE_CATEGORIES}, got {marker.args}"
            )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Label a probe's reports with its function and category. The counting and the summary
    line are in tests/conftest.py: under pytest-xdist (`make test` runs two workers) reports
    reach the controlling process, which loads only that conftest."""
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("probe")
    if marker is not None:
        report.user_properties.append(("probe", [marker.args[0], marker.args[1]]))
