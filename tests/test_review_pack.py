"""The security review pack: controls computed from the assembly, every acknowledgement
listed, a cost figure that matches a hand computation, IAM wildcards, diagrams, and a
self-contained HTML page."""

from __future__ import annotations

import copy
from html import escape as html_escape
import re
import shutil

import pytest

from review.assembly import from_templates
from review.controls import CONTROLS, IMPLEMENTED, NOT_YET, discover_tests, evaluate
from review.cost import estimate
from review.iam import review_roles

# Every resource type the network-isolation control's requirements look at: the VPC and its
# parts, and the compute that must sit inside it (functions, notebooks, Studio domains).
NETWORK_TYPES = {"AWS::EC2::VPC", "AWS::EC2::VPCEndpoint", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup",
                 "AWS::EC2::FlowLog", "AWS::EC2::RouteTable", "AWS::EC2::SubnetRouteTableAssociation",
                 "AWS::Lambda::Function", "AWS::SageMaker::NotebookInstance", "AWS::SageMaker::Domain"}


@pytest.fixture(scope="module")
def pack(synth, sample_config, tmp_path_factory):
    from pathlib import Path

    from review.pack import build_pack

    return build_pack(synth.outdir, sample_config, tests_root=Path(__file__).resolve().parent,
                      review_dir=tmp_path_factory.mktemp("review"))


def _status(results, control_id: str) -> str:
    return next(r for r in results if r.control.id == control_id).status


def test_real_assembly_implements_network_isolation_and_encryption(pack) -> None:
    assert _status(pack.controls, "network_isolation") == IMPLEMENTED
    assert _status(pack.controls, "encryption") == IMPLEMENTED
    assert {r.control.id for r in pack.controls} == {c.id for c in CONTROLS}


def test_control_is_not_implemented_when_its_resources_are_removed(synth, sample_config) -> None:
    templates = copy.deepcopy(synth.templates)
    for template in templates.values():
        template["Resources"] = {k: v for k, v in template["Resources"].items() if v["Type"] not in NETWORK_TYPES}
    envs = from_templates(templates)
    results = evaluate(envs, {e: sample_config.environment(e) for e in envs})
    network = next(r for r in results if r.control.id == "network_isolation")
    assert network.status == NOT_YET
    assert all(status == NOT_YET for status, _ in network.per_env.values())
    assert all(network.evidence(e) == [] for e in envs)
    assert _status(results, "encryption") == IMPLEMENTED  # the keys and buckets are still there


def test_small_stack_without_a_vpc_implements_no_isolation() -> None:
    from aws_cdk import App, Stack, aws_s3 as s3
    from aws_cdk.assertions import Template

    stack = Stack(App(), "Solo")
    s3.Bucket(stack, "Plain")
    envs = from_templates({"solo/Solo": Template.from_stack(stack).to_json()})
    results = evaluate(envs)
    assert _status(results, "network_isolation") == NOT_YET
    assert _status(results, "monitoring") == NOT_YET


def test_every_acknowledged_finding_appears_with_reason_and_resource(pack) -> None:
    from compliance.acknowledgements import ACKNOWLEDGEMENTS

    text = (pack.directory / "acknowledgements.md").read_text()
    html = (pack.directory / "index.html").read_text()
    # Conditional ones (multi-region, Studio, ...) are checked where they apply
    # (tests/test_multi_region.py, tests/test_studio.py).
    for ack in ACKNOWLEDGEMENTS:
        row = next(line for line in text.splitlines()
                   if f"`{ack.finding}`" in line and f"`{ack.path}`" in line)
        assert ack.reason[:60] in row
        assert "nothing matched" not in row
        assert html_escape(ack.finding, quote=False) in html


def test_every_iam_reference_acknowledgement_appears_with_its_reason(pack) -> None:
    from compliance.acknowledgements import IAM_REFERENCE_ACKNOWLEDGEMENTS

    lines = (pack.directory / "acknowledgements.md").read_text().splitlines()
    for ack in IAM_REFERENCE_ACKNOWLEDGEMENTS:
        row = next(line for line in lines if f"`{ack.code}`" in line
                   and f"`{ack.subject}`" in line and f"`{ack.location}`" in line)
        assert ack.reason[:60] in row


HAND_BUILT = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/24"}},
        "EpA": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcEndpointType": "Interface", "PrivateDnsEnabled": True, "SubnetIds": [{"Ref": "S1"}, {"Ref": "S2"}]}},
        "EpB": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcEndpointType": "Interface", "PrivateDnsEnabled": True, "SubnetIds": [{"Ref": "S1"}, {"Ref": "S2"}]}},
        "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
        "K1": {"Type": "AWS::KMS::Key", "Properties": {}},
        "K2": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Rule": {"Type": "AWS::Config::ConfigRule", "Properties": {}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Nb": {"Type": "AWS::SageMaker::NotebookInstance",
               "Properties": {"InstanceType": "ml.t3.medium", "VolumeSizeInGB": 10}},
    }
}


def test_cost_of_a_small_template_equals_the_hand_computed_figure(sample_config) -> None:
    env = from_templates({"dev/Small": HAND_BUILT})["dev"]
    cost = estimate(env, "eu-west-2", sample_config.environment("dev"))  # notebook_idle_minutes: 60
    # 2 endpoints x 2 AZs x 730 h x $0.011          = 32.12
    # 2 KMS keys x $1                               =  2.00
    # 1 Config rule x 1000 evaluations x $0.001     =  1.00
    # 1 alarm x $0.10                               =  0.10
    # 1 ml.t3.medium x 21 days x (8 + 1) h x $0.0583 = 11.02 (189 h)
    # 10 GB notebook storage x $0.168               =  1.68
    assert cost.total == pytest.approx(32.12 + 2.00 + 1.00 + 0.10 + 11.02 + 1.68)
    assert cost.with_endpoint_azs(1) == pytest.approx(cost.total - 16.06)


def test_endpoint_az_count_drives_the_environment_figures(pack, sample_config) -> None:
    for env, cost in pack.costs.items():
        assert cost.endpoint_azs == sample_config.environment(env).endpoint_az_count
        assert cost.with_endpoint_azs(cost.endpoint_azs) == pytest.approx(cost.total)
    assert pack.costs["dev"].total < pack.costs["preprod"].total < pack.costs["prod"].total
    cost_md = (pack.directory / "cost.md").read_text()
    assert "Effect of endpoint_az_count" in cost_md and "platform_config/_prices.py" in cost_md


def test_iam_lists_trust_actions_and_every_wildcard_statement() -> None:
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]},
            "ManagedPolicyArns": [{"Ref": "Managed"}, "arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "Policies": [{"PolicyName": "Inline", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}}]}},
        "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket/*"}]}}},
        "Attached": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {
            "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}]}}},
    }}
    env = from_templates({"dev/Iam": template})["dev"]
    (role,) = review_roles(env)
    assert role.trusted == ["Service: lambda.amazonaws.com"]
    assert role.summary() == {"kms": ["Decrypt"], "logs": ["PutLogEvents"], "s3": ["GetObject"]}
    assert role.aws_managed == ["ReadOnlyAccess"]
    wild = sorted((s.actions[0], s.resources[0]) for s in role.wildcard_statements)
    assert wild == [("logs:PutLogEvents", "*"), ("s3:GetObject", "arn:aws:s3:::bucket/*")]


def test_iam_page_covers_every_role_of_the_assembly(pack, synth) -> None:
    text = (pack.directory / "iam.md").read_text()
    for name, template in synth.templates.items():
        for logical_id, body in template["Resources"].items():
            if body["Type"] == "AWS::IAM::Role":
                assert logical_id in text, f"{name} {logical_id}"


def test_tests_are_discovered_by_marker_and_resource_type() -> None:
    from pathlib import Path

    found = discover_tests(Path(__file__).resolve().parent)
    assert any("test_ml_explain.py" in t for t in found["explainability"])
    assert any("test_isolated_network.py" in t for t in found["network_isolation"])
    assert not any("test_review_pack.py" in t for tests in found.values() for t in tests)


def test_rules_come_from_the_installed_packs() -> None:
    network = next(c for c in CONTROLS if c.id == "network_isolation").rules()
    ids = {r.id for r in network}
    assert "AwsSolutions-VPC7" in ids and "lambda_inside_vpc_check" in ids
    assert any(r.id.startswith("NIST.800.53.R5-") for r in network)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_diagrams_are_rendered_per_environment(pack, synth) -> None:
    envs = {name.split("/")[0] for name in synth.templates}
    for env in envs:
        for ext in ("png", "svg", "dot"):
            assert (pack.directory / f"diagram-{env}.{ext}").stat().st_size > 0
    dot = (pack.directory / "diagram-prod.dot").read_text()
    assert "VPC 10.22.0.0/22" in dot and "Interface endpoints" in dot and "(3 AZ)" in dot


def test_html_is_self_contained(pack) -> None:
    html = (pack.directory / "index.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"<link\b", html, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", html, re.I)
    assert "@import" not in html


def test_price_table_marks_prices_not_confirmed_for_their_region(pack) -> None:
    from review import prices

    cost_md = (pack.directory / "cost.md").read_text()
    assert "Not confirmed for their region" in cost_md
    assert "`notebook_instance_hour`" in cost_md and "`config_item`" in cost_md
    rows = [line for line in cost_md.splitlines() if line.startswith("| eu-west-2 |")]
    assert rows and len(rows) == sum(len(v) if isinstance(v, dict) else 1
                                     for v in prices.PRICES["eu-west-2"].values())
    for row in rows:
        key = row.split("|")[2].strip().split(" ")[0]
        assert ("| yes |" in row) == prices.confirmed("eu-west-2", key), row
    assert set(prices.CONFIRMED["eu-west-2"]) <= set(prices.PRICES["eu-west-2"])


def test_every_control_is_implemented_in_every_environment_where_it_applies(pack) -> None:
    """The sample platform implements every whitepaper control wherever it applies: the
    registry and lineage live in the pipeline environment only, endpoint capture and Model
    Monitor in the serving environments only (n/a by configuration elsewhere, not "partly")."""
    from review.controls import IMPLEMENTED, NOT_APPLICABLE

    for result in pack.controls:
        for env, (status, requirements) in result.per_env.items():
            assert status in (IMPLEMENTED, NOT_APPLICABLE), (
                result.control.id, env, [(r.requirement.description, r.status, r.note)
                                         for r in requirements if r.status != "met"])
    by_id = {r.control.id: r for r in pack.controls}
    notes = {r.requirement.description: (r.status, r.note)
             for r in by_id["traceability"].per_env["prod"][1]}
    assert notes["Model package group (model registry)"] == ("n/a", "not applicable by configuration")
    monitoring = {r.requirement.description: r.status for r in by_id["monitoring"].per_env["dev"][1]}
    assert monitoring["Endpoint data capture"] == "n/a"
    assert monitoring["Alarms with a notification action"] == "met"
