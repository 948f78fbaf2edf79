"""A fresh, environment-specific stack per construct test (account and AZs fixed, no lookups)."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from construct_stack import ACCOUNT, AZS, REGION, new_stack  # noqa: F401


@pytest.fixture
def stack() -> Stack:
    return new_stack()
