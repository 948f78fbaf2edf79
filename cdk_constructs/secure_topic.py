"""An SNS topic for people: KMS-encrypted, TLS-only, e-mail subscribers from config."""

from __future__ import annotations

import re

import jsii
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from cdk_constructs._validation import require

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """An EventBridge target for a :class:`SecureTopic`. Unlike ``aws_events_targets.SnsTopic``
    it adds no statements: CDK's target would add an unconditioned ``events.amazonaws.com``
    grant to the topic policy and to the topic's KMS key. The topic's ``allow_services`` and
    the key's :meth:`ManagedKey.allow_sns_publishers` grant EventBridge instead, scoped to
    this account and its topics."""

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput | None = None) -> None:
        self._topic = topic
        self._message = message

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn, input=self._message)


class SecureTopic(Construct):
    """KMS encryption with a customer key, a policy denying non-TLS publishing, e-mail
    subscriptions, and (optionally) publishing rights for AWS services of this account
    only (CloudWatch alarms, EventBridge rules).

    Refused: a missing ``master_key``, a topic name SNS would reject, an address that is not
    an e-mail address, and an ``allow_services`` entry that is not a service principal.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        display_name: str,
        master_key: kms.IKey,
        emails: list[str],
        allow_services: tuple[str, ...] = (),
        topic_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(master_key is not None, "SecureTopic", "master_key is required (CMK encryption)")
        for email in emails:
            require(
                bool(_EMAIL_RE.match(email)), "SecureTopic", f"{email!r} is not an e-mail address"
            )
        for service in allow_services:
            require(
                service.endswith(".amazonaws.com"),
                "SecureTopic",
                f"{service!r} is not a service principal",
            )
        require(
            topic_name is None or bool(re.fullmatch(r"[A-Za-z0-9_-]{1,256}", topic_name)),
            "SecureTopic",
            f"topic_name {topic_name!r} must be 1-256 letters, digits, - or _",
        )
        stack = Stack.of(self)
        # A fixed name lets key policies in other stacks name the topic without a reference.
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=display_name,
            master_key=master_key,
            enforce_ssl=True,
            topic_name=topic_name,
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        for service in allow_services:
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Publish{service.split('.')[0].capitalize()}",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                )
            )

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def as_rule_target(self, message: events.RuleTargetInput | None = None) -> TopicTarget:
        """This topic as an EventBridge rule target (create it with ``allow_services``
        including ``events.amazonaws.com``)."""
        return TopicTarget(self.topic, message)
