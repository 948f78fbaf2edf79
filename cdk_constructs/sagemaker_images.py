"""AWS-owned SageMaker container images, by region.

SageMaker's built-in framework and Model Monitor images live in AWS accounts that differ by
region (the same table the SageMaker Python SDK ships in ``image_uri_config``). Jobs pull
them through the VPC's ECR endpoints; nothing is fetched from the internet.
"""

from __future__ import annotations

# sagemaker-xgboost and sagemaker-scikit-learn ("framework" images)
FRAMEWORK_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623", "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037", "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886", "ap-south-1": "720646828776",
    "ap-south-2": "628508329040", "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285", "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589", "ca-central-1": "341280168497",
    "ca-west-1": "190319476487", "eu-central-1": "492215442770",
    "eu-central-2": "680994064768", "eu-north-1": "662702820516",
    "eu-south-1": "978288397137", "eu-south-2": "104374241257",
    "eu-west-1": "141502667606", "eu-west-2": "764974769150",
    "eu-west-3": "659782779980", "il-central-1": "898809789911",
    "me-central-1": "272398656194", "me-south-1": "801668240914",
    "sa-east-1": "737474898029", "us-east-1": "683313688378",
    "us-east-2": "257758044811", "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}

# sagemaker-model-monitor-analyzer
MODEL_MONITOR_ACCOUNTS: dict[str, str] = {
    "us-east-1": "156813124566", "us-east-2": "777275614652",
    "us-west-1": "890145073186", "us-west-2": "159807026194",
    "af-south-1": "875698925577", "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223", "ap-northeast-2": "709848358524",
    "ap-south-1": "126357580389", "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158", "ca-central-1": "536280801234",
    "eu-central-1": "048819808253", "eu-north-1": "895015795356",
    "eu-south-1": "933208885752", "eu-west-1": "468650794304",
    "eu-west-2": "749857270468", "eu-west-3": "680080141114",
    "me-south-1": "607024016150", "sa-east-1": "539772159869",
}

# sagemaker-clarify-processing 1.0 (bias drift and feature attribution drift monitors)
CLARIFY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "811711786498", "ap-east-1": "098760798382",
    "ap-northeast-1": "377024640650", "ap-northeast-2": "263625296855",
    "ap-northeast-3": "364406365360", "ap-south-1": "452307495513",
    "ap-southeast-1": "834264404009", "ap-southeast-2": "007051062584",
    "ca-central-1": "675030665977", "eu-central-1": "017069133835",
    "eu-north-1": "763603941244", "eu-south-1": "638885417683",
    "eu-west-1": "131013547314", "eu-west-2": "440796970383",
    "eu-west-3": "341593696636", "me-south-1": "835444307964",
    "sa-east-1": "520018980103", "us-east-1": "205585389593",
    "us-east-2": "211330385671", "us-west-1": "740489534195",
    "us-west-2": "306415355426",
}
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
            "cdk_constructs/sagemaker_images.py from the SageMaker documentation "
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
    return (f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-clarify-processing:"
            f"{CLARIFY_VERSION}")


def image_repository_arns(region: str, partition: str = "aws") -> list[str]:
    """ECR repositories the platform's jobs may pull from in this region."""
    framework = _account(FRAMEWORK_ACCOUNTS, region, "framework")
    arns = [
        f"arn:{partition}:ecr:{region}:{framework}:repository/sagemaker-xgboost",
        f"arn:{partition}:ecr:{region}:{framework}:repository/sagemaker-scikit-learn",
    ]
    if region in MODEL_MONITOR_ACCOUNTS:
        arns.append(f"arn:{partition}:ecr:{region}:{MODEL_MONITOR_ACCOUNTS[region]}:"
                    "repository/sagemaker-model-monitor-analyzer")
    if region in CLARIFY_ACCOUNTS:
        arns.append(f"arn:{partition}:ecr:{region}:{CLARIFY_ACCOUNTS[region]}:"
                    "repository/sagemaker-clarify-processing")
    return arns
