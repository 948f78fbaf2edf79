"""The one pinned price table of the idle-cost estimate, and every usage assumption.

Prices are USD, on-demand, for the region named, as published on the AWS pricing pages
listed under SOURCES. They were transcribed on PRICES_AS_OF and NOT re-checked online by the
build (it has no network): re-check them against the sources before quoting a figure, and
update this file (one place) in its own commit, with the date.
"""

from __future__ import annotations

PRICES_AS_OF = "2026-11-27"
CURRENCY = "USD"
HOURS_PER_MONTH = 730  # AWS pricing convention

SOURCES = {
    "vpc_interface_endpoint_az_hour": "https://aws.amazon.com/privatelink/pricing/",
    "kms_key_month": "https://aws.amazon.com/kms/pricing/",
    "config_item": "https://aws.amazon.com/config/pricing/",
    "config_rule_evaluation": "https://aws.amazon.com/config/pricing/",
    "cloudtrail_data_events_per_million": "https://aws.amazon.com/cloudtrail/pricing/",
    "logs_ingestion_gb": "https://aws.amazon.com/cloudwatch/pricing/",
    "logs_storage_gb_month": "https://aws.amazon.com/cloudwatch/pricing/",
    "cloudwatch_alarm_month": "https://aws.amazon.com/cloudwatch/pricing/",
    "secret_month": "https://aws.amazon.com/secrets-manager/pricing/",
    "notebook_instance_hour": "https://aws.amazon.com/sagemaker/pricing/",
    "ml_storage_gb_month": "https://aws.amazon.com/sagemaker/pricing/",
    # SageMaker's pricing page prices Studio's JupyterLab and Code Editor apps per instance
    # hour from the same on-demand ML instance table as notebook instances.
    "studio_app_hour": "https://aws.amazon.com/sagemaker/pricing/",
    # EFS Standard (Regional) storage per GB-month: the page quotes $0.30 for US East
    # (N. Virginia); the London figure below is not confirmed (see the table).
    "efs_standard_gb_month": "https://aws.amazon.com/efs/pricing/",
}

# SageMaker's on-demand ML instance prices per hour in London (eu-west-2). The pricing page
# prices notebook instances and Studio's JupyterLab and Code Editor apps from this one table;
# Frankfurt below copies it as a placeholder.
_LONDON_ML_INSTANCE_HOUR: dict[str, float] = {
    "ml.t3.medium": 0.0583,
    "ml.t3.large": 0.1166,
    "ml.t3.xlarge": 0.2333,
    "ml.m5.large": 0.134,
    "ml.m5.xlarge": 0.269,
    "ml.m5.2xlarge": 0.538,
    "ml.c5.xlarge": 0.238,
}

PRICES: dict[str, dict] = {
    "eu-west-2": {
        "vpc_interface_endpoint_az_hour": 0.011,
        # per customer managed key; each of the first two yearly rotations adds $1
        "kms_key_month": 1.00,
        "config_item": 0.003,
        "config_rule_evaluation": 0.001,  # first 100,000 evaluations
        "cloudtrail_data_events_per_million": 1.00,  # $0.10 per 100,000
        "logs_ingestion_gb": 0.5985,
        "logs_storage_gb_month": 0.0315,
        "cloudwatch_alarm_month": 0.10,  # standard resolution metric alarm
        "secret_month": 0.40,
        "ml_storage_gb_month": 0.168,
        "notebook_instance_hour": _LONDON_ML_INSTANCE_HOUR,
        # Studio JupyterLab / Code Editor apps: the same table (same page),
        # billed only while an app runs; idle shutdown stops it after notebook_idle_minutes.
        "studio_app_hour": _LONDON_ML_INSTANCE_HOUR,
        # The home directories on the domain's file system, per GB-month stored (EFS Standard,
        # Regional). https://aws.amazon.com/efs/pricing/ as retrieved here (search, 2026-12-06)
        # shows only US East (N. Virginia), $0.30/GB-month; 0.33 is London's rate as commonly
        # quoted (about 1.1x), NOT confirmed: re-check on the page's region selector.
        "efs_standard_gb_month": 0.33,
    },
    # Frankfurt, for environments there (multi-region deployments). NONE of these is confirmed
    # (CONFIRMED below has no entry for eu-central-1): the flat-rate services (KMS, Config,
    # CloudTrail, alarms, Secrets Manager) carry their list prices; endpoints and logs are
    # estimates; the SageMaker figures are London's (eu-west-2) copied as placeholders. Re-check
    # all of them on the pricing pages before quoting a figure.
    "eu-central-1": {
        "vpc_interface_endpoint_az_hour": 0.012,
        "kms_key_month": 1.00,
        "config_item": 0.003,
        "config_rule_evaluation": 0.001,
        "cloudtrail_data_events_per_million": 1.00,
        "logs_ingestion_gb": 0.63,
        "logs_storage_gb_month": 0.0324,
        "cloudwatch_alarm_month": 0.10,
        "secret_month": 0.40,
        "ml_storage_gb_month": 0.168,
        "notebook_instance_hour": _LONDON_ML_INSTANCE_HOUR,
        "studio_app_hour": _LONDON_ML_INSTANCE_HOUR,
        "efs_standard_gb_month": 0.36,  # estimate: re-check on https://aws.amazon.com/efs/pricing/
    },
}

# Which prices were confirmed for the region, and how. On PRICES_CHECKED_ON these matched the
# AWS price list for eu-west-2 as quoted (with usage-type codes such as EUW2-VpcEndpoint-Hours)
# in public documents; the live pricing pages could not be read from the build environment.
# The others were NOT confirmed for London: the SageMaker figures are about 1.17x the us-east-1
# prices, which suggests they were derived rather than read, and no London figure for AWS Config
# was found. The review pack marks every unconfirmed price.
PRICES_CHECKED_ON = "2026-11-27"
CONFIRMED: dict[str, frozenset[str]] = {
    "eu-west-2": frozenset(
        {
            "vpc_interface_endpoint_az_hour",
            "kms_key_month",
            "cloudtrail_data_events_per_million",  # one flat rate in every region
            "logs_ingestion_gb",
            "logs_storage_gb_month",
            "cloudwatch_alarm_month",
            "secret_month",
        }
    ),
}


def confirmed(region: str, key: str) -> bool:
    return key in CONFIRMED.get(region, frozenset())


# Usage assumptions of an *idle* month: the platform deployed, nobody training or serving.
ASSUMPTIONS = {
    "config_items_per_recorder_month": 1000,
    "config_evaluations_per_rule_month": 1000,
    "cloudtrail_data_events_millions_month": 1.0,
    "log_gb_per_group_month": 0.5,
    "notebook_working_days_month": 21,
    "notebook_session_hours_day": 8,
    "notebook_volume_gb_default": 5,
    "studio_home_gb_per_person": 5,
    "studio_space_volume_gb_default": 5,
}

ASSUMPTION_TEXT = {
    "config_items_per_recorder_month": (
        "configuration items recorded per month by each AWS Config recorder"
    ),
    "config_evaluations_per_rule_month": "evaluations per month of each AWS Config rule",
    "cloudtrail_data_events_millions_month": (
        "million data events per month for each trail that records data events "
        "(management events: the first copy is free)"
    ),
    "log_gb_per_group_month": (
        "GB ingested per log group per month (flow logs and function logs of an idle platform), "
        "stored for one month"
    ),
    "notebook_working_days_month": "working days per month on which a notebook runs",
    "notebook_session_hours_day": (
        "hours of use per working day; the instance then stops after notebook_idle_minutes from "
        "config"
    ),
    "notebook_volume_gb_default": (
        "notebook volume size in GB when the template does not set VolumeSizeInGB"
    ),
    "studio_home_gb_per_person": (
        "GB each Studio user stores in their home directory on the domain's EFS file system"
    ),
    "studio_space_volume_gb_default": (
        "GB of the EBS volume of each person's private JupyterLab space (SageMaker's default "
        "size; billed while the space exists, running or not)"
    ),
}


def for_region(region: str) -> tuple[str, dict]:
    """The price table of ``region``, or the first table with its region named (an estimate).
    The configuration accepts only regions with a table (platform_config/_regions.py); the
    fallback serves templates synthesized elsewhere."""
    if region in PRICES:
        return region, PRICES[region]
    fallback = next(iter(PRICES))
    return fallback, PRICES[fallback]
