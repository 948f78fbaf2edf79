"""Resolve CloudFormation intrinsic functions in a synthesized template to placeholder values of
the right SHAPE, so that offline validators can read what CloudFormation would pass to a service:
a state machine definition built with Fn::Join, a policy whose Resource is Fn::GetAtt X.Arn.

Shapes follow CloudFormation's documented return values (Ref and Fn::GetAtt of each type): an
SNS topic's Ref is its ARN, a bucket's Ref its name, a key's Ref its id, and so on. A type not
listed here raises, so that a new resource type is a visible gap, not a silent wrong shape.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

REGION, ACCOUNT, PARTITION = "eu-west-2", "111111111111", "aws"
_PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION,
           "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "placeholder-stack",
           "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/placeholder/1",
           "AWS::NotificationARNs": []}
NO_VALUE = object()

# type -> ARN (Fn::GetAtt X.Arn), with {n} the physical name placeholder.
_ARN = {
    "AWS::S3::Bucket": "arn:aws:s3:::{n}",
    "AWS::KMS::Key": "arn:aws:kms:{r}:{a}:key/{uuid}",
    "AWS::SNS::Topic": "arn:aws:sns:{r}:{a}:{n}",
    "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
    "AWS::Lambda::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::Lambda::LayerVersion": "arn:aws:lambda:{r}:{a}:layer:{n}:1",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "AWS::IAM::Role": "arn:aws:iam::{a}:role/{n}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{a}:policy/{n}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{r}:{a}:log-group:{n}:*",
    "AWS::Events::EventBus": "arn:aws:events:{r}:{a}:event-bus/{n}",
    "AWS::Events::Rule": "arn:aws:events:{r}:{a}:rule/{n}",
    "AWS::CodeBuild::Project": "arn:aws:codebuild:{r}:{a}:project/{n}",
    "AWS::CodeCommit::Repository": "arn:aws:codecommit:{r}:{a}:{n}",
    "AWS::CodePipeline::Pipeline": "arn:aws:codepipeline:{r}:{a}:{n}",
    "AWS::ECR::Repository": "arn:aws:ecr:{r}:{a}:repository/{n}",
    "AWS::CodeArtifact::Domain": "arn:aws:codeartifact:{r}:{a}:domain/{n}",
    "AWS::CodeArtifact::Repository": "arn:aws:codeartifact:{r}:{a}:repository/{n}/{n}",
    "AWS::SageMaker::ModelPackageGroup": "arn:aws:sagemaker:{r}:{a}:model-package-group/{n}",
    "AWS::SageMaker::NotebookInstance": "arn:aws:sagemaker:{r}:{a}:notebook-instance/{n}",
    "AWS::SageMaker::NotebookInstanceLifecycleConfig":
        "arn:aws:sagemaker:{r}:{a}:notebook-instance-lifecycle-config/{n}",
    "AWS::SageMaker::Domain": "arn:aws:sagemaker:{r}:{a}:domain/d-{n}",
    "AWS::SageMaker::UserProfile": "arn:aws:sagemaker:{r}:{a}:user-profile/d-{n}/{n}",
    "AWS::SageMaker::StudioLifecycleConfig":
        "arn:aws:sagemaker:{r}:{a}:studio-lifecycle-config/{n}",
    "AWS::CloudTrail::Trail": "arn:aws:cloudtrail:{r}:{a}:trail/{n}",
    "AWS::Scheduler::Schedule": "arn:aws:scheduler:{r}:{a}:schedule/default/{n}",
    "AWS::Scheduler::ScheduleGroup": "arn:aws:scheduler:{r}:{a}:schedule-group/{n}",
    "AWS::CloudWatch::Alarm": "arn:aws:cloudwatch:{r}:{a}:alarm:{n}",
    "AWS::CodeStarConnections::Connection":
        "arn:aws:codestar-connections:{r}:{a}:connection/{uuid}",
    "AWS::CodeConnections::Connection": "arn:aws:codeconnections:{r}:{a}:connection/{uuid}",
    "AWS::Config::ConfigRule": "arn:aws:config:{r}:{a}:config-rule/config-rule-{n}",
    "AWS::EC2::VPC": "arn:aws:ec2:{r}:{a}:vpc/vpc-0123456789abcdef0",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::EC2::SecurityGroup": "arn:aws:ec2:{r}:{a}:security-group/sg-0123456789abcdef0",
}
# type -> what Ref returns, when it is not the name.
_REF = {
    "AWS::SNS::Topic": "arn", "AWS::StepFunctions::StateMachine": "arn",
    "AWS::IAM::ManagedPolicy": "arn", "AWS::Scheduler::ScheduleGroup": "name",
    "AWS::KMS::Key": "{uuid}", "AWS::SQS::Queue": "https://sqs.{r}.amazonaws.com/{a}/{n}",
    "AWS::EC2::VPC": "vpc-0123456789abcdef0", "AWS::EC2::Subnet": "subnet-0123456789abcdef0",
    "AWS::EC2::SecurityGroup": "sg-0123456789abcdef0",
    "AWS::EC2::VPCEndpoint": "vpce-0123456789abcdef0",
    "AWS::EC2::RouteTable": "rtb-0123456789abcdef0",
    "AWS::CodeStarConnections::Connection": "arn", "AWS::CodeConnections::Connection": "arn",
    "AWS::Lambda::LayerVersion": "arn", "AWS::SageMaker::ModelPackageGroup": "arn",
    "AWS::CodeArtifact::Domain": "arn", "AWS::CodeArtifact::Repository": "arn",
    "AWS::CodeCommit::Repository": "{uuid}",
}
# (type, attribute) -> value, beyond Arn.
_ATTR = {
    "KeyId": "{uuid}", "RoleId": "AROAPLACEHOLDER0000000", "TopicName": "{n}", "Name": "{n}",
    "QueueName": "{n}", "QueueUrl": "https://sqs.{r}.amazonaws.com/{a}/{n}",
    "DomainName": "{n}.s3.amazonaws.com", "RegionalDomainName": "{n}.s3.{r}.amazonaws.com",
    "GroupId": "sg-0123456789abcdef0", "VpcId": "vpc-0123456789abcdef0",
    "CidrBlock": "10.0.0.0/16", "Id": "{n}", "Owner": "{a}",
    "ModelPackageGroupArn": "arn:aws:sagemaker:{r}:{a}:model-package-group/{n}",
    "NotebookInstanceName": "{n}", "RepositoryUri": "{a}.dkr.ecr.{r}.amazonaws.com/{n}",
    "CloneUrlHttp": "https://git-codecommit.{r}.amazonaws.com/v1/repos/{n}",
    "ConnectionArn": "arn:aws:codeconnections:{r}:{a}:connection/{uuid}",
    "Version": "1", "DefaultSecurityGroup": "sg-0123456789abcdef0", "DomainId": "d-{n}",
}


def _name(logical_id: str) -> str:
    """A physical-name placeholder valid for every service (lower case, digits, hyphens)."""
    return ("ph-" + re.sub(r"[^a-z0-9]", "", logical_id.lower()))[:40]


def _uuid(logical_id: str) -> str:
    h = hashlib.sha1(logical_id.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _fill(pattern: str, logical_id: str) -> str:
    return pattern.format(r=REGION, a=ACCOUNT, n=_name(logical_id), uuid=_uuid(logical_id))


class Resolver:
    """Resolves the tokens of ONE template (Refs name its own resources and parameters)."""

    def __init__(self, template: dict, exports: dict[str, tuple["Resolver", Any]] | None = None
                 ) -> None:
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})
        # Export name -> (the exporting template's resolver, the exported expression).
        self.exports = exports if exports is not None else {}
        for output in template.get("Outputs", {}).values():
            name = output.get("Export", {}).get("Name")
            if isinstance(name, str):
                self.exports[name] = (self, output["Value"])

    def _type(self, logical_id: str) -> str:
        return self.resources[logical_id]["Type"]

    def arn(self, logical_id: str) -> str:
        type_ = self._type(logical_id)
        if type_ not in _ARN:
            raise KeyError(f"no ARN shape for {type_} ({logical_id}): add it to _ARN")
        return _fill(_ARN[type_], logical_id)

    def ref(self, name: str) -> Any:
        if name in _PSEUDO:
            return _PSEUDO[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            default = self.parameters[name].get("Default")
            return default if isinstance(default, str) and not default.startswith("/") \
                else f"ph-parameter-{_name(name)}"
        type_ = self._type(name)
        shape = _REF.get(type_, "name")
        if shape == "arn":
            return self.arn(name)
        if shape == "name":
            return _name(name)
        return _fill(shape, name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn" or attribute.endswith("Arn") and attribute not in _ATTR:
            return self.arn(logical_id)
        if attribute in _ATTR:
            return _fill(_ATTR[attribute], logical_id)
        raise KeyError(f"no shape for Fn::GetAtt {self._type(logical_id)}.{attribute}")

    def _sub(self, text: str, variables: dict) -> str:
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))
        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(text, variables)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::If":
                return self.resolve(arg[1])
            if key == "Fn::ImportValue":
                name = self.resolve(arg)
                if name not in self.exports:
                    raise KeyError(f"Fn::ImportValue {name!r}: no stack of the stage exports it")
                owner, expression = self.exports[name]
                return owner.resolve(expression)
            if key == "Fn::Base64":
                return str(self.resolve(arg))
            if key == "Fn::GetAZs":
                return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
            if key.startswith("Fn::"):
                raise KeyError(f"{key} is not resolved by this module")
        return {k: self.resolve(v) for k, v in value.items()}


def resolvers_for(templates: dict[str, dict]) -> dict[str, Resolver]:
    """One resolver per template (``"dev/Training"``); the templates of a stage share their
    exports, so Fn::ImportValue resolves to the exporting stack's value."""
    exports_by_stage: dict[str, dict] = {}
    return {stack: Resolver(template, exports_by_stage.setdefault(stack.split("/")[0], {}))
            for stack, template in templates.items()}


def state_machine_definitions(templates: dict[str, dict]) -> dict[str, dict]:
    """Every AWS::StepFunctions::StateMachine definition of every template, parsed:
    ``{"dev/Training/<logical id>": definition}``."""
    found: dict[str, dict] = {}
    resolvers = resolvers_for(templates)
    for stack, template in templates.items():
        resolver = resolvers[stack]
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            props = resource["Properties"]
            if "Definition" in props:
                definition = resolver.resolve(props["Definition"])
            else:
                text = resolver.resolve(props["DefinitionString"])
                for name, value in resolver.resolve(
                        props.get("DefinitionSubstitutions", {})).items():
                    text = text.replace("${" + name + "}", str(value))
                definition = json.loads(text)
            found[f"{stack}/{logical_id}"] = definition
    return found
