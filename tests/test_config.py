"""Bad configuration fails at synth time with the file, the field path and what to change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from platform_config import ConfigError, JobFunction, load_config, parse_config


def test_sample_config_is_valid(sample_config) -> None:
    assert set(sample_config.environments) == {"dev", "preprod", "prod"}
    assert len(sample_config.users) == 3
    assert sample_config.environment("dev").endpoint_az_count == 1
    assert sample_config.environment("prod").object_lock.mode == "COMPLIANCE"
    assert [u.name for u in sample_config.users_with(JobFunction.DATA_SCIENTIST)] == [
        "jane-smith", "raj-patel"]


def _set(path: str, value) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return mutate


def _delete(path: str) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]
    return mutate


def _append_user(user: dict) -> Callable[[dict], None]:
    return lambda data: data["users"].append(user)


BAD_CASES: list[tuple[str, Callable[[dict], None], list[str]]] = [
    ("unknown top-level key", _set("projects", {}), ["projects: unknown key", "allowed here"]),
    ("unknown environment key", _set("environments.dev.acount", "1"),
     ["environments.dev.acount: unknown key", "account"]),
    ("unknown user key", _set("users.0.role", "x"), ["users[0].role: unknown key"]),
    ("account too short", _set("environments.dev.account", "12345"),
     ["environments.dev.account", "12-digit"]),
    ("account with letters", _set("environments.prod.account", "12345678901a"),
     ["environments.prod.account", "12-digit"]),
    ("account as a YAML number", _set("environments.dev.account", 111111111111),
     ["environments.dev.account", "quote the account id"]),
    ("unknown region", _set("environments.dev.region", "eu-westt-2"),
     ["environments.dev.region", "not an AWS commercial region", "eu-west-2"]),
    ("AZ of another region", _set("environments.dev.availability_zones", ["eu-west-2a", "eu-west-1b"]),
     ["environments.dev", "eu-west-1b", "not in region eu-west-2"]),
    ("single AZ", _set("environments.dev.availability_zones", ["eu-west-2a"]),
     ["environments.dev", "list 2 to 6 zones"]),
    ("duplicate AZ", _set("environments.dev.availability_zones", ["eu-west-2a", "eu-west-2a"]),
     ["environments.dev", "zone twice"]),
    ("invalid CIDR", _set("environments.dev.vpc_cidr", "10.20.0.0/33"),
     ["environments.dev.vpc_cidr", "not a valid IPv4 CIDR"]),
    ("CIDR with host bits", _set("environments.dev.vpc_cidr", "10.20.0.1/22"),
     ["environments.dev.vpc_cidr", "host bits zero"]),
    ("public CIDR", _set("environments.dev.vpc_cidr", "8.8.0.0/22"),
     ["environments.dev.vpc_cidr", "not a private"]),
    ("CIDR too large", _set("environments.dev.vpc_cidr", "10.0.0.0/8"),
     ["environments.dev.vpc_cidr", "/16"]),
    ("overlapping CIDRs", _set("environments.preprod.vpc_cidr", "10.20.2.0/24"),
     ["overlaps", "environments.dev.vpc_cidr", "environments.preprod.vpc_cidr"]),
    ("too many endpoint AZs", _set("environments.dev.endpoint_az_count", 3),
     ["environments.dev.endpoint_az_count: is 3"]),
    ("zero endpoint AZs", _set("environments.dev.endpoint_az_count", 0),
     ["environments.dev.endpoint_az_count: is 0"]),
    ("non-positive retention", _set("environments.dev.log_retention_days", 0),
     ["environments.dev.log_retention_days", "positive"]),
    ("retention CloudWatch rejects", _set("environments.dev.log_retention_days", 100),
     ["environments.dev.log_retention_days", "does not accept 100"]),
    ("non-positive object lock", _set("environments.prod.object_lock", {"mode": "COMPLIANCE", "days": -1}),
     ["environments.prod.object_lock.days", "positive"]),
    ("bad object lock mode", _set("environments.prod.object_lock", {"mode": "STRICT", "days": 1}),
     ["environments.prod.object_lock.mode"]),
    ("missing environment", _delete("environments.preprod"),
     ["environments", "preprod missing"]),
    ("extra environment", _set("environments.qa", {}), ["environments", "unknown environment(s) qa"]),
    ("missing account", _delete("environments.dev.account"),
     ["environments.dev.account: required but missing"]),
    ("user name with capitals", _set("users.0.name", "Jane"),
     ["users[0].name", "cannot form resource names"]),
    ("user name with underscore", _set("users.1.name", "raj_patel"),
     ["users[1].name", "cannot form resource names"]),
    ("user name too long", _set("users.0.name", "a" * 30), ["users[0].name", "2-24"]),
    ("duplicate user", _set("users.1.name", "jane-smith"),
     ["users[1].name: repeats the name 'jane-smith' of users[0]"]),
    ("unknown job function", _set("users.0.job_function", "wizard"), ["users[0].job_function"]),
    ("data scientist without CIDR", _set("users.0.allowed_source_cidrs", []),
     ["users[0]", "needs allowed_source_cidrs"]),
    ("open-world source CIDR", _set("users.0.allowed_source_cidrs", ["0.0.0.0/0"]),
     ["users[0].allowed_source_cidrs", "anyone on the internet"]),
    ("bad instance type", _set("users.0.notebook_instance_type", "t3.medium"),
     ["users[0].notebook_instance_type", "ml.t3.medium"]),
    ("bad e-mail", _set("notifications.security", ["not-an-address"]),
     ["notifications.security", "not an e-mail address"]),
    ("bad project name", _set("project.name", "My Platform"),
     ["project.name", "cannot prefix resource names"]),
    ("audit retention CloudWatch rejects", _set("environments.prod.audit", {"trail_log_retention_days": 42}),
     ["environments.prod.audit.trail_log_retention_days", "does not accept 42"]),
    ("unknown audit key", _set("environments.dev.audit", {"org_trail": True}),
     ["environments.dev.audit.org_trail: unknown key", "use_organization_trail"]),
    ("zero layer version", _set("lambda_layers", {"powertools_version": 0}),
     ["lambda_layers.powertools_version", "published layer version"]),
    ("unknown presign mode", _set("access.presign_mode", "console"), ["access.presign_mode"]),
    ("unknown source condition", _set("access.source_condition", "anywhere"),
     ["access.source_condition"]),
    ("zero user shards", _set("access.user_shards", 0),
     ["access.user_shards", "between 1 and 64"]),
    ("unknown mirror upstream", _set("access.package_mirror", {"upstream": "npm"}),
     ["access.package_mirror.upstream"]),
    ("bad principal", _set("access.assumable_by.auditor", ["jane@example.com"]),
     ["access.assumable_by.auditor", "not a principal this platform can trust"]),
    ("duplicate principal", _set("access.assumable_by.auditor", ["444444444444", "444444444444"]),
     ["access.assumable_by.auditor", "same principal twice"]),
    ("break-glass through SAML",
     _set("access.assumable_by.platform_admin", ["arn:aws:iam::{account}:saml-provider/Corp"]),
     ["access.assumable_by", "cannot be assumed through SAML"]),
    ("unknown access key", _set("access.shards", 4), ["access.shards: unknown key", "user_shards"]),
    ("too many users for one shard",
     lambda d: (d["access"].update(user_shards=1), d["users"].extend(
         {"name": f"user-{i}", "job_function": "data_scientist",
          "allowed_source_cidrs": ["203.0.113.0/24"]} for i in range(101))),
     ["raise access.user_shards"]),
    ("idle minutes out of range", _set("environments.dev.notebook_idle_minutes", 1),
     ["environments.dev.notebook_idle_minutes", "between 5 and 1440"]),
    ("sampling above 100", _set("serving.capture_sampling_percent", 101),
     ["serving.capture_sampling_percent", "1..100 percent"]),
    ("sampling zero", _set("serving.capture_sampling_percent", 0),
     ["serving.capture_sampling_percent", "1..100 percent"]),
    ("bad serving instance type", _set("serving.instance_type", "m5.large"),
     ["serving.instance_type", "not a SageMaker instance type"]),
    ("zero endpoint instances", _set("serving.instance_count", 0),
     ["serving.instance_count", "1..20"]),
    ("bad monitoring schedule", _set("serving.monitoring_schedule", "hourly"),
     ["serving.monitoring_schedule", "not a schedule expression"]),
    ("bad retraining schedule", _set("serving.scheduled_retraining", "0 3 * * *"),
     ["serving.scheduled_retraining", "not a schedule expression"]),
    ("unknown serving environment", _set("serving.environments", ["qa"]),
     ["serving.environments"]),
    ("duplicate serving environment", _set("serving.environments", ["prod", "prod"]),
     ["serving.environments", "twice"]),
    ("margin above 1", _set("serving.champion_challenger_margin", 1.5),
     ["serving.champion_challenger_margin", "[0, 1]"]),
    ("unknown quality metric", _set("serving.quality_tolerances", {"rmse": 0.1}),
     ["serving.quality_tolerances", "unknown metric 'rmse'"]),
    ("tolerance above 1", _set("serving.quality_tolerances", {"auc": 2}),
     ["serving.quality_tolerances", "tolerance of auc"]),
    ("no tolerance", _set("serving.quality_tolerances", {}),
     ["serving.quality_tolerances", "at least one"]),
    ("bad feature name", _set("serving.features", ["bad name"]),
     ["serving.features", "not a column name"]),
    ("ground truth without slash", _set("serving.ground_truth_s3_prefix", "truth"),
     ["serving.ground_truth_s3_prefix", "ending in '/'"]),
    ("canary too large", _set("serving.guardrails", {"canary_percent": 80}),
     ["serving.guardrails.canary_percent", "1..50"]),
    ("bad traffic routing", _set("serving.guardrails", {"traffic_routing": "ALL_AT_ONCE"}),
     ["serving.guardrails.traffic_routing"]),
    ("cool-down too short", _set("serving.retrain_cooldown_hours", 0),
     ["serving.retrain_cooldown_hours", "1 minute"]),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in BAD_CASES],
                         ids=[name for name, _, _ in BAD_CASES])
def test_bad_config_is_rejected_with_a_readable_message(sample_config_data, mutate, expected) -> None:
    data = copy.deepcopy(sample_config_data)
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "config/platform.yaml")
    message = str(caught.value)
    assert message.startswith("config/platform.yaml: invalid platform configuration")
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_all_problems_are_reported_together(sample_config_data) -> None:
    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["account"] = "1"
    data["users"][0]["name"] = "Bad Name"
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "x.yaml")
    assert len(caught.value.problems) == 2


def test_missing_file_says_how_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found; pass CONFIG="):
        load_config(tmp_path / "nope.yaml")


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("project: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "YAML syntax" in str(caught.value)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        parse_config(["a", "list"], "list.yaml")


def test_at_least_twenty_bad_cases() -> None:
    assert len(BAD_CASES) >= 20


# --- every independent problem in one run ---------------------------------------------------

def test_independent_problems_of_every_kind_are_reported_in_one_run(sample_config_data) -> None:
    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["account"] = "1"  # field error
    data["environments"]["dev"]["endpoint_az_count"] = 5  # model check of the same environment
    data["environments"]["prod"]["vpc_cidr"] = data["environments"]["preprod"]["vpc_cidr"]
    data["environments"]["preprod"]["region"] = "us-west-2"  # unsupported, and overlapping
    data["users"].append(copy.deepcopy(data["users"][0]))  # duplicate user
    data["users"][1]["name"] = "Bad Name"  # field error in a user
    data["training"] = {"pipeline_environment": "prod"}  # preprod serves before it
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "x.yaml")
    text = "\n".join(caught.value.problems)
    for fragment in ("environments.dev.account", "environments.preprod.region",
                     "environments.prod.vpc_cidr: 10.21.0.0/22 overlaps",
                     "users[1].name: 'Bad Name'", "users[3].name: repeats the name",
                     "serving.environments: lists preprod, which comes before"):
        assert fragment in text, f"{fragment!r} not in:\n{text}"


def test_several_problems_of_one_environment_are_reported_together(sample_config_data) -> None:
    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["availability_zones"] = ["eu-west-2a", "eu-west-2a", "eu-west-1b"]
    data["environments"]["dev"]["endpoint_az_count"] = 4
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "x.yaml")
    problems = caught.value.problems
    assert any(p.startswith("environments.dev.availability_zones: lists a zone twice")
               for p in problems)
    assert any("'eu-west-1b' is not in region eu-west-2" in p for p in problems)
    assert any(p.startswith("environments.dev.endpoint_az_count: is 4") for p in problems)


# --- regions: one table, every accepted region complete ---------------------------------------

def test_every_accepted_region_has_every_table_entry() -> None:
    from cdk_constructs import _sagemaker_images as images
    from platform_config._regions import REQUIREMENTS, SUPPORTED_REGIONS
    from review import prices

    assert {"eu-west-2", "eu-central-1"} <= SUPPORTED_REGIONS
    for region in SUPPORTED_REGIONS:
        for what, (_, table) in REQUIREMENTS.items():
            assert region in table, f"{region}: no {what}"
        for image in (images.xgboost_image(region), images.sklearn_image(region),
                      images.model_monitor_image(region), images.clarify_image(region)):
            assert f".dkr.ecr.{region}.amazonaws.com/" in image
        assert prices.for_region(region)[0] == region  # its own prices, no fallback
        assert set(prices.PRICES[region]) == set(prices.PRICES["eu-west-2"])


@pytest.mark.parametrize("region, expected", [
    ("eu-west-1", ["environments.dev.region", "eu-west-1 is not supported yet",
                   "price table (PRICES in platform_config/_prices.py)", "eu-central-1, eu-west-2"]),
    ("ap-south-2", ["Model Monitor image account", "Clarify image account", "price table"]),
    ("eu-wst-1", ["not an AWS commercial region"]),
])
def test_a_region_without_full_support_is_refused_with_what_is_missing(
        sample_config_data, region, expected) -> None:
    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["region"] = region
    data["environments"]["dev"]["availability_zones"] = [f"{region}a", f"{region}b"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "x.yaml")
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_an_environment_in_another_supported_region_is_accepted(sample_config_data) -> None:
    data = copy.deepcopy(sample_config_data)
    data["environments"]["prod"]["region"] = "eu-central-1"
    data["environments"]["prod"]["availability_zones"] = ["eu-central-1a", "eu-central-1b"]
    data["environments"]["prod"]["endpoint_az_count"] = 2
    assert parse_config(data).environment("prod").region == "eu-central-1"


# --- physical name lengths ----------------------------------------------------------------------

def _long_project(data: dict, name: str, region: str) -> dict:
    data = copy.deepcopy(data)
    data["project"]["name"] = name
    env = data["environments"]["preprod"]
    env["region"] = region
    env["availability_zones"] = [f"{region}a", f"{region}b", f"{region}c"]
    return data


def test_a_bucket_name_of_exactly_63_characters_is_accepted(sample_config_data) -> None:
    config = parse_config(_long_project(sample_config_data, "mlplatform", "eu-central-1"))
    from platform_config._naming import ResourceNames

    name = ResourceNames.for_environment(config, "preprod").bucket("monitoring-reports")
    assert len(name) == 63


def test_a_bucket_name_over_63_characters_is_refused_naming_the_field(
        sample_config_data, monkeypatch) -> None:
    # The example: 10-character project, preprod, monitoring-reports, ap-southeast-2.
    # ap-southeast-2 is not supported today; pretend it were, to show the length check holds.
    import platform_config._model as model

    monkeypatch.setattr(model, "SUPPORTED_REGIONS", model.SUPPORTED_REGIONS | {"ap-southeast-2"})
    with pytest.raises(ConfigError) as caught:
        parse_config(_long_project(sample_config_data, "mlplatform", "ap-southeast-2"), "x.yaml")
    message = str(caught.value)
    assert ("project.name: makes the S3 bucket name "
            "'mlplatform-preprod-monitoring-reports-222222222222-ap-southeast-2' in environment "
            "preprod 65 characters long; AWS allows 63") in message
    assert "shorten project.name by 2 or more" in message


def test_user_names_are_checked_against_every_derived_name_at_the_boundary(
        sample_config_data, monkeypatch) -> None:
    # Today's 24-character user names always fit; allow longer ones to reach IAM's 64.
    import platform_config._model as model

    monkeypatch.setattr(model, "USER_NAME_MAX", 60)
    data = copy.deepcopy(sample_config_data)
    data["project"]["name"] = "mlplatform"
    prefix = "mlplatform-dev-nb-access-"  # the longest user-derived name: IAM role, 64
    data["users"][0]["name"] = "a" * (64 - len(prefix))
    parse_config(data)  # exactly 64: accepted
    data["users"][0]["name"] = "a" * (65 - len(prefix))
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "x.yaml")
    assert "users[0].name: makes the IAM role name" in str(caught.value)
    assert "65 characters long; AWS allows 64" in str(caught.value)


def test_derived_metric_dimension_values_are_length_checked() -> None:
    """CloudWatch's API allows 1024-character dimension values, AWS::CloudWatch::Alarm only
    255: a dimension value derived from configuration must fit 255 (checked at synth)."""
    from platform_config._model import (EnvironmentConfig, ProjectConfig, ServingConfig,
                                       TrainingConfig, name_length_problems)

    env = EnvironmentConfig(account="111111111111", region="eu-west-2",
                            availability_zones=["eu-west-2a", "eu-west-2b"],
                            vpc_cidr="10.0.0.0/22")
    long_model = TrainingConfig.model_construct(model_name="m" * 250,
                                                pipeline_environment="dev")
    problems = name_length_problems(
        project=ProjectConfig(name="mlp"), environments={"dev": env}, users=[],
        training=long_model, serving=ServingConfig(environments=["dev"]))
    dimension = [m for f, m in problems if "CloudWatch dimension value" in m]
    assert dimension and all("AWS allows 255" in m for m in dimension)
    assert all(f == "training.model_name" for f, m in problems if "dimension" in m)


def test_every_physical_name_in_the_sample_templates_is_length_checked(synth,
                                                                       sample_config) -> None:
    """The configuration model checks the names platform_config/_naming.py lists; every named
    resource of these types in the synthesized templates must be one of them."""
    from platform_config._naming import environment_names, user_names, ResourceNames

    name_properties = {
        "AWS::S3::Bucket": "BucketName", "AWS::IAM::Role": "RoleName",
        "AWS::StepFunctions::StateMachine": "StateMachineName", "AWS::SNS::Topic": "TopicName",
        "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
        "AWS::SageMaker::NotebookInstance": "NotebookInstanceName",
        "AWS::SageMaker::NotebookInstanceLifecycleConfig": "NotebookInstanceLifecycleConfigName",
        "AWS::CodePipeline::Pipeline": "Name", "AWS::Scheduler::Schedule": "Name",
        "AWS::CloudTrail::Trail": "TrailName", "AWS::KMS::Alias": "AliasName",
        "AWS::SageMaker::Domain": "DomainName", "AWS::SageMaker::UserProfile": "UserProfileName",
        "AWS::SageMaker::StudioLifecycleConfig": "StudioLifecycleConfigName",
    }
    checked: set[str] = set()
    for env in ("dev", "preprod", "prod"):
        names = ResourceNames.for_environment(sample_config, env)
        checked |= {d.name for d in environment_names(
            names, model_name=sample_config.training.model_name,
            features=tuple(sample_config.serving.features),
            serving=env in sample_config.serving.environments,
            pipeline=env == sample_config.training.pipeline_environment,
            studio=sample_config.environment(env).studio_enabled)}
        for user in sample_config.users:
            checked |= {d.name for d in user_names(
                names, user.name, studio=sample_config.environment(env).studio_enabled)}
    unchecked = set()
    for path, template in synth.templates.items():
        for resource in template["Resources"].values():
            prop = name_properties.get(resource["Type"])
            value = (resource.get("Properties") or {}).get(prop) if prop else None
            if isinstance(value, str) and value not in checked:
                unchecked.add((path, resource["Type"], value))
    assert unchecked == set()


# --- the pipeline environment and the serving environments ------------------------------------

_ENVS = ("dev", "preprod", "prod")
_COMBINATIONS = [(pipeline, serving) for pipeline in _ENVS
                 for serving in ([], ["dev"], ["preprod"], ["prod"], ["dev", "preprod"],
                                 ["dev", "prod"], ["preprod", "prod"], ["dev", "preprod", "prod"])]


@pytest.mark.parametrize("pipeline, serving", _COMBINATIONS,
                         ids=[f"{p}-serves-{'+'.join(s) or 'none'}" for p, s in _COMBINATIONS])
def test_every_serving_environment_gets_a_deploy_stage_or_is_refused(
        sample_config_data, pipeline, serving) -> None:
    from stacks.serving_stack import QA_ENVIRONMENT
    from stacks.training_stack import _deployment_targets
    from platform_config._naming import ResourceNames

    data = copy.deepcopy(sample_config_data)
    data.setdefault("training", {})["pipeline_environment"] = pipeline
    data.setdefault("serving", {})["environments"] = serving
    from_pipeline_on = _ENVS[_ENVS.index(pipeline):]
    refused = [env for env in serving if env not in from_pipeline_on]
    if refused:
        with pytest.raises(ConfigError) as caught:
            parse_config(data, "x.yaml")
        for env in refused:
            assert f"serving.environments: lists {env}, which" in str(caught.value)
        return
    config = parse_config(data)
    targets = _deployment_targets(config, ResourceNames.for_environment(config, pipeline),
                                  "group", "bucket")
    assert [t.environment for t in targets] == serving
    assert [t.environment for t in targets if t.qa_state_machine_arn] == (
        [QA_ENVIRONMENT] if QA_ENVIRONMENT in serving else [])
    # The pipeline's own environment is deployed by the pipeline's actions role.
    assert [t.environment for t in targets if t.role_arn is None] == (
        [pipeline] if pipeline in serving else [])


def test_the_config_is_read_by_libyaml_exactly_as_by_the_pure_python_safe_loader(
    tmp_path: Path,
) -> None:
    """load_config reads YAML with libyaml's safe loader (500 people's file: 0.1 s in pure
    Python, twice per `make synth`). It must read the same documents, refuse the same tags,
    and still say where a syntax error is."""
    import yaml

    from platform_config import loader

    assert loader._SAFE_LOADER is yaml.CSafeLoader  # the pinned PyYAML wheel has libyaml
    text = (Path(__file__).resolve().parents[1] / "config" / "platform.yaml").read_text()
    assert yaml.load(text, Loader=loader._SAFE_LOADER) == yaml.safe_load(text)
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text("project: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="YAML syntax"):
        load_config(hostile)
    broken = tmp_path / "broken.yaml"
    broken.write_text("users:\n  - name: a\n bad: indentation\n")
    with pytest.raises(ConfigError, match="line 3"):
        load_config(broken)
