"""A fresh, environment-specific stack for construct tests (account and AZs fixed)."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack

ACCOUNT = "123456789012"
REGION = "eu-west-2"
AZS = ["eu-west-2a", "eu-west-2b", "eu-west-2c"]


def new_stack() -> Stack:
    """Also for module-scoped fixtures that build once and share one synthesized template
    among several read-only tests (each synth costs seconds)."""
    from app import cdk_json_context

    context = dict(cdk_json_context())
    context[f"availability-zones:account={ACCOUNT}:region={REGION}"] = AZS
    return Stack(App(context=context), "TestStack", env=Environment(account=ACCOUNT, region=REGION))
