"""An IAM role for people: who may assume it comes from configuration, MFA by default."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property

from aws_cdk import CfnTag
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs._jsii_memo import adopt
from cdk_constructs._validation import require
from platform_config._model import principal_kind

_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
MAX_MANAGED_POLICIES = 10  # IAM's default quota of managed policies per role


def trust_policy(
    principals: Sequence[str],
    *,
    account: str,
    partition: str,
    require_mfa: bool,
    session_name: str | None = None,
    max_mfa_age_seconds: int | None = None,
) -> dict:
    """A trust policy for people. One statement per kind of principal:

    - account ids (``{account}`` = this environment's account): IAM principals of that
      account, with ``aws:MultiFactorAuthPresent`` when ``require_mfa`` (and an MFA age
      limit when given);
    - SAML provider ARNs: ``sts:AssumeRoleWithSAML`` for the console and CLI audiences
      (MFA is enforced by the identity provider: AWS does not see it);
    - IAM role ARNs or patterns (IAM Identity Center roles): the role's account, with
      ``aws:PrincipalArn`` matching (MFA is enforced by Identity Center at sign-in).

    ``session_name`` pins ``sts:RoleSessionName`` so that only the named person can assume
    a per-user role. With no principals, this environment's account is trusted (with MFA).
    """
    resolved = [p.replace("{account}", account) for p in principals] or [account]
    kinds: dict[str, list[str]] = {"account": [], "saml": [], "role": []}
    for principal in resolved:
        kinds[principal_kind(principal)].append(principal)
    session = {"StringEquals": {"sts:RoleSessionName": session_name}} if session_name else {}
    statements: list[dict] = []
    if kinds["account"]:
        conditions: dict = dict(session)
        if require_mfa:
            conditions["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
            if max_mfa_age_seconds:
                conditions["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age_seconds)}
        statement = {
            "Sid": "AccountPrincipals",
            "Effect": "Allow",
            "Principal": {
                "AWS": sorted(f"arn:{partition}:iam::{a}:root" for a in kinds["account"])
            },
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        }
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    if kinds["saml"]:
        statements.append(
            {
                "Sid": "SamlFederation",
                "Effect": "Allow",
                "Principal": {"Federated": sorted(kinds["saml"])},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
                "Condition": {
                    "StringEquals": {
                        "SAML:aud": "https://signin.aws.amazon.com/saml",
                        **({"sts:RoleSessionName": session_name} if session_name else {}),
                    }
                },
            }
        )
    if kinds["role"]:
        role_accounts = sorted({r.split(":")[4] for r in kinds["role"]})
        statements.append(
            {
                "Sid": "IdentityCenterRoles",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{partition}:iam::{a}:root" for a in role_accounts]},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {"ArnLike": {"aws:PrincipalArn": sorted(kinds["role"])}, **session},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


class HumanRole(Construct):
    """A role people assume. Secure by default: its permissions are customer-managed
    policies only (never inline), one-hour sessions, trust built by :func:`trust_policy`
    (MFA unless disabled), and platform identity tags for ABAC. ``role`` is an immutable
    :class:`iam.IRole`, so grants made elsewhere cannot silently widen it.

    Refused: a role name IAM would reject, fewer than 1 or more than 10 managed policies,
    and a principal that is not an account id, a SAML provider ARN or an IAM role ARN or
    pattern.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role_name: str,
        description: str,
        principals: Sequence[str],
        managed_policies: Sequence[iam.IManagedPolicy | str],
        require_mfa: bool = True,
        session_name: str | None = None,
        max_mfa_age_seconds: int | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_ROLE_NAME_RE.match(role_name)),
            "HumanRole",
            f"role_name {role_name!r} must be 1-64 characters of letters, digits and +=,.@_-",
        )
        require(
            0 < len(managed_policies) <= MAX_MANAGED_POLICIES,
            "HumanRole",
            f"give 1..{MAX_MANAGED_POLICIES} managed policies (got {len(managed_policies)})",
        )
        for principal in principals:
            try:
                principal_kind(principal)
            except ValueError as exc:
                require(False, "HumanRole", str(exc))
        stack = adopt(self, scope)
        self.role_name = role_name
        self.trust = trust_policy(
            principals,
            account=stack.account,
            partition=stack.partition,
            require_mfa=require_mfa,
            session_name=session_name,
            max_mfa_age_seconds=max_mfa_age_seconds,
        )
        arns = [p if isinstance(p, str) else p.managed_policy_arn for p in managed_policies]
        self.resource = iam.CfnRole(
            self,
            "Resource",
            role_name=role_name,
            description=description,
            assume_role_policy_document=self.trust,
            managed_policy_arns=arns,
            max_session_duration=3600,
            tags=[CfnTag(key=k, value=v) for k, v in sorted((tags or {}).items())] or None,
        )
        self.role_arn = f"arn:{stack.partition}:iam::{stack.account}:role/{role_name}"
        for policy in managed_policies:
            if not isinstance(policy, str):
                self.resource.node.add_dependency(policy)

    @cached_property
    def role(self) -> iam.IRole:
        """The role as an immutable :class:`iam.IRole` (created on first use: hundreds of
        per-user access roles never need one, and each costs jsii calls)."""
        return iam.Role.from_role_arn(self, "Imported", self.resource.attr_arn, mutable=False)
