"""The synthesized assembly as the IAM world it becomes once deployed: every role with its
identity and trust policies, every bucket, topic, key, state machine, function, event bus
and model package group with its ARN, resource policy and encryption key.

CloudFormation intrinsics are resolved offline. ``Ref``/``Fn::GetAtt`` of a resource with a
physical name resolve to the name AWS will use; a resource without one gets a stable
synthetic name (``<stack>-<LogicalId>``), the same everywhere it is referenced, so a
pattern such as ``arn:aws:kms:<region>:<account>:key/*`` still matches it while an exact
ARN of another resource does not. ``Fn::ImportValue`` resolves through the exporting
stack's ``Outputs``. Values that cannot be known offline stay as ``{unresolved:...}`` and
match no policy, so a check that depends on them fails rather than passes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance._iam_eval import as_list

PARTITION = "aws"


@dataclass
class StackInfo:
    env: str
    stack: str  # stage-relative id, e.g. "Serving"
    template: dict
    account: str
    region: str

    @property
    def resources(self) -> dict[str, dict]:
        return self.template.get("Resources") or {}


@dataclass
class Role:
    arn: str
    env: str
    stack: str
    logical_id: str
    trust: dict
    policies: list[dict] = field(default_factory=list)
    path: str = ""
    # ManagedPolicyArns as resolved; the policies are attached once all are read
    managed_policy_arns: list[str] = field(default_factory=list)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


@dataclass
class Target:
    """A resource with an optional resource policy and encryption key."""

    arn: str
    type: str
    env: str
    stack: str
    logical_id: str
    policies: list[dict] = field(default_factory=list)
    has_policy: bool = False
    key_arn: str | None = None
    properties: dict = field(default_factory=dict)
    owner: str = ""  # the owning account (S3 ARNs carry none)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4] or self.owner


class World:
    """Every stack of every environment of one assembly, resolved."""

    def __init__(self, templates: dict[str, dict], environments: dict[str, tuple[str, str]]):
        self.stacks: dict[tuple[str, str], StackInfo] = {}
        for key, template in templates.items():
            env, _, stack = key.partition("/")
            account, region = environments[env]
            self.stacks[(env, stack)] = StackInfo(env, stack, template, account, region)
        self.exports: dict[tuple[str, str], Any] = {}  # (account/region, export name) -> expr
        for info in self.stacks.values():
            for output in (info.template.get("Outputs") or {}).values():
                name = (output.get("Export") or {}).get("Name")
                if name is not None:
                    self.exports[(info.env, self.resolve(info, name))] = (info, output["Value"])
        self.roles: dict[str, Role] = {}
        self.targets: dict[str, Target] = {}
        self.aliases: dict[str, list[str]] = {}  # key ARN -> alias names
        self._index()

    # --- intrinsic resolution -------------------------------------------------------------

    def physical(self, info: StackInfo, logical_id: str, attribute: str | None = None) -> Any:
        body = info.resources.get(logical_id)
        if body is None:
            return f"{{unresolved:{logical_id}}}"
        t, p = body.get("Type"), body.get("Properties") or {}
        acct, region = info.account, info.region
        synthetic = f"{info.stack}-{logical_id}"
        name = lambda prop: self.resolve(info, p[prop]) if prop in p else synthetic  # noqa: E731
        if t == "AWS::IAM::Role":
            role_name = name("RoleName")
            arn = f"arn:{PARTITION}:iam::{acct}:role{p.get('Path', '/')}{role_name}"
            return (
                arn
                if attribute == "Arn"
                else (f"AROA{synthetic}" if attribute == "RoleId" else role_name)
            )
        if t == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{acct}:policy/{name('ManagedPolicyName')}"
        if t == "AWS::KMS::Key":
            arn = f"arn:{PARTITION}:kms:{region}:{acct}:key/{synthetic}"
            return arn if attribute == "Arn" else synthetic
        if t == "AWS::S3::Bucket":
            bucket = name("BucketName").lower()
            if attribute == "Arn":
                return f"arn:{PARTITION}:s3:::{bucket}"
            if attribute in ("RegionalDomainName", "DomainName"):
                return f"{bucket}.s3.{region}.amazonaws.com"
            return bucket
        if t == "AWS::SNS::Topic":
            arn = f"arn:{PARTITION}:sns:{region}:{acct}:{name('TopicName')}"
            return name("TopicName") if attribute == "TopicName" else arn
        if t == "AWS::StepFunctions::StateMachine":
            arn = f"arn:{PARTITION}:states:{region}:{acct}:stateMachine:{name('StateMachineName')}"
            return name("StateMachineName") if attribute == "Name" else arn
        if t == "AWS::Lambda::Function":
            fn = name("FunctionName")
            return (
                f"arn:{PARTITION}:lambda:{region}:{acct}:function:{fn}"
                if attribute == "Arn"
                else fn
            )
        if t == "AWS::Logs::LogGroup":
            group = name("LogGroupName")
            return (
                f"arn:{PARTITION}:logs:{region}:{acct}:log-group:{group}:*"
                if attribute == "Arn"
                else group
            )
        if t == "AWS::SageMaker::ModelPackageGroup":
            group = name("ModelPackageGroupName")
            arn = f"arn:{PARTITION}:sagemaker:{region}:{acct}:model-package-group/{group.lower()}"
            return arn if attribute in ("ModelPackageGroupArn", None) else group
        if t == "AWS::CodeBuild::Project":
            project = name("Name")
            return (
                f"arn:{PARTITION}:codebuild:{region}:{acct}:project/{project}"
                if attribute == "Arn"
                else project
            )
        if t == "AWS::CodePipeline::Pipeline":
            return name("Name")
        if t == "AWS::Events::EventBus":
            bus = name("Name")
            return (
                f"arn:{PARTITION}:events:{region}:{acct}:event-bus/{bus}"
                if attribute == "Arn"
                else bus
            )
        if t == "AWS::Events::Rule":
            rule = name("Name")
            return (
                f"arn:{PARTITION}:events:{region}:{acct}:rule/{rule}"
                if attribute == "Arn"
                else rule
            )
        if t == "AWS::DynamoDB::Table":
            table = name("TableName")
            return (
                f"arn:{PARTITION}:dynamodb:{region}:{acct}:table/{table}"
                if attribute == "Arn"
                else table
            )
        if t == "AWS::CloudWatch::Alarm":
            alarm = name("AlarmName")
            return (
                f"arn:{PARTITION}:cloudwatch:{region}:{acct}:alarm:{alarm}"
                if attribute == "Arn"
                else alarm
            )
        if t == "AWS::CloudTrail::Trail":
            trail = name("TrailName")
            return (
                f"arn:{PARTITION}:cloudtrail:{region}:{acct}:trail/{trail}"
                if attribute == "Arn"
                else trail
            )
        if t == "AWS::Scheduler::Schedule":
            return f"arn:{PARTITION}:scheduler:{region}:{acct}:schedule/default/{name('Name')}"
        if t == "AWS::SageMaker::NotebookInstance":
            return name("NotebookInstanceName")
        return f"{{unresolved:{logical_id}.{attribute or 'Ref'}}}"

    def resolve(self, info: StackInfo, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(info, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "Ref":
                pseudo = {
                    "AWS::Partition": PARTITION,
                    "AWS::Region": info.region,
                    "AWS::AccountId": info.account,
                    "AWS::URLSuffix": "amazonaws.com",
                    "AWS::StackName": f"{info.env}-{info.stack}",
                    "AWS::NoValue": None,
                }
                if inner in pseudo:
                    return pseudo[inner]
                return self.physical(info, inner)
            if key == "Fn::GetAtt":
                logical, attribute = inner if isinstance(inner, list) else str(inner).split(".", 1)
                return self.physical(info, logical, attribute)
            if key == "Fn::Join":
                sep, parts = inner
                resolved = self.resolve(info, parts)
                return sep.join(str(p) for p in as_list(resolved))
            if key == "Fn::Sub":
                template, variables = (inner, {}) if isinstance(inner, str) else inner
                variables = {k: self.resolve(info, v) for k, v in variables.items()}

                def sub(match: re.Match) -> str:
                    ref = match.group(1)
                    if ref in variables:
                        return str(variables[ref])
                    if "." in ref:
                        logical, attribute = ref.split(".", 1)
                        return str(self.physical(info, logical, attribute))
                    return str(self.resolve(info, {"Ref": ref}))

                return re.sub(r"\$\{([^!}][^}]*)\}", sub, template)
            if key == "Fn::Select":
                index, items = inner
                items = self.resolve(info, items)
                return as_list(items)[int(self.resolve(info, index))]
            if key == "Fn::Split":
                sep, text = inner
                return str(self.resolve(info, text)).split(sep)
            if key == "Fn::ImportValue":
                name = self.resolve(info, inner)
                exporter = self.exports.get((info.env, name))
                if exporter is None:
                    return f"{{unresolved:import:{name}}}"
                return self.resolve(exporter[0], exporter[1])
            if key == "Fn::GetAZs":
                return []
            if key == "Fn::If":
                return "{unresolved:if}"
        return {k: self.resolve(info, v) for k, v in value.items()}

    # --- index ------------------------------------------------------------------------------

    def _doc(self, info: StackInfo, document: Any) -> dict:
        doc = self.resolve(info, document)
        return json.loads(doc) if isinstance(doc, str) else doc

    def _index(self) -> None:
        managed: dict[str, tuple[StackInfo, dict]] = {}
        for info in self.stacks.values():
            for logical, body in info.resources.items():
                t, p = body.get("Type"), body.get("Properties") or {}
                path = (body.get("Metadata") or {}).get("aws:cdk:path", "")
                if t == "AWS::IAM::Role":
                    arn = self.physical(info, logical, "Arn")
                    role = Role(
                        arn=arn,
                        env=info.env,
                        stack=info.stack,
                        logical_id=logical,
                        trust=self._doc(info, p.get("AssumeRolePolicyDocument") or {}),
                        path=path,
                    )
                    for inline in p.get("Policies") or []:
                        role.policies.append(self._doc(info, inline["PolicyDocument"]))
                    role.managed_policy_arns = [
                        self.resolve(info, m) for m in p.get("ManagedPolicyArns") or []
                    ]
                    self.roles[arn] = role
                elif t == "AWS::IAM::ManagedPolicy":
                    managed[self.physical(info, logical)] = (info, p)
                elif t in (
                    "AWS::S3::Bucket",
                    "AWS::SNS::Topic",
                    "AWS::KMS::Key",
                    "AWS::StepFunctions::StateMachine",
                    "AWS::Lambda::Function",
                    "AWS::SageMaker::ModelPackageGroup",
                    "AWS::CodeBuild::Project",
                    "AWS::Events::EventBus",
                    "AWS::DynamoDB::Table",
                    "AWS::Logs::LogGroup",
                ):
                    attr = {
                        "AWS::S3::Bucket": "Arn",
                        "AWS::KMS::Key": "Arn",
                        "AWS::Lambda::Function": "Arn",
                        "AWS::CodeBuild::Project": "Arn",
                        "AWS::Events::EventBus": "Arn",
                        "AWS::DynamoDB::Table": "Arn",
                        "AWS::Logs::LogGroup": "Arn",
                    }.get(t)
                    arn = self.physical(info, logical, attr)
                    if t == "AWS::Logs::LogGroup":
                        arn = arn[: -len(":*")]
                    target = Target(
                        arn=arn,
                        type=t,
                        env=info.env,
                        stack=info.stack,
                        logical_id=logical,
                        properties=p,
                        owner=info.account,
                    )
                    if t == "AWS::S3::Bucket":
                        rules = (p.get("BucketEncryption") or {}).get(
                            "ServerSideEncryptionConfiguration"
                        ) or []
                        for rule in rules:
                            key = (rule.get("ServerSideEncryptionByDefault") or {}).get(
                                "KMSMasterKeyID"
                            )
                            if key:
                                target.key_arn = self.resolve(info, key)
                    elif t == "AWS::SNS::Topic" and p.get("KmsMasterKeyId"):
                        target.key_arn = self.resolve(info, p["KmsMasterKeyId"])
                    elif t == "AWS::KMS::Key":
                        target.policies.append(self._doc(info, p.get("KeyPolicy") or {}))
                        target.has_policy = True
                    elif t == "AWS::StepFunctions::StateMachine":
                        enc = p.get("EncryptionConfiguration") or {}
                        if enc.get("Type") == "CUSTOMER_MANAGED_KMS_KEY":
                            target.key_arn = self.resolve(info, enc["KmsKeyId"])
                    elif t == "AWS::SageMaker::ModelPackageGroup" and p.get(
                        "ModelPackageGroupPolicy"
                    ):
                        target.policies.append(self._doc(info, p["ModelPackageGroupPolicy"]))
                        target.has_policy = True
                    elif t == "AWS::DynamoDB::Table":
                        sse = p.get("SSESpecification") or {}
                        if sse.get("KMSMasterKeyId"):
                            target.key_arn = self.resolve(info, sse["KMSMasterKeyId"])
                    elif t == "AWS::Logs::LogGroup" and p.get("KmsKeyId"):
                        target.key_arn = self.resolve(info, p["KmsKeyId"])
                    self.targets[arn] = target
        # the default event bus of every environment (its policy comes from EventBusPolicy)
        for info in self.stacks.values():
            bus = f"arn:{PARTITION}:events:{info.region}:{info.account}:event-bus/default"
            self.targets.setdefault(
                bus,
                Target(
                    arn=bus,
                    type="AWS::Events::EventBus",
                    env=info.env,
                    stack="(account)",
                    logical_id="default",
                ),
            )
        for info in self.stacks.values():
            for body in info.resources.values():
                t, p = body.get("Type"), body.get("Properties") or {}
                if t == "AWS::IAM::ManagedPolicy":
                    for role_ref in p.get("Roles") or []:
                        name = self.resolve(info, role_ref)
                        for role in self.roles.values():
                            if role.arn.endswith(f"/{name}") and role.account == info.account:
                                role.policies.append(self._doc(info, p["PolicyDocument"]))
                elif t == "AWS::IAM::Policy":
                    for role_ref in p.get("Roles") or []:
                        name = self.resolve(info, role_ref)
                        for role in self.roles.values():
                            if role.arn.endswith(f"/{name}") and role.account == info.account:
                                role.policies.append(self._doc(info, p["PolicyDocument"]))
                elif t == "AWS::S3::BucketPolicy":
                    arn = f"arn:{PARTITION}:s3:::{self.resolve(info, p['Bucket'])}"
                    self._attach(arn, self._doc(info, p["PolicyDocument"]))
                elif t == "AWS::SNS::TopicPolicy":
                    for topic in p.get("Topics") or []:
                        self._attach(
                            self.resolve(info, topic), self._doc(info, p["PolicyDocument"])
                        )
                elif t == "AWS::Events::EventBusPolicy":
                    bus = p.get("EventBusName", "default")
                    bus_name = self.resolve(info, bus)
                    arn = (
                        f"arn:{PARTITION}:events:{info.region}:{info.account}:event-bus/{bus_name}"
                    )
                    statement = (
                        self._doc(info, p["Statement"])
                        if "Statement" in p
                        else {
                            "Effect": "Allow",
                            "Principal": {"AWS": self.resolve(info, p.get("Principal"))},
                            "Action": self.resolve(info, p.get("Action")),
                            "Resource": arn,
                        }
                    )
                    self._attach(arn, {"Statement": [statement]})
                elif t == "AWS::Lambda::Permission":
                    fn = self.resolve(info, p["FunctionName"])
                    if not str(fn).startswith("arn:"):
                        fn = f"arn:{PARTITION}:lambda:{info.region}:{info.account}:function:{fn}"
                    principal = self.resolve(info, p["Principal"])
                    kind = "Service" if str(principal).endswith(".amazonaws.com") else "AWS"
                    statement = {
                        "Effect": "Allow",
                        "Principal": {kind: principal},
                        "Action": self.resolve(info, p["Action"]),
                        "Resource": fn,
                    }
                    cond: dict = {}
                    if p.get("SourceArn"):
                        cond["ArnLike"] = {"aws:SourceArn": self.resolve(info, p["SourceArn"])}
                    if p.get("SourceAccount"):
                        cond["StringEquals"] = {
                            "aws:SourceAccount": self.resolve(info, p["SourceAccount"])
                        }
                    if cond:
                        statement["Condition"] = cond
                    self._attach(fn, {"Statement": [statement]})
                elif t == "AWS::KMS::Alias":
                    key = self.resolve(info, p["TargetKeyId"])
                    key_arn = (
                        key
                        if str(key).startswith("arn:")
                        else (f"arn:{PARTITION}:kms:{info.region}:{info.account}:key/{key}")
                    )
                    self.aliases.setdefault(key_arn, []).append(self.resolve(info, p["AliasName"]))
        for role in self.roles.values():
            for arn in role.managed_policy_arns:
                if arn in managed:
                    info, p = managed[arn]
                    doc = self._doc(info, p["PolicyDocument"])
                    if doc not in role.policies:
                        role.policies.append(doc)

    def _attach(self, arn: str, document: dict) -> None:
        target = self.targets.get(arn)
        if target is None:
            return
        target.policies.append(document)
        target.has_policy = True

    # --- look-ups ---------------------------------------------------------------------------

    def bucket(self, name: str) -> Target | None:
        return self.targets.get(f"arn:{PARTITION}:s3:::{name}")


def environments_of(outdir: Path | str) -> dict[str, tuple[str, str]]:
    """env -> (account, region) from the cloud assembly's manifests."""
    found: dict[str, tuple[str, str]] = {}

    def walk(directory: Path) -> None:
        manifest = json.loads((directory / "manifest.json").read_text())
        for artifact in (manifest.get("artifacts") or {}).values():
            if artifact.get("type") == "aws:cloudformation:stack":
                env_uri = artifact.get("environment", "")
                match = re.fullmatch(r"aws://(\d{12})/([a-z0-9-]+)", env_uri)
                display = artifact.get("displayName", "")
                if match and "/" in display:
                    found[display.split("/", 1)[0]] = (match.group(1), match.group(2))
            elif artifact.get("type") == "cdk:cloud-assembly":
                walk(directory / artifact["properties"]["directoryName"])

    walk(Path(outdir))
    return found
