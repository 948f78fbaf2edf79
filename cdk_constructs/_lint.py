"""Targeted cfn-lint suppressions, each for one resource and one check, with the reason."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def tolerate_redundant_depends_on(construct: IConstruct) -> None:
    """CDK adds ``DependsOn`` on a role that the resource also references with ``GetAtt``
    (so the role exists before the resource), and cfn-lint reports the redundancy as W3005.
    Harmless and not ours to change: silence W3005 on this one resource only."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if isinstance(resource, CfnResource):
        resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
