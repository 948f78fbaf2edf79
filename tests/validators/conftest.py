"""Fixtures of the offline AWS validators: what they read is extracted ONCE per session from the
shared ``synth`` fixture (every stage), with CloudFormation tokens replaced by placeholder values
of the right shape (cfn_placeholders.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cfn_placeholders import resolvers_for, state_machine_definitions  # noqa: E402


@pytest.fixture(scope="session")
def state_machines(synth) -> dict[str, dict]:
    """``{"preprod/Serving/<logical id>": definition}`` for every state machine of every stage."""
    return state_machine_definitions(synth.templates)


@pytest.fixture(scope="session")
def resolvers(synth):
    return resolvers_for(synth.templates)
