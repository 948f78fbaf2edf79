"""An SNS topic for people: KMS-encrypted, TLS-only, e-mail subscribers from config."""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_constructs._validation import require

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class SecureTopic(Construct):
    """KMS encryption with a customer key, a policy denying non-TLS publishing, e-mail
    subscriptions, and (optionally) publishing rights for AWS services of this account
    only (CloudWatch alarms, EventBridge rules)."""

    def __init__(self, scope: Construct, id: str, *, display_name: str, master_key: kms.IKey,
                 emails: list[str], allow_services: tuple[str, ...] = (),
                 topic_name: str | None = None) -> None:
        super().__init__(scope, id)
        require(master_key is not None, "SecureTopic", "master_key is required (CMK encryption)")
        for email in emails:
            require(bool(_EMAIL_RE.match(email)), "SecureTopic", f"{email!r} is not an e-mail address")
        for service in allow_services:
            require(service.endswith(".amazonaws.com"), "SecureTopic",
                    f"{service!r} is not a service principal")
        require(topic_name is None or bool(re.fullmatch(r"[A-Za-z0-9_-]{1,256}", topic_name)),
                "SecureTopic", f"topic_name {topic_name!r} must be 1-256 letters, digits, - or _")
        stack = Stack.of(self)
        # A fixed name lets key policies in other stacks name the topic without a reference.
        self.topic = sns.Topic(self, "Topic", display_name=display_name, master_key=master_key,
                               enforce_ssl=True, topic_name=topic_name)
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
