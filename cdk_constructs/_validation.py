"""Early, readable validation of construct props (raised while the app is built)."""

from __future__ import annotations

from aws_cdk import Token


class ConstructPropsError(ValueError):
    """A construct was given props it refuses; the message says what to change."""


def require(condition: bool, construct: str, message: str) -> None:
    if not condition:
        raise ConstructPropsError(f"{construct}: {message}")


def is_concrete(value: object) -> bool:
    """True when a value is known at synth time (not a CloudFormation token)."""
    return isinstance(value, (str, int, float)) and not Token.is_unresolved(value)
