"""Smoke checks on a live (emulated) account, generic over whatever stacks were deployed.

The checks read the deployed stacks back from CloudFormation (their stored templates and
resource lists), then look at each resource through its own service API with boto3. A
check runs only where its resource type was deployed; otherwise it says why it was skipped.

Each result is one of:

- PASS: verified on the live account.
- FAIL: the live account contradicts the platform's intent; the rehearsal fails.
- SKIP: the property cannot be read back from this emulator (the reason names the gap), or
  there is nothing of that kind to check.
- NOT EXERCISED: a resource in the template that the rehearsal could not create for real
  (left out of the rehearsal synth, or not implemented by moto's CloudFormation).

Used by rehearsal/deploy_local.py; unit-tested against moto's in-process mock with
hand-made resources (tests/test_deploy_rehearsal.py).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from platform_config._model import JobFunction, PlatformConfig
from rehearsal.omit import METADATA_KEY

from rehearsal.moto_launcher import PLACEHOLDER_PREFIX  # noqa: E402

GATED_WORKFLOW_SUFFIX = "-training"  # <project>-<env>-training carries the quality gate

PASS, FAIL, SKIP, NOT_EXERCISED = "PASS", "FAIL", "SKIP", "NOT EXERCISED"

# Job functions that get a personal notebook instance when notebooks are enabled.
NOTEBOOK_JOB_FUNCTIONS = (JobFunction.DATA_SCIENTIST,)
# A state machine or pipeline "carries the gate" when one of its states, stages or actions
# is named with this word (case-insensitive), or (pipelines) has an Approval action.
GATE_WORD = "gate"

# What moto 5.2.5 does not keep; each becomes a SKIP reason (docs/deploy-rehearsal.md).
GAP_BUCKET_POLICY = ("moto's CloudFormation skips AWS::S3::BucketPolicy, so the TLS-only and "
                     "deny statements are not deployed and cannot be read back")
GAP_VERSIONING = "moto's CloudFormation does not apply a bucket's VersioningConfiguration"
GAP_PUBLIC_ACCESS_BLOCK = ("moto's CloudFormation does not apply a bucket's "
                           "PublicAccessBlockConfiguration")
GAP_NOTEBOOK = ("moto does not store a notebook's DirectInternetAccess, RootAccess, SubnetId "
                "or KmsKeyId (checked in the template by the compliance gate instead)")


GAP_STUDIO_RUNTIME = ("people create spaces and apps at run time; moto 5.2.5 implements none of "
                      "CreateSpace, CreateApp or CreatePresignedDomainUrl (the access policies are "
                      "checked offline by tests/test_studio.py)")


@dataclass(frozen=True)
class Result:
    check: str
    status: str
    detail: str


@dataclass
class DeployedResource:
    stack: str
    logical_id: str
    type: str
    physical_id: str | None
    definition: dict[str, Any]  # the template's resource entry

    @property
    def properties(self) -> dict[str, Any]:
        return self.definition.get("Properties", {})

    @property
    def cdk_path(self) -> str:
        return self.definition.get("Metadata", {}).get("aws:cdk:path", self.logical_id)


@dataclass
class DeployedStack:
    name: str
    status: str
    template: dict[str, Any]
    resources: list[DeployedResource] = field(default_factory=list)

    @property
    def omitted(self) -> list[dict[str, str]]:
        return list(self.template.get("Metadata", {}).get(METADATA_KEY, []))


@dataclass
class Deployed:
    stacks: list[DeployedStack]

    def of_type(self, resource_type: str) -> list[DeployedResource]:
        return [r for s in self.stacks for r in s.resources
                if r.type == resource_type and r.physical_id]

    def declared(self, resource_type: str) -> bool:
        return any(v.get("Type") == resource_type for s in self.stacks
                   for v in s.template.get("Resources", {}).values())


def load_deployed(session: Any, stack_names: Iterable[str]) -> Deployed:
    """Read the stacks back from (moto's) CloudFormation: status, stored template, resources."""
    cfn = session.client("cloudformation")
    stacks = []
    for name in stack_names:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        body = cfn.get_template(StackName=name)["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body
        physical: dict[str, str] = {}
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
            for summary in page["StackResourceSummaries"]:
                if summary.get("LogicalResourceId") and summary.get("PhysicalResourceId"):
                    physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        resources = [DeployedResource(name, logical_id, entry["Type"], physical.get(logical_id), entry)
                     for logical_id, entry in template.get("Resources", {}).items()]
        stacks.append(DeployedStack(name, status, template, resources))
    return Deployed(stacks)


def acknowledged(resource: DeployedResource, finding_word: str) -> str | None:
    """The reviewed reason, when the platform acknowledged ``finding_word`` on this resource."""
    # Imported here: it loads aws-cdk-lib (a few seconds of jsii start-up), needed only for
    # resources that deviate from the default.
    from compliance.acknowledgements import ACKNOWLEDGEMENTS

    relative = resource.cdk_path.split("/", 1)[-1]  # drop the stage name
    for ack in ACKNOWLEDGEMENTS:
        if finding_word in ack.finding and (
            fnmatch.fnmatch(relative, ack.path) or relative.startswith(ack.path + "/")
        ):
            return ack.reason
    return None


def _first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".")


# --- checks --------------------------------------------------------------------------------


def check_stacks(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    results = []
    for stack in deployed.stacks:
        ok = stack.status in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
        missing = [r for r in stack.resources if not r.physical_id]
        created = len(stack.resources) - len(missing)
        results.append(Result(f"stack {stack.name}", PASS if ok else FAIL,
                              f"{stack.status}; {created} of {len(stack.resources)} template "
                              "resources created"))
        for entry in stack.omitted:
            results.append(Result(f"{entry['type']} {entry['logicalId']}", NOT_EXERCISED,
                                  f"left out of the rehearsal synth: {entry['reason']}"))
        by_type: dict[str, list[str]] = {}
        for r in missing:
            by_type.setdefault(r.type, []).append(r.logical_id)
        for resource_type, ids in sorted(by_type.items()):
            results.append(Result(f"{resource_type} x{len(ids)}", NOT_EXERCISED,
                                  f"moto's CloudFormation does not implement {resource_type}; "
                                  f"not created ({', '.join(ids[:3])}{'...' if len(ids) > 3 else ''})"))
    return results


def check_network(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    vpcs = deployed.of_type("AWS::EC2::VPC")
    if not vpcs:
        return [Result("isolated VPC", SKIP, "no AWS::EC2::VPC in the deployed stacks")]
    ec2 = session.client("ec2")
    results = []
    for vpc in vpcs:
        vpc_id = vpc.physical_id
        problems = []
        igws = ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
        problems += [f"internet gateway {g['InternetGatewayId']}" for g in igws]
        nats = [n for n in ec2.describe_nat_gateways(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
            if n.get("State") not in {"deleted", "deleting"}]
        problems += [f"NAT gateway {n['NatGatewayId']}" for n in nats]
        eigws = [g for g in ec2.describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"]
                 if any(a.get("VpcId") == vpc_id for a in g.get("Attachments", []))]
        problems += [f"egress-only gateway {g['EgressOnlyInternetGatewayId']}" for g in eigws]
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
        for table in tables:
            for route in table.get("Routes", []):
                target = (route.get("GatewayId") or route.get("NatGatewayId")
                          or route.get("EgressOnlyInternetGatewayId") or "")
                if target.startswith(("igw-", "nat-", "eigw-")):
                    problems.append(f"route {route.get('DestinationCidrBlock') or route.get('DestinationIpv6CidrBlock')} "
                                    f"-> {target} in {table['RouteTableId']}")
        name = f"VPC {vpc.logical_id} no internet path"
        if problems:
            results.append(Result(name, FAIL, "; ".join(problems)))
        else:
            results.append(Result(name, PASS, f"{vpc_id}: no internet, NAT or egress-only gateway, "
                                              f"no route to one in {len(tables)} route tables"))
        logs = ec2.describe_flow_logs(
            Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
        results.append(Result(f"VPC {vpc.logical_id} flow logs", PASS if logs else FAIL,
                              f"{len(logs)} flow log(s), traffic "
                              f"{', '.join(sorted({l.get('TrafficType', '?') for l in logs})) or 'none'}"))
    return results


def _bucket_declared_encryption(bucket: DeployedResource) -> str | None:
    rules = (bucket.properties.get("BucketEncryption", {})
             .get("ServerSideEncryptionConfiguration", []))
    for rule in rules:
        algorithm = rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        if algorithm:
            return algorithm
    return None


def check_buckets(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    buckets = deployed.of_type("AWS::S3::Bucket")
    if not buckets:
        return [Result("S3 buckets", SKIP, "no AWS::S3::Bucket in the deployed stacks")]
    s3, kms = session.client("s3"), session.client("kms")
    results = []
    gaps: dict[str, list[str]] = {}  # one SKIP row per emulator gap, not one per bucket
    for bucket in buckets:
        name = bucket.physical_id
        try:
            s3.head_bucket(Bucket=name)
        except Exception as exc:  # noqa: BLE001 - any error means it is not there
            results.append(Result(f"bucket {name}", FAIL, f"does not exist: {exc}"))
            continue
        try:
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        except s3.exceptions.ClientError as exc:
            results.append(Result(f"bucket {name} encryption", FAIL, f"no default encryption ({exc})"))
            continue
        default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        algorithm = default.get("SSEAlgorithm")
        if algorithm == "aws:kms":
            key_id = default.get("KMSMasterKeyID", "")
            try:
                meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                results.append(Result(f"bucket {name} encryption", PASS,
                                      f"SSE-KMS with customer-managed key {meta['KeyId']}"))
            except Exception:  # noqa: BLE001
                results.append(Result(f"bucket {name} encryption", FAIL,
                                      f"SSE-KMS names key {key_id!r}, which does not exist"))
        else:
            reason = acknowledged(bucket, "S3DefaultEncryptionKMS")
            if reason and algorithm == _bucket_declared_encryption(bucket):
                results.append(Result(f"bucket {name} encryption", PASS,
                                      f"{algorithm} as declared; acknowledged: {_first_sentence(reason)}"))
            else:
                results.append(Result(f"bucket {name} encryption", FAIL,
                                      f"default encryption is {algorithm!r}, not SSE-KMS"))
        declared_versioning = bucket.properties.get("VersioningConfiguration", {}).get("Status")
        if declared_versioning:
            live = s3.get_bucket_versioning(Bucket=name).get("Status")
            if live == declared_versioning:
                results.append(Result(f"bucket {name} versioning", PASS, live))
            elif live is None:
                gaps.setdefault("versioning", []).append(name)
            else:
                results.append(Result(f"bucket {name} versioning", FAIL,
                                      f"{live}, template declares {declared_versioning}"))
        declared_block = bucket.properties.get("PublicAccessBlockConfiguration")
        if declared_block:
            try:
                live_block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            except s3.exceptions.ClientError:
                live_block = None
            if live_block is None:
                gaps.setdefault("public access block", []).append(name)
            elif all(live_block.get(k) == v for k, v in declared_block.items()):
                results.append(Result(f"bucket {name} public access block", PASS, "all four settings on"))
            else:
                results.append(Result(f"bucket {name} public access block", FAIL,
                                      f"live {live_block}, template declares {declared_block}"))
    reasons = {"versioning": GAP_VERSIONING, "public access block": GAP_PUBLIC_ACCESS_BLOCK}
    for what, names in gaps.items():
        results.append(Result(f"bucket {what} ({len(names)} buckets)", SKIP, reasons[what]))
    if deployed.declared("AWS::S3::BucketPolicy"):
        results.append(Result("bucket policies (TLS only)", SKIP, GAP_BUCKET_POLICY))
    return results


def check_kms_keys(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    keys = deployed.of_type("AWS::KMS::Key")
    if not keys:
        return [Result("KMS keys", SKIP, "no AWS::KMS::Key in the deployed stacks")]
    kms = session.client("kms")
    results = []
    for key in keys:
        meta = kms.describe_key(KeyId=key.physical_id)["KeyMetadata"]
        rotates = kms.get_key_rotation_status(KeyId=key.physical_id)["KeyRotationEnabled"]
        problems = []
        if not rotates:
            problems.append("rotation is off")
        if meta.get("KeyState") != "Enabled":
            problems.append(f"state {meta.get('KeyState')}")
        results.append(Result(f"KMS key {key.logical_id}", FAIL if problems else PASS,
                              "; ".join(problems) or f"{key.physical_id}: enabled, rotation on"))
    return results


def _expected_notebook_users(config: PlatformConfig | None, environment: str) -> list[str]:
    if config is None or not config.environment(environment).notebook_instances_enabled:
        return []
    return [u.name for u in config.users if u.job_function in NOTEBOOK_JOB_FUNCTIONS]


def _expected_studio_users(config: PlatformConfig | None, environment: str) -> list[str]:
    if config is None or not config.environment(environment).studio_enabled:
        return []
    return [u.name for u in config.users if u.job_function in NOTEBOOK_JOB_FUNCTIONS]


def _declared(deployed: Deployed, resource_type: str) -> list[DeployedResource]:
    return [r for s in deployed.stacks for r in s.resources if r.type == resource_type]


def check_studio(deployed: Deployed, session: Any, config: PlatformConfig | None = None,
                 environment: str = "dev") -> list[Result]:
    """The Studio domain read back with DescribeDomain (moto creates it through
    rehearsal/moto_launcher.py's translation of the resource); what moto cannot create
    (user profiles, Studio lifecycle configurations) and what people create at run time
    (spaces, apps, presigned URLs) listed as not exercised."""
    domains = _declared(deployed, "AWS::SageMaker::Domain")
    if not domains:
        return [Result("Studio domain", SKIP, "no AWS::SageMaker::Domain in the deployed stacks")]
    sagemaker, ec2, kms = (session.client(n) for n in ("sagemaker", "ec2", "kms"))
    platform_vpcs = {v.physical_id for v in deployed.of_type("AWS::EC2::VPC")}
    results = []
    for domain in domains:
        name = f"Studio domain {domain.logical_id}"
        if not domain.physical_id:
            results.append(Result(name, FAIL, "not created"))
            continue
        live = sagemaker.describe_domain(DomainId=domain.physical_id.rsplit("/", 1)[-1])
        problems = []
        if live.get("AppNetworkAccessType") != "VpcOnly":
            problems.append(f"AppNetworkAccessType {live.get('AppNetworkAccessType')}, not VpcOnly")
        subnets = live.get("SubnetIds") or []
        found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"] if subnets else []
        outside = [s["SubnetId"] for s in found if s["VpcId"] not in platform_vpcs]
        if not subnets or outside or live.get("VpcId") not in platform_vpcs:
            problems.append(f"not in the platform VPC's subnets (VPC {live.get('VpcId')}, "
                            f"subnets {subnets})")
        key = live.get("KmsKeyId")
        try:
            key_state = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] if key else None
        except Exception:  # noqa: BLE001 - a key that does not exist
            key_state = None
        if key_state != "Enabled":
            problems.append(f"home and app storage key {key!r} is not an enabled KMS key")
        settings = live.get("DomainSettings") or {}
        if settings.get("ExecutionRoleIdentityConfig") != "USER_PROFILE_NAME":
            problems.append("calls are not attributed to the person (ExecutionRoleIdentityConfig)")
        sharing = (live.get("DefaultUserSettings") or {}).get("SharingSettings") or {}
        if sharing.get("S3KmsKeyId") != key:
            problems.append("shared notebooks are not encrypted with the domain's key")
        results.append(Result(name, FAIL if problems else PASS, "; ".join(problems) or (
            f"{live['DomainId']}: VpcOnly in {len(subnets)} platform subnet(s), home and app "
            "storage and shared notebooks under an enabled KMS key, calls attributed to the "
            "person")))
    profiles = _declared(deployed, "AWS::SageMaker::UserProfile")
    declared_people = {str(p.properties.get("UserProfileName")) for p in profiles}
    for user in _expected_studio_users(config, environment):
        if user not in declared_people:
            results.append(Result(f"Studio user profile for {user}", FAIL,
                                  "no AWS::SageMaker::UserProfile declared for this data scientist"))
    if profiles:
        results.append(Result(f"AWS::SageMaker::UserProfile x{len(profiles)}", NOT_EXERCISED,
                              "moto 5.2.5 has no user-profile API: a placeholder stood in so the "
                              "stacks deployed; declared for " + ", ".join(sorted(declared_people))))
    lifecycles = _declared(deployed, "AWS::SageMaker::StudioLifecycleConfig")
    if lifecycles:
        results.append(Result(f"AWS::SageMaker::StudioLifecycleConfig x{len(lifecycles)}",
                              NOT_EXERCISED, "moto 5.2.5 has no Studio lifecycle-configuration "
                              "API: a placeholder stood in (its script is tested in "
                              "tests/constructs/test_studio_constructs.py)"))
    results.append(Result("Studio spaces, apps, idle shutdown, presigned domain URL",
                          NOT_EXERCISED, GAP_STUDIO_RUNTIME))
    return results


def check_notebooks(deployed: Deployed, session: Any, config: PlatformConfig | None = None,
                    environment: str = "dev") -> list[Result]:
    if not deployed.declared("AWS::SageMaker::NotebookInstance"):
        return [Result("user notebooks", SKIP,
                       "no AWS::SageMaker::NotebookInstance in the deployed stacks")]
    sagemaker = session.client("sagemaker")
    live = [n["NotebookInstanceName"]
            for page in sagemaker.get_paginator("list_notebook_instances").paginate()
            for n in page["NotebookInstances"]]
    # moto's CloudFormation ignores NotebookInstanceName and generates one from the stack
    # and logical id; the platform's logical ids carry the user name (User-<name>), so a
    # notebook is the user's when its name, or its logical id, names the user.
    by_logical = {r.physical_id: r.logical_id for r in
                  deployed.of_type("AWS::SageMaker::NotebookInstance")}
    results = []
    for user in _expected_notebook_users(config, environment):
        compact = user.replace("-", "").lower()
        mine = [n for n in live if user in n
                or compact in by_logical.get(n, "").lower()
                or f"user{compact}notebook" in n.lower()]
        results.append(Result(f"notebook for {user}", PASS if mine else FAIL,
                              ", ".join(mine) + ("" if any(user in n for n in mine) else
                                                 " (moto ignores NotebookInstanceName; "
                                                 "matched by logical id)")
                              if mine else
                              f"no notebook instance for {user!r} among {live}"))
    if live:
        results.append(Result("notebook DirectInternetAccess/RootAccess", SKIP, GAP_NOTEBOOK))
    return results


def _gate_states(definition: Any) -> list[str]:
    """Names of states (recursively, Parallel and Map included) that mention the gate."""
    found = []
    if isinstance(definition, dict):
        for name, state in (definition.get("States") or {}).items():
            if GATE_WORD in name.lower():
                found.append(name)
            found += _gate_states(state)
        for branch in definition.get("Branches", []) or []:
            found += _gate_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in definition:
                found += _gate_states(definition[key])
    return found


def check_state_machines(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    machines = deployed.of_type("AWS::StepFunctions::StateMachine")
    if not machines:
        return [Result("state machines", SKIP,
                        "no AWS::StepFunctions::StateMachine created in the deployed stacks")]
    sfn = session.client("stepfunctions")
    results = []
    for machine in machines:
        description = sfn.describe_state_machine(stateMachineArn=machine.physical_id)
        name = description["name"]
        gates = _gate_states(json.loads(description["definition"]))
        if not name.endswith(GATED_WORKFLOW_SUFFIX):
            # Only the training workflow gates a model; the others (retraining, deployment)
            # must simply exist with their definition.
            results.append(Result(f"state machine {name}", PASS,
                                  f"deployed; {len(json.loads(description['definition'])['States'])}"
                                  " top-level states"))
            continue
        results.append(Result(f"state machine {name}", PASS if gates else FAIL,
                              f"gate state(s): {', '.join(gates)}" if gates else
                              f"no state named with {GATE_WORD!r} in the live definition"))
    return results


def check_pipelines(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    pipelines = deployed.of_type("AWS::CodePipeline::Pipeline")
    if not pipelines:
        return [Result("pipelines", SKIP, "no AWS::CodePipeline::Pipeline created in the deployed stacks")]
    codepipeline = session.client("codepipeline")
    results = []
    for pipeline in pipelines:
        if (pipeline.physical_id or "").startswith(PLACEHOLDER_PREFIX):
            stages = pipeline.properties.get("Stages", [])
            approvals = [f"{st.get('Name')}/{a.get('Name')}" for st in stages
                         for a in st.get("Actions", [])
                         if a.get("ActionTypeId", {}).get("Category") == "Approval"]
            results.append(Result(
                f"pipeline {pipeline.logical_id}", NOT_EXERCISED,
                "moto's CloudFormation cannot create AWS::CodePipeline::Pipeline; a placeholder "
                "stood in so the stack deployed. Declared stages: "
                + " > ".join(str(st.get("Name")) for st in stages)
                + (f"; approval: {', '.join(approvals)}" if approvals else "; NO approval")))
            continue
        spec = codepipeline.get_pipeline(name=pipeline.physical_id)["pipeline"]
        gates = [f"{stage['name']}/{action['name']}"
                 for stage in spec.get("stages", []) for action in stage.get("actions", [])
                 if action.get("actionTypeId", {}).get("category") == "Approval"
                 or GATE_WORD in action["name"].lower() or GATE_WORD in stage["name"].lower()]
        results.append(Result(f"pipeline {spec['name']}", PASS if gates else FAIL,
                              f"gate action(s): {', '.join(gates)}" if gates else
                              f"no Approval action or stage/action named with {GATE_WORD!r}"))
    return results


def check_lambda_functions(deployed: Deployed, session: Any, config: PlatformConfig | None = None) -> list[Result]:
    functions = deployed.of_type("AWS::Lambda::Function")
    if not functions:
        return [Result("Lambda functions", SKIP, "no AWS::Lambda::Function in the deployed stacks")]
    lam, ec2 = session.client("lambda"), session.client("ec2")
    platform_vpcs = {v.physical_id for v in deployed.of_type("AWS::EC2::VPC")}
    results = []
    for function in functions:
        configuration = lam.get_function(FunctionName=function.physical_id)["Configuration"]
        name = f"Lambda {function.logical_id}"
        problems = []
        if not configuration.get("CodeSize"):
            problems.append("no code was published")
        vpc = configuration.get("VpcConfig") or {}
        subnets, groups = vpc.get("SubnetIds") or [], vpc.get("SecurityGroupIds") or []
        if subnets:
            found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
            outside = [s["SubnetId"] for s in found if s["VpcId"] not in platform_vpcs]
            if outside:
                problems.append(f"subnets outside the platform VPC: {outside}")
            if not groups:
                problems.append("no security group")
            detail = f"in VPC: {len(subnets)} subnet(s), {len(groups)} security group(s)"
        else:
            reason = acknowledged(function, "lambda_inside_vpc")
            if reason is None:
                problems.append("not attached to a VPC and no acknowledgement says why")
            detail = f"outside the VPC, acknowledged: {_first_sentence(reason or '')}"
        detail = f"{configuration.get('Runtime')}, code {configuration.get('CodeSize')} bytes; {detail}"
        results.append(Result(name, FAIL if problems else PASS,
                              "; ".join(problems) if problems else detail))
    return results


CHECKS: tuple[Callable[..., list[Result]], ...] = (
    check_stacks,
    check_network,
    check_buckets,
    check_kms_keys,
    check_notebooks,
    check_studio,
    check_state_machines,
    check_pipelines,
    check_lambda_functions,
)


def run_checks(deployed: Deployed, session: Any, config: PlatformConfig | None) -> list[Result]:
    results: list[Result] = []
    for check in CHECKS:
        try:
            results += check(deployed, session, config)
        except Exception as exc:  # noqa: BLE001 - a crashing check is a failed check
            results.append(Result(check.__name__, FAIL, f"{type(exc).__name__}: {exc}"))
    return results


def format_table(results: list[Result]) -> str:
    width = max([len(r.check) for r in results] + [5])
    status_width = max(len(s) for s in (PASS, FAIL, SKIP, NOT_EXERCISED))
    lines = [f"{'CHECK'.ljust(width)}  {'RESULT'.ljust(status_width)}  DETAIL"]
    for r in results:
        lines.append(f"{r.check.ljust(width)}  {r.status.ljust(status_width)}  {r.detail}")
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, SKIP, NOT_EXERCISED)}
    lines.append(", ".join(f"{n} {s.lower()}" for s, n in counts.items()))
    return "\n".join(lines)
