"""AWS-owned SageMaker container images, by region.

SageMaker's built-in framework and Model Monitor images live in AWS accounts that differ by
region (the same table the SageMaker Python SDK ships in ``image_uri_config``); the tables
live with every other per-region table in platform_config/_regions.py, and the configuration
refuses a region that lacks one. Jobs pull them through the VPC's ECR endpoints; nothing is
fetched from the internet.
"""

from __future__ import annotations

from platform_config._regions import (
    CLARIFY_ACCOUNTS,
    FRAMEWORK_ACCOUNTS,
    MODEL_MONITOR_ACCOUNTS,
)

# sagemaker-clarify-processing (bias drift and feature attribution drift monitors); the
# accounts are in platform_config/_regions.py with the other region tables.
CLARIFY_VERSION = "1.0"

XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1-cpu-py3"


class UnknownImageRegion(ValueError):
    pass


def _account(table: dict[str, str], region: str, what: str) -> str:
    try:
        return table[region]
    except KeyError:
        raise UnknownImageRegion(
            f"no known {what} image account for region {region}; add it to "
            "platform_config/_regions.py from the SageMaker documentation "
            "'Docker Registry Paths and Example Code'"
        ) from None


def xgboost_image(region: str) -> str:
    account = _account(FRAMEWORK_ACCOUNTS, region, "XGBoost")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:{XGBOOST_VERSION}"


def sklearn_image(region: str) -> str:
    account = _account(FRAMEWORK_ACCOUNTS, region, "scikit-learn")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{SKLEARN_VERSION}"


def model_monitor_image(region: str) -> str:
    account = _account(MODEL_MONITOR_ACCOUNTS, region, "Model Monitor")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"


def clarify_image(region: str) -> str:
    account = _account(CLARIFY_ACCOUNTS, region, "SageMaker Clarify")
    return (
        f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-clarify-processing:{CLARIFY_VERSION}"
    )


def image_repository_arns(region: str, partition: str = "aws") -> list[str]:
    """ECR repositories the platform's jobs may pull from in this region."""
    framework = _account(FRAMEWORK_ACCOUNTS, region, "framework")
    arns = [
        f"arn:{partition}:ecr:{region}:{framework}:repository/sagemaker-xgboost",
        f"arn:{partition}:ecr:{region}:{framework}:repository/sagemaker-scikit-learn",
    ]
    if region in MODEL_MONITOR_ACCOUNTS:
        arns.append(
            f"arn:{partition}:ecr:{region}:{MODEL_MONITOR_ACCOUNTS[region]}:"
            "repository/sagemaker-model-monitor-analyzer"
        )
    if region in CLARIFY_ACCOUNTS:
        arns.append(
            f"arn:{partition}:ecr:{region}:{CLARIFY_ACCOUNTS[region]}:"
            "repository/sagemaker-clarify-processing"
        )
    return arns
