"""IAM review: for each role, who may assume it, what it may do (summarised by service), and
every statement whose resource is a wildcard. Inline policies, AWS::IAM::Policy and
AWS::IAM::ManagedPolicy attached by reference, and AWS managed policies by ARN."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from review.assembly import Environment, Resource, as_list, refs, render_value


@dataclass
class Statement:
    source: str  # policy name / logical id
    effect: str
    actions: list[str]
    resources: list[str]
    conditions: bool

    @property
    def wildcard_resource(self) -> bool:
        return any("*" in r for r in self.resources)

    @property
    def full_wildcard(self) -> bool:
        return "*" in self.resources


@dataclass
class RoleReview:
    env: str
    logical_id: str
    path: str
    trusted: list[str]
    trust_conditions: list[str]
    statements: list[Statement] = field(default_factory=list)
    aws_managed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, list[str]]:
        by_service: dict[str, set[str]] = defaultdict(set)
        for s in self.statements:
            if s.effect != "Allow":
                continue
            for a in s.actions:
                service, _, name = a.partition(":")
                by_service[service if name else "*"].add(name or a)
        return {k: sorted(v) for k, v in sorted(by_service.items())}

    @property
    def wildcard_statements(self) -> list[Statement]:
        return [s for s in self.statements if s.effect == "Allow" and s.wildcard_resource]


def _principals(statement: dict) -> list[str]:
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["* (anyone)"]
    out = []
    for kind, values in (principal or {}).items():
        out += [f"{kind}: {render_value(v)}" for v in as_list(values)]
    return out


def _statements(doc: Any, source: str) -> list[Statement]:
    out = []
    for s in as_list((doc or {}).get("Statement") if isinstance(doc, dict) else None):
        if not isinstance(s, dict):
            continue
        actions = [render_value(a) for a in as_list(s.get("Action") or s.get("NotAction"))]
        if "NotAction" in s:
            actions = [f"NOT {a}" for a in actions]
        resources = [render_value(r) for r in as_list(s.get("Resource") or s.get("NotResource"))]
        out.append(Statement(source, s.get("Effect", "Allow"), actions, resources, bool(s.get("Condition"))))
    return out


def review_roles(env: Environment) -> list[RoleReview]:
    resources = {r.logical_id: r for r in env.resources}
    roles = [r for r in env.resources if r.type == "AWS::IAM::Role"]
    attached: dict[str, list[Resource]] = defaultdict(list)
    for r in env.resources:
        if r.type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role_ref in as_list(r.props.get("Roles")):
                for target in refs(role_ref):
                    attached[target].append(r)
    reviews = []
    for role in roles:
        trust = _statements_raw(role.props.get("AssumeRolePolicyDocument"))
        review = RoleReview(
            env=env.name, logical_id=role.logical_id, path=role.short_path,
            trusted=sorted({p for s in trust for p in _principals(s)}),
            trust_conditions=sorted({f"{op} {key}" for s in trust for op, cond in (s.get("Condition") or {}).items()
                                     for key in cond}),
        )
        for policy in as_list(role.props.get("Policies")):
            review.statements += _statements(policy.get("PolicyDocument"), f"inline {policy.get('PolicyName', '')}")
        for arn in as_list(role.props.get("ManagedPolicyArns")):
            targets = [resources[t] for t in refs(arn) if t in resources]
            if targets:
                for t in targets:
                    review.statements += _statements(t.props.get("PolicyDocument"), t.logical_id)
            else:
                review.aws_managed.append(render_value(arn).split(":policy/")[-1])
        for policy in attached.get(role.logical_id, []):
            review.statements += _statements(policy.props.get("PolicyDocument"), policy.logical_id)
        reviews.append(review)
    return sorted(reviews, key=lambda r: r.path)


def _statements_raw(doc: Any) -> list[dict]:
    return [s for s in as_list((doc or {}).get("Statement") if isinstance(doc, dict) else None) if isinstance(s, dict)]
