"""A fresh, environment-specific stack per construct test (account and AZs fixed, no lookups)."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack

ACCOUNT = "123456789012"
REGION = "eu-west-2"
AZS = ["eu-west-2a", "eu-west-2b", "eu-west-2c"]


@pytest.fixture
def stack() -> Stack:
    from app import cdk_json_context

    context = dict(cdk_json_context())
    context[f"availability-zones:account={ACCOUNT}:region={REGION}"] = AZS
    app = App(context=context)
    return Stack(app, "TestStack", env=Environment(account=ACCOUNT, region=REGION))
