"""The architecture as a security reviewer reads it, one picture for every environment:
accounts and environments, the VPC boundary with its endpoints and what runs inside it, where
data rests (buckets and the key each is encrypted with), who reaches it (people and service
roles, from the IAM policies), and how data moves (commit -> build -> training -> registry ->
endpoint -> capture -> monitoring).

Everything is read from the templates (resource types, properties, construct paths and IAM
statements); nothing is drawn by hand, so a new bucket, role or endpoint appears by itself.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from typing import Any

from review.assembly import Assembly, Environment, Resource, as_list, refs, render_value
from review.iam import review_roles

# The stages of the data flow, in order: (key, label, predicate over a resource).
def _path_has(r: Resource, *words: str) -> bool:
    return any(w.lower() in r.short_path.lower() for w in words)


FLOW: tuple[tuple[str, str, Any], ...] = (
    ("commit", "Commit", lambda r: r.type == "AWS::CodePipeline::Pipeline"),
    ("build", "Build and test", lambda r: r.type == "AWS::CodeBuild::Project"),
    ("training", "Training workflow", lambda r: r.type in ("AWS::StepFunctions::StateMachine", "AWS::SageMaker::Pipeline")
     and _path_has(r, "Training") and not _path_has(r, "Retrain")),
    ("registry", "Model registry", lambda r: r.type == "AWS::SageMaker::ModelPackageGroup"),
    ("endpoint", "Endpoint (deployment workflow)", lambda r: r.type == "AWS::StepFunctions::StateMachine"
     and _path_has(r, "Deploy")),
    ("capture", "Data capture", lambda r: r.type == "AWS::S3::Bucket" and _path_has(r, "Capture")),
    ("monitoring", "Monitoring", lambda r: (r.type == "AWS::Scheduler::Schedule" or (
        r.type == "AWS::StepFunctions::StateMachine" and _path_has(r, "Quality", "Monitor")))),
)


def _id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _table(title: str, rows: list[str], color: str = "#ffffff") -> str:
    body = "".join(f'<TR><TD ALIGN="LEFT">{html.escape(r)}</TD></TR>' for r in rows)
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" BGCOLOR="{color}">'
            f'<TR><TD ALIGN="LEFT"><B>{html.escape(title)}</B></TD></TR>{body}</TABLE>>')


def _name(r: Resource) -> str:
    parts = [p for p in r.short_path.split("/") if p not in ("Resource", "Bucket", "Key", "Default")]
    return "/".join(parts[-2:]) if len(parts) > 1 else (parts[0] if parts else r.logical_id)


def _service(r: Resource) -> str:
    name = render_value(r.props.get("ServiceName", "?"))
    return re.sub(r"^(com\.amazonaws|aws\.sagemaker)\.[^.]+\.", "", name)


def _bucket_key(bucket: Resource, keys: dict[str, Resource]) -> str:
    rules = (bucket.props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") == "AES256":
            return "SSE-S3"
        target = refs(default.get("KMSMasterKeyID"))
        for t in target:
            if t in keys:
                return f"KMS {_name(keys[t])}"
        if default.get("KMSMasterKeyID"):
            text = render_value(default["KMSMasterKeyID"])
            return "KMS " + (text.split(":")[-1] if "import" not in text else "key of another stack")
    return "not encrypted"


def _role_group(role) -> tuple[str, str]:
    """('people' | 'service', label) of one role: a person's role is trusted by an account,
    a federation provider or a role; a service role by a service principal."""
    services = sorted({p.split(": ", 1)[1].split(".")[0] for p in role.trusted if p.startswith("Service:")})
    if services:
        return "service", ", ".join(services)
    label = re.sub(r"User-[^/]+", "User-*", role.path)
    label = re.sub(r"Shard\d+", "Shard*", label)
    return "people", label.split("/", 1)[-1] if label.startswith("Access") else label


def environment_facts(env: Environment) -> dict:
    res = env.resources
    keys = {r.logical_id: r for r in res if r.type == "AWS::KMS::Key"}
    buckets = [r for r in res if r.type == "AWS::S3::Bucket"]
    vpcs = [r for r in res if r.type == "AWS::EC2::VPC"]
    endpoints = [r for r in res if r.type == "AWS::EC2::VPCEndpoint"]
    interface = [e for e in endpoints if e.props.get("VpcEndpointType") == "Interface"]
    gateway = [e for e in endpoints if e not in interface]
    azs = sorted({len(as_list(e.props.get("SubnetIds"))) for e in interface})
    in_vpc = defaultdict(int)
    for r in res:
        if r.type == "AWS::Lambda::Function" and r.props.get("VpcConfig"):
            in_vpc["Lambda functions"] += 1
        elif r.type == "AWS::SageMaker::NotebookInstance" and r.props.get("SubnetId"):
            in_vpc["notebooks"] += 1
        elif (r.type == "AWS::SageMaker::Domain" and r.props.get("AppNetworkAccessType") == "VpcOnly"
              and r.props.get("SubnetIds")):
            in_vpc["Studio domains (VpcOnly)"] += 1
        elif r.type == "AWS::CodeBuild::Project" and r.props.get("VpcConfig"):
            in_vpc["CodeBuild projects"] += 1
    if in_vpc.get("Studio domains (VpcOnly)"):
        # each person's apps and spaces run in the VpcOnly domain's subnets
        profiles = sum(r.type == "AWS::SageMaker::UserProfile" for r in res)
        if profiles:
            in_vpc["Studio user profiles (apps in the VPC)"] = profiles
    # who reaches each bucket: roles whose Allow statements name it (by name or reference)
    reach: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    names = {b.logical_id: str(b.props.get("BucketName", "")) for b in buckets}
    for role in review_roles(env):
        group = _role_group(role)
        text = " ".join(r for s in role.statements if s.effect == "Allow" for r in s.resources)
        for b in buckets:
            if (names[b.logical_id] and names[b.logical_id] in text) or f"{{{b.logical_id}" in text:
                reach[b.logical_id][group] += 1
    flow = {}
    for key, label, match in FLOW:
        hit = [r for r in res if match(r)]
        if hit:
            flow[key] = (label, hit)
    return {"keys": keys, "buckets": buckets, "vpcs": vpcs, "interface": interface, "gateway": gateway,
            "azs": azs, "in_vpc": dict(in_vpc), "reach": reach, "flow": flow,
            "igw": any(r.type in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway") for r in res),
            "roles": review_roles(env)}


def overview_dot(assembly: Assembly, configs: dict[str, Any] | None = None) -> str:
    configs = configs or {}
    lines = [
        'digraph overview {',
        '  graph [rankdir=LR, newrank=true, compound=true, fontname="Helvetica", fontsize=13, nodesep=0.2,'
        ' ranksep=0.3, labelloc=t, label="Secure ML Platform: accounts, network boundary, data at rest, '
        'who reaches it, how data moves (from the templates)"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#666666", arrowsize=0.6];',
    ]
    flow_nodes: dict[str, dict[str, str]] = {}
    order = {name: i for i, name in enumerate(("dev", "preprod", "prod"))}
    for env_name, env in sorted(assembly.environments.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])):
        f = environment_facts(env)
        cfg = configs.get(env_name)
        where = f"account {cfg.account}, {cfg.region}" if cfg is not None else "account from the stage"
        e = _id(env_name)
        lines.append(f'  subgraph cluster_{e} {{ label="{env_name} ({where})"; style="rounded,bold"; '
                     'color="#37474f"; fontsize=14;')
        for vpc in f["vpcs"]:
            cidr = render_value(vpc.props.get("CidrBlock", ""))
            boundary = "internet gateway or NAT PRESENT" if f["igw"] else "no internet gateway, no NAT"
            lines.append(f'    subgraph cluster_{e}_vpc {{ label="VPC {cidr}: {boundary}"; style="rounded,filled";'
                         ' fillcolor="#eef7ec"; color="#2e7d32";')
            services = sorted(_service(x) for x in f["interface"])
            rows = [", ".join(services[i:i + 4]) for i in range(0, len(services), 4)]
            az = "/".join(map(str, f["azs"])) or "0"
            lines.append(f'      {e}_endpoints [shape=plain, label={_table(f"Interface endpoints: {len(services)} in {az} AZ", rows, "#f7fbf6")}];')
            if f["gateway"]:
                lines.append(f'      {e}_gateways [label="Gateway endpoints: {", ".join(sorted(_service(x) for x in f["gateway"]))}"];')
            compute = [f"{n} {k}" for k, n in sorted(f["in_vpc"].items())] + ["SageMaker jobs (VPC config)"]
            lines.append(f'      {e}_compute [shape=plain, label={_table("Runs inside the VPC", compute, "#f7fbf6")}];')
            lines.append("    }")
        # data at rest
        rows = [f"{_name(b)}: {_bucket_key(b, f['keys'])}" + (", Object Lock" if b.props.get("ObjectLockEnabled") else "")
                for b in sorted(f["buckets"], key=_name)]
        lines.append(f'    {e}_data [shape=plain, label={_table(f"Data at rest: {len(rows)} buckets", rows, "#fff8e1")}];')
        keys = [f"{_name(k)}" + (" (rotation on)" if k.props.get("EnableKeyRotation") else "") for k in f["keys"].values()]
        lines.append(f'    {e}_keys [shape=plain, label={_table(f"KMS keys: {len(keys)}", sorted(keys), "#fff8e1")}];')
        # who reaches it
        people = sorted({label for r in f["roles"] for kind, label in [_role_group(r)] if kind == "people"})
        services = sorted({label for r in f["roles"] for kind, label in [_role_group(r)] if kind == "service"})
        lines.append(f'    {e}_people [shape=plain, label={_table("Assumed by people or accounts", people, "#e8eaf6")}];')
        lines.append(f'    {e}_services [shape=plain, label={_table("Service roles (trusted service)", services, "#e8eaf6")}];')
        people_reach = sum(1 for groups in f["reach"].values() for (kind, _) in groups if kind == "people")
        service_reach = sum(1 for groups in f["reach"].values() for (kind, _) in groups if kind == "service")
        if people_reach:
            lines.append(f'    {e}_people -> {e}_data [label="IAM: {people_reach} role-bucket grants"];')
        if service_reach:
            lines.append(f'    {e}_services -> {e}_data [label="IAM: {service_reach} role-bucket grants"];')
        lines.append(f'    {e}_keys -> {e}_data [label="encrypts", style=dashed];')
        # how data moves
        flow_nodes[env_name] = {}
        for key, (label, hits) in f["flow"].items():
            node = f"{e}_flow_{key}"
            flow_nodes[env_name][key] = node
            detail = _name(hits[0]) + (f" (+{len(hits) - 1})" if len(hits) > 1 else "")
            lines.append(f'    {node} [label="{label}\\n{detail}", fillcolor="#e3f2fd"];')
        stages = [k for k, _, _ in FLOW if k in flow_nodes[env_name]]
        for a, b in zip(stages, stages[1:]):
            lines.append(f"    {flow_nodes[env_name][a]} -> {flow_nodes[env_name][b]} [color=\"#1565c0\", penwidth=1.4];")
        lines.append("  }")
    # the approved model crosses accounts: registry of the pipeline environment -> endpoints
    registries = [(env, nodes["registry"]) for env, nodes in flow_nodes.items() if "registry" in nodes]
    for env, nodes in flow_nodes.items():
        if "endpoint" in nodes and "registry" not in nodes:
            for _, registry in registries:
                lines.append(f'  {registry} -> {nodes["endpoint"]} [label="approved model package", '
                             'color="#1565c0", penwidth=1.4, style=bold, constraint=false];')
    lines.append("}")
    return "\n".join(lines) + "\n"
