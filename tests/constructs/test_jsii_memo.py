"""The read-once helpers behind the per-user constructs: they must return exactly what
jsii returns, per stack, and never leak one stack's values into another."""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._jsii_memo import adopt, attribute, stack_facts


def test_stack_facts_match_the_stack() -> None:
    app = App()
    stack = Stack(app, "S", env={"account": "111111111111", "region": "eu-west-2"})
    child = Construct(stack, "Child")
    facts = stack_facts(child)
    assert facts.stack is stack
    assert (facts.account, facts.region, facts.partition) == (
        stack.account, stack.region, stack.partition)
    assert stack_facts(stack) is facts  # one entry per stack, shared by its constructs


def test_each_stack_has_its_own_facts() -> None:
    app = App()
    dev = Stack(app, "Dev", env={"account": "111111111111", "region": "eu-west-2"})
    prod = Stack(app, "Prod", env={"account": "333333333333", "region": "eu-west-1"})
    assert stack_facts(Construct(dev, "A")).account == "111111111111"
    assert stack_facts(Construct(prod, "A")).account == "333333333333"
    assert stack_facts(Construct(prod, "B")).region == "eu-west-1"


def test_adopted_child_resolves_to_its_parents_stack() -> None:
    app = App()
    stack = Stack(app, "S", env={"account": "111111111111", "region": "eu-west-2"})
    parent = Construct(stack, "Parent")
    child = Construct(parent, "Child")
    assert adopt(child, parent) is stack_facts(parent)
    assert stack_facts(child).stack is stack


def test_attribute_is_the_jsii_value_read_once() -> None:
    stack = Stack(App(), "S")
    key = kms.Key(stack, "Key")
    first = attribute(key, "key_arn")
    assert first == key.key_arn
    assert attribute(key, "key_arn") is first
    other = kms.Key(stack, "Other")
    assert attribute(other, "key_arn") == other.key_arn != first
