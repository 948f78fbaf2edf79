from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_constructs._validation import ConstructPropsError
from cdk_constructs._isolated_network import DEFAULT_INTERFACE_ENDPOINTS, IsolatedNetwork

pytestmark = pytest.mark.control("network_isolation", "auditability")

AZS = ["eu-west-2a", "eu-west-2b", "eu-west-2c"]


def _network(stack, **overrides) -> tuple[IsolatedNetwork, Template]:
    props = dict(vpc_cidr="10.20.0.0/22", availability_zones=AZS, endpoint_az_count=1,
                 flow_log_key=kms.Key(stack, "LogKey"), flow_log_retention_days=365,
                 platform_bucket_prefix="mlp-dev-")
    props.update(overrides)
    network = IsolatedNetwork(stack, "Network", **props)
    return network, Template.from_stack(stack)


@pytest.fixture
def template(stack) -> Template:
    return _network(stack)[1]


def test_no_path_to_the_internet(template: Template) -> None:
    for forbidden in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway",
                      "AWS::EC2::EgressOnlyInternetGateway", "AWS::EC2::EIP",
                      "AWS::EC2::VPCGatewayAttachment"):
        assert template.find_resources(forbidden) == {}, forbidden
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    for route in template.find_resources("AWS::EC2::Route").values():
        assert "GatewayId" not in route["Properties"] and "NatGatewayId" not in route["Properties"]


def test_one_isolated_subnet_per_az(template: Template) -> None:
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets.values()) == AZS


def test_flow_logs_capture_all_traffic_to_encrypted_retained_group(template: Template) -> None:
    template.has_resource_properties("AWS::EC2::FlowLog", {
        "ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"})
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == 1
    group = next(iter(groups.values()))
    assert group["DeletionPolicy"] == "Retain"
    assert "KmsKeyId" in group["Properties"] and group["Properties"]["RetentionInDays"] == 365
    assert template.find_resources("AWS::IAM::Policy") == {}, "no inline policies"


def test_security_group_allows_only_https_from_the_vpc(template: Template) -> None:
    groups = {k: v for k, v in template.find_resources("AWS::EC2::SecurityGroup").items()}
    assert len(groups) == 1
    props = next(iter(groups.values()))["Properties"]
    assert props["SecurityGroupIngress"] == [{
        "CidrIp": "10.20.0.0/22", "Description": "HTTPS from inside the VPC",
        "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}]
    assert [(r["FromPort"], r["ToPort"], r["IpProtocol"]) for r in props["SecurityGroupEgress"]] == [
        (443, 443, "tcp")]


def test_default_security_group_is_closed(template: Template) -> None:
    assert len(template.find_resources("Custom::VpcRestrictDefaultSG")) == 1


def test_every_interface_endpoint_has_private_dns_and_the_platform_sg(template: Template) -> None:
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint",
                                        {"Properties": {"VpcEndpointType": "Interface"}})
    assert len(endpoints) == len(DEFAULT_INTERFACE_ENDPOINTS) == 15
    services = sorted(str(e["Properties"]["ServiceName"]) for e in endpoints.values())
    for fragment in ("sagemaker.api", "sagemaker.runtime", "notebook", "sts", "kms", "logs",
                     "monitoring", "ecr.api", "ecr.dkr", "states", "codeartifact.api",
                     "codeartifact.repositories", "ssm", "events", "sns"):
        assert any(fragment in s for s in services), fragment
    for endpoint in endpoints.values():
        props = endpoint["Properties"]
        assert props["PrivateDnsEnabled"] is True
        assert len(props["SubnetIds"]) == 1  # endpoint_az_count=1
        assert len(props["SecurityGroupIds"]) == 1


def test_endpoint_policies_limit_to_this_account(template: Template) -> None:
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    with_policy = [e for e in endpoints.values() if "PolicyDocument" in e["Properties"]]
    # every endpoint but the notebook one (no endpoint policy support) carries a policy
    assert len(with_policy) == len(endpoints) - 1
    for endpoint in with_policy:
        for statement in endpoint["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "AwsOwnedBucketsTheServicesNeed":
                # AWS identities sign these downloads (ECR layers, CodeArtifact assets): no
                # principal condition, and nothing but GetObject on AWS-owned buckets.
                assert "Condition" not in statement
                assert statement["Action"] == "s3:GetObject"
                assert all("starport-layer-bucket" in str(r) or ":::assets-" in str(r)
                           for r in statement["Resource"])
                continue
            assert statement["Condition"] == {
                "StringEquals": {"aws:PrincipalAccount": "123456789012"}}


def test_s3_gateway_policy_names_buckets_never_star(template: Template) -> None:
    gateways = template.find_resources("AWS::EC2::VPCEndpoint",
                                       {"Properties": {"VpcEndpointType": "Gateway"}})
    s3 = [g for g in gateways.values() if "s3" in str(g["Properties"]["ServiceName"])]
    assert len(s3) == 1
    for statement in s3[0]["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert "s3:*" not in actions and "*" not in actions
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources
        joined = str(resources)
        assert "mlp-dev-" in joined or "starport-layer-bucket" in joined


def test_endpoints_span_configured_az_count(stack) -> None:
    _, template = _network(stack, endpoint_az_count=3)
    for endpoint in template.find_resources("AWS::EC2::VPCEndpoint",
                                            {"Properties": {"VpcEndpointType": "Interface"}}).values():
        assert len(endpoint["Properties"]["SubnetIds"]) == 3


@pytest.mark.parametrize("overrides, message", [
    (dict(vpc_cidr="10.20.0.1/22"), "is not a CIDR"),
    (dict(vpc_cidr="8.8.8.0/24"), "must be private"),
    (dict(availability_zones=["eu-west-2a"]), "at least two availability_zones"),
    (dict(endpoint_az_count=0), "endpoint_az_count 0"),
    (dict(endpoint_az_count=4), "endpoint_az_count 4"),
    (dict(platform_bucket_prefix="mlp"), "must be lower-case and end with '-'"),
])
def test_refuses(stack, overrides, message) -> None:
    with pytest.raises((ConstructPropsError, ValueError), match=message):
        _network(stack, **overrides)


def test_shared_read_locations_are_read_only_and_exact(stack) -> None:
    runs = "arn:aws:s3:::mlp-dev-model-artifacts-111111111111-eu-west-2/runs/*"
    IsolatedNetwork(stack, "Net", vpc_cidr="10.0.0.0/22", availability_zones=AZS[:2],
                    endpoint_az_count=1, flow_log_key=kms.Key(stack, "K"),
                    flow_log_retention_days=365, platform_bucket_prefix="mlp-preprod-",
                    shared_read_locations=(runs,))
    gateways = Template.from_stack(stack).find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}})
    statements = [s for g in gateways.values()
                  for s in (g["Properties"].get("PolicyDocument") or {}).get("Statement", [])]
    shared = next(s for s in statements if s.get("Sid") == "SharedRunArtifactsReadOnly")
    assert shared["Resource"] == runs
    assert not any(a.startswith("s3:Put") for a in shared["Action"])


@pytest.mark.parametrize("location", ["arn:aws:s3:::mlp-dev-*/runs/*",
                                      "arn:aws:s3:::bucket/runs", "mlp-dev-bucket/runs/*"])
def test_refuses_loose_shared_read_locations(stack, location) -> None:
    with pytest.raises(ConstructPropsError, match="shared_read_locations"):
        IsolatedNetwork(stack, "Net", vpc_cidr="10.0.0.0/22", availability_zones=AZS[:2],
                        endpoint_az_count=1, flow_log_key=kms.Key(stack, "K"),
                        flow_log_retention_days=365, platform_bucket_prefix="mlp-preprod-",
                        shared_read_locations=(location,))
