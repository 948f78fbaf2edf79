"""Security review of a change: what the candidate assembly allows that the baseline (the
release a reviewer approved) did not, per environment.

The template differences come from ``@aws-cdk/cloudformation-diff`` (the library behind
``cdk diff``), run once for every stack by ``review/cfn_diff.js``. This module only sorts
what the library reports into what a security reviewer reads: IAM statements per principal
(trust policies included) and resource policies, network changes, encryption and retention
settings, acknowledgements, control status and idle cost; and decides the verdict
"broadens access: yes/no" (docs/review-pack.md, "Change review", says exactly when).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.assembly import Assembly, refs, render_value
from review.report import Doc

ROOT = Path(__file__).resolve().parents[1]
NODE_SCRIPT = Path(__file__).with_name("cfn_diff.js")

NETWORK_TYPES = {
    "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress", "AWS::EC2::NetworkAcl",
    "AWS::EC2::NetworkAclEntry", "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::VPCPeeringConnection",
    "AWS::EC2::TransitGatewayAttachment", "AWS::EC2::TransitGatewayVpcAttachment",
    "AWS::EC2::EgressOnlyInternetGateway", "AWS::EC2::VPCEndpointService",
}
# A new one of these is a new network path out of (or into) the VPC.
PATH_TYPES = {"AWS::EC2::Route", "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment",
              "AWS::EC2::NatGateway", "AWS::EC2::VPCPeeringConnection", "AWS::EC2::TransitGatewayAttachment",
              "AWS::EC2::TransitGatewayVpcAttachment", "AWS::EC2::EgressOnlyInternetGateway",
              "AWS::EC2::VPCEndpointService"}
# Property names (at any depth) that carry encryption or retention settings.
ENCRYPTION_KEY = re.compile(r"kms|encrypt|sse|keyrotation|masterkey|enablekeyrotation", re.I)
RETENTION_KEY = re.compile(r"retention|lifecycle|objectlock|versioning|deletionprotection|pointintimerecovery|"
                           r"pendingwindow|expiration|noncurrentversion", re.I)
RESOURCE_POLICY_LABELS = {
    "AWS::S3::BucketPolicy": "bucket", "AWS::KMS::Key": "key", "AWS::SNS::TopicPolicy": "topic",
    "AWS::SQS::QueuePolicy": "queue", "AWS::Events::EventBusPolicy": "bus", "AWS::Events::EventBus": "bus",
    "AWS::EC2::VPCEndpoint": "endpoint", "AWS::SageMaker::ModelPackageGroup": "model package group",
    "AWS::Lambda::Permission": "function", "AWS::SecretsManager::ResourcePolicy": "secret",
    "AWS::ECR::Repository": "repository", "AWS::Logs::ResourcePolicy": "log group",
}


class BaselineError(ValueError):
    """The baseline is neither a synthesized cdk.out folder nor a git ref that synthesizes."""


# --- the baseline -------------------------------------------------------------------------

def _is_assembly(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").is_file()


def resolve_baseline(baseline: str, workdir: Path, *, root: Path = ROOT,
                     config: Path | None = None) -> tuple[Path, str]:
    """A cdk.out folder as it is, or a git ref synthesized in a temporary worktree.
    Returns the assembly directory and a description for the page."""
    path = Path(baseline)
    if _is_assembly(path):
        return path, f"the assembly in `{path}`"
    if path.exists():
        raise BaselineError(f"{baseline}: a folder without manifest.json is not a synthesized cloud assembly; "
                            "pass a cdk.out folder or a git ref (tag, branch, commit)")
    probe = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{baseline}^{{commit}}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise BaselineError(f"{baseline}: neither a cdk.out folder nor a git ref of {root}; pass a tag, "
                            "branch or commit (e.g. BASELINE=v1.4.0) or a folder holding manifest.json")
    commit = probe.stdout.strip()
    out = synthesize_ref(commit, workdir, root=root, config=config)
    return out, f"git ref `{baseline}` (commit {commit[:12]}), synthesized for this review"


def synthesize_ref(commit: str, workdir: Path, *, root: Path = ROOT, config: Path | None = None) -> Path:
    """Check ``commit`` out in a temporary git worktree and synthesize it as `make synth` does
    (`cdk synth` with its own app.py, cdk.json and configuration; this checkout's venv and
    pinned Node.js and CDK CLI).
    Compliance findings of the baseline do not stop the review: its templates are what was
    approved. Raises BaselineError when no assembly comes out."""
    workdir.mkdir(parents=True, exist_ok=True)
    tree = Path(tempfile.mkdtemp(prefix="baseline-src-", dir=workdir))
    out = workdir / f"baseline-{commit[:12]}.out"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "--force", str(tree), commit],
                   check=True, capture_output=True, text=True)
    try:
        cfg = config or root / "config" / "platform.yaml"
        try:
            rel = cfg.resolve().relative_to(root.resolve())
            cfg_in_tree = tree / rel if (tree / rel).is_file() else cfg.resolve()
        except ValueError:
            cfg_in_tree = cfg.resolve()
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(root / "node_modules" / ".bin"), str(Path(sys.executable).parent),
                                       env.get("PATH", "")])
        env.update(AWS_EC2_METADATA_DISABLED="true", CDK_DISABLE_VERSION_CHECK="true", PYTHONDONTWRITEBYTECODE="1")
        # `make synth`'s command, so both validation reports mean the same thing.
        cdk = root / "node_modules" / ".bin" / "cdk"
        proc = subprocess.run([str(cdk) if cdk.exists() else "cdk", "synth", "--quiet", "--no-notices",
                               "--output", str(out), "-c", f"config={cfg_in_tree}"],
                              cwd=tree, env=env, capture_output=True, text=True)
        if not _is_assembly(out):
            raise BaselineError(f"synthesizing {commit[:12]} produced no assembly (exit {proc.returncode}):\n"
                                + (proc.stderr or proc.stdout)[-3000:])
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                       capture_output=True, text=True)
        shutil.rmtree(tree, ignore_errors=True)
    return out


# --- running the library ------------------------------------------------------------------

def _node() -> str:
    pinned = ROOT / "node_modules" / ".bin" / "node"
    return str(pinned) if pinned.exists() else (shutil.which("node") or "node")


def cloudformation_diff(old: Assembly, new: Assembly) -> dict[str, dict]:
    """{"dev/Foundation": library result} for every stack in either assembly, one node run."""
    keys = sorted({f"{e}/{s}" for a in (old, new) for e, env in a.environments.items() for s in env.templates})

    def template(a: Assembly, key: str) -> dict | None:
        env, _, stack = key.partition("/")
        return a.environments[env].templates.get(stack) if env in a.environments else None

    payload = {"stacks": [{"key": k, "old": template(old, k), "new": template(new, k)} for k in keys]}
    if not (ROOT / "node_modules" / "@aws-cdk" / "cloudformation-diff").is_dir():
        raise RuntimeError("@aws-cdk/cloudformation-diff is not installed: run `make install`")
    proc = subprocess.run([_node(), str(NODE_SCRIPT)], input=json.dumps(payload), capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"review/cfn_diff.js failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return {s["key"]: s for s in json.loads(proc.stdout)["stacks"]}


# --- IAM ----------------------------------------------------------------------------------

@dataclass
class StatementChange:
    env: str
    stack: str
    change: str  # added | removed
    effect: str
    principals: list[str]
    actions: list[str]
    resources: list[str]
    condition: Any
    not_actions: bool
    not_resources: bool
    kind: str  # identity policy | trust policy | resource policy (bucket) | ...
    sources: list[str]
    verdict: str = ""  # new grant | broadened | narrowed or unchanged | removed | new deny | deny removed
    broadens: bool = False

    @property
    def canonical(self) -> str:
        return json.dumps([self.effect, sorted(self.principals), sorted(self.actions), sorted(self.resources),
                           self.condition, self.not_actions, self.not_resources], sort_keys=True)


def _kind(sources: list[dict]) -> str:
    for s in sources:
        if s.get("property") == "AssumeRolePolicyDocument":
            return "trust policy"
    for s in sources:
        if s.get("type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::IAM::User",
                             "AWS::IAM::Group") and s.get("property") != "AssumeRolePolicyDocument":
            return "identity policy"
    for s in sources:
        label = RESOURCE_POLICY_LABELS.get(s.get("type") or "")
        return f"resource policy ({label or s.get('type')})"
    return "policy"


def _pattern_covers(pattern: str, value: str) -> bool:
    return pattern == value or pattern == "*" or fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _cidrs_within(inner: list, outer: list) -> bool:
    try:
        nets = [ipaddress.ip_network(str(o), strict=False) for o in outer]
        return all(any(ipaddress.ip_network(str(i), strict=False).subnet_of(n) for n in nets
                       if n.version == ipaddress.ip_network(str(i), strict=False).version) for i in inner)
    except ValueError:
        return set(map(str, inner)) <= set(map(str, outer))


def condition_covers(wide: Any, narrow: Any) -> bool:
    """Every request that satisfies ``narrow`` also satisfies ``wide``: each test of ``wide``
    is present in ``narrow`` and at least as strict there (IP ranges inside, fewer allowed
    values, more excluded ranges). ``narrow`` may add tests; no condition is the widest."""
    wide, narrow = wide or {}, narrow or {}
    if not isinstance(wide, dict) or not isinstance(narrow, dict):
        return wide == narrow
    for op, tests in wide.items():
        mine = narrow.get(op)
        if not isinstance(tests, dict) or not isinstance(mine, dict):
            if tests != mine:
                return False
            continue
        base = op.split(":")[-1].removesuffix("IfExists")
        for key, values in tests.items():
            if key not in mine:
                return False
            w = [values] if not isinstance(values, list) else values
            n = [mine[key]] if not isinstance(mine[key], list) else mine[key]
            if base == "IpAddress":
                ok = _cidrs_within(n, w)
            elif base == "NotIpAddress":
                ok = _cidrs_within(w, n)
            elif base.startswith("Not"):  # StringNotEquals, ArnNotLike...: excluding more is stricter
                ok = set(map(str, w)) <= set(map(str, n))
            elif base.endswith("Like"):
                ok = all(any(_pattern_covers(str(x), str(y)) for x in w) for y in n)
            elif base in ("StringEquals", "StringEqualsIgnoreCase", "ArnEquals"):
                ok = set(map(str, n)) <= set(map(str, w))
            else:
                ok = w == n
            if not ok:
                return False
    return True


def covers(wide: StatementChange, narrow: StatementChange) -> bool:
    """``wide`` applies to every request ``narrow`` applies to (same effect): every action and
    resource of ``narrow`` is matched by one of ``wide`` (IAM wildcards) and ``wide``'s
    condition holds whenever ``narrow``'s does. NotAction/NotResource statements are only
    covered by an equal statement."""
    if wide.effect != narrow.effect:
        return False
    if wide.not_actions or wide.not_resources or narrow.not_actions or narrow.not_resources:
        return wide.canonical == narrow.canonical
    return (all(any(_pattern_covers(o, n) for o in wide.actions) for n in narrow.actions)
            and all(any(_pattern_covers(o, n) for o in wide.resources) for n in narrow.resources)
            and condition_covers(wide.condition, narrow.condition))


def attachments(assembly: Assembly, env: str) -> dict[str, list[str]]:
    """Managed policy logical id -> construct paths of the roles, users and groups whose
    ManagedPolicyArns name it (by Ref, or by the policy's ARN built from its name)."""
    if env not in assembly.environments:
        return {}
    resources = assembly.environments[env].resources
    by_name = {str(r.props.get("ManagedPolicyName")): r.logical_id
               for r in resources if r.type == "AWS::IAM::ManagedPolicy" and r.props.get("ManagedPolicyName")}
    ids = {r.logical_id for r in resources if r.type == "AWS::IAM::ManagedPolicy"}
    out: dict[str, list[str]] = {}
    for r in resources:
        if r.type not in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            continue
        for arn in r.props.get("ManagedPolicyArns") or []:
            targets = refs(arn) & ids
            text = render_value(arn)
            if ":policy/" in text:
                name = text.rsplit(":policy/", 1)[1].rsplit("/", 1)[-1]
                if name in by_name:
                    targets.add(by_name[name])
            for t in targets:
                out.setdefault(t, []).append(r.short_path)
    return out


def _statement_changes(env: str, stack: str, data: dict, label, attached: dict[str, dict[str, list[str]]]
                       ) -> list[StatementChange]:
    out = []
    for change in ("added", "removed"):
        holders = attached["new" if change == "added" else "old"]
        for s in data["statements"][change]:
            principals = []
            for p in s["principals"]["values"]:
                m = re.fullmatch(r"AWS:\$\{([A-Za-z0-9]+)\}", p)
                if m and m.group(1) in holders:
                    principals += [f"AWS:${{{role}}}" for role in holders[m.group(1)]]
                else:
                    principals.append(label(p))
            out.append(StatementChange(
                env=env, stack=stack, change=change, effect=s["effect"],
                principals=principals or ["(none)"],
                actions=s["actions"]["values"], resources=[label(r) for r in s["resources"]["values"]],
                condition=s.get("condition"), not_actions=s["actions"]["not"], not_resources=s["resources"]["not"],
                kind=_kind(s.get("sources") or []),
                sources=sorted({_short(src.get("path")) or src["logicalId"] for src in s.get("sources") or []}),
            ))
    return out


def classify_statements(changes: list[StatementChange], gone: set[str] = frozenset()) -> None:
    """Sets ``verdict`` and ``broadens`` on every change of one environment. An added Allow
    broadens unless a removed Allow of the same principal covered it; a removed Deny broadens
    unless an added Deny of the same principal covers it or the principal itself is gone
    (``gone``: principals of the baseline that the candidate no longer has)."""
    added = [c for c in changes if c.change == "added"]
    removed = [c for c in changes if c.change == "removed"]
    removed_canon = {c.canonical for c in removed}
    added_canon = {c.canonical for c in added}

    def same_principal(a: StatementChange, b: StatementChange) -> bool:
        return bool(set(a.principals) & set(b.principals))

    for c in added:
        before = [r for r in removed if same_principal(r, c) and r.effect == c.effect]
        if c.canonical in removed_canon:
            c.verdict = "moved (same statement elsewhere)"
        elif c.effect == "Deny":
            c.verdict = "new deny"
        elif any(covers(r, c) for r in before):
            c.verdict = "narrowed or unchanged"
        elif any(set(r.actions) & set(c.actions) or set(r.resources) & set(c.resources) for r in before):
            c.verdict, c.broadens = "broadened", True
        else:
            c.verdict, c.broadens = "new grant", True
    for c in removed:
        after = [a for a in added if same_principal(a, c) and a.effect == c.effect]
        if c.canonical in added_canon:
            c.verdict = "moved (same statement elsewhere)"
        elif c.effect == "Deny" and any(covers(a, c) for a in after):
            c.verdict = "deny replaced by a wider one"
        elif c.effect == "Deny" and set(c.principals) <= gone:
            c.verdict = "removed with its principal"
        elif c.effect == "Deny":
            c.verdict, c.broadens = "deny removed or narrowed", True
        elif after:
            c.verdict = "replaced"
        else:
            c.verdict = "removed"


# --- network ------------------------------------------------------------------------------

def _rule_text(rule: dict, label) -> str:
    peer = rule.get("peer") or {}
    who = peer.get("ip") or label(peer.get("securityGroupId", "")) or peer.get("prefixListId") or "?"
    proto = rule.get("ipProtocol", "?")
    ports = "all" if proto == "-1" else (f"{rule.get('fromPort')}" if rule.get("fromPort") == rule.get("toPort")
                                          else f"{rule.get('fromPort')}-{rule.get('toPort')}")
    return f"{label(rule.get('groupId', ''))} {'all traffic' if proto == '-1' else proto + ' ' + ports} {who}"


def rule_covers(old: dict, new: dict) -> bool:
    """``old`` admits at least the traffic ``new`` admits: same group, protocol (or all),
    port range within, and the same peer or a CIDR that contains the new one."""
    if old.get("groupId") != new.get("groupId"):
        return False
    if old.get("ipProtocol") not in ("-1", new.get("ipProtocol")):
        return False
    if old.get("ipProtocol") != "-1":
        lo, hi = old.get("fromPort"), old.get("toPort")
        if lo is not None and hi is not None and not (lo <= (new.get("fromPort") or 0) and (new.get("toPort") or 65535) <= hi):
            return False
    op, np_ = old.get("peer") or {}, new.get("peer") or {}
    if op.get("kind") == np_.get("kind") == "cidr-ip":
        try:
            return ipaddress.ip_network(np_["ip"], strict=False).subnet_of(ipaddress.ip_network(op["ip"], strict=False))
        except (ValueError, TypeError, KeyError):
            return op.get("ip") == np_.get("ip")
    return op == np_


@dataclass
class NetworkChange:
    env: str
    what: str
    detail: str
    broadens: bool


def network_changes(env: str, stacks: dict[str, dict], label) -> list[NetworkChange]:
    out: list[NetworkChange] = []
    for stack, data in stacks.items():
        sg = data["securityGroups"]
        for direction in ("ingress", "egress"):
            added, removed = sg[f"{direction}Added"], sg[f"{direction}Removed"]
            for r in added:
                if any(rule_covers(o, r) for o in removed):
                    out.append(NetworkChange(env, f"{direction} rule changed (not broader)", _rule_text(r, label), False))
                else:
                    wider = [o for o in removed if o.get("groupId") == r.get("groupId")]
                    note = f" (was: {'; '.join(_rule_text(o, label) for o in wider)})" if wider else ""
                    out.append(NetworkChange(env, f"{direction} rule added", _rule_text(r, label) + note, True))
            for r in removed:
                if not any(rule_covers(r, a) for a in added):
                    out.append(NetworkChange(env, f"{direction} rule removed", _rule_text(r, label), False))
        for res in data["resources"]:
            if res["type"] not in NETWORK_TYPES:
                continue
            name = f"`{_short(res['path']) or res['logicalId']}`"
            if res["type"] == "AWS::EC2::VPCEndpoint":
                out += _endpoint_change(env, res, name)
            elif res["change"] == "added":
                out.append(NetworkChange(env, f"{res['type']} added", name, res["type"] in PATH_TYPES))
            elif res["change"] == "removed":
                out.append(NetworkChange(env, f"{res['type']} removed", name, False))
            else:
                props = {k: v for k, v in res["properties"].items()
                         if k not in ("Tags",) and not (res["type"].startswith("AWS::EC2::SecurityGroup")
                                                        and k in ("SecurityGroupIngress", "SecurityGroupEgress"))}
                if props:
                    out.append(NetworkChange(env, f"{res['type']} changed", name + ": " + "; ".join(
                        f"{k}: {_short_value(v['old'])} → {_short_value(v['new'])}" for k, v in props.items()),
                        _cidr_widened(props)))
    return out


def _cidr_widened(props: dict) -> bool:
    for key in ("CidrBlock", "CidrIp", "DestinationCidrBlock"):
        if key in props:
            old, new = props[key]["old"], props[key]["new"]
            try:
                return not ipaddress.ip_network(new).subnet_of(ipaddress.ip_network(old))
            except (ValueError, TypeError):
                return True
    return False


def _service(props: dict | None) -> str:
    name = render_value((props or {}).get("ServiceName", "?"))
    return re.sub(r"^(com\.amazonaws|aws\.sagemaker)\.[^.]+\.", "", name)


def _endpoint_change(env: str, res: dict, name: str) -> list[NetworkChange]:
    props = res["properties"]
    def value(key: str, side: str):
        return (props.get(key) or {}).get(side)
    if res["change"] == "added":
        svc = _service({"ServiceName": value("ServiceName", "new")})
        azs = len(value("SubnetIds", "new") or [])
        return [NetworkChange(env, "endpoint added", f"{svc} ({azs} AZ) {name}: a new path to an AWS service", True)]
    if res["change"] == "removed":
        return [NetworkChange(env, "endpoint removed", f"{_service({'ServiceName': value('ServiceName', 'old')})} {name}",
                              False)]
    out = []
    if "SubnetIds" in props:
        old, new = len(value("SubnetIds", "old") or []), len(value("SubnetIds", "new") or [])
        out.append(NetworkChange(env, "endpoint AZs changed", f"{name}: {old} → {new} AZ (same service, same "
                                 "security group)", False))
    rest = [k for k in props if k not in ("SubnetIds", "PolicyDocument", "Tags")]
    if rest:
        out.append(NetworkChange(env, "endpoint changed", name + ": " + ", ".join(rest), "ServiceName" in rest))
    return out


# --- encryption and retention ---------------------------------------------------------------

@dataclass
class SettingChange:
    env: str
    resource: str
    setting: str
    old: str
    new: str
    weakens: bool


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict) and not (len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))):
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            out.update(_leaves(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def _weaker(setting: str, old: Any, new: Any) -> bool:
    if new is None and old is not None:
        return True
    if isinstance(old, bool) and isinstance(new, bool):
        return old and not new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return new < old
    if isinstance(old, str) and isinstance(new, str):
        if old == "aws:kms" and new != "aws:kms":
            return True
        if old == "Retain" and new != "Retain":
            return True
        if old in ("Enabled", "COMPLIANCE") and new != old:
            return True
        if old.isdigit() and new.isdigit():
            return int(new) < int(old)
    return False


def setting_changes(env: str, stacks: dict[str, dict]) -> list[SettingChange]:
    out = []
    for data in stacks.values():
        for res in data["resources"]:
            name = f"`{_short(res['path']) or res['logicalId']}` ({res['type']})"
            if res["change"] == "removed":
                policy = res.get("oldDeletionPolicy") or "Delete"
                if any(ENCRYPTION_KEY.search(k) or RETENTION_KEY.search(k) for k in _leaves(res["properties"])) \
                        or res.get("oldDeletionPolicy"):
                    out.append(SettingChange(env, name, "resource removed", f"DeletionPolicy {policy}",
                                             "retained, no longer managed" if policy in ("Retain", "RetainExceptOnCreate")
                                             else "deleted with its data", policy not in ("Retain", "RetainExceptOnCreate")))
                continue
            for key in ("DeletionPolicy", "UpdateReplacePolicy"):
                if key in res["other"]:
                    old, new = res["other"][key]["old"], res["other"][key]["new"]
                    out.append(SettingChange(env, name, key, str(old), str(new),
                                             res["change"] == "updated" and _weaker(key, old or "Delete", new or "Delete")))
            for prop, values in res["properties"].items():
                if "polic" in prop.lower():  # policy documents: the IAM section covers them
                    continue
                old_leaves = _leaves(values["old"], prop) if values["old"] is not None else {}
                new_leaves = _leaves(values["new"], prop) if values["new"] is not None else {}
                for leaf in sorted(set(old_leaves) | set(new_leaves)):
                    if not (ENCRYPTION_KEY.search(leaf) or RETENTION_KEY.search(leaf)):
                        continue
                    o, n = old_leaves.get(leaf), new_leaves.get(leaf)
                    if o == n:
                        continue
                    if res["change"] == "added":
                        out.append(SettingChange(env, name, leaf, "(new resource)", _short_value(n), False))
                    else:
                        out.append(SettingChange(env, name, leaf, _short_value(o), _short_value(n), _weaker(leaf, o, n)))
    return out


# --- workspaces ----------------------------------------------------------------------------

# People's workspaces and where their home directories live: a notebook instance (its ML
# storage volume), a Studio user profile (its home directory on the domain's EFS), the domain
# (the EFS itself), a space. A switch of ``workspace`` or a removed person removes them from
# the templates; the reviewer must know whether CloudFormation deletes or orphans them.
WORKSPACE_TYPES = {
    "AWS::SageMaker::NotebookInstance": "notebook instance and its ML storage volume",
    "AWS::SageMaker::UserProfile": "Studio user profile (home directory on the domain's EFS)",
    "AWS::SageMaker::Domain": "Studio domain and its home EFS file system",
    "AWS::SageMaker::Space": "Studio space and its storage",
}
RETAINED = ("Retain", "RetainExceptOnCreate")


@dataclass
class WorkspaceChange:
    env: str
    change: str  # removed | added
    resource: str  # stack/construct path
    type: str
    name: str  # notebook instance / user profile / domain name
    deletion_policy: str  # of the template the resource leaves (removed) or enters (added)

    @property
    def deletes_data(self) -> bool:
        return self.change == "removed" and self.deletion_policy not in RETAINED

    @property
    def what_to_do(self) -> str:
        if self.change == "added":
            return "new workspace"
        if self.deletes_data:
            return "**deleted with the stack update: its files are lost**"
        return ("retained and no longer managed: people copy their files, then an "
                "administrator deletes it (docs/studio.md, \"Switching the workspace\")")


def _workspace_name(props: dict) -> str:
    for key in ("NotebookInstanceName", "UserProfileName", "DomainName", "SpaceName"):
        if isinstance(props.get(key), str):
            return props[key]
    return ""


def workspace_changes(env: str, old: Assembly, new: Assembly) -> list[WorkspaceChange]:
    """Workspaces (``WORKSPACE_TYPES``) in one assembly and not in the other, matched by
    stack and logical id, with the ``DeletionPolicy`` CloudFormation applies to them."""

    def index(a: Assembly) -> dict[tuple[str, str], tuple[Any, str]]:
        out: dict[tuple[str, str], tuple[Any, str]] = {}
        if env not in a.environments:
            return out
        environment = a.environments[env]
        for r in environment.of_type(*WORKSPACE_TYPES):
            body = environment.templates[r.stack]["Resources"][r.logical_id]
            out[(r.stack, r.logical_id)] = (r, body.get("DeletionPolicy") or "Delete")
        return out

    before, after = index(old), index(new)
    out = []
    for change, this, other in (("removed", before, after), ("added", after, before)):
        for key in sorted(set(this) - set(other)):
            r, policy = this[key]
            out.append(WorkspaceChange(env, change, _short(r.path) or f"{r.stack}/{r.logical_id}", r.type,
                                       _workspace_name(r.props), policy))
    return out


def removed_workspace_lines(review: "ChangeReview") -> list[str]:
    """One line per environment that loses workspaces, for the terminal (python -m review)."""
    lines = []
    for env in review.envs.values():
        removed = [w for w in env.workspaces if w.change == "removed"]
        if removed:
            lost = sum(w.deletes_data for w in removed)
            lines.append(f"{env.env}: {len(removed)} workspace(s) removed "
                         + (f"({lost} DELETED with their files)" if lost else
                            "(retained: copy files, then delete them by hand; docs/studio.md)")
                         + ": " + ", ".join(w.name or w.resource for w in removed))
    return lines


# --- acknowledgements, controls, cost ---------------------------------------------------------

def acknowledgement_changes(old_dir: Path, new_dir: Path) -> tuple[list[tuple], list[tuple], str]:
    """(added, removed, note): suppressed findings (plugin, rule, construct path, reason) of
    each synth's validation report."""
    from compliance._summary import load_validation_report
    from review.acks import suppressed

    sides = []
    for d in (old_dir, new_dir):
        if not load_validation_report(Path(d)).get("pluginReports"):
            sides.append(None)
            continue
        sides.append({(s["plugin"], s["rule"], s["path"], s["reason"]) for s in suppressed(d)})
    if sides[0] is None or sides[1] is None:
        missing = " and ".join(n for n, s in zip(("baseline", "candidate"), sides) if s is None)
        return [], [], f"not compared: no validation report in the {missing} assembly (synthesized without checks)"
    old, new = sides
    return sorted(new - old), sorted(old - new), ""


# --- the whole change -----------------------------------------------------------------------

@dataclass
class EnvChange:
    env: str
    statements: list[StatementChange] = field(default_factory=list)
    managed_policies: list[tuple[str, str, str]] = field(default_factory=list)  # (change, identity, policy)
    network: list[NetworkChange] = field(default_factory=list)
    settings: list[SettingChange] = field(default_factory=list)
    acks_added: list[tuple] = field(default_factory=list)
    acks_removed: list[tuple] = field(default_factory=list)
    controls: list[tuple[str, str, str]] = field(default_factory=list)  # (control, old, new)
    cost: tuple[float, float] | None = None
    stacks_added: list[str] = field(default_factory=list)
    stacks_removed: list[str] = field(default_factory=list)
    workspaces: list[WorkspaceChange] = field(default_factory=list)
    library_broadened: bool = False  # the library's own permissionsBroadened, for reference

    @property
    def broadens(self) -> bool:
        return (any(s.broadens for s in self.statements) or any(c == "added" for c, _, _ in self.managed_policies)
                or any(n.broadens for n in self.network))

    @property
    def weakens(self) -> bool:
        return any(s.weakens for s in self.settings) or bool(self.acks_added) or any(
            w.deletes_data for w in self.workspaces) or any(
            _rank(new) < _rank(old) for _, old, new in self.controls)

    def reasons(self) -> list[str]:
        out = []
        n = sum(s.broadens for s in self.statements)
        if n:
            out.append(f"{n} IAM statement(s) grant more")
        n = sum(c == "added" for c, _, _ in self.managed_policies)
        if n:
            out.append(f"{n} managed polic(ies) attached")
        n = sum(x.broadens for x in self.network)
        if n:
            out.append(f"{n} network path(s) opened or widened")
        return out


def _rank(status: str) -> int:
    return {"not yet": 0, "partly": 1, "implemented": 2}.get(status, 1)


@dataclass
class ChangeReview:
    baseline: str
    envs: dict[str, EnvChange]
    ack_note: str = ""

    @property
    def broadens(self) -> bool:
        return any(e.broadens for e in self.envs.values())

    @property
    def verdict(self) -> str:
        if not self.broadens:
            return "broadens access: no"
        why = "; ".join(f"{e.env}: {', '.join(e.reasons())}" for e in self.envs.values() if e.broadens)
        return f"broadens access: yes ({why})"


def _short(path: str | None) -> str:
    if not path:
        return ""
    rel = path.split("/", 1)[-1] if "/" in path else path
    return rel[: -len("/Resource")] if rel.endswith("/Resource") else rel


def _short_value(value: Any, limit: int = 160) -> str:
    if value is None:
        return "(none)"
    text = render_value(value) if not isinstance(value, (list, dict)) or isinstance(value, dict) else \
        "[" + ", ".join(render_value(v) for v in value) + "]"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _labeller(old: Assembly, new: Assembly, env: str):
    """Replace ${LogicalId} / ${LogicalId.Arn} in rendered principals and resources with the
    construct path of that resource in this environment."""
    names: dict[str, str] = {}
    for a in (old, new):
        if env in a.environments:
            for r in a.environments[env].resources:
                names.setdefault(r.logical_id, r.short_path)

    def label(text: str) -> str:
        return re.sub(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}",
                      lambda m: f"${{{names[m.group(1)]}{m.group(2) or ''}}}" if m.group(1) in names else m.group(0),
                      str(text))
    return label


def review_change(baseline_dir: Path, candidate_dir: Path, *, baseline_label: str = "",
                  config: Any = None, tests_root: Path | None = None) -> ChangeReview:
    from review.assembly import load_assembly
    from review.controls import environment_roles, evaluate
    from review.cost import estimate
    from review import prices as P

    old, new = load_assembly(baseline_dir), load_assembly(candidate_dir)
    raw = cloudformation_diff(old, new)
    envs = list(dict.fromkeys([*new.names, *old.names]))
    review = ChangeReview(baseline_label or str(baseline_dir), {e: EnvChange(e) for e in envs})
    acks_added, acks_removed, review.ack_note = acknowledgement_changes(baseline_dir, candidate_dir)

    common = [e for e in envs if e in old.environments and e in new.environments]
    configs = environment_roles(config, common)
    old_controls = evaluate({e: old.environments[e] for e in common}, configs, tests_root) if common else []
    new_controls = {r.control.id: r for r in evaluate({e: new.environments[e] for e in common}, configs, tests_root)} \
        if common else {}
    for e in envs:
        ec = review.envs[e]
        stacks = {k.split("/", 1)[1]: v for k, v in raw.items() if k.split("/", 1)[0] == e}
        label = _labeller(old, new, e)
        ec.stacks_added = sorted(s for s in stacks if e not in old.environments or s not in old.environments[e].templates)
        ec.stacks_removed = sorted(s for s in stacks if e not in new.environments or s not in new.environments[e].templates)
        ec.library_broadened = any(d["permissionsBroadened"] for d in stacks.values())
        attached = {"old": attachments(old, e), "new": attachments(new, e)}
        for stack, data in stacks.items():
            ec.statements += _statement_changes(e, stack, data, label, attached)
            for change in ("added", "removed"):
                ec.managed_policies += [(change, label(m["identityArn"]), label(m["managedPolicyArn"]))
                                        for m in data["managedPolicies"][change]]
        identities = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
        before_ids = {f"AWS:${{{r.short_path}}}" for r in (old.environments[e].resources if e in old.environments else [])
                      if r.type in identities}
        after_ids = {f"AWS:${{{r.short_path}}}" for r in (new.environments[e].resources if e in new.environments else [])
                     if r.type in identities}
        classify_statements(ec.statements, gone=before_ids - after_ids)
        ec.network = network_changes(e, stacks, label)
        ec.settings = setting_changes(e, stacks)
        ec.workspaces = workspace_changes(e, old, new)
        ec.acks_added = [a for a in acks_added if a[2].split("/", 1)[0] == e]
        ec.acks_removed = [a for a in acks_removed if a[2].split("/", 1)[0] == e]
        if e in common:
            for r in old_controls:
                before, after = r.per_env[e][0], new_controls[r.control.id].per_env[e][0]
                if before != after:
                    ec.controls.append((r.control.title, before, after))
            region = configs[e].region if configs[e] is not None else next(iter(P.PRICES))
            ec.cost = (estimate(old.environments[e], region, configs[e]).total,
                       estimate(new.environments[e], region, configs[e]).total)
    return review


def change_doc(review: ChangeReview) -> Doc:
    doc = Doc("Change review")
    doc.p(f"**{review.verdict}**")
    doc.p(f"What the synthesized candidate allows that the baseline did not. Baseline: {review.baseline}. "
          "Template differences from `@aws-cdk/cloudformation-diff` (the library behind `cdk diff`), sorted "
          "by `review/change.py`; docs/review-pack.md (\"Change review\") says what counts as broadening.")
    doc.table(["Environment", "Broadens access", "Weakens encryption, retention or controls",
               "IAM statements +/-", "Network changes", "Setting changes", "Acknowledgements +/-", "Idle cost / month"],
              [[e.env, "**yes**: " + "; ".join(e.reasons()) if e.broadens else "no",
                "**yes**" if e.weakens else "no",
                f"+{sum(s.change == 'added' for s in e.statements)} / -{sum(s.change == 'removed' for s in e.statements)}",
                str(len(e.network)), str(len(e.settings)),
                f"+{len(e.acks_added)} / -{len(e.acks_removed)}",
                (f"${e.cost[0]:,.2f} → ${e.cost[1]:,.2f} ({e.cost[1] - e.cost[0]:+,.2f})" if e.cost else "n/a")]
               for e in review.envs.values()])
    for e in review.envs.values():
        doc.h(1, f"{e.env}: broadens access: {'yes' if e.broadens else 'no'}")
        if e.stacks_added or e.stacks_removed:
            doc.p("Stacks added: " + (", ".join(f"`{s}`" for s in e.stacks_added) or "none") +
                  "; removed: " + (", ".join(f"`{s}`" for s in e.stacks_removed) or "none") + ".")
        doc.h(2, "IAM statements per principal")
        rows = sorted(e.statements, key=lambda s: (", ".join(s.principals), s.change != "added", s.kind))
        if rows:
            doc.table(["Principal", "Change", "Kind", "Effect", "Actions", "Resources", "Condition", "From"],
                      [[", ".join(s.principals), f"**{s.verdict}**" if s.broadens else s.verdict, s.kind, s.effect,
                        ("NOT " if s.not_actions else "") + ", ".join(s.actions),
                        ("NOT " if s.not_resources else "") + ", ".join(s.resources),
                        _short_value(s.condition, 200) if s.condition else "none",
                        ", ".join(f"`{x}`" for x in s.sources)] for s in rows])
        else:
            doc.p("No IAM statement changed.")
        policies = [s for s in e.statements if s.kind.startswith("resource policy")]
        doc.h(2, "Resource policies")
        if policies:
            by_kind: dict[str, int] = {}
            for s in policies:
                by_kind[s.kind] = by_kind.get(s.kind, 0) + 1
            doc.p("Statements of resource policies changed (rows above): " +
                  ", ".join(f"{k.removeprefix('resource policy ')} {n}" for k, n in sorted(by_kind.items())) + ".")
        else:
            doc.p("No resource policy (bucket, key, topic, bus, endpoint, model package group) changed.")
        if e.managed_policies:
            doc.table(["Change", "Identity", "Managed policy"], [list(m) for m in e.managed_policies])
        doc.h(2, "Network")
        if e.network:
            doc.table(["Change", "Detail", "Broadens"],
                      [[n.what, n.detail, "**yes**" if n.broadens else "no"] for n in e.network])
        else:
            doc.p("No security group rule, endpoint, route or VPC change.")
        doc.h(2, "Workspaces")
        removed = [w for w in e.workspaces if w.change == "removed"]
        if e.workspaces:
            if removed:
                lost = sum(w.deletes_data for w in removed)
                doc.p(f"**{len(removed)} workspace resource(s) removed** ({lost} deleted with their "
                      "data): a switch of `workspace` or a removed person."
                      + (" A retained workspace stays in the account, running and billed, until an "
                         "administrator deletes it." if lost < len(removed) else ""))
            doc.table(["Change", "Workspace", "Name", "Resource", "DeletionPolicy", "What happens"],
                      [[w.change, WORKSPACE_TYPES[w.type], f"`{w.name}`" if w.name else "",
                        f"`{w.resource}`", w.deletion_policy, w.what_to_do] for w in e.workspaces])
        else:
            doc.p("No notebook instance, Studio domain, user profile or space added or removed.")
        doc.h(2, "Encryption and retention")
        if e.settings:
            doc.table(["Resource", "Setting", "Baseline", "Candidate", "Weakens"],
                      [[s.resource, f"`{s.setting}`", s.old, s.new, "**yes**" if s.weakens else "no"] for s in e.settings])
        else:
            doc.p("No encryption or retention setting changed.")
        doc.h(2, "Acknowledgements")
        if review.ack_note:
            doc.p(f"Acknowledgements {review.ack_note}.")
        elif e.acks_added or e.acks_removed:
            doc.table(["Change", "Finding", "Construct", "Reason"],
                      [["added", f"`{a[1]}`", f"`{_short(a[2])}`", a[3]] for a in e.acks_added] +
                      [["removed", f"`{a[1]}`", f"`{_short(a[2])}`", a[3]] for a in e.acks_removed])
        else:
            doc.p("No acknowledgement added or removed.")
        doc.h(2, "Controls and idle cost")
        doc.p(("Control status changes: " + "; ".join(f"{t}: {a} → {b}" for t, a, b in e.controls) + ".")
              if e.controls else "No control changed status.")
        if e.cost:
            doc.p(f"Idle cost per month: ${e.cost[0]:,.2f} → ${e.cost[1]:,.2f} ({e.cost[1] - e.cost[0]:+,.2f}).")
    return doc
