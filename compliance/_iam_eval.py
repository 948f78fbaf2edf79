"""A small, offline IAM policy evaluator: enough of AWS's documented evaluation logic to
decide whether one request is allowed by the policies of a synthesized assembly.

What it implements (IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements
reference"):

- ``Effect`` Allow/Deny; an explicit Deny in any policy wins; no Allow means implicit deny;
- ``Action``/``NotAction`` (case-insensitive, ``*`` and ``?`` wildcards);
- ``Resource``/``NotResource`` (case-sensitive wildcards);
- ``Principal``/``NotPrincipal`` in resource-based policies: ``*``, account ids and account
  root ARNs (the account *delegates* to its IAM policies), role ARNs (also matching an
  assumed-role session of that role), service principals and federated principals;
- ``Condition``: the String*, Arn*, Bool, Null, Numeric* and (Not)IpAddress operators,
  ``...IfExists``, ``ForAnyValue:``/``ForAllValues:`` set operators, case-insensitive keys,
  and the rule that a negated operator on a key absent from the request is true;
- the cross-account rule: a principal of another account needs both its identity policy and
  the resource policy to allow; within one account either suffices, except for KMS keys and
  role trust policies, where the key policy (or trust policy) must allow, directly or by
  delegating to the account.

Not implemented (not used by the platform's templates): policy variables, SCPs, permission
boundaries, session policies, ``aws:PrincipalOrgID``. :func:`unsupported_operators` reports
any operator it does not know, so a template that starts using one fails loudly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALLOW, DENY, IMPLICIT = "Allow", "Deny", "Implicit"

_STRING_OPS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
}
_ARN_OPS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
_NUM_OPS = {
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
}
_IP_OPS = {"IpAddress", "NotIpAddress"}
KNOWN_OPERATORS = _STRING_OPS | _ARN_OPS | _NUM_OPS | _IP_OPS | {"Bool", "Null"}


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character; nothing else is
    special (``[`` is literal, unlike fnmatch)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an IAM role (``arn``), or an AWS service principal."""

    arn: str | None = None  # role ARN
    service: str | None = None  # e.g. "cloudwatch.amazonaws.com"
    account: str | None = None  # the principal's account (for a service: none)

    @staticmethod
    def role(arn: str) -> Principal:
        return Principal(arn=arn, account=arn.split(":")[4])

    @staticmethod
    def aws_service(name: str) -> Principal:
        return Principal(service=name)

    def __str__(self) -> str:
        return self.arn or f"service:{self.service}"


@dataclass
class Request:
    principal: Principal
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)

    def context_value(self, key: str) -> list[str] | None:
        """Values of a condition key (keys are case-insensitive), None when absent."""
        lower = key.lower()
        for k, v in self.full_context().items():
            if k.lower() == lower:
                return [str(x) if not isinstance(x, bool) else str(x).lower() for x in as_list(v)]
        return None

    def full_context(self) -> dict[str, Any]:
        ctx: dict[str, Any] = {"aws:SecureTransport": "true"}
        if self.principal.arn:
            ctx["aws:PrincipalArn"] = self.principal.arn
            ctx["aws:PrincipalAccount"] = self.principal.account
            ctx["aws:PrincipalIsAWSService"] = "false"
        else:
            ctx["aws:PrincipalIsAWSService"] = "true"
            ctx["aws:PrincipalServiceName"] = self.principal.service
        ctx.update(self.context)
        return ctx


# --- conditions ---------------------------------------------------------------------------


def _compare(op: str, pattern: str, value: str) -> bool:
    if op in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        return pattern == value if op.startswith("String") else _arn_match(pattern, value, False)
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return pattern.lower() == value.lower()
    if op in ("StringLike", "StringNotLike"):
        return wildcard_match(pattern, value)
    if op in ("ArnLike", "ArnNotLike"):
        return _arn_match(pattern, value, True)
    if op in _NUM_OPS:
        a, b = float(value), float(pattern)
        return {
            "NumericEquals": a == b,
            "NumericNotEquals": a == b,
            "NumericLessThan": a < b,
            "NumericLessThanEquals": a <= b,
            "NumericGreaterThan": a > b,
            "NumericGreaterThanEquals": a >= b,
        }[op]
    if op == "Bool":
        return pattern.lower() == value.lower()
    if op == "IpAddress":  # a CIDR (or single address) and the request's address
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    raise ValueError(f"unsupported condition operator {op}")


def _arn_match(pattern: str, value: str, like: bool) -> bool:
    # ArnEquals and ArnLike behave the same in IAM: wildcards allowed in each of the six
    # colon-delimited parts.
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != len(v_parts):
        return False
    return all(wildcard_match(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _any_match(op: str, patterns: list[str], value: str) -> bool:
    return any(_compare(op, p, value) for p in patterns)


def _negated(op: str) -> bool:
    return "Not" in op


def condition_block_matches(conditions: dict, request: Request) -> bool:
    for raw_op, entries in (conditions or {}).items():
        qualifier, _, op = raw_op.rpartition(":")
        if_exists = op.endswith("IfExists")
        base = op[: -len("IfExists")] if if_exists else op
        if base not in KNOWN_OPERATORS:
            raise ValueError(f"unsupported condition operator {raw_op}")
        for key, expected in entries.items():
            patterns = [
                str(p).lower() if isinstance(p, bool) else str(p) for p in as_list(expected)
            ]
            values = request.context_value(key)
            if base == "Null":
                absent = values is None
                if not any((p.lower() == "true") == absent for p in patterns):
                    return False
                continue
            if values is None:
                if if_exists:
                    continue
                if qualifier == "ForAllValues":
                    continue  # vacuously true on an empty set
                if _negated(base) and not qualifier:
                    continue
                return False
            negated = _negated(base)
            positive = base.replace("Not", "") if negated else base

            if qualifier == "ForAllValues":
                ok = all(
                    (not _any_match(positive, patterns, v))
                    if negated
                    else _any_match(positive, patterns, v)
                    for v in values
                )
            elif qualifier == "ForAnyValue":
                ok = any(
                    (not _any_match(positive, patterns, v))
                    if negated
                    else _any_match(positive, patterns, v)
                    for v in values
                )
            else:
                matched = any(_any_match(positive, patterns, v) for v in values)
                ok = not matched if negated else matched
            if not ok:
                return False
    return True


def unsupported_operators(policy: dict) -> set[str]:
    found = set()
    for statement in as_list(policy.get("Statement")):
        for raw_op in statement.get("Condition") or {}:
            base = raw_op.rpartition(":")[2]
            base = base[: -len("IfExists")] if base.endswith("IfExists") else base
            if base not in KNOWN_OPERATORS:
                found.add(raw_op)
    return found


# --- statements -----------------------------------------------------------------------------


def _action_matches(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(
            wildcard_match(a, action, ignore_case=True) for a in as_list(statement["NotAction"])
        )
    return any(
        wildcard_match(a, action, ignore_case=True) for a in as_list(statement.get("Action"))
    )


def _resource_matches(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(wildcard_match(r, resource) for r in as_list(statement["NotResource"]))
    if "Resource" not in statement:
        return True  # trust policies have no Resource
    return any(wildcard_match(r, resource) for r in as_list(statement["Resource"]))


def _principal_kind(principal_element: Any, principal: Principal) -> str | None:
    """How a Principal element names the caller: "direct" (the caller itself, a service, or
    ``*``), "account" (the caller's account root: delegation to its IAM policies), or None."""
    if principal_element == "*":
        return "direct"
    if not isinstance(principal_element, dict):
        return None
    best = None
    for kind, values in principal_element.items():
        for value in as_list(values):
            value = str(value)
            if kind == "AWS":
                if value == "*":
                    return "direct"
                if principal.arn is None:
                    continue
                if re.fullmatch(r"\d{12}", value) or value.endswith(":root"):
                    account = value if value.isdigit() else value.split(":")[4]
                    if account == principal.account:
                        best = best or "account"
                elif value == principal.arn:
                    return "direct"
            elif kind == "Service" and principal.service and value == principal.service:
                return "direct"
            elif kind == "Federated" and principal.arn is None and principal.service == value:
                return "direct"
    return best


@dataclass(frozen=True)
class Decision:
    effect: str  # Allow / Deny / Implicit
    via: str = ""  # "direct" or "account" for resource policies
    sids: tuple[str, ...] = ()


def evaluate(policy: dict | None, request: Request, *, resource_policy: bool) -> Decision:
    """One policy document against one request. Resource policies also match the
    Principal element; identity policies apply to their holder."""
    if not policy:
        return Decision(IMPLICIT)
    allows: list[tuple[str, str]] = []
    for statement in as_list(policy.get("Statement")):
        if not _action_matches(statement, request.action):
            continue
        if not _resource_matches(statement, request.resource):
            continue
        via = "direct"
        if resource_policy:
            if "NotPrincipal" in statement:
                kind = _principal_kind(statement["NotPrincipal"], request.principal)
                if kind is not None:
                    continue
            else:
                kind = _principal_kind(statement.get("Principal"), request.principal)
                if kind is None:
                    continue
                via = kind
        if not condition_block_matches(statement.get("Condition") or {}, request):
            continue
        sid = statement.get("Sid", "")
        if statement.get("Effect") == "Deny":
            return Decision(DENY, sids=(sid,))
        allows.append((via, sid))
    if not allows:
        return Decision(IMPLICIT)
    via = "direct" if any(v == "direct" for v, _ in allows) else "account"
    return Decision(ALLOW, via=via, sids=tuple(s for _, s in allows))


def evaluate_all(policies: Iterable[dict], request: Request, *, resource_policy: bool) -> Decision:
    """Several documents of the same kind (e.g. every identity policy of a role)."""
    allows: list[Decision] = []
    for policy in policies:
        decision = evaluate(policy, request, resource_policy=resource_policy)
        if decision.effect == DENY:
            return decision
        if decision.effect == ALLOW:
            allows.append(decision)
    if not allows:
        return Decision(IMPLICIT)
    via = "direct" if any(d.via == "direct" for d in allows) else "account"
    return Decision(ALLOW, via=via, sids=tuple(s for d in allows for s in d.sids))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def authorize(
    request: Request,
    *,
    identity_policies: list[dict] | None,
    resource_policies: list[dict] | None,
    resource_account: str | None,
    resource_policy_required: bool = False,
) -> Verdict:
    """AWS's decision for one request.

    ``identity_policies`` None: the caller is a service principal (no identity policy).
    ``resource_policies`` None: the target has no resource-based policy.
    ``resource_policy_required``: KMS keys and role trust policies, which must allow the
    request themselves (directly, or by naming the caller's account, which then delegates
    to the caller's identity policies)."""
    identity = (
        evaluate_all(identity_policies, request, resource_policy=False)
        if identity_policies is not None
        else Decision(IMPLICIT)
    )
    resource = (
        evaluate_all(resource_policies, request, resource_policy=True)
        if resource_policies is not None
        else Decision(IMPLICIT)
    )
    if identity.effect == DENY:
        return Verdict(False, f"explicit Deny in the caller's policy ({', '.join(identity.sids)})")
    if resource.effect == DENY:
        return Verdict(False, f"explicit Deny in the resource policy ({', '.join(resource.sids)})")
    service_caller = identity_policies is None
    cross_account = (
        not service_caller
        and resource_account is not None
        and request.principal.account != resource_account
    )
    id_ok = identity.effect == ALLOW
    res_direct = resource.effect == ALLOW and resource.via == "direct"
    res_account = resource.effect == ALLOW and resource.via == "account"
    if service_caller:
        if res_direct:
            return Verdict(True, "resource policy allows the service")
        return Verdict(False, "no resource-policy statement allows the service principal")
    if cross_account:
        if not id_ok:
            return Verdict(False, "cross-account: the caller's identity policy does not allow it")
        if not (res_direct or res_account):
            return Verdict(False, "cross-account: the resource policy does not allow the caller")
        return Verdict(True, "identity and resource policies allow it")
    if resource_policy_required:
        if res_direct:
            return Verdict(True, "resource policy allows the caller")
        if res_account and id_ok:
            return Verdict(
                True, "resource policy delegates to IAM and the identity policy allows it"
            )
        if not (res_direct or res_account):
            return Verdict(False, "the key or trust policy does not allow the caller")
        return Verdict(False, "the identity policy does not allow it")
    if id_ok or res_direct:
        return Verdict(True, "allowed")
    return Verdict(False, "no identity-policy statement allows it")
