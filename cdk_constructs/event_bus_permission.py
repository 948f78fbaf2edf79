"""Let one other account put events on this account's event bus."""

from __future__ import annotations

import builtins
import re

import jsii
from aws_cdk import aws_events as events
from constructs import Construct

from cdk_constructs._jsii_memo import stack_facts
from cdk_constructs._validation import require

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_STATEMENT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class EventBusPutPermission(events.CfnEventBusPolicy):
    """A bus-policy statement allowing ``events:PutEvents`` from exactly one other account
    (its root principal: the sending account's own rules and roles), on one bus of this
    account and region. It is the CloudFormation resource itself (logical id = path).

    Refused: anything but a 12-digit account id, this stack's own account (its rules need no
    bus permission), and a statement id EventBridge would reject."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source_account: str,
        event_bus_name: str = "default",
        statement_id: str | None = None,
    ) -> None:
        facts = stack_facts(scope)
        require(
            bool(_ACCOUNT_RE.match(source_account)),
            "EventBusPutPermission",
            f"source_account {source_account!r} must be a 12-digit account id",
        )
        require(
            source_account != facts.account,
            "EventBusPutPermission",
            f"{source_account} is this stack's own account; it needs no bus permission",
        )
        statement_id = statement_id or f"put-events-from-{source_account}"
        require(
            bool(_STATEMENT_ID_RE.match(statement_id)),
            "EventBusPutPermission",
            f"statement_id {statement_id!r} must be 1-64 letters, digits, - or _",
        )
        super().__init__(
            scope,
            id,
            statement_id=statement_id,
            event_bus_name=event_bus_name,
            statement={
                "Sid": statement_id,
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{facts.partition}:iam::{source_account}:root"},
                "Action": "events:PutEvents",
                "Resource": f"arn:{facts.partition}:events:{facts.region}:{facts.account}:"
                f"event-bus/{event_bus_name}",
            },
        )
        self.source_account = source_account

    # CfnEventBusPolicy's top-level ``principal`` is deprecated (the statement carries the
    # principal). cdk-nag's EventBus rule reads it on every synth, and the deprecated getter
    # printed a warning each time; this override answers "not set" without the warning, and
    # the rule still checks the statement.
    @builtins.property
    @jsii.member(jsii_name="principal")
    def principal(self) -> str | None:
        return None

    @principal.setter
    def principal(self, value: str | None) -> None:
        raise TypeError(
            "EventBusPutPermission: the principal is in the statement; "
            "the deprecated top-level principal is not used"
        )
