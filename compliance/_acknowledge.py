"""How acknowledgements of compliance findings are applied (the mechanism, shipped).

An app lists the findings it accepts as :class:`Acknowledgement` entries (construct path,
exact finding id, reason) and :func:`acknowledge_findings` records them on the constructs
they name, all of one construct's in a single ``Validations.of(...).acknowledge()`` call.
It refuses what a reviewer would refuse: an entry on a whole stack, stage or app; an entry
that covers a whole granular rule (``AwsSolutions-IAM5``) or a pattern of rules instead of
one finding; an entry without a reason; an entry that matches nothing. Which findings an
app accepts is the app's own reviewed list (the platform's is ``compliance/acknowledgements.py``,
which is not shipped).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from compliance._packs import NAG_PACKS

if TYPE_CHECKING:  # importing the CDK starts jsii: only where a construct tree is walked
    from constructs import Construct, IConstruct

# The cdk-nag 3 rules that report one finding per item (``Rule[finding]``), as the packs'
# own rule explanations say ("This is a granular rule that returns individual findings").
# tests/test_compliance.py re-derives this set from the installed cdk-nag and fails when a
# new release adds one. Acknowledging such a rule without its finding would accept findings
# nobody has seen: every action and resource of every policy (IAM5), every managed policy.
GRANULAR_RULES = frozenset(
    {
        "AwsSolutions-EKS2",
        "AwsSolutions-RDS16",
        "AwsSolutions-DOC5",
        "AwsSolutions-OS9",
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "HIPAA.Security-RDSLoggingEnabled",
        "NIST.800.53.R4-RDSLoggingEnabled",
        "NIST.800.53.R5-RDSLoggingEnabled",
        "PCI.DSS.321-RDSLoggingEnabled",
    }
)


class AcknowledgementRefused(ValueError):
    """Raised by :func:`acknowledge_findings` when an entry would accept more than one
    finding on one resource, has no reason, or matches no construct; the message names
    each refused entry and what to change."""


@dataclass(frozen=True)
class Acknowledgement:
    """One accepted finding on one resource: where, which finding, and why.

    ``path`` is the construct path relative to the scope given to
    :func:`acknowledge_findings` (for an app: ``"RiskData/AccessLogs/Bucket/Resource"``);
    a segment may be an fnmatch pattern (``*`` does not cross ``/``) for constructs made
    per item, e.g. per user. ``finding`` is the id the failed synth prints
    (``compliance.summarize_validation_failure``): a cdk-nag rule id such as
    ``"NIST.800.53.R5-S3BucketReplicationEnabled"``, granular where the rule reports
    granular findings (``"AwsSolutions-IAM5[Action::s3:GetObject*]"``), or
    ``"<plugin>::<rule>"`` for other validators
    (``"cdk-validator-cfnguard::s3_bucket_logging_enabled_check"``). It may name
    placeholders such as ``{account}``, filled from ``placeholders``. ``reason`` is the
    reason a reviewer accepted.
    """

    path: str
    finding: str
    reason: str

    @property
    def plugin(self) -> str:
        """The validator that reports the finding (the acknowledgement id's prefix)."""
        for prefix, plugin in NAG_PACKS.items():
            if self.finding.startswith(prefix + "-"):
                return plugin
        if "::" in self.finding.split("[", 1)[0]:
            return self.finding.split("::", 1)[0]
        raise AcknowledgementRefused(
            f"{self.finding}: unknown rule pack; prefix it with its plugin name "
            f"('<plugin>::<rule>'), e.g. 'cdk-validator-cfnguard::<rule>'"
        )

    @property
    def rule(self) -> str:
        """The rule id (with its granular finding, if any), without the plugin prefix."""
        head, sep, tail = self.finding.partition("[")
        return head.split("::", 1)[-1] + sep + tail

    @property
    def acknowledgement_id(self) -> str:
        """``<plugin>::<rule>``: the id ``Validations.acknowledge`` records."""
        return f"{self.plugin}::{self.rule}"

    def rule_in(self, **placeholders: str | None) -> str:
        """The rule id with each ``{name}`` placeholder replaced by its value (names whose
        value is ``None`` are left as they are)."""
        rule = self.rule
        for name, value in placeholders.items():
            if value is not None:
                rule = rule.replace("{" + name + "}", value)
        return rule


def problems_of(ack: Acknowledgement) -> list[str]:
    """What is wrong with one entry before it is applied (empty: nothing)."""
    problems = []
    rule_head = ack.finding.split("[", 1)[0].split("::", 1)[-1]
    try:
        ack.plugin  # noqa: B018 (raises on an unknown pack)
    except AcknowledgementRefused as refused:
        problems.append(str(refused))
    if any(c in rule_head for c in "*?") or not rule_head.strip():
        problems.append(
            f"{ack.finding!r} names a pattern of rules (or none): name one rule, e.g. "
            "'NIST.800.53.R5-S3BucketReplicationEnabled'"
        )
    elif rule_head in GRANULAR_RULES and "[" not in ack.finding:
        problems.append(
            f"{ack.finding!r} acknowledges every finding of a granular rule: name the one "
            f"finding you accept as the failed synth prints it, '{rule_head}[<finding>]' "
            "(e.g. 'AwsSolutions-IAM5[Action::s3:GetObject*]')"
        )
    if not ack.reason.strip():
        problems.append(f"{ack.finding!r} at {ack.path!r} has no reason: say why it is accepted")
    return problems


class Tree:
    """A memo of the construct tree under one scope, read through jsii once.

    Every jsii call is a round trip to node (about half a millisecond); many entries share
    path prefixes and per-item patterns list the same children, so each node's children
    and each (node, id) lookup are fetched only once."""

    def __init__(self) -> None:
        self._children: dict[str, list[tuple[str, IConstruct]]] = {}
        self._child: dict[tuple[str, str], IConstruct | None] = {}

    @staticmethod
    def key(node: Any) -> str:  # any jsii object (IConstruct does not declare __jsii_ref__)
        return node.__jsii_ref__.ref  # jsii's object id: stable for the node's lifetime

    def children(self, node: IConstruct) -> list[tuple[str, IConstruct]]:
        key = self.key(node)
        if key not in self._children:
            # A construct's string form is its path (one jsii call, against two for
            # ``c.node.id``); ids never contain '/'.
            self._children[key] = [
                (cast("Construct", c).to_string().rsplit("/", 1)[-1], c) for c in node.node.children
            ]
        return self._children[key]

    def child(self, node: IConstruct, segment: str) -> IConstruct | None:
        key = (self.key(node), segment)
        if key not in self._child:
            listed = self._children.get(key[0])
            self._child[key] = (
                dict(listed).get(segment)
                if listed is not None
                else node.node.try_find_child(segment)
            )
        return self._child[key]


def resolve(scope: IConstruct, ack: Acknowledgement, tree: Tree | None = None) -> list[IConstruct]:
    """Constructs under ``scope`` whose scope-relative path matches the acknowledgement.

    Patterns match segment by segment (``*`` does not cross ``/``), walking down only the
    matching branches: reading every construct's path for every entry would cost minutes
    of jsii calls in an app with hundreds of per-user constructs."""
    tree = tree or Tree()
    level: list[IConstruct] = [scope]
    for segment in [s for s in ack.path.split("/") if s]:  # "" names the scope itself
        wildcard = any(c in segment for c in "*?[")
        following: list[IConstruct] = []
        for node in level:
            if wildcard:
                following += [
                    c for cid, c in tree.children(node) if fnmatch.fnmatchcase(cid, segment)
                ]
            else:
                child = tree.child(node, segment)
                if child is not None:
                    following.append(child)
        level = following
    return level


def apply(
    scope: IConstruct,
    acknowledgements: Iterable[Acknowledgement],
    *,
    placeholders: Mapping[str, str | None] | None = None,
    plugins: Collection[str] | None = None,
    allow_unmatched: bool = False,
    tree: Tree | None = None,
) -> None:
    """:func:`acknowledge_findings`, with a tree memo the caller may reuse."""
    from aws_cdk import Acknowledgment, App, Stack, Stage, Validations

    tree = tree or Tree()
    values = dict(placeholders or {})
    refused: list[str] = []
    per_node: dict[str, tuple[IConstruct, dict[str, str]]] = {}
    for ack in acknowledgements:
        problems = problems_of(ack)
        if problems:
            refused += problems
            continue
        if plugins is not None and ack.plugin not in plugins:
            continue
        acknowledgement_id = f"{ack.plugin}::{ack.rule_in(**values)}"
        nodes = resolve(scope, ack, tree)
        if not nodes and not allow_unmatched:
            refused.append(
                f"{ack.finding!r} at {ack.path!r} matches no construct under "
                f"{scope.node.path or 'the app'!r}: give the path relative to it as the "
                "failed synth prints it, or delete the entry"
            )
        # A node below the scope always has a parent: only an entry for the scope itself
        # ("") can name a root, and only then is it worth the two jsii calls to ask (once
        # per matched node; with 500 notebook instances, 2,000 calls).
        names_scope = not [s for s in ack.path.split("/") if s]
        for node in nodes:
            if isinstance(node, (Stack, Stage, App)) or (names_scope and node.node.scope is None):
                refused.append(
                    f"{ack.finding!r} at {ack.path!r} targets a whole {type(node).__name__}: "
                    "name the resource it applies to (e.g. '<stack>/<construct>/Resource')"
                )
                continue
            entry = per_node.setdefault(tree.key(node), (node, {}))
            entry[1][acknowledgement_id] = ack.reason
    if refused:
        raise AcknowledgementRefused(
            f"{len(refused)} acknowledgement(s) refused:\n" + "\n".join(f"- {r}" for r in refused)
        )
    for node, findings in per_node.values():
        Validations.of(node).acknowledge(
            *(Acknowledgment(id=finding, reason=reason) for finding, reason in findings.items())
        )


def acknowledge_findings(
    scope: IConstruct,
    acknowledgements: Iterable[Acknowledgement],
    *,
    placeholders: Mapping[str, str] | None = None,
    plugins: Collection[str] | None = None,
    allow_unmatched: bool = False,
) -> None:
    """Record each accepted finding on the construct its path names under ``scope``.

    All entries of one construct go into one ``Validations.of(construct).acknowledge()``
    call; a later entry for the same finding on the same construct replaces the earlier.
    Defaults: every entry must match at least one construct (``allow_unmatched=True``
    accepts entries for constructs that exist only in some configurations); entries of
    every validator are recorded (``plugins``, names as in ``compliance.plugin_names()``,
    limits them to the validators that run); no placeholders (``placeholders={"account":
    ...}`` fills ``{account}`` in finding ids).

    Refused (``AcknowledgementRefused``, nothing recorded, every refused entry listed
    with what to change): an entry whose path resolves to a whole stack, stage or app; a
    finding that names a pattern of rules (``AwsSolutions-*``) or a granular rule without
    its finding (``AwsSolutions-IAM5`` instead of ``AwsSolutions-IAM5[Action::s3:*]``); a
    finding of an unknown rule pack without ``<plugin>::``; an empty reason; an entry that
    matches no construct.
    """
    apply(
        scope,
        acknowledgements,
        placeholders=placeholders,
        plugins=plugins,
        allow_unmatched=allow_unmatched,
    )
