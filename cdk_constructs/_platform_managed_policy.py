"""A customer-managed IAM policy whose document is plain data, checked before synthesis."""

from __future__ import annotations

import json
import re

from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs._jsii_memo import stack_facts
from cdk_constructs._validation import require

_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
MAX_MANAGED_POLICY_CHARS = 6144  # IAM's quota for a managed policy document
_TOKEN_CHARS = 90  # a reference counts as a long ARN when the size is estimated
# How CDK encodes an unresolved string or list token ("${Token[TOKEN.123]}", "#{Token[...]}"),
# matched in Python: Token.is_unresolved is a jsii round trip per string, thousands per synth
# at 500 users.
_TOKEN_RE = re.compile(r"[$#]\{Token\[")


def policy_chars(document: dict) -> int:
    """The document's size as IAM counts it (no whitespace), with every unresolved value
    counted as a long ARN."""

    def concrete(value):
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
                return "x" * _TOKEN_CHARS
            return {k: concrete(v) for k, v in value.items()}
        if isinstance(value, list):
            return [concrete(v) for v in value]
        if isinstance(value, str) and _TOKEN_RE.search(value):
            return "x" * _TOKEN_CHARS
        return value

    return len(json.dumps(concrete(document), separators=(",", ":")))


class PlatformManagedPolicy(iam.CfnManagedPolicy):
    """A named customer-managed policy (the platform attaches permissions only this way, never
    inline). It is the CloudFormation resource itself, so its logical id is its path.

    Refused before synthesis: a name IAM would reject, a document without ``Version``
    2012-10-17 or without statements, an Allow of ``Action: *`` on ``Resource: *``, and a
    document over IAM's 6,144-character limit (references counted as long ARNs).
    ``policy_arn`` is the ARN built from the name (no reference, so no dependency)."""

    def __init__(
        self, scope: Construct, id: str, *, name: str, description: str, document: dict
    ) -> None:
        require(
            bool(_NAME_RE.match(name)),
            "PlatformManagedPolicy",
            f"name {name!r} must be 1-128 letters, digits and +=,.@_-",
        )
        require(
            document.get("Version") == "2012-10-17" and bool(document.get("Statement")),
            "PlatformManagedPolicy",
            f"{name}: the document needs Version 2012-10-17 and at least one statement",
        )
        for statement in document["Statement"]:
            actions = statement.get("Action")
            resources = statement.get("Resource")
            require(
                not (
                    statement.get("Effect") == "Allow"
                    and actions in ("*", ["*"])
                    and resources in ("*", ["*"])
                ),
                "PlatformManagedPolicy",
                f"{name}: statement {statement.get('Sid', '?')} allows Action * on "
                "Resource *; name the actions and resources",
            )
        size = policy_chars(document)
        require(
            size <= MAX_MANAGED_POLICY_CHARS,
            "PlatformManagedPolicy",
            f"{name}: the document is about {size} characters, over IAM's "
            f"{MAX_MANAGED_POLICY_CHARS}; split it into two policies",
        )
        super().__init__(
            scope, id, managed_policy_name=name, description=description, policy_document=document
        )
        facts = stack_facts(scope)
        self.policy_name = name
        self.policy_arn = f"arn:{facts.partition}:iam::{facts.account}:policy/{name}"
