"""Monthly idle-cost estimate of one environment, computed from its templates.

Counts what the templates create (interface endpoints and the subnets, hence AZs, each
sits in; KMS keys; Config recorders and rules; trails with data events; notebooks by
instance type; Studio apps by default instance type, their space volumes and the home EFS;
log groups; alarms; secrets) and prices it with platform_config/_prices.py. Usage
assumptions are explicit and printed with the figure. Pay-per-request services (S3, Lambda,
SNS, Step Functions, EventBridge, gateway endpoints) cost nothing idle and are listed as such.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from review import prices as P
from review.assembly import Environment, as_list

PAY_PER_USE = ("AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::SNS::Topic", "AWS::StepFunctions::StateMachine",
               "AWS::Events::Rule", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::CodeArtifact::Repository",
               "AWS::ECR::Repository", "AWS::SageMaker::ModelPackageGroup", "AWS::SageMaker::Pipeline")


@dataclass
class CostLine:
    item: str
    quantity: float
    unit: str
    unit_price: float
    note: str = ""

    @property
    def monthly(self) -> float:
        return round(self.quantity * self.unit_price, 2)


@dataclass
class EnvCost:
    env: str
    region: str
    price_region: str
    lines: list[CostLine] = field(default_factory=list)
    interface_endpoints: int = 0
    endpoint_azs: int = 0

    @property
    def total(self) -> float:
        return round(sum(line.monthly for line in self.lines), 2)

    def with_endpoint_azs(self, azs: int) -> float:
        """The total if every interface endpoint sat in ``azs`` AZs."""
        table = P.for_region(self.region)[1]
        others = sum(l.monthly for l in self.lines if not l.item.startswith("Interface endpoints"))
        endpoints = round(self.interface_endpoints * azs * P.HOURS_PER_MONTH
                          * table["vpc_interface_endpoint_az_hour"], 2)
        return round(others + endpoints, 2)


def notebook_hours(env_config: Any, assumptions: dict = P.ASSUMPTIONS) -> float:
    idle = getattr(env_config, "notebook_idle_minutes", 60) if env_config is not None else 60
    return assumptions["notebook_working_days_month"] * (assumptions["notebook_session_hours_day"] + idle / 60)


def _studio_default_instance_type(domain: Any) -> str:
    settings = (domain.props.get("DefaultUserSettings") or {}).get("JupyterLabAppSettings") or {}
    return str((settings.get("DefaultResourceSpec") or {}).get("InstanceType", "?"))


def studio_lines(env: Environment, table: dict, env_config: Any = None,
                 assumptions: dict = P.ASSUMPTIONS) -> list[CostLine]:
    """A Studio domain and its profiles cost nothing themselves. Each person's JupyterLab
    app is billed per instance hour only while it runs (the same working hours as a
    notebook, idle shutdown after ``notebook_idle_minutes``), on the domain's default
    instance type; their private space's EBS volume per GB-month while it exists; their home
    directory on the domain's EFS per GB-month stored."""
    domains = env.of_type("AWS::SageMaker::Domain")
    profiles = env.of_type("AWS::SageMaker::UserProfile")
    if not domains:
        return []
    lines = [CostLine(f"Studio domain ({len(domains)}) and user profiles ({len(profiles)})",
                      len(domains) + len(profiles), "resources", 0.0, "no charge while nobody works")]
    if not profiles:
        return lines
    hours = notebook_hours(env_config, assumptions)
    instance_type = _studio_default_instance_type(domains[0])
    price = table["studio_app_hour"].get(instance_type)
    lines.append(CostLine(f"Studio JupyterLab apps {instance_type} x{len(profiles)}", len(profiles) * hours,
                          "instance hours", price if price is not None else 0.0,
                          f"{hours:g} h/month each, billed only while running (idle shutdown)"
                          + ("" if price is not None else "; NO PRICE in table")))
    space_gb = len(profiles) * assumptions["studio_space_volume_gb_default"]
    lines.append(CostLine("Studio space volumes (ML storage)", space_gb, "GB-months", table["ml_storage_gb_month"],
                          f"{assumptions['studio_space_volume_gb_default']} GB private space per person"))
    home_gb = len(profiles) * assumptions["studio_home_gb_per_person"]
    lines.append(CostLine("Studio home directories (EFS Standard)", home_gb, "GB-months",
                          table["efs_standard_gb_month"],
                          f"assumes {assumptions['studio_home_gb_per_person']} GB stored per person"))
    return lines


def estimate(env: Environment, region: str, env_config: Any = None,
             assumptions: dict = P.ASSUMPTIONS) -> EnvCost:
    price_region, table = P.for_region(region)
    cost = EnvCost(env.name, region, price_region)
    lines = cost.lines

    endpoints = [r for r in env.of_type("AWS::EC2::VPCEndpoint")
                 if r.props.get("VpcEndpointType", "Gateway") == "Interface"]
    az_hours = sum(max(1, len(as_list(r.props.get("SubnetIds")))) for r in endpoints)
    cost.interface_endpoints = len(endpoints)
    cost.endpoint_azs = round(az_hours / len(endpoints)) if endpoints else 0
    if endpoints:
        lines.append(CostLine(f"Interface endpoints ({len(endpoints)} endpoints, {az_hours} endpoint-AZs)",
                              az_hours * P.HOURS_PER_MONTH, "endpoint-AZ hours",
                              table["vpc_interface_endpoint_az_hour"]))
    gateways = len(env.of_type("AWS::EC2::VPCEndpoint")) - len(endpoints)
    if gateways:
        lines.append(CostLine(f"Gateway endpoints ({gateways})", gateways, "endpoints", 0.0, "no charge"))

    keys = env.of_type("AWS::KMS::Key")
    if keys:
        lines.append(CostLine("KMS customer managed keys", len(keys), "keys", table["kms_key_month"],
                              "request charges excluded; rotations add up to $2/key/month in years 2-3"))

    recorders = env.of_type("AWS::Config::ConfigurationRecorder")
    if recorders:
        lines.append(CostLine("AWS Config recorder", len(recorders) * assumptions["config_items_per_recorder_month"],
                              "configuration items", table["config_item"],
                              f"assumes {assumptions['config_items_per_recorder_month']} items/month"))
    rules = env.of_type("AWS::Config::ConfigRule")
    if rules:
        lines.append(CostLine(f"AWS Config rules ({len(rules)})",
                              len(rules) * assumptions["config_evaluations_per_rule_month"],
                              "rule evaluations", table["config_rule_evaluation"],
                              f"assumes {assumptions['config_evaluations_per_rule_month']} evaluations/rule/month"))

    from review.controls import trail_has_data_events
    trails = env.of_type("AWS::CloudTrail::Trail")
    data_trails = [t for t in trails if trail_has_data_events(t, env)]
    if trails:
        lines.append(CostLine(f"CloudTrail management events ({len(trails)} trail(s))", len(trails), "trails", 0.0,
                              "first copy of management events is free"))
    if data_trails:
        millions = len(data_trails) * assumptions["cloudtrail_data_events_millions_month"]
        lines.append(CostLine("CloudTrail data events", millions, "million events",
                              table["cloudtrail_data_events_per_million"],
                              f"assumes {assumptions['cloudtrail_data_events_millions_month']}M data events/trail/month"))

    notebooks = env.of_type("AWS::SageMaker::NotebookInstance")
    if notebooks:
        hours = notebook_hours(env_config, assumptions)
        by_type = Counter(str(n.props.get("InstanceType", "?")) for n in notebooks)
        for instance_type, count in sorted(by_type.items()):
            price = table["notebook_instance_hour"].get(instance_type)
            lines.append(CostLine(f"Notebooks {instance_type} x{count}", count * hours, "instance hours",
                                  price if price is not None else 0.0,
                                  f"{hours:g} h/month each" + ("" if price is not None else "; NO PRICE in table")))
        volume_gb = sum(int(n.props.get("VolumeSizeInGB") or assumptions["notebook_volume_gb_default"])
                        for n in notebooks)
        lines.append(CostLine("Notebook ML storage", volume_gb, "GB-months", table["ml_storage_gb_month"]))

    lines += studio_lines(env, table, env_config, assumptions)

    groups = env.of_type("AWS::Logs::LogGroup")
    if groups:
        gb = len(groups) * assumptions["log_gb_per_group_month"]
        lines.append(CostLine(f"CloudWatch Logs ingestion ({len(groups)} log groups)", gb, "GB",
                              table["logs_ingestion_gb"], f"assumes {assumptions['log_gb_per_group_month']} GB/group/month"))
        lines.append(CostLine("CloudWatch Logs storage (first month)", gb, "GB-months", table["logs_storage_gb_month"]))

    alarms = env.of_type("AWS::CloudWatch::Alarm")
    if alarms:
        lines.append(CostLine("CloudWatch alarms", len(alarms), "alarms", table["cloudwatch_alarm_month"]))
    secrets = env.of_type("AWS::SecretsManager::Secret")
    if secrets:
        lines.append(CostLine("Secrets Manager secrets", len(secrets), "secrets", table["secret_month"]))

    idle_free = Counter(r.type for r in env.resources if r.type in PAY_PER_USE)
    if idle_free:
        listed = ", ".join(f"{n} {t.split('::')[1]} {t.split('::')[2]}" for t, n in sorted(idle_free.items()))
        lines.append(CostLine("Pay-per-use, nothing idle", sum(idle_free.values()), "resources", 0.0, listed))
    return cost
