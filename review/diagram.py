"""Architecture diagram of one environment, from the synthesized construct tree (tree.json).

Readable, not exhaustive: one cluster per stack, one node per construct directly under a
stack (or one cluster when it holds several L2 constructs), L1 internals, policies and
aliases folded into their owner. The VPC is drawn as a boundary holding its subnets, its
endpoints (one table per kind) and whatever is attached to it (security groups, functions
and notebooks with subnets). Edges are references between nodes, deduplicated; references
to KMS keys are summarised in the node label ("KMS: Data") to keep the picture calm.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.assembly import refs, render_value

SKIP_IDS = {"CDKMetadata", "BootstrapVersion", "CheckBootstrapVersion", "Tree"}
VPC_FQN = "aws-cdk-lib.aws_ec2.Vpc"
IN_VPC_KEYS = ("VpcId", "SubnetId", "SubnetIds", "VpcConfig", "NetworkConfig", "vpcId", "subnetId",
               "subnetIds", "vpcConfig", "networkConfig")


def _cfn(node: dict) -> tuple[str | None, str | None, dict]:
    attrs = node.get("attributes") or {}
    return (attrs.get("aws:cdk:cloudformation:type"), attrs.get("aws:cdk:cloudformation:logicalId"),
            attrs.get("aws:cdk:cloudformation:props") or {})


def _walk(node: dict):
    yield node
    for child in (node.get("children") or {}).values():
        yield from _walk(child)


def _resources(node: dict) -> list[tuple[str, str, dict]]:
    out = []
    for n in _walk(node):
        type_, logical_id, props = _cfn(n)
        if type_:
            out.append((type_, logical_id, props))
    return out


def _fqn(node: dict) -> str:
    return (node.get("constructInfo") or {}).get("fqn", "")


def _kind(node: dict) -> str:
    """'s3.Bucket' from aws-cdk-lib.aws_s3.Bucket; else the main CloudFormation type."""
    fqn = _fqn(node)
    m = re.match(r"aws-cdk-lib\.aws_([a-z0-9_]+)\.(\w+)", fqn)
    if m and not m.group(2).startswith("Cfn"):
        return f"{m.group(1)}.{m.group(2)}"
    types = [t for t, _, _ in _resources(node)]
    main = [t for t in types if not t.startswith(("AWS::IAM::Policy", "AWS::KMS::Alias", "AWS::S3::BucketPolicy"))]
    return (main or types or ["?"])[0].replace("AWS::", "").replace("::", ".")


def _meaningful(node: dict) -> bool:
    return node.get("id") not in SKIP_IDS and bool(_resources(node))


@dataclass
class Node:
    id: str
    label: str
    kind: str
    logical_ids: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    in_vpc: bool = False
    shape: str = "box"
    html_label: str | None = None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _make_node(node: dict, label: str | None = None) -> Node:
    res = _resources(node)
    n = Node(_safe(node["path"]), label or node["id"], _kind(node), {lid for _, lid, _ in res if lid})
    for _, _, props in res:
        n.refs |= refs(props)
        if any(k in props for k in IN_VPC_KEYS) and not any(t == "AWS::EC2::VPCEndpoint" for t, _, _ in res):
            n.in_vpc = True
    n.refs -= n.logical_ids
    return n


def _endpoint_table(title: str, endpoints: list[dict]) -> str:
    rows = []
    for ep in endpoints:
        _, _, props = _cfn(ep.get("children", {}).get("Resource", ep))
        service = render_value(props.get("serviceName", ep["id"]))
        service = re.sub(r"^aws\.sagemaker\.[^.]+\.", "sagemaker.", service)
        service = re.sub(r"^com\.amazonaws\.[^.]+\.", "", service)
        azs = len(props.get("subnetIds") or [])
        suffix = f" ({azs} AZ)" if azs else ""
        rows.append(f'<TR><TD ALIGN="LEFT">{html.escape(service)}{suffix}</TD></TR>')
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            f'<TR><TD><B>{html.escape(title)}</B></TD></TR>{"".join(rows)}</TABLE>>')


SHOWN_ALIKE = 2


def _shape(top: dict, children: list[dict]) -> tuple:
    """What a construct is made of (its class and its children's ids and classes): two
    people's workspaces have the same shape."""
    return (_fqn(top), tuple(sorted((c["id"], _fqn(c)) for c in children)))


def environment_dot(tree: dict, env: str) -> str:
    stage = (tree.get("children") or {}).get(env)
    if stage is None:
        raise KeyError(f"no stage {env!r} in tree.json")
    lines = [
        f'digraph "{env}" {{',
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, labeljust=l, nodesep=0.25, ranksep=0.6,'
        f' label="Secure ML Platform: {env} (from tree.json)", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [color="#8a8a8a", arrowsize=0.6];',
    ]
    nodes: dict[str, Node] = {}
    keys: dict[str, str] = {}  # logical id of a KMS key -> label of its node
    body: list[str] = []

    def emit(n: Node, indent: str) -> None:
        nodes[n.id] = n
        if n.html_label:
            body.append(f'{indent}{n.id} [label={n.html_label}, shape=note, fillcolor="#eef5ff"];')
        else:
            body.append(f'{indent}{n.id} [label="{n.label}\\n{n.kind}"];')

    for stack in (stage.get("children") or {}).values():
        if not _meaningful(stack):
            continue
        body.append(f'  subgraph "cluster_{_safe(stack["path"])}" {{')
        body.append(f'    label="Stack {stack["id"]}"; style="rounded"; color="#555555"; fontsize=14;')
        vpc_lines: list[str] = []
        vpc_node_ids: list[str] = []
        tops = [t for t in (stack.get("children") or {}).values() if _meaningful(t)]
        singles = [t for t in tops if len([c for c in (t.get("children") or {}).values() if _meaningful(c)]) <= 1
                   and not any(_fqn(n) == VPC_FQN for n in _walk(t))]
        by_kind: dict[str, list[dict]] = defaultdict(list)
        for t in singles:
            by_kind[_make_node(t).kind].append(t)
        grouped = {id(t): kind for kind, ts in by_kind.items() if len(ts) >= 3 for t in ts}
        for kind, ts in by_kind.items():
            if len(ts) < 3:
                continue
            body.append(f'    subgraph "cluster_{_safe(stack["path"] + "_" + kind)}" {{ label="{len(ts)} x {kind}";'
                        ' style="rounded,dotted";')
            for t in ts:
                n = _make_node(t)
                if n.kind in ("KMS.Key", "kms.Key"):
                    keys.update({lid: t["id"] for lid in n.logical_ids})
                emit(n, "      ")
            body.append("    }")
        # Constructs of one shape repeated many times (a workspace per person, 500 people in
        # eight shards) show their first SHOWN_ALIKE members and one note for the rest:
        # the picture stays readable at page width and Graphviz lays out a few dozen nodes.
        alike: dict[tuple, list[dict]] = defaultdict(list)
        for top in tops:
            kids = [c for c in (top.get("children") or {}).values() if _meaningful(c)]
            if id(top) not in grouped and len(kids) > 1:
                alike[_shape(top, kids)].append(top)
        folded = {id(t): ts for ts in alike.values() if len(ts) > SHOWN_ALIKE + 1
                  for t in ts[SHOWN_ALIKE:]}
        for top in tops:
            if id(top) in grouped:
                continue
            if id(top) in folded:
                members = folded[id(top)]
                if top is members[SHOWN_ALIKE]:
                    body.append(
                        f'    {_safe(top["path"])}_more [label="... and {len(members) - SHOWN_ALIKE}'
                        f' more like {members[0]["id"]}\\n({_kind(top)}, the same constructs)",'
                        ' shape=note, style="dashed"];'
                    )
                continue
            children = [c for c in (top.get("children") or {}).values() if _meaningful(c)]
            has_vpc = any(_fqn(n) == VPC_FQN for n in _walk(top))
            if has_vpc:
                _vpc_cluster(top, emit, vpc_lines, vpc_node_ids, body, nodes)
                continue
            l2_children = [c for c in children if _fqn(c) != "constructs.Construct" or len(children) > 1]
            if len(children) <= 1:
                n = _make_node(top)
                if n.kind.startswith("KMS") or n.kind == "kms.Key":
                    keys.update({lid: top["id"] for lid in n.logical_ids})
                emit(n, "    ")
            else:
                body.append(f'    subgraph "cluster_{_safe(top["path"])}" {{ label="{top["id"]}"; style="rounded,dashed";')
                for child in l2_children:
                    emit(_make_node(child), "      ")
                body.append("    }")
        if vpc_lines:
            body.extend(vpc_lines)
        body.append("  }")

    # Attach in-VPC nodes found outside the network construct to the VPC cluster is not
    # possible across stacks in Graphviz; mark them instead.
    for n in nodes.values():
        used_keys = sorted({keys[r] for r in n.refs if r in keys})
        if used_keys and not n.html_label:
            label = f'{n.label}\\n{n.kind}\\nKMS: {", ".join(k.removesuffix("Key") for k in used_keys)}'
            body = [line.replace(f'{n.id} [label="{n.label}\\n{n.kind}"]', f'{n.id} [label="{label}"]') for line in body]
    owner = {lid: n.id for n in nodes.values() for lid in n.logical_ids}
    edges = set()
    for n in nodes.values():
        for r in n.refs:
            target = owner.get(r)
            if target and target != n.id and r not in keys and (target, n.id) not in edges:
                edges.add((n.id, target))
    lines += body
    lines += [f"  {a} -> {b};" for a, b in sorted(edges)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _vpc_cluster(top: dict, emit, vpc_lines: list[str], vpc_node_ids: list[str], body: list[str],
                 nodes: dict) -> None:
    """The construct that owns a VPC: the VPC boundary with subnets, endpoints and attached
    resources inside; the construct's other members (flow logs, roles) beside it."""
    vpc = next(n for n in _walk(top) if _fqn(n) == VPC_FQN)
    _, _, vpc_props = _cfn(vpc.get("children", {}).get("Resource", {}))
    cidr = vpc_props.get("cidrBlock", "")
    subnets, interface, gateway, other_vpc = [], [], [], []
    for child in (vpc.get("children") or {}).values():
        fqn = _fqn(child)
        if "Subnet" in fqn:
            subnets.append(child)
        elif "InterfaceVpcEndpoint" in fqn:
            interface.append(child)
        elif "GatewayVpcEndpoint" in fqn:
            gateway.append(child)
        elif child["id"] != "Resource" and _meaningful(child):
            other_vpc.append(child)
    body.append(f'    subgraph "cluster_{_safe(top["path"])}" {{ label="{top["id"]}"; style="rounded,dashed";')
    body.append(f'      subgraph "cluster_{_safe(vpc["path"])}" {{ label="VPC {cidr} (no internet gateway, no NAT)";'
                ' style="rounded,filled,bold"; fillcolor="#f3f9f1"; color="#2e7d32"; fontsize=13;')
    vpc_own = _make_node(vpc, "VPC")
    vpc_own.logical_ids = {lid for t, lid, _ in _resources(vpc)}
    # subnets: one node listing AZs
    azs = []
    for s in subnets:
        for t, _, props in _resources(s):
            if t == "AWS::EC2::Subnet":
                azs.append(f'{props.get("availabilityZone", "?")} {props.get("cidrBlock", "")}')
    sub_node = Node(_safe(vpc["path"] + "/Subnets"), "Subnets", "", html_label=(
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD><B>Isolated subnets</B></TD></TR>'
        + "".join(f'<TR><TD ALIGN="LEFT">{html.escape(a)}</TD></TR>' for a in sorted(azs)) + "</TABLE>>"))
    sub_node.logical_ids = {lid for s in subnets for _, lid, _ in _resources(s)}
    emit(sub_node, "        ")
    for title, group in (("Interface endpoints (private DNS)", interface), ("Gateway endpoints", gateway)):
        if group:
            n = Node(_safe(vpc["path"] + "/" + title.split()[0]), title, "",
                     html_label=_endpoint_table(f"{title}: {len(group)}", sorted(group, key=lambda g: g["id"])))
            for g in group:
                n.logical_ids |= {lid for _, lid, _ in _resources(g)}
                for _, _, p in _resources(g):
                    n.refs |= refs(p)
            n.refs -= n.logical_ids
            emit(n, "        ")
    # members of the construct that attach to the VPC go inside the boundary
    members = [c for c in (top.get("children") or {}).values() if _meaningful(c) and c is not vpc]
    inside = [m for m in members if _make_node(m).in_vpc]
    for m in inside:
        emit(_make_node(m), "        ")
    body.append("      }")
    for m in members:
        if m not in inside:
            emit(_make_node(m), "      ")
    body.append("    }")
    # the VPC's own L1 resources (VPC, route tables) belong to the subnet node for edges
    sub_node.logical_ids |= vpc_own.logical_ids


# Rendered images are kept here under the SHA-256 of (Graphviz version, format, options, dot
# source): a synth that did not change a diagram does not run Graphviz for it (override with
# DIAGRAM_CACHE; safe to delete at any time).
DIAGRAM_CACHE = Path(
    os.environ.get("DIAGRAM_CACHE") or Path(__file__).resolve().parents[1] / ".cache" / "diagrams"
)


@functools.lru_cache(maxsize=4)
def _dot_version(dot: str) -> str:
    done = subprocess.run([dot, "-V"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).strip()


def _render_one(dot: str, dot_file: Path, source: str, target: Path, fmt: str) -> Path:
    # PNG (the Markdown pages' copy; the HTML page inlines the SVG): at most 22 in (2,420 px)
    # wide. Rasterizing a 500-person construct tree at full size took seconds.
    extra = ["-Gdpi=110", "-Gsize=22,1000"] if fmt == "png" else []
    key = hashlib.sha256(
        "\0".join([_dot_version(dot), fmt, *extra, source]).encode()
    ).hexdigest()
    cached = DIAGRAM_CACHE / f"{key}.{fmt}"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".{key}.{os.getpid()}.{fmt}")
        subprocess.run([dot, f"-T{fmt}", *extra, "-o", str(partial), str(dot_file)], check=True)
        partial.replace(cached)
    shutil.copyfile(cached, target)
    return target


def render(dot_source: str, out_base: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write ``out_base.dot`` and, when Graphviz is installed, ``out_base.<fmt>`` (the formats
    rendered at once, each taken from the cache when this source was rendered before)."""
    out_base.parent.mkdir(parents=True, exist_ok=True)
    dot_file = out_base.with_suffix(".dot")
    dot_file.write_text(dot_source)
    dot = shutil.which("dot")
    if dot is None:
        return []
    with ThreadPoolExecutor(max_workers=len(formats) or 1) as pool:
        return list(
            pool.map(
                lambda fmt: _render_one(
                    dot, dot_file, dot_source, out_base.with_suffix(f".{fmt}"), fmt
                ),
                formats,
            )
        )


def render_all(jobs: list[tuple[str, Path]], formats: tuple[str, ...] = ("png", "svg")
               ) -> dict[Path, list[Path]]:
    """:func:`render` for several diagrams at once: every (diagram, format) is its own
    Graphviz process, as many at a time as there are CPUs, so a large diagram does not hold
    up the others. Returns out_base -> written files."""
    dot = shutil.which("dot")
    prepared = []
    for source, out_base in jobs:
        out_base.parent.mkdir(parents=True, exist_ok=True)
        dot_file = out_base.with_suffix(".dot")
        dot_file.write_text(source)
        prepared.append((source, out_base, dot_file))
    if dot is None:
        return {out_base: [] for _, out_base in jobs}
    tasks = [(source, out_base, dot_file, fmt) for source, out_base, dot_file in prepared
             for fmt in formats]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        done = list(pool.map(
            lambda t: (t[1], _render_one(dot, t[2], t[0], t[1].with_suffix(f".{t[3]}"), t[3])),
            tasks,
        ))
    written: dict[Path, list[Path]] = {out_base: [] for _, out_base in jobs}
    for out_base, path in done:
        written[out_base].append(path)
    return written


def graphviz_available() -> bool:
    return shutil.which("dot") is not None
