"""Read once, reuse: stack facts and attributes of shared constructs.

Every attribute read on a CDK object from Python is a jsii round trip to the node process
(about half a millisecond on a small CI machine). A construct built once per user (hundreds
of them) that asks ``Stack.of(self).account`` or ``key.key_arn`` each time pays that cost per
user for the same answer. These helpers read each value once per jsii object and reuse it.

Safe because the values read here never change after the object exists: a stack's account,
region and partition are fixed at construction, and an attribute such as ``key_arn`` is a
token string that stands for the same reference wherever it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from constructs import IConstruct


@dataclass(frozen=True)
class StackFacts:
    stack: Stack
    account: str
    region: str
    partition: str


_FACTS: dict[str, StackFacts] = {}
_ATTRIBUTES: dict[tuple[str, str], object] = {}


def _ref(obj: Any) -> str:
    return obj.__jsii_ref__.ref  # jsii's id of the object, unique for the process


def stack_facts(scope: IConstruct) -> StackFacts:
    """``Stack.of(scope)`` and its account, region and partition (memoized per scope)."""
    key = _ref(scope)
    facts = _FACTS.get(key)
    if facts is None:
        stack = Stack.of(scope)
        facts = _FACTS.get(_ref(stack))
        if facts is None:
            facts = StackFacts(
                stack=stack, account=stack.account, region=stack.region, partition=stack.partition
            )
            _FACTS[_ref(stack)] = facts
        _FACTS[key] = facts
    return facts


def adopt(child: IConstruct, scope: IConstruct) -> StackFacts:
    """Record that ``child`` (just created under ``scope``) is in the same stack, so that
    constructs created under ``child`` find its facts without asking jsii."""
    facts = stack_facts(scope)
    _FACTS[_ref(child)] = facts
    return facts


def attribute(obj: object, name: str):
    """``getattr(obj, name)`` for an immutable jsii attribute, read once per object."""
    key = (_ref(obj), name)
    if key not in _ATTRIBUTES:
        _ATTRIBUTES[key] = getattr(obj, name)
    return _ATTRIBUTES[key]
