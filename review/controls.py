"""The control catalogue of the whitepaper, as data, and its evaluation against an assembly.

Each control is one consideration of "Machine Learning Best Practices in Financial
Services" and lists *requirements*: predicates over the synthesized resources of one
environment. Two kinds:

- ``exists``: at least one resource of ``types`` satisfies ``check`` (and none of ``forbid``
  is present). Its resources are the evidence that implements the control.
- ``each``: every resource of ``types`` must satisfy ``check``; not applicable while the
  environment has none of them (e.g. notebook rules in an environment without notebooks).

Status per environment: *implemented* when every applicable requirement holds, *partly*
when some do, *not yet* when none hold or no evidence resource exists. Overall: implemented
when implemented in every environment, not yet when not yet in every environment, partly
otherwise. Nothing names a logical id or a construct path: when the audit, access, pipeline
or monitoring stacks land, their resources count automatically, and a control whose
resources are removed shows as not yet implemented.

Tests that check a control are found by scanning ``tests/`` (see ``discover_tests``): a
``@pytest.mark.control("<id>")`` marker (or module ``pytestmark``), or a test whose code
names one of the control's resource types.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from review.assembly import Environment, Resource, as_list
from review.rules import Rule, matching

Check = Callable[[Resource, Environment], bool]

IMPLEMENTED, PARTLY, NOT_YET, NOT_APPLICABLE = "implemented", "partly", "not yet", "n/a"


# --- predicate vocabulary -------------------------------------------------------------------

def always(_r: Resource, _e: Environment) -> bool:
    return True


def prop(name: str, *expected: Any) -> Check:
    """Property (dotted path) present, and equal to one of ``expected`` when given."""
    def check(r: Resource, _e: Environment) -> bool:
        value: Any = r.props
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                return False
            value = value[part]
        return value not in (None, "", [], {}) if not expected else value in expected
    check.__doc__ = f"{name}" + (f" = {' or '.join(map(str, expected))}" if expected else " set")
    return check


def text(*needles: str) -> Check:
    """The resource's properties mention one of ``needles`` (case-insensitive)."""
    def check(r: Resource, _e: Environment) -> bool:
        blob = json.dumps(r.props).lower()
        return any(n.lower() in blob for n in needles)
    check.__doc__ = "mentions " + " or ".join(needles)
    return check


def environment_has_vpc(_r: Resource, e: Environment) -> bool:
    """the environment has a VPC to attach to"""
    return bool(e.of_type("AWS::EC2::VPC"))


def or_workflow_creates(check: Check, api: str, *needles: str) -> Check:
    """For a Step Functions workflow that creates the resource at deployment time (the
    platform names models, endpoint configs and schedules per deployment): its definition
    calls the SageMaker ``api`` and mentions every needle. Other types: ``check``."""
    def combined(r: Resource, e: Environment) -> bool:
        if r.type != "AWS::StepFunctions::StateMachine":
            return check(r, e)
        blob = json.dumps(r.props)
        return f"sagemaker:{api}" in blob and all(n in blob for n in needles)
    combined.__doc__ = (f"{check.__doc__ or 'exists'}, or a workflow calling sagemaker:{api}"
                        + (f" with {', '.join(needles)}" if needles else ""))
    return combined


def all_of(*checks: Check) -> Check:
    def check(r: Resource, e: Environment) -> bool:
        return all(c(r, e) for c in checks)
    check.__doc__ = " and ".join(c.__doc__ or c.__name__ for c in checks)
    return check


def no_open_ingress(r: Resource, _e: Environment) -> bool:
    """no ingress from 0.0.0.0/0 or ::/0"""
    return not any(rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0"
                   for rule in as_list(r.props.get("SecurityGroupIngress")) if isinstance(rule, dict))


def _statements(doc: Any) -> list[dict]:
    return [s for s in as_list((doc or {}).get("Statement")) if isinstance(s, dict)] if isinstance(doc, dict) else []


def policy_documents(r: Resource) -> list[Any]:
    docs = [r.props.get("PolicyDocument")]
    docs += [p.get("PolicyDocument") for p in as_list(r.props.get("Policies")) if isinstance(p, dict)]
    return [d for d in docs if d]


def no_admin_statement(r: Resource, _e: Environment) -> bool:
    """no Allow of Action * on Resource *"""
    for doc in policy_documents(r):
        for s in _statements(doc):
            if s.get("Effect") == "Allow" and "*" in as_list(s.get("Action")) and "*" in as_list(s.get("Resource")):
                return False
    return True


def denies_insecure_transport(r: Resource, _e: Environment) -> bool:
    """denies requests without aws:SecureTransport"""
    return any(s.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition", {}))
               for s in _statements(r.props.get("PolicyDocument")))


def grants_presigned_url_with_source_ip(r: Resource, _e: Environment) -> bool:
    """allows sagemaker:CreatePresignedNotebookInstanceUrl only under an aws:SourceIp or aws:SourceVpce condition"""
    for doc in policy_documents(r):
        for s in _statements(doc):
            actions = [str(a).lower() for a in as_list(s.get("Action"))]
            if s.get("Effect") == "Allow" and "sagemaker:createpresignednotebookinstanceurl" in actions:
                cond = json.dumps(s.get("Condition", {}))
                if "aws:SourceIp" in cond or "aws:SourceVpce" in cond:
                    return True
    return False


def grants_presigned_domain_url_with_source(r: Resource, _e: Environment) -> bool:
    """allows sagemaker:CreatePresignedDomainUrl only on user profiles and under an
    aws:SourceIp or aws:SourceVpce condition"""
    for doc in policy_documents(r):
        for s in _statements(doc):
            actions = [str(a).lower() for a in as_list(s.get("Action"))]
            if s.get("Effect") == "Allow" and "sagemaker:createpresigneddomainurl" in actions:
                cond = json.dumps(s.get("Condition", {}))
                on_profiles = all(":user-profile/" in json.dumps(x) for x in as_list(s.get("Resource")))
                if on_profiles and ("aws:SourceIp" in cond or "aws:SourceVpce" in cond):
                    return True
    return False


def trail_has_data_events(r: Resource, _e: Environment) -> bool:
    """records data events (S3/Lambda/SageMaker)"""
    selectors = as_list(r.props.get("EventSelectors")) + as_list(r.props.get("AdvancedEventSelectors"))
    return "DataResources" in json.dumps(selectors) or "eventCategory" in json.dumps(selectors) and "Data" in json.dumps(selectors)


def has_alarm_action(r: Resource, _e: Environment) -> bool:
    """notifies someone (AlarmActions set)"""
    return bool(as_list(r.props.get("AlarmActions")))


# --- the catalogue --------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    description: str
    types: tuple[str, ...]
    check: Check = always
    kind: str = "exists"  # or "each"
    forbid: tuple[str, ...] = ()
    applies: Callable[[Any], bool] | None = None  # EnvironmentConfig -> bool

    def is_applicable(self, env_config: Any) -> bool:
        return self.applies is None or env_config is None or bool(self.applies(env_config))


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    section: str  # whitepaper section
    summary: str
    requirements: tuple[Requirement, ...]
    rule_patterns: tuple[str, ...] = ()

    @property
    def resource_types(self) -> set[str]:
        return {t for r in self.requirements for t in r.types}

    def rules(self) -> list[Rule]:
        return matching(self.rule_patterns) if self.rule_patterns else []


NOTEBOOK = "AWS::SageMaker::NotebookInstance"
DOMAIN = "AWS::SageMaker::Domain"
USER_PROFILE = "AWS::SageMaker::UserProfile"
LAMBDA = "AWS::Lambda::Function"
POLICY_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
SFN = "AWS::StepFunctions::StateMachine"
PIPELINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::SageMaker::Pipeline", "AWS::CodePipeline::Pipeline")


@dataclass(frozen=True)
class EnvironmentRole:
    """An environment's configuration with what the platform runs there: the training
    pipeline (registry, lineage) lives in ``training.pipeline_environment`` only, endpoints
    (capture, Model Monitor) in ``serving.environments`` only. Requirements of one of them
    are "not applicable by configuration" elsewhere."""

    config: Any  # platform_config._model.EnvironmentConfig
    pipeline: bool
    serving: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.config, name)


def environment_roles(config: Any, names: list[str]) -> dict[str, Any]:
    """``name -> EnvironmentRole`` (None for an environment the configuration lacks)."""
    out: dict[str, Any] = {}
    for name in names:
        try:
            env_config = config.environment(name) if config is not None else None
        except Exception:  # an environment the configuration does not know
            env_config = None
        out[name] = None if env_config is None else EnvironmentRole(
            env_config, pipeline=config.training.pipeline_environment == name,
            serving=name in config.serving.environments)
    return out


def _pipeline_env(env: Any) -> bool:
    return getattr(env, "pipeline", True)


def _serving_env(env: Any) -> bool:
    return getattr(env, "serving", True)


def _notebook_instances(env: Any) -> bool:
    """the environment's data scientists work on notebook instances"""
    if hasattr(env, "notebook_instances_enabled"):
        return bool(env.notebook_instances_enabled)
    return getattr(env, "notebooks_enabled", True)


def _studio(env: Any) -> bool:
    """the environment's data scientists work in SageMaker AI Studio"""
    return bool(getattr(env, "studio_enabled", False))


def _own_trail(env: Any) -> bool:
    return not getattr(getattr(env, "audit", None), "use_organization_trail", False)


def _own_recorder(env: Any) -> bool:
    return not getattr(getattr(env, "audit", None), "reuse_config_recorder", False)


CONTROLS: tuple[Control, ...] = (
    Control(
        "network_isolation", "Compute and network isolation", "A. Compute and network isolation",
        "A private VPC with no internet connectivity; AWS services reached through VPC endpoints "
        "with endpoint policies; security groups govern ingress and egress; compute runs in the VPC.",
        (
            Requirement("VPC with no internet, NAT or egress-only gateway", ("AWS::EC2::VPC",),
                        forbid=("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway",
                                "AWS::EC2::EgressOnlyInternetGateway", "AWS::EC2::VPCGatewayAttachment")),
            Requirement("Interface endpoints with private DNS", ("AWS::EC2::VPCEndpoint",),
                        all_of(prop("VpcEndpointType", "Interface"), prop("PrivateDnsEnabled", True))),
            Requirement("VPC endpoints carry an endpoint policy", ("AWS::EC2::VPCEndpoint",),
                        prop("PolicyDocument")),
            Requirement("Security groups open to no internet address", ("AWS::EC2::SecurityGroup",),
                        no_open_ingress, kind="each"),
            Requirement("Subnets never assign public IPs", ("AWS::EC2::Subnet",),
                        lambda r, e: r.props.get("MapPublicIpOnLaunch") in (None, False), kind="each"),
            Requirement("Notebooks in the VPC without direct internet access", (NOTEBOOK,),
                        all_of(prop("SubnetId"), prop("DirectInternetAccess", "Disabled")), kind="each"),
            Requirement("Studio domains VPC-only in the platform's subnets", (DOMAIN,),
                        all_of(prop("AppNetworkAccessType", "VpcOnly"), prop("SubnetIds"),
                               prop("DomainSettings.SecurityGroupIds")), kind="each"),
            Requirement("Lambda functions attached to the VPC", (LAMBDA,),
                        all_of(prop("VpcConfig"), environment_has_vpc), kind="each"),
        ),
        (r"^VPC", r"VPC\d", r"SubnetAutoAssign", r"InsideVPC|InVPC|inside_vpc", r"NoDirectInternet|no_direct_internet",
         r"^SM1$", r"^SM3$", r"^vpc_sg_", r"subnet_auto_assign", r"Lambda.*VPC|lambda_inside_vpc", r"no_public_ip"),
    ),
    Control(
        "authorization", "Authentication and authorization", "A. Authentication and authorization",
        "Least-privilege IAM roles per job function; one workspace per data scientist (a notebook "
        "instance with root access disabled, or a Studio user profile with its own role); the "
        "presigned notebook or Studio URL restricted by source address.",
        (
            Requirement("IAM roles with explicit trust policies", ("AWS::IAM::Role",),
                        prop("AssumeRolePolicyDocument")),
            Requirement("No policy grants Action * on Resource *", POLICY_TYPES, no_admin_statement, kind="each"),
            Requirement("Notebook root access disabled", (NOTEBOOK,), prop("RootAccess", "Disabled"), kind="each"),
            Requirement("Per-user notebook instances", (NOTEBOOK,), applies=_notebook_instances),
            Requirement("Presigned notebook URL limited by source IP or VPC endpoint", POLICY_TYPES,
                        grants_presigned_url_with_source_ip, applies=_notebook_instances),
            Requirement("Per-user Studio user profiles, each with its own execution role", (USER_PROFILE,),
                        prop("UserSettings.ExecutionRole"), applies=_studio),
            Requirement("Studio calls attributed to the person (source identity)", (DOMAIN,),
                        prop("DomainSettings.ExecutionRoleIdentityConfig", "USER_PROFILE_NAME"),
                        kind="each"),
            Requirement("Presigned Studio URL for own profile, limited by source IP or VPC endpoint",
                        POLICY_TYPES, grants_presigned_domain_url_with_source, applies=_studio),
        ),
        (r"^IAM", r"^iam_", r"RootAccess|root_access", r"^COG", r"^SM2$"),
    ),
    Control(
        "encryption", "Data encryption", "A. Data encryption",
        "Customer managed KMS keys at rest (S3, notebook volumes, Studio home and app storage, logs, "
        "topics), S3 default "
        "encryption, bucket policies refusing unencrypted transport, TLS in transit.",
        (
            Requirement("Every customer managed KMS key rotates", ("AWS::KMS::Key",),
                        prop("EnableKeyRotation", True), kind="each"),
            Requirement("Every bucket has default encryption", ("AWS::S3::Bucket",),
                        prop("BucketEncryption"), kind="each"),
            Requirement("Buckets with SSE-KMS default encryption", ("AWS::S3::Bucket",),
                        text("aws:kms")),
            Requirement("Every bucket policy denies insecure transport", ("AWS::S3::BucketPolicy",),
                        denies_insecure_transport, kind="each"),
            Requirement("Every log group encrypted with a CMK", ("AWS::Logs::LogGroup",), prop("KmsKeyId"), kind="each"),
            Requirement("Every topic encrypted with a CMK", ("AWS::SNS::Topic",), prop("KmsMasterKeyId"), kind="each"),
            Requirement("Every notebook volume encrypted with a CMK", (NOTEBOOK,), prop("KmsKeyId"), kind="each"),
            Requirement("Every Studio domain's home EFS and app volumes, and shared notebooks, under a CMK",
                        (DOMAIN,), all_of(prop("KmsKeyId"), prop("DefaultUserSettings.SharingSettings.S3KmsKeyId")),
                        kind="each"),
        ),
        (r"KMS|Kms|kms", r"Encrypt|encrypt", r"SSL|ssl_requests", r"TLS|Tls", r"^S3\d*$", r"^SM2$", r"^SNS[23]$",
         r"^SQS[234]$", r"^CT2$", r"LogGroupEncrypted"),
    ),
    Control(
        "auditability", "Auditability", "A. Auditability",
        "CloudTrail logs every API call (data events included) into tamper-evident storage; AWS "
        "Config records configuration and evaluates rules; access to data is logged.",
        (
            Requirement("CloudTrail trail with log file validation", ("AWS::CloudTrail::Trail",),
                        prop("EnableLogFileValidation", True), applies=_own_trail),
            Requirement("CloudTrail records data events", ("AWS::CloudTrail::Trail",),
                        trail_has_data_events, applies=_own_trail),
            Requirement("AWS Config recorder and delivery channel",
                        ("AWS::Config::ConfigurationRecorder",), applies=_own_recorder),
            Requirement("AWS Config rules evaluate the platform", ("AWS::Config::ConfigRule",)),
            Requirement("VPC flow logs", ("AWS::EC2::FlowLog",)),
            Requirement("S3 server access logging", ("AWS::S3::Bucket",), prop("LoggingConfiguration")),
            Requirement("Every log group retained and encrypted", ("AWS::Logs::LogGroup",),
                        all_of(prop("RetentionInDays"), prop("KmsKeyId")), kind="each"),
        ),
        (r"CloudTrail|cloud_trail|^CT\d", r"Logging|logging", r"FlowLog", r"LogGroupRetention|retention_period",
         r"LogExport|log_export"),
    ),
    Control(
        "traceability", "Traceability", "B. Traceability",
        "Model lineage from data preparation and commit through training to the registered "
        "model; immutable, versioned artifact storage.",
        (
            Requirement("Versioned buckets", ("AWS::S3::Bucket",), prop("VersioningConfiguration.Status", "Enabled")),
            Requirement("Object Lock on artifact buckets", ("AWS::S3::Bucket",), prop("ObjectLockConfiguration")),
            Requirement("Model package group (model registry)", ("AWS::SageMaker::ModelPackageGroup",),
                        applies=_pipeline_env),
            Requirement("Lineage recorded by the pipeline or a lineage function",
                        (LAMBDA, *PIPELINE_TYPES), text("lineage"), applies=_pipeline_env),
        ),
        (r"Versioning|versioning", r"ObjectLock|object_lock"),
    ),
    Control(
        "explainability", "Explainability and interpretability", "B. Explainability and interpretability",
        "SageMaker Clarify (or an equivalent step) explains the model and measures bias before "
        "approval and on the endpoint.",
        (
            Requirement("Explainability or bias job definitions, or a pipeline step running them",
                        ("AWS::SageMaker::ModelExplainabilityJobDefinition", "AWS::SageMaker::ModelBiasJobDefinition",
                         *PIPELINE_TYPES), text("clarify", "explain", "shap", "bias")),
        ),
        (r"Clarify|clarify",),
    ),
    Control(
        "monitoring", "Model monitoring", "B. Model monitoring",
        "Endpoint data capture, monitoring schedules for data and model drift, and alarms that "
        "reach a person.",
        (
            Requirement("Endpoint data capture", ("AWS::SageMaker::EndpointConfig", SFN),
                        or_workflow_creates(prop("DataCaptureConfig"), "createEndpointConfig",
                                            "DataCaptureConfig", "EnableCapture"),
                        applies=_serving_env),
            Requirement("Monitoring schedule", ("AWS::SageMaker::MonitoringSchedule", SFN),
                        or_workflow_creates(always, "createMonitoringSchedule"), applies=_serving_env),
            Requirement("Data or model quality job definitions",
                        ("AWS::SageMaker::DataQualityJobDefinition", "AWS::SageMaker::ModelQualityJobDefinition",
                         SFN),
                        or_workflow_creates(always, "createDataQualityJobDefinition"),
                        applies=_serving_env),
            Requirement("Alarms with a notification action", ("AWS::CloudWatch::Alarm",), has_alarm_action),
        ),
        (r"^SM\d+$", r"EndpointConfiguration|endpoint_config", r"Alarm|alarm", r"DetailedMonitoring"),
    ),
    Control(
        "reproducibility", "Reproducibility", "B. Reproducibility",
        "The model can be rebuilt from the recorded code, data version and parameters: pinned "
        "packages, a defined pipeline and immutable stored artifacts.",
        (
            Requirement("Immutable artifact storage (versioning and Object Lock)", ("AWS::S3::Bucket",),
                        all_of(prop("VersioningConfiguration.Status", "Enabled"), prop("ObjectLockConfiguration"))),
            Requirement("Private package repository", ("AWS::CodeArtifact::Repository", "AWS::ECR::Repository")),
            Requirement("Defined training pipeline", PIPELINE_TYPES),
        ),
        (r"^ECR\d", r"^ecr_", r"^CB\d", r"codebuild"),
    ),
    Control(
        "operations", "Operationalize ML workloads", "C. Operationalize ML workloads",
        "Automated CI/CD and training/deployment workflows with human approval, tracking and "
        "alerting of appropriate users, and automated responses to non-compliant resources.",
        (
            Requirement("Workflow or pipeline (Step Functions, SageMaker, CodePipeline)", PIPELINE_TYPES),
            Requirement("Notification topics with subscribers", ("AWS::SNS::Subscription",)),
            Requirement("Event rules that trigger automated responses", ("AWS::Events::Rule",)),
            Requirement("Alarms", ("AWS::CloudWatch::Alarm",)),
            Requirement("Every Step Functions workflow logs and traces", ("AWS::StepFunctions::StateMachine",),
                        all_of(prop("LoggingConfiguration"), prop("TracingConfiguration")), kind="each"),
            Requirement("Every function has a dead-letter queue", (LAMBDA,), prop("DeadLetterConfig"), kind="each"),
        ),
        (r"^SF\d", r"step_functions", r"^L\d$", r"LambdaDLQ|LambdaConcurrency", r"^SNS\d", r"^EVB", r"cloudwatch_alarm"),
    ),
)


# --- evaluation -----------------------------------------------------------------------------

@dataclass
class RequirementResult:
    requirement: Requirement
    status: str  # "met", "not met", "n/a"
    evidence: list[Resource] = field(default_factory=list)
    violations: list[Resource] = field(default_factory=list)
    note: str = ""


@dataclass
class ControlResult:
    control: Control
    per_env: dict[str, tuple[str, list[RequirementResult]]]
    tests: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = {s for s, _ in self.per_env.values() if s != NOT_APPLICABLE}
        if not statuses:
            return NOT_YET
        if statuses == {IMPLEMENTED}:
            return IMPLEMENTED
        if statuses == {NOT_YET}:
            return NOT_YET
        return PARTLY

    def evidence(self, env: str) -> list[Resource]:
        seen: dict[tuple, Resource] = {}
        for result in self.per_env[env][1]:
            for r in result.evidence:
                seen[(r.stack, r.logical_id)] = r
        return sorted(seen.values(), key=lambda r: r.path)


def is_framework_internal(r: Resource) -> bool:
    """CDK's own singleton providers (``Custom::...Provider``): not platform workload."""
    return any(part.startswith("Custom::") for part in r.path.split("/"))


def evaluate_requirement(req: Requirement, env: Environment, env_config: Any = None,
                         exempt: set[str] = frozenset()) -> RequirementResult:
    """The check runs on every resource of the requirement's types (CDK's own singleton
    providers aside). ``exempt``: construct paths with an acknowledged finding for one of the
    control's rules; an ``each`` requirement does not count a resource there as a violation
    *when it fails the check* (the acknowledgement says why) and names it in the note. A
    resource that meets the check is evidence whatever is acknowledged on it."""
    if not req.is_applicable(env_config):
        return RequirementResult(req, "n/a", note="not applicable by configuration")
    candidates = [r for r in env.of_type(*req.types) if not is_framework_internal(r)]
    # One check per resource; kept apart by identity (``r not in passing`` compared every
    # pair: quadratic, ~0.7 s of the review pack with 500 people).
    verdicts = [(r, bool(req.check(r, env))) for r in candidates]
    passing = [r for r, ok in verdicts if ok]
    if req.kind == "each":
        if not candidates:
            return RequirementResult(req, "n/a", note="no such resources")
        failing = [r for r, ok in verdicts if not ok]
        accepted = [r for r in failing if _path_in(r, exempt)]
        violations = [r for r in failing if not _path_in(r, exempt)]
        note = ""
        if accepted:
            note = ("acknowledged exception(s), see acknowledgements: "
                    + ", ".join(r.short_path for r in accepted))
        return RequirementResult(req, "not met" if violations else "met", passing, violations,
                                 note)
    forbidden = env.of_type(*req.forbid)
    met = bool(passing) and not forbidden
    note = ""
    if forbidden:
        note = "forbidden: " + ", ".join(sorted({r.type for r in forbidden}))
    elif not passing:
        note = "no matching resource"
    return RequirementResult(req, "met" if met else "not met", passing, forbidden, note)


def _path_in(r: Resource, paths: set[str]) -> bool:
    return r.path in paths or r.path.removesuffix("/Resource") in paths


def evaluate_control(control: Control, environments: dict[str, Environment],
                     env_configs: dict[str, Any] | None = None,
                     acknowledged: dict[str, set[str]] | None = None) -> ControlResult:
    """``acknowledged``: construct path -> rule ids acknowledged there (validation report)."""
    rule_ids = {r.id for r in control.rules()}
    exempt = {path for path, rules in (acknowledged or {}).items() if rules & rule_ids}
    per_env = {}
    for name, env in environments.items():
        results = [evaluate_requirement(req, env, (env_configs or {}).get(name), exempt)
                   for req in control.requirements]
        applicable = [r for r in results if r.status != "n/a"]
        met = [r for r in applicable if r.status == "met"]
        has_evidence = any(r.evidence for r in results if r.requirement.kind == "exists")
        if not applicable:
            status = NOT_APPLICABLE
        elif not has_evidence or not met:
            status = NOT_YET
        elif len(met) == len(applicable):
            status = IMPLEMENTED
        else:
            status = PARTLY
        per_env[name] = (status, results)
    return ControlResult(control, per_env)


def evaluate(environments: dict[str, Environment], env_configs: dict[str, Any] | None = None,
             tests_root: Path | None = None,
             controls: tuple[Control, ...] = CONTROLS,
             acknowledged: dict[str, set[str]] | None = None) -> list[ControlResult]:
    tests = discover_tests(tests_root, controls) if tests_root else {}
    results = []
    for control in controls:
        result = evaluate_control(control, environments, env_configs, acknowledged)
        result.tests = tests.get(control.id, [])
        results.append(result)
    return results


# --- tests that check a control --------------------------------------------------------------

def _marker_controls(decorators: list[ast.expr]) -> set[str]:
    found = set()
    for dec in decorators:
        for node in ast.walk(dec):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "control"):
                found |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return found


def _test_functions(path: Path) -> tuple[set[str], list[tuple[str, list[str], list[str]]]] | None:
    """One test file, parsed: its module-level control markers and, per test function, its
    name, its marker controls and the string constants in its body. Cached on disk under
    the file's content hash (review/controls.py; a pack build parses ~100 test files)."""
    import hashlib
    import json
    import os

    content = path.read_bytes()
    cache_dir = Path(os.environ.get("REVIEW_CACHE") or Path(__file__).resolve().parents[1] / ".cache" / "review")
    key = hashlib.sha256(b"tests-v1\0" + content).hexdigest()
    cached = cache_dir / "tests" / f"{key}.json"
    if cached.exists():
        marks, functions = json.loads(cached.read_text())
        return set(marks), [(n, m, c) for n, m, c in functions]
    try:
        module = ast.parse(content)
    except SyntaxError:
        return None
    module_marks: set[str] = set()
    for node in module.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            module_marks |= _marker_controls([node.value])
    found = []
    for fn in ast.walk(module):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name.startswith("test"):
            constants = sorted({c.value for c in ast.walk(fn)
                                if isinstance(c, ast.Constant) and isinstance(c.value, str)})
            found.append((fn.name, sorted(_marker_controls(fn.decorator_list)), constants))
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{key}.{os.getpid()}.tmp")
    partial.write_text(json.dumps([sorted(module_marks), found]))
    partial.replace(cached)
    return module_marks, found


def discover_tests(tests_root: Path, controls: tuple[Control, ...] = CONTROLS,
                   exclude: tuple[str, ...] = ("test_review_pack",)) -> dict[str, list[str]]:
    """control id -> test node ids (``path::name``), from markers and resource-type mentions.
    The review pack's own tests name every resource type; they count only through markers."""
    by_type: dict[str, set[str]] = {}
    for c in controls:
        for t in c.resource_types:
            by_type.setdefault(t, set()).add(c.id)
    known = {c.id for c in controls}
    mapping: dict[str, set[str]] = {}
    root = tests_root.parent
    for path in sorted(tests_root.rglob("test_*.py")):
        parsed = _test_functions(path)
        if parsed is None:
            continue
        module_marks, functions = parsed
        heuristics = not any(x in path.name for x in exclude)
        for name, fn_marks, constants in functions:
            marks = module_marks | set(fn_marks)
            if heuristics:
                for const in constants:
                    marks |= by_type.get(const, set())
            node_id = f"{path.relative_to(root).as_posix()}::{name}"
            for control_id in marks & known:
                mapping.setdefault(control_id, set()).add(node_id)
    return {k: sorted(v) for k, v in mapping.items()}
