"""The commit-driven pipeline: source -> build and test -> train -> model-risk approval."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_constructs._lint import tolerate_redundant_depends_on
from cdk_constructs._validation import require
from cdk_constructs.secure_log_group import SecureLogGroup
from platform_config._model import SourceConfig

BUILD_VARIABLES = (
    "RUN_ID",
    "CODE_PREFIX",
    "COMMIT_ID",
    "REPOSITORY",
    "BRANCH",
    "COMMIT_AUTHOR",
    "COMMIT_DATE",
    "COMMIT_MESSAGE",
)
STAGES = ("Source", "BuildAndTest", "Train", "Approve")
DEPLOY_STAGES = ("DeployPreProd", "QA", "ApproveProduction", "DeployProd")


@dataclass(frozen=True)
class DeploymentTarget:
    """A serving environment's deployment workflow, started through its deploy role."""

    environment: str
    account: str
    state_machine_arn: str
    role_arn: str | None  # None: the pipeline's own environment (its actions role starts it)
    model_package_group_arn: str
    baseline_data_uri: str  # may contain #{BuildVariables.RUN_ID}
    qa_state_machine_arn: str | None = None  # champion/challenger after this deployment


@dataclass(frozen=True)
class PipelineCode:
    """Where the build puts packaged model code and where the raw data is."""

    models_bucket: s3.IBucket
    models_key: kms.IKey
    raw_bucket_name: str
    raw_data_key: str
    codeartifact_domain: str
    codeartifact_repository: str


def build_spec(
    *, code_bucket: str, code_key_arn: str, codeartifact_domain: str, codeartifact_repository: str
) -> dict:
    """Test the model code, package it, and export the commit metadata for the workflow.

    The build runs in the isolated VPC, which has no route to a Git host, so it never
    clones: every source kind hands it a ZIP of the commit (CODE_ZIP). With a Git source the
    commit metadata comes from the source action's variables (``SOURCE_*`` environment
    variables, see :data:`GIT_SOURCE_VARIABLES`); with an S3 source (air-gapped) from the
    ``commit.json`` the institution's export step puts next to the code. Values are stripped
    of quotes and backslashes because they travel inside a JSON document.
    """
    clean = "tr -d '\"\\\\' | tr '\\n\\r\\t' '   ' | cut -c1-200"
    return {
        "version": "0.2",
        "env": {"shell": "bash", "exported-variables": list(BUILD_VARIABLES)},
        "phases": {
            "install": {
                "commands": [
                    "aws codeartifact login --tool pip --domain "
                    f'{codeartifact_domain} --domain-owner "$AWS_ACCOUNT_ID" '
                    f"--repository {codeartifact_repository}",
                    "python -m pip install --quiet -r ml/requirements.txt pytest",
                ]
            },
            "build": {
                "commands": [
                    "python -m pytest tests/ml -q -p no:cacheprovider",
                    "if [ ! -f commit.json ]; then "
                    'COMMIT_ID="${SOURCE_COMMIT_ID:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"; '
                    'REPOSITORY="$SOURCE_REPOSITORY"; BRANCH="$SOURCE_BRANCH"; '
                    'COMMIT_AUTHOR="${SOURCE_AUTHOR:-not exported by the source action}"; '
                    'COMMIT_DATE="$SOURCE_DATE"; COMMIT_MESSAGE="$SOURCE_MESSAGE"; '
                    "else "
                    'eval "$(python3 -c \'import json,shlex; c=json.load(open("commit.json")); '
                    'print("\\n".join(k.upper()+"="+shlex.quote(str(c[v])) for k,v in '
                    '[("COMMIT_ID","id"),("REPOSITORY","repository"),("BRANCH","branch"),'
                    '("COMMIT_AUTHOR","author"),("COMMIT_DATE","date"),'
                    '("COMMIT_MESSAGE","message")]))\')"; fi',
                    *(
                        f"{v}=$(printf '%s' \"${v}\" | {clean})"
                        for v in (
                            "REPOSITORY",
                            "BRANCH",
                            "COMMIT_AUTHOR",
                            "COMMIT_DATE",
                            "COMMIT_MESSAGE",
                        )
                    ),
                    'RUN_ID="b${CODEBUILD_BUILD_NUMBER}-'
                    '$(printf \'%s\' "$COMMIT_ID" | cut -c1-12)"',
                    'CODE_PREFIX="code/${RUN_ID}/"',
                    "tar -czf sourcedir.tar.gz -C ml/credit_default .",
                    f'aws s3 cp sourcedir.tar.gz "s3://{code_bucket}/'
                    '${CODE_PREFIX}sourcedir.tar.gz" '
                    f"--sse aws:kms --sse-kms-key-id {code_key_arn}",
                    f'aws s3 cp --recursive ml/credit_default "s3://{code_bucket}/${{CODE_PREFIX}}'
                    f"credit_default/\" --exclude '__pycache__/*' --sse aws:kms "
                    f"--sse-kms-key-id {code_key_arn}",
                ]
            },
        },
    }


# The commit metadata a Git source action exports (CodePipeline User Guide, "Variables
# reference": CodeCommit and CodeStarSourceConnection actions), as the build's SOURCE_*
# variables. Neither action exports the author's name.
GIT_SOURCE_VARIABLES: dict[str, dict[str, str]] = {
    "codecommit": {
        "SOURCE_COMMIT_ID": "CommitId",
        "SOURCE_REPOSITORY": "RepositoryName",
        "SOURCE_BRANCH": "BranchName",
        "SOURCE_DATE": "CommitterDate",
        "SOURCE_MESSAGE": "CommitMessage",
    },
    "codeconnections": {
        "SOURCE_COMMIT_ID": "CommitId",
        "SOURCE_REPOSITORY": "FullRepositoryName",
        "SOURCE_BRANCH": "BranchName",
        "SOURCE_DATE": "AuthorDate",
        "SOURCE_MESSAGE": "CommitMessage",
    },
}


def _source_variables(kind: str) -> dict[str, codebuild.BuildEnvironmentVariable] | None:
    mapping = GIT_SOURCE_VARIABLES.get(kind)
    if not mapping:
        return None
    return {
        name: codebuild.BuildEnvironmentVariable(value=f"#{{SourceVariables.{var}}}")
        for name, var in mapping.items()
    }


def workflow_input(code: PipelineCode) -> dict:
    """The training workflow's input, filled with the build's exported variables."""
    var = "#{BuildVariables.%s}"
    return {
        "run_id": var % "RUN_ID",
        "commit": {
            "id": var % "COMMIT_ID",
            "repository": var % "REPOSITORY",
            "branch": var % "BRANCH",
            "author": var % "COMMIT_AUTHOR",
            "date": var % "COMMIT_DATE",
            "message": var % "COMMIT_MESSAGE",
        },
        "raw_data": {"bucket": code.raw_bucket_name, "key": code.raw_data_key},
        "code": {"bucket": code.models_bucket.bucket_name, "prefix": var % "CODE_PREFIX"},
        "pipeline_execution_id": "#{codepipeline.PipelineExecutionId}",
    }


class TrainingPipeline(Construct):
    """CodePipeline V2. A commit on the configured branch (or a new object at the S3 key,
    for air-gapped institutions) starts it. Build and test run in CodeBuild inside the VPC
    with packages from the private mirror; the training workflow runs with the commit's
    metadata; the pipeline then waits for a model-risk approver.

    All roles hold customer-managed policies only (no inline policies): the pipeline role
    may only assume the actions role; the actions role may only start this build and this
    workflow and read and write this pipeline's artifacts.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        pipeline_name: str,
        source: SourceConfig,
        artifact_bucket: s3.IBucket,
        artifact_bucket_name: str,
        source_bucket: s3.IBucket | None,
        pipeline_key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        state_machine: sfn.IStateMachine,
        state_machine_name: str,
        approval_topic: sns.ITopic,
        approval_topic_key: kms.IKey,
        code: PipelineCode,
        pipeline_role_name: str | None = None,
        deployments: list[DeploymentTarget] | None = None,
        replica_stores: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            source.kind != "s3" or source_bucket is not None,
            "TrainingPipeline",
            "an s3 source needs source_bucket (a versioned platform bucket)",
        )
        require(len(pipeline_name) <= 100, "TrainingPipeline", "pipeline_name is too long")
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        self.artifact_bucket_name = artifact_bucket_name
        self.pipeline_arn = f"{arn}:codepipeline:{stack.region}:{stack.account}:{pipeline_name}"

        # --- roles ---------------------------------------------------------------------
        self.actions_policy = iam.ManagedPolicy(
            self, "ActionsPolicy", description="Training pipeline actions"
        )
        # Named, so the actions role can trust exactly the pipeline role by ARN (a reference
        # would make the two roles depend on each other).
        pipeline_role_name = pipeline_role_name or f"{pipeline_name[:59]}-role"
        pipeline_role_arn = f"{arn}:iam::{stack.account}:role/{pipeline_role_name}"
        self.actions_role = iam.Role(
            self,
            "ActionsRole",
            description="Training pipeline actions",
            managed_policies=[self.actions_policy],
            assumed_by=iam.AccountPrincipal(stack.account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": pipeline_role_arn}}
            ),
        )
        self.pipeline_policy = iam.ManagedPolicy(
            self,
            "PipelinePolicy",
            statements=[
                iam.PolicyStatement(
                    sid="AssumeActionsRole",
                    actions=["sts:AssumeRole"],
                    resources=[self.actions_role.role_arn],
                ),
                *self._artifact_statements(artifact_bucket, pipeline_key),
                iam.PolicyStatement(
                    sid="NotifyApprovers",
                    actions=["sns:Publish"],
                    resources=[approval_topic.topic_arn],
                ),
                iam.PolicyStatement(
                    sid="NotifyApproversEncrypted",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[approval_topic_key.key_arn],
                ),
            ],
        )
        self.pipeline_role = iam.Role(
            self,
            "PipelineRole",
            description="Training pipeline",
            role_name=pipeline_role_name,
            managed_policies=[self.pipeline_policy],
            assumed_by=iam.ServicePrincipal(
                "codepipeline.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )

        # --- build project -------------------------------------------------------------
        self.build_log_group = SecureLogGroup(
            self, "BuildLogs", encryption_key=log_key, retention_days=log_retention_days
        ).log_group
        self.build_policy = iam.ManagedPolicy(
            self,
            "BuildPolicy",
            statements=[
                *self._artifact_statements(artifact_bucket, pipeline_key),
                iam.PolicyStatement(
                    sid="BuildLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.build_log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="PublishModelCode",
                    actions=["s3:PutObject"],
                    resources=[code.models_bucket.arn_for_objects("code/*")],
                ),
                iam.PolicyStatement(
                    sid="EncryptModelCode",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[code.models_key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="PackageMirror",
                    actions=[
                        "codeartifact:GetAuthorizationToken",
                        "codeartifact:GetRepositoryEndpoint",
                        "codeartifact:ReadFromRepository",
                    ],
                    resources=[
                        f"{arn}:codeartifact:{stack.region}:{stack.account}:domain/"
                        f"{code.codeartifact_domain}",
                        f"{arn}:codeartifact:{stack.region}:{stack.account}:repository/"
                        f"{code.codeartifact_domain}/{code.codeartifact_repository}",
                    ],
                ),
                iam.PolicyStatement(
                    sid="PackageMirrorToken",
                    actions=["sts:GetServiceBearerToken"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
                    },
                ),
                # CodeBuild's VPC attachment; the Describe APIs have no resource-level permissions.
                iam.PolicyStatement(
                    sid="VpcDescribe",
                    actions=[
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeVpcs",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="VpcNetworkInterfaces",
                    actions=["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                    resources=["*"],
                    conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
                ),
                iam.PolicyStatement(
                    sid="VpcAttach",
                    actions=["ec2:CreateNetworkInterfacePermission"],
                    resources=[f"{arn}:ec2:{stack.region}:{stack.account}:network-interface/*"],
                    conditions={
                        "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"}
                    },
                ),
            ],
        )
        self.build_role = iam.Role(
            self,
            "BuildRole",
            description="Training pipeline build and test",
            managed_policies=[self.build_policy],
            assumed_by=iam.ServicePrincipal(
                "codebuild.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        self.build_project = codebuild.PipelineProject(
            self,
            "BuildAndTest",
            description="Tests the model code, packages it, exports the commit metadata",
            role=self.build_role.without_policy_updates(),
            encryption_key=pipeline_key,
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.MEDIUM,
                privileged=False,
            ),
            build_spec=codebuild.BuildSpec.from_object(
                build_spec(
                    code_bucket=code.models_bucket.bucket_name,
                    code_key_arn=code.models_key.key_arn,
                    codeartifact_domain=code.codeartifact_domain,
                    codeartifact_repository=code.codeartifact_repository,
                )
            ),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.build_log_group)
            ),
            timeout=Duration.minutes(30),
        )
        # The VPC is set on the CloudFormation property: the L2's vpc option would add an
        # inline policy for network interfaces, which BuildPolicy already grants (scoped).
        cfn_project = self.build_project.node.default_child
        if not isinstance(cfn_project, codebuild.CfnProject):
            raise TypeError(f"{self.node.path}: the build project's child is not a CfnProject")
        cfn_project.vpc_config = codebuild.CfnProject.VpcConfigProperty(
            vpc_id=vpc.vpc_id,
            subnets=[s.subnet_id for s in vpc.isolated_subnets],
            security_group_ids=[security_group.security_group_id],
        )
        self.build_project.node.add_dependency(self.build_policy)

        # --- pipeline ------------------------------------------------------------------
        source_output = codepipeline.Artifact("Source")
        build_output = codepipeline.Artifact("Build")
        actions_role = self.actions_role.without_policy_updates()
        source_action = self._source_action(source, source_bucket, source_output, actions_role)
        self.actions_policy.add_statements(
            *self._artifact_statements(artifact_bucket, pipeline_key),
            iam.PolicyStatement(
                sid="RunBuild",
                actions=["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                resources=[self.build_project.project_arn],
            ),
            # CodePipeline's Step Functions action starts the machine and describes it and
            # its execution (the pipeline key, which encrypts the machine, is granted above).
            iam.PolicyStatement(
                sid="RunTraining",
                actions=["states:StartExecution", "states:DescribeStateMachine"],
                resources=[state_machine.state_machine_arn],
            ),
            iam.PolicyStatement(
                sid="NotifyApprovers", actions=["sns:Publish"], resources=[approval_topic.topic_arn]
            ),
            iam.PolicyStatement(
                sid="NotifyApproversEncrypted",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[approval_topic_key.key_arn],
            ),
            iam.PolicyStatement(
                sid="WatchTraining",
                actions=["states:DescribeExecution"],
                resources=[
                    f"{arn}:states:{stack.region}:{stack.account}:execution:{state_machine_name}:*"
                ],
            ),
        )
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=codepipeline.ExecutionMode.QUEUED,
            # CDK takes the pipeline's own store either as artifact_bucket or, with stores in
            # other regions, as the entry of its own region in the map.
            artifact_bucket=None if replica_stores else artifact_bucket,
            cross_region_replication_buckets=(
                {Stack.of(self).region: artifact_bucket, **self._replica_buckets(replica_stores)}
                if replica_stores
                else None
            ),
            role=self.pipeline_role.without_policy_updates(),
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(stage_name="Source", actions=[source_action]),
                codepipeline.StageProps(
                    stage_name="BuildAndTest",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="TestAndPackage",
                            project=self.build_project,
                            input=source_output,
                            outputs=[build_output],
                            variables_namespace="BuildVariables",
                            role=actions_role,
                            environment_variables=_source_variables(source.kind),
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Train",
                    actions=[
                        actions.StepFunctionInvokeAction(
                            action_name="TrainingWorkflow",
                            state_machine=state_machine,
                            state_machine_input=actions.StateMachineInput.literal(
                                workflow_input(code)
                            ),
                            execution_name_prefix="pipeline",
                            role=actions_role,
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Approve",
                    actions=[
                        actions.ManualApprovalAction(
                            action_name="ModelRiskApproval",
                            notification_topic=approval_topic,
                            role=actions_role,
                            additional_information=(
                                "A model is waiting in the model registry as "
                                "PendingManualApproval. Review its evaluation, bias and "
                                "explainability reports and its lineage before approving."
                            ),
                        )
                    ],
                ),
                *self._deploy_stages(deployments or [], approval_topic, actions_role),
            ],
        )
        self.pipeline.node.add_dependency(self.pipeline_policy, self.actions_policy)
        tolerate_redundant_depends_on(self.pipeline)
        self._start_rule(source, source_bucket, stack)

    def _replica_buckets(self, stores: dict[str, tuple[str, str]]) -> dict[str, s3.IBucket]:
        """The platform's artifact stores in the regions of cross-region deploy actions
        (stacks/pipeline_replica_stack.py), by name and key alias: without them CDK would
        create support stacks with an unrotated, deletable key and an unversioned bucket."""
        stack = Stack.of(self)
        buckets = {}
        for region, (bucket_name, key_alias_arn) in sorted(stores.items()):
            require(
                region != stack.region,
                "TrainingPipeline",
                f"replica_stores names the pipeline's own region {region}",
            )
            key = kms.Key.from_key_arn(self, f"ReplicaKey-{region}", key_alias_arn)
            buckets[region] = s3.Bucket.from_bucket_attributes(
                self,
                f"ReplicaStore-{region}",
                bucket_name=bucket_name,
                region=region,
                account=stack.account,
                encryption_key=key,
            )
        return buckets

    def _deploy_stages(
        self,
        deployments: list[DeploymentTarget],
        approval_topic: sns.ITopic,
        actions_role: iam.IRole,
    ) -> list[codepipeline.StageProps]:
        """Deploy to pre-production, approve (model risk), deploy to production: each deploy
        starts the target account's deployment workflow through its fixed-name deploy role."""
        by_env = {d.environment: d for d in deployments}
        stages: list[codepipeline.StageProps] = []
        for stage_name, env in (
            ("DeployDev", "dev"),
            ("DeployPreProd", "preprod"),
            ("DeployProd", "prod"),
        ):
            target = by_env.get(env)
            if target is None:
                continue
            if env == "prod":
                stages.append(
                    codepipeline.StageProps(
                        stage_name="ApproveProduction",
                        actions=[
                            actions.ManualApprovalAction(
                                action_name="ModelRiskProductionApproval",
                                notification_topic=approval_topic,
                                role=actions_role,
                                additional_information=(
                                    "The model runs in pre-production behind guardrails and "
                                    "monitoring. Review its endpoint alarms and the pre-production "
                                    "dashboard before approving the production deployment."
                                ),
                            )
                        ],
                    )
                )
            if target.role_arn is None:
                # The pipeline's own environment: its actions role starts the workflows there.
                deploy_role = actions_role
                startable = [target.state_machine_arn, *filter(None, [target.qa_state_machine_arn])]
                self.actions_policy.add_statements(
                    iam.PolicyStatement(
                        sid=f"StartDeployment{env.capitalize()}",
                        actions=["states:StartExecution", "states:DescribeStateMachine"],
                        resources=startable,
                    ),
                    iam.PolicyStatement(
                        sid=f"WatchDeployment{env.capitalize()}",
                        actions=["states:DescribeExecution"],
                        resources=[
                            a.replace(":stateMachine:", ":execution:") + ":*" for a in startable
                        ],
                    ),
                )
            else:
                # CodePipeline assumes an action's role with the pipeline's own role.
                self.pipeline_policy.add_statements(
                    iam.PolicyStatement(
                        sid=f"AssumeDeployRole{env.capitalize()}",
                        actions=["sts:AssumeRole"],
                        resources=[target.role_arn],
                    )
                )
                deploy_role = iam.Role.from_role_arn(
                    self, f"DeployRole{env.capitalize()}", target.role_arn, mutable=False
                )
            workflow = sfn.StateMachine.from_state_machine_arn(
                self, f"DeploymentWorkflow{env.capitalize()}", target.state_machine_arn
            )
            stages.append(
                codepipeline.StageProps(
                    stage_name=stage_name,
                    actions=[
                        actions.StepFunctionInvokeAction(
                            action_name=f"DeployTo{env.capitalize()}",
                            state_machine=workflow,
                            role=deploy_role,
                            execution_name_prefix="pipeline",
                            state_machine_input=actions.StateMachineInput.literal(
                                {
                                    "model_package_group_arn": target.model_package_group_arn,
                                    "run_id": "#{BuildVariables.RUN_ID}",
                                    "baseline_data_uri": target.baseline_data_uri,
                                }
                            ),
                        )
                    ],
                )
            )
            if target.qa_state_machine_arn:
                qa = sfn.StateMachine.from_state_machine_arn(
                    self, f"QaWorkflow{env.capitalize()}", target.qa_state_machine_arn
                )
                stages.append(
                    codepipeline.StageProps(
                        stage_name="QA",
                        actions=[
                            actions.StepFunctionInvokeAction(
                                action_name="ChampionChallenger",
                                state_machine=qa,
                                role=deploy_role,
                                execution_name_prefix="pipeline",
                                state_machine_input=actions.StateMachineInput.literal(
                                    {"run_id": "#{BuildVariables.RUN_ID}"}
                                ),
                            )
                        ],
                    )
                )
        return stages

    def _artifact_statements(self, bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
        # By name, so policies read as literal ARNs (bucket names are deterministic).
        arn = f"arn:{Stack.of(self).partition}:s3:::{self.artifact_bucket_name}"
        return [
            iam.PolicyStatement(
                actions=[
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:GetBucketVersioning",
                    "s3:GetBucketLocation",
                ],
                resources=[arn, f"{arn}/*"],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
            ),
        ]

    def _source_action(
        self,
        source: SourceConfig,
        source_bucket: s3.IBucket | None,
        output: codepipeline.Artifact,
        role: iam.IRole,
    ) -> codepipeline.IAction:
        if source.kind == "codeconnections":
            connection_arn = source.connection_arn
            if connection_arn is None:  # SourceConfig requires it for this kind
                raise ValueError("source: codeconnections needs connection_arn")
            owner, repo = (source.repository or "/").split("/", 1)
            self.actions_policy.add_statements(
                iam.PolicyStatement(
                    sid="UseConnection",
                    actions=["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                    resources=[connection_arn],
                )
            )
            return actions.CodeStarConnectionsSourceAction(
                action_name="Commit",
                connection_arn=connection_arn,
                owner=owner,
                repo=repo,
                branch=source.branch,
                output=output,
                code_build_clone_output=False,
                trigger_on_push=True,
                role=role,
                variables_namespace="SourceVariables",
            )
        if source.kind == "codecommit":
            if source.repository is None:  # SourceConfig requires it for this kind
                raise ValueError("source: codecommit needs repository")
            repository = codecommit.Repository.from_repository_name(
                self, "Repository", source.repository
            )
            self.actions_policy.add_statements(
                iam.PolicyStatement(
                    sid="ReadRepository",
                    actions=[
                        "codecommit:GetBranch",
                        "codecommit:GetCommit",
                        "codecommit:GetRepository",
                        "codecommit:UploadArchive",
                        "codecommit:GetUploadArchiveStatus",
                        "codecommit:CancelUploadArchive",
                    ],
                    resources=[repository.repository_arn],
                )
            )
            return actions.CodeCommitSourceAction(
                action_name="Commit",
                repository=repository,
                branch=source.branch,
                output=output,
                trigger=actions.CodeCommitTrigger.NONE,
                code_build_clone_output=False,
                role=role,
                variables_namespace="SourceVariables",
            )
        if source_bucket is None:  # refused in __init__ already
            raise ValueError("an s3 source needs source_bucket (a versioned platform bucket)")
        self.actions_policy.add_statements(
            iam.PolicyStatement(
                sid="ReadSourceObject",
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"],
                resources=[
                    source_bucket.bucket_arn,
                    source_bucket.arn_for_objects(source.object_key),
                ],
            )
        )
        return actions.S3SourceAction(
            action_name="ModelCode",
            bucket=source_bucket,
            bucket_key=source.object_key,
            output=output,
            trigger=actions.S3Trigger.NONE,
            role=role,
        )

    def _start_rule(
        self, source: SourceConfig, source_bucket: s3.IBucket | None, stack: Stack
    ) -> None:
        """Git connections trigger V2 pipelines natively. CodeCommit and S3 sources start
        the pipeline from an EventBridge rule whose role holds a managed policy."""
        if source.kind == "codeconnections":
            return
        policy = iam.ManagedPolicy(
            self,
            "StartPolicy",
            statements=[
                iam.PolicyStatement(
                    actions=["codepipeline:StartPipelineExecution"], resources=[self.pipeline_arn]
                )
            ],
        )
        role = iam.Role(
            self,
            "StartRole",
            managed_policies=[policy],
            description="Starts the training pipeline on a new commit",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        if source.kind == "codecommit":
            pattern = events.EventPattern(
                source=["aws.codecommit"],
                detail_type=["CodeCommit Repository State Change"],
                resources=[
                    f"arn:{stack.partition}:codecommit:{stack.region}:{stack.account}:"
                    f"{source.repository}"
                ],
                detail={
                    "event": ["referenceCreated", "referenceUpdated"],
                    "referenceType": ["branch"],
                    "referenceName": [source.branch],
                },
            )
        else:
            if source_bucket is None:  # refused in __init__ already
                raise ValueError("an s3 source needs source_bucket (a versioned platform bucket)")
            pattern = events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [source_bucket.bucket_name]},
                    "object": {"key": [source.object_key]},
                },
            )
        events.Rule(
            self,
            "StartOnCommit",
            event_pattern=pattern,
            description="A new commit starts the training pipeline",
            targets=[targets.CodePipeline(self.pipeline, event_role=role.without_policy_updates())],
        )
        self.pipeline.node.add_dependency(policy)
