"""Run moto's server with the few repairs the rehearsal needs, and nothing else.

Each shim fixes how moto *translates a CloudFormation resource* into its own API call; none
of them makes a resource look created when it was not. They are listed in
docs/deploy-rehearsal.md ("moto gaps") and exercised by tests/test_deploy_rehearsal.py.

Usage: python -m rehearsal.moto_launcher HOST PORT
"""

from __future__ import annotations

import sys
from typing import Any


def _kms_key_from_cloudformation() -> None:
    """moto 5.2.5, AWS::KMS::Key, two translation bugs:

    - it passes CloudFormation tags ({Key, Value}) to the KMS tagger, which expects the KMS
      API's shape ({TagKey, TagValue}); every tagged key fails with KeyError 'TagKey' and
      ExecuteChangeSet answers HTTP 500 (the CDK CLI still prints success);
    - it stores KeyPolicy as the template's JSON object where the KMS API keeps a string;
      DescribeKey then fails (json.loads of a dict) with HTTP 500.
    """
    import json

    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        tags = properties.get("Tags") or []
        if tags and "Key" in tags[0]:
            properties = {**properties, "Tags": [
                {"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]}
        if isinstance(properties.get("KeyPolicy"), dict):
            properties = {**properties, "KeyPolicy": json.dumps(properties["KeyPolicy"])}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(cls, resource_name, cloudformation_json, account_id, region_name,
                        **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)


def _exports_from_change_sets() -> None:
    """moto 5.2.5 builds a stack's outputs and registers its exports in CreateStack only.
    A stack created by ExecuteChangeSet (what the CDK CLI uses) keeps the outputs of the
    empty template it was created with, so the next stack's Fn::ImportValue fails with
    'No export named ...'. After the change set is applied, re-read the template, rebuild
    the outputs and publish the exports, as moto's own UpdateStack path does."""
    from moto.cloudformation.models import CloudFormationBackend, Stack

    original = CloudFormationBackend.execute_change_set
    original_create = CloudFormationBackend.create_change_set

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> Any:
        # CreateChangeSet builds its new stack without the account's exports, so
        # Fn::ImportValue cannot resolve; hand them over as CreateStack does.
        original_init = Stack.__init__

        def init(stack: Any, *a: Any, **kw: Any) -> None:
            kw.setdefault("cross_stack_resources", self.exports)
            original_init(stack, *a, **kw)

        Stack.__init__ = init
        try:
            return original_create(self, *args, **kwargs)
        finally:
            Stack.__init__ = original_init

    CloudFormationBackend.create_change_set = create_change_set

    def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
             and stack_name in (None, cs.stack_name, cs.stack_id)), None)
        if change_set is None:
            return
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute


PLACEHOLDER_PREFIX = "rehearsal-placeholder-"
# Types the platform references (Ref / Fn::GetAtt) that moto 5.2.5 cannot create. Only these
# get a placeholder; anything else moto lacks is skipped as before and shows up in the smoke
# table as not deployed.
PLACEHOLDER_TYPES = frozenset({
    "AWS::CodeBuild::Project",
    "AWS::CodePipeline::Pipeline",
    "AWS::CodeArtifact::Domain",
    "AWS::CodeArtifact::Repository",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::MonitoringSchedule",
    "AWS::Scheduler::Schedule",
    "AWS::Config::ConfigRule",
    "AWS::Config::ConfigurationRecorder",
    "AWS::Config::DeliveryChannel",
    # Studio: moto 5.2.5 has no user-profile or Studio lifecycle-configuration API at all.
    "AWS::SageMaker::UserProfile",
    "AWS::SageMaker::StudioLifecycleConfig",
})


def _placeholders_for_unsupported_types() -> None:
    """moto 5.2.5 has no CloudFormation model for some types the platform uses
    (``PLACEHOLDER_TYPES``: CodeBuild projects, CodePipeline pipelines, SageMaker model
    package groups, ...). It skips them,
    and then any Ref or Fn::GetAtt to one fails the whole stack. Stand in a placeholder
    that creates nothing: its physical id starts with ``rehearsal-placeholder-`` and its
    attributes are ARN-shaped, so the rest of the stack deploys. The smoke test lists every
    placeholder as NOT EXERCISED: the rehearsal proves nothing about those resources."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    original = parsing.resource_class_from_type
    classes: dict[str, type] = {}

    def placeholder_class(resource_type: str) -> type:
        if resource_type in classes:
            return classes[resource_type]
        service = resource_type.split("::")[1].lower()

        class Placeholder(CloudFormationModel):
            # moto's model metaclass takes the service from the module path ("moto.<service>");
            # run as `python -m`, this module is __main__, which has none.
            __module__ = "moto.rehearsal_placeholders"

            def __init__(self, name: str, account_id: str, region_name: str) -> None:
                self.name = name
                self.arn = (f"arn:aws:{service}:{region_name}:{account_id}:"
                            f"{resource_type.split('::')[2].lower()}/{name}")

            @property
            def physical_resource_id(self) -> str:
                return f"{PLACEHOLDER_PREFIX}{self.name}"

            @staticmethod
            def cloudformation_name_type() -> str:
                return ""

            @staticmethod
            def cloudformation_type() -> str:
                return resource_type

            @classmethod
            def has_cfn_attr(cls, attr: str) -> bool:
                return True

            def get_cfn_attribute(self, attribute_name: str) -> str:
                return self.arn if attribute_name.endswith("Arn") else self.physical_resource_id

            @classmethod
            def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                                account_id: str, region_name: str,
                                                **kwargs: Any) -> Any:
                return cls(kwargs.get("LogicalId", resource_name), account_id, region_name)

        classes[resource_type] = Placeholder
        return Placeholder

    def lookup(resource_type: str) -> Any:
        found = original(resource_type)
        if found is None and resource_type in PLACEHOLDER_TYPES:
            return placeholder_class(resource_type)
        return found

    parsing.resource_class_from_type = lookup


def _studio_domain_from_cloudformation() -> None:
    """moto 5.2.5 implements SageMaker's CreateDomain and DescribeDomain, but its
    CloudFormation has no model for ``AWS::SageMaker::Domain``: it would skip the domain and
    fail every stack that refers to it. Translate the resource into moto's own CreateDomain
    with the template's properties (network access type, subnets, VPC, key, domain and
    default user and space settings), as the real CloudFormation handler does, so the smoke
    test reads the domain back with DescribeDomain. Ref is the domain's ARN and
    ``Fn::GetAtt DomainId`` its id, as in CloudFormation."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.sagemaker.models import sagemaker_backends

    class StudioDomain(CloudFormationModel):
        __module__ = "moto.sagemaker_studio_domain"

        def __init__(self, domain_id: str, arn: str, url: str, efs: str) -> None:
            self.domain_id, self.arn, self.url, self.efs = domain_id, arn, url, efs

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @staticmethod
        def cloudformation_name_type() -> str:
            return "DomainName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SageMaker::Domain"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("DomainId", "DomainArn", "Url", "HomeEfsFileSystemId")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return {"DomainId": self.domain_id, "DomainArn": self.arn, "Url": self.url,
                    "HomeEfsFileSystemId": self.efs}[attribute_name]

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str,
                                            **kwargs: Any) -> Any:
            p = cloudformation_json.get("Properties", {})
            backend = sagemaker_backends[account_id][region_name]
            created = backend.create_domain(
                domain_name=p.get("DomainName") or resource_name,
                auth_mode=p.get("AuthMode"),
                default_user_settings=p.get("DefaultUserSettings") or {},
                subnet_ids=p.get("SubnetIds") or [],
                vpc_id=p.get("VpcId"),
                domain_settings=p.get("DomainSettings"),
                tags=p.get("Tags"),
                app_network_access_type=p.get("AppNetworkAccessType"),
                home_efs_file_system_kms_key_id=None,
                kms_key_id=p.get("KmsKeyId"),
                app_security_group_management=p.get("AppSecurityGroupManagement"),
                default_space_settings=p.get("DefaultSpaceSettings"),
            )
            arn = created["DomainArn"]
            domain_id = arn.rsplit("/", 1)[-1]
            described = backend.describe_domain(domain_id)
            return cls(domain_id, arn, created["Url"], described["HomeEfsFileSystemId"])

    original = parsing.resource_class_from_type

    def lookup(resource_type: str) -> Any:
        if resource_type == "AWS::SageMaker::Domain":
            return StudioDomain
        return original(resource_type)

    parsing.resource_class_from_type = lookup


SHIMS = (_kms_key_from_cloudformation, _exports_from_change_sets,
         _placeholders_for_unsupported_types, _studio_domain_from_cloudformation)


def apply_shims() -> None:
    for shim in SHIMS:
        shim()


def main(argv: list[str]) -> None:
    host, port = argv
    apply_shims()
    from moto.server import main as moto_main

    moto_main(["--host", host, "--port", port])


if __name__ == "__main__":
    main(sys.argv[1:])
