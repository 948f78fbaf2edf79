"""A small evaluator of IAM policy semantics, for testing guardrails against request contexts.

It implements what the IAM User Guide's "Policy evaluation logic" and "Condition operators"
pages define, for the subset of the language the platform's documents use:

- an explicit Deny wins, then an Allow, otherwise the request is implicitly denied;
- Action/NotAction and Resource/NotResource with ``*`` and ``?`` wildcards (actions are
  case-insensitive);
- a Condition block ANDs its operators, and each operator ANDs its keys; the values listed for
  one key are ORed (for a negated operator: the key matches none of them);
- a key absent from the request: ``...IfExists`` is true, ``Null`` tests presence, a negated
  operator (``StringNotEquals``, ``ArnNotEquals``, ``...NotLike``) is true, ``ForAllValues`` is
  true, every other operator (``ForAnyValue`` included) is false;
- ``ForAnyValue``/``ForAllValues`` over multivalued keys;
- ``${...}`` policy variables resolved from the request context.

It is not a replacement for IAM: it does not know which keys a service sends. That is the point
of using it: the tests give it each possible request context and check the outcome under each.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable, Mapping, Sequence

ALLOW, IMPLICIT_DENY, EXPLICIT_DENY = "Allow", "ImplicitDeny", "ExplicitDeny"
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike", "NumericNotEquals", "DateNotEquals")


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _substitute(value: str, context: Mapping[str, object]) -> str:
    def replace(match: re.Match) -> str:
        found = context.get(match.group(1))
        if found is None:
            raise KeyError(f"policy variable ${{{match.group(1)}}} not in the request context")
        return str(found)
    return _VARIABLE.sub(replace, value)


def _match_one(base: str, policy_value: str, request_value: str) -> bool:
    """One policy value against one request value for a positive base operator."""
    if base in ("StringEquals", "ArnEquals"):
        if base == "ArnEquals":  # ArnEquals and ArnLike behave the same (wildcards allowed)
            return _wildcard(policy_value, request_value)
        return policy_value == request_value
    if base == "StringEqualsIgnoreCase":
        return policy_value.lower() == request_value.lower()
    if base in ("StringLike", "ArnLike"):
        return _wildcard(policy_value, request_value)
    if base == "Bool":
        return str(policy_value).lower() == str(request_value).lower()
    if base == "NumericEquals":
        return float(policy_value) == float(request_value)
    if base == "NumericLessThan":
        return float(request_value) < float(policy_value)
    if base == "NumericLessThanEquals":
        return float(request_value) <= float(policy_value)
    if base == "NumericGreaterThan":
        return float(request_value) > float(policy_value)
    if base == "NumericGreaterThanEquals":
        return float(request_value) >= float(policy_value)
    raise NotImplementedError(f"condition operator {base} is not implemented by this evaluator")


def _positive(base: str) -> tuple[str, bool]:
    """(the positive operator, negated?) for a base operator name."""
    if base in _NEGATED:
        return base.replace("Not", "", 1), True
    return base, False


def _condition_key_true(operator: str, key: str, policy_values: Sequence,
                        context: Mapping[str, object]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    present = key in context and context[key] is not None
    if base == "Null":
        wanted_absent = {str(v).lower() for v in policy_values}
        if len(wanted_absent) != 1:
            raise ValueError(f"Null takes one value for {key}, got {policy_values}")
        return (not present) if wanted_absent == {"true"} else present
    if not present:
        if if_exists or qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return base in _NEGATED
    policy_values = [_substitute(str(v), context) if isinstance(v, str) else v
                     for v in policy_values]
    positive, negated = _positive(base)

    def satisfied(request_value) -> bool:
        hit = any(_match_one(positive, str(p), str(request_value)) for p in policy_values)
        return not hit if negated else hit

    request_values = _as_list(context[key])
    if qualifier == "ForAnyValue":
        return any(satisfied(v) for v in request_values)
    if qualifier == "ForAllValues":
        return all(satisfied(v) for v in request_values)
    if len(request_values) != 1:
        raise ValueError(f"{key} is multivalued in the request: use ForAnyValue/ForAllValues")
    return satisfied(request_values[0])


def condition_matches(condition: Mapping | None, context: Mapping[str, object]) -> bool:
    return all(_condition_key_true(operator, key, _as_list(values), context)
               for operator, keys in (condition or {}).items()
               for key, values in keys.items())


def _listed(patterns: Iterable[str], value: str, *, ignore_case: bool) -> bool:
    return any(_wildcard(p, value, ignore_case=ignore_case) for p in patterns)


def statement_applies(statement: Mapping, action: str, resource: str,
                      context: Mapping[str, object]) -> bool:
    if "Action" in statement:
        action_ok = _listed(_as_list(statement["Action"]), action, ignore_case=True)
    else:
        action_ok = not _listed(_as_list(statement["NotAction"]), action, ignore_case=True)
    if "Resource" in statement:
        resource_ok = _listed(_as_list(statement["Resource"]), resource, ignore_case=False)
    else:
        resource_ok = not _listed(_as_list(statement["NotResource"]), resource, ignore_case=False)
    return action_ok and resource_ok and condition_matches(statement.get("Condition"), context)


def evaluate(documents: Iterable[Mapping], action: str, resource: str = "*",
             context: Mapping[str, object] | None = None) -> str:
    """The decision of IAM for one request against identity policies in one account."""
    context = context or {}
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if not statement_applies(statement, action, resource, context):
                continue
            if statement["Effect"] == "Deny":
                return EXPLICIT_DENY
            allowed = True
    return ALLOW if allowed else IMPLICIT_DENY
