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
     ["environments.dev.region", "not an AWS commercial region"]),
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
     ["environments.dev", "endpoint_az_count is 3"]),
    ("zero endpoint AZs", _set("environments.dev.endpoint_az_count", 0),
     ["environments.dev", "endpoint_az_count is 0"]),
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
     ["users[1] repeats the name 'jane-smith' of users[0]"]),
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
