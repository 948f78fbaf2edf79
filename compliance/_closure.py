"""Permission closure: every call of the table (compliance/_calls.py) is allowed where AWS
checks it. For each call:

- the caller's identity policies (a role's managed and inline policies), unless the caller
  is an AWS service principal;
- the target's resource policy: bucket, topic, key, event bus, Lambda function, model
  package group, or the trust policy of a role being assumed;
- the KMS key policy of a CMK-encrypted target (the table carries the key use as its own
  rows: bucket, topic, table and state machine keys);
- across accounts, both sides; within one account, either side, except for key policies
  and trust policies, which must allow themselves or delegate to the account;
- the S3 gateway endpoint policy of the VPC a call leaves (:func:`endpoint_failures`).

docs/permission-closure.md describes the table and how to add a caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from compliance._calls import Call, derive_calls
from compliance._cfn_model import PARTITION, World
from compliance._iam_eval import ALLOW, Principal, Request, authorize, evaluate

# AWS identities sign the URLs of AWS-owned buckets (ECR image layers, CodeArtifact assets):
# the request through the gateway endpoint is not made by a principal of this account.
AWS_OWNED_SIGNER = Principal.role("arn:aws:iam::000000000000:role/aws-service-url-signer")


@dataclass(frozen=True)
class Failure:
    call: Call
    reason: str

    def __str__(self) -> str:
        c = self.call
        return (
            f"[{c.env}] {c.caller} -> {c.action} on {c.resource}: {self.reason} (from {c.source})"
        )


def _target_of(world: World, resource: str):
    """The resource whose policy governs ``resource`` (an object's bucket, a topic, ...)."""
    if resource.startswith(f"arn:{PARTITION}:s3:::"):
        bucket = resource.split(":::", 1)[1].split("/", 1)[0]
        return world.bucket(bucket)
    if ":model-package/" in resource:
        group = resource.replace(":model-package/", ":model-package-group/").rsplit("/", 1)[0]
        return world.targets.get(group.lower()) or world.targets.get(group)
    if ":lambda:" in resource:
        return world.targets.get(
            resource.split(":function:")[0]
            + ":function:"
            + resource.split(":function:")[1].split(":")[0]
            if ":function:" in resource
            else resource
        )
    return world.targets.get(resource)


def check_call(world: World, call: Call) -> str | None:
    """None when AWS would allow the call, else why not."""
    request = Request(call.principal, call.action, call.resource, call.context_dict)
    identity = None
    if call.principal.arn is not None:
        role = world.roles.get(call.principal.arn)
        if role is None:
            return f"the caller role {call.principal.arn} is not in the assembly"
        identity = role.policies
    if call.action == "sts:AssumeRole" or call.action == "sts:AssumeRoleWithSAML":
        target_role = world.roles.get(call.resource)
        if target_role is None:
            return f"the assumed role {call.resource} is not in the assembly"
        verdict = authorize(
            request,
            identity_policies=identity,
            resource_policies=[target_role.trust],
            resource_account=target_role.account,
            resource_policy_required=True,
        )
        return None if verdict.allowed else verdict.reason
    target = _target_of(world, call.resource)
    resource_account = None
    policies = None
    required = False
    if target is not None:
        resource_account = target.account or None
        policies = target.policies if target.has_policy else None
        required = target.type == "AWS::KMS::Key"
    elif call.resource.startswith("arn:"):
        parts = call.resource.split(":")
        resource_account = parts[4] or None
        if call.action.startswith("kms:"):
            return f"the key {call.resource} is not in the assembly"
    if call.action.startswith("kms:") and target is not None and target.type == "AWS::KMS::Key":
        aliases = world.aliases.get(target.arn, [])
        if aliases:
            request.context.setdefault("kms:ResourceAliases", aliases)
    verdict = authorize(
        request,
        identity_policies=identity,
        resource_policies=policies,
        resource_account=resource_account,
        resource_policy_required=required,
    )
    return None if verdict.allowed else verdict.reason


def closure_failures(world: World, calls: Iterable[Call] | None = None) -> list[Failure]:
    calls = derive_calls(world) if calls is None else calls
    failures = []
    for call in calls:
        reason = check_call(world, call)
        if reason is not None:
            failures.append(Failure(call, reason))
    return failures


# --- VPC gateway endpoints -----------------------------------------------------------------


def gateway_endpoint_policies(world: World) -> dict[str, list[dict]]:
    """env -> policy documents of its S3 gateway endpoints."""
    found: dict[str, list[dict]] = {}
    for info in world.stacks.values():
        for body in info.resources.values():
            if body.get("Type") != "AWS::EC2::VPCEndpoint":
                continue
            props = world.resolve(info, body.get("Properties") or {})
            if props.get("VpcEndpointType") == "Gateway" and str(
                props.get("ServiceName", "")
            ).endswith(".s3"):
                found.setdefault(info.env, []).append(
                    props.get("PolicyDocument")
                    or {
                        "Statement": [
                            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
                        ]
                    }
                )
    return found


def image_layer_calls(world: World, calls: Iterable[Call]) -> list[Call]:
    """Every VPC whose jobs pull SageMaker images also downloads their layers from ECR's
    AWS-owned bucket, with a URL signed by an AWS identity (Amazon ECR User Guide, "Minimum
    Amazon S3 bucket permissions for Amazon ECR")."""
    envs = sorted({c.vpc_env for c in calls if c.vpc_env})
    out = []
    for env in envs:
        region = next(s.region for s in world.stacks.values() if s.env == env)
        out.append(
            Call(
                "SageMaker image pull (ECR layer download)",
                AWS_OWNED_SIGNER,
                "s3:GetObject",
                f"arn:{PARTITION}:s3:::prod-{region}-starport-layer-bucket/example-layer",
                "ECR image layers for jobs in the VPC",
                env,
                (),
                env,
            )
        )
    return out


def interface_endpoint_services(world: World) -> dict[str, set[str]]:
    """env -> the service names (``git-codecommit``, ``sts``...) of its interface endpoints."""
    found: dict[str, set[str]] = {}
    for info in world.stacks.values():
        for body in info.resources.values():
            if body.get("Type") != "AWS::EC2::VPCEndpoint":
                continue
            props = world.resolve(info, body.get("Properties") or {})
            if props.get("VpcEndpointType") == "Interface":
                found.setdefault(info.env, set()).add(
                    str(props.get("ServiceName", "")).rsplit(".", 1)[-1]
                )
    return found


def endpoint_failures(world: World, calls: Iterable[Call] | None = None) -> list[Failure]:
    """Every S3 request that leaves a VPC is allowed by that VPC's gateway endpoint policy,
    and a Git clone from the isolated VPC has somewhere to go: the ``git-codecommit``
    interface endpoint for CodeCommit; for a CodeConnections host (GitHub, GitLab,
    Bitbucket) there is no route at all."""
    calls = list(derive_calls(world) if calls is None else calls)
    policies = gateway_endpoint_policies(world)
    interfaces = interface_endpoint_services(world)
    failures = []
    for call in calls:
        if (
            call.vpc_env
            and call.action == "codecommit:GitPull"
            and "git-codecommit" not in interfaces.get(call.vpc_env, set())
        ):
            failures.append(
                Failure(
                    call,
                    f"{call.vpc_env}'s isolated VPC has no git-codecommit "
                    "interface endpoint: the clone cannot reach CodeCommit",
                )
            )
        if call.vpc_env and call.action == "codeconnections:UseConnection":
            failures.append(
                Failure(
                    call,
                    f"{call.vpc_env}'s isolated VPC has no route to a Git "
                    "host: a build in it cannot clone through a connection",
                )
            )
    for call in [*calls, *image_layer_calls(world, calls)]:
        if call.vpc_env is None or not call.action.startswith("s3:"):
            continue
        request = Request(call.principal, call.action, call.resource, call.context_dict)
        docs = policies.get(call.vpc_env)
        if not docs:
            failures.append(Failure(call, f"no S3 gateway endpoint in {call.vpc_env}'s VPC"))
            continue
        decisions = [evaluate(doc, request, resource_policy=True) for doc in docs]
        if not any(d.effect == ALLOW for d in decisions) or any(
            d.effect == "Deny" for d in decisions
        ):
            failures.append(
                Failure(
                    call,
                    f"the S3 gateway endpoint policy of {call.vpc_env}'s VPC does not allow it",
                )
            )
    return failures


# --- least trust and service grants ----------------------------------------------------------

OTHER_PRINCIPAL_NAME = "someone-else-in-the-account"


def trust_failures(world: World, calls: Iterable[Call] | None = None) -> list[str]:
    """A role that roles of the platform assume (the table's ``sts:AssumeRole`` rows made by
    a role) trusts those callers only: another role of the same account, whose own policy
    allows it to assume anything, is refused by the trust policy."""
    calls = list(derive_calls(world) if calls is None else calls)
    problems = []
    assumed: dict[str, set[str]] = {}
    for call in calls:
        if call.action == "sts:AssumeRole" and call.principal.arn is not None:
            assumed.setdefault(call.resource, set()).add(call.principal.arn)
    everything = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    for role_arn, callers in sorted(assumed.items()):
        role = world.roles.get(role_arn)
        if role is None:
            continue
        for account in sorted({c.split(":")[4] for c in callers}):
            other = Principal.role(f"arn:{PARTITION}:iam::{account}:role/{OTHER_PRINCIPAL_NAME}")
            request = Request(other, "sts:AssumeRole", role_arn)
            verdict = authorize(
                request,
                identity_policies=[everything],
                resource_policies=[role.trust],
                resource_account=role.account,
                resource_policy_required=True,
            )
            if verdict.allowed:
                problems.append(
                    f"{role_arn} (assumed by {', '.join(sorted(callers))}) also "
                    f"trusts any other principal of account {account}"
                )
    return problems


def unconditioned_service_grants(world: World) -> list[str]:
    """Every key-policy statement that lets an AWS service principal use a key is scoped by
    a condition (source account or ARN, encryption context): without one, the service may
    use the key on behalf of any account's resources."""
    problems = []
    for target in world.targets.values():
        if target.type != "AWS::KMS::Key":
            continue
        for policy in target.policies:
            for statement in policy.get("Statement") or []:
                principal = statement.get("Principal")
                if statement.get("Effect") != "Allow" or not isinstance(principal, dict):
                    continue
                if principal.get("Service") and not statement.get("Condition"):
                    problems.append(
                        f"{target.env}/{target.stack} {target.logical_id}: "
                        f"{principal['Service']} may use the key "
                        f"({statement.get('Action')}) with no condition"
                    )
    return problems
