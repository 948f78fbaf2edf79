"""Every per-region table of the platform, in one place, and which regions it supports.

A region is *supported* when the platform can build and price everything in it:

- the AWS accounts that own SageMaker's images there: the framework images (sagemaker-xgboost
  and sagemaker-scikit-learn: training, processing and serving), the Model Monitor analyzer and
  the Clarify processing image (the SageMaker Python SDK's ``image_uri_config`` tables:
  xgboost.json/sklearn.json, model-monitor.json, clarify.json);
- a price table in platform_config/_prices.py (the idle-cost estimate of the review pack).

The configuration accepts supported regions only (platform_config/_model.py), so a region
without an image account or prices is refused at validation with a message, never a traceback
at synth. tests/test_config.py checks every supported region has every entry.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from platform_config._prices import PRICES

# AWS commercial regions (to tell a typo from a real region that the platform does not support).
COMMERCIAL_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "ca-west-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "ap-south-1",
        "ap-south-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-east-1",
        "sa-east-1",
        "me-south-1",
        "me-central-1",
        "il-central-1",
        "af-south-1",
    }
)

# sagemaker-xgboost and sagemaker-scikit-learn ("framework" images: training, processing,
# serving).
FRAMEWORK_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}

# sagemaker-model-monitor-analyzer (data-quality and model-quality monitoring).
MODEL_MONITOR_ACCOUNTS: dict[str, str] = {
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ca-central-1": "536280801234",
    "eu-central-1": "048819808253",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
}

# sagemaker-clarify-processing (bias and explainability reports, bias monitoring).
CLARIFY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "811711786498",
    "ap-east-1": "098760798382",
    "ap-northeast-1": "377024640650",
    "ap-northeast-2": "263625296855",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "452307495513",
    "ap-southeast-1": "834264404009",
    "ap-southeast-2": "007051062584",
    "ca-central-1": "675030665977",
    "eu-central-1": "017069133835",
    "eu-north-1": "763603941244",
    "eu-south-1": "638885417683",
    "eu-west-1": "131013547314",
    "eu-west-2": "440796970383",
    "eu-west-3": "341593696636",
    "me-south-1": "835444307964",
    "sa-east-1": "520018980103",
    "us-east-1": "205585389593",
    "us-east-2": "211330385671",
    "us-west-1": "740489534195",
    "us-west-2": "306415355426",
}

# What a region needs, and where each entry lives (for messages and the completeness test).
REQUIREMENTS: dict[str, tuple[str, Container[str]]] = {
    "framework image account (training, processing, serving)": (
        "FRAMEWORK_ACCOUNTS in platform_config/_regions.py",
        FRAMEWORK_ACCOUNTS,
    ),
    "Model Monitor image account": (
        "MODEL_MONITOR_ACCOUNTS in platform_config/_regions.py",
        MODEL_MONITOR_ACCOUNTS,
    ),
    "Clarify image account": ("CLARIFY_ACCOUNTS in platform_config/_regions.py", CLARIFY_ACCOUNTS),
    "price table": ("PRICES in platform_config/_prices.py", PRICES),
}


def missing_for(region: str) -> list[str]:
    """What the platform lacks to support ``region`` ('' entries: none)."""
    return [
        f"{what} ({where})" for what, (where, table) in REQUIREMENTS.items() if region not in table
    ]


SUPPORTED_REGIONS: frozenset[str] = frozenset(r for r in COMMERCIAL_REGIONS if not missing_for(r))


@dataclass(frozen=True)
class RegionRefusal:
    region: str

    @property
    def message(self) -> str:
        supported = ", ".join(sorted(SUPPORTED_REGIONS))
        if self.region not in COMMERCIAL_REGIONS:
            return (
                f"{self.region!r} is not an AWS commercial region; use a region code such "
                f"as {supported.split(', ')[0]} (supported: {supported})"
            )
        return (
            f"region {self.region} is not supported yet: the platform has no "
            f"{'; no '.join(missing_for(self.region))}; add what is missing to support it, or "
            f"use one of {supported}"
        )


# Values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
