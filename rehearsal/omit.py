"""The one change a rehearsal synth makes to the app: Lambda-backed custom resources out.

moto cannot run a custom resource's Lambda without Docker, yet its CloudFormation lists the
resource as CREATE_COMPLETE anyway (the handler never ran, nothing was changed). Deploying
it would make the rehearsal claim something it did not do, so a synth with the context
value ``rehearsal:omit-custom-resources=true`` removes every ``Custom::*`` and
``AWS::CloudFormation::CustomResource`` resource before the compliance checks run. The
provider functions stay (their code is still packaged, published and created). The list
of what was left out is written into each stack's template metadata, and the smoke test
prints it as "not exercised".

Never used for a real deployment: `make synth` and a plain `cdk deploy` do not set it.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from constructs import IConstruct

CONTEXT_KEY = "rehearsal:omit-custom-resources"
METADATA_KEY = "MlPlatformRehearsalOmitted"


def is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


def enabled(value: object) -> bool:
    return str(value).lower() in {"true", "1", "yes"}


def omit_custom_resources(app: IConstruct) -> list[dict[str, str]]:
    """Remove every custom resource under ``app``; return what was removed, per stack."""
    omitted: dict[Stack, list[dict[str, str]]] = {}
    for node in list(app.node.find_all()):
        if not isinstance(node, CfnResource) or not is_custom_resource(node.cfn_resource_type):
            continue
        stack = Stack.of(node)
        entry = {
            "logicalId": stack.resolve(node.logical_id),
            "type": node.cfn_resource_type,
            "path": node.node.path,
            "reason": "Lambda-backed custom resource: moto cannot invoke its handler without "
                      "Docker and would report it CREATE_COMPLETE without running it",
        }
        omitted.setdefault(stack, []).append(entry)
        parent = node.node.scope
        if parent is None:  # only the app has no scope, and it is never omitted
            raise ValueError(f"{node.node.path} has no parent to be removed from")
        if not parent.node.try_remove_child(node.node.id):
            raise RuntimeError(f"could not leave out {node.node.path}")
    for stack, entries in omitted.items():
        stack.add_metadata(METADATA_KEY, entries)
    return [e for entries in omitted.values() for e in entries]
