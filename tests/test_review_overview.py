"""The architecture overview of the review pack (review/overview.py): what it shows is read
from the templates, so it follows them (an internet gateway, a bucket, a stage of the flow)."""

from __future__ import annotations

import copy
import re

from review.assembly import Assembly, from_templates
from review.overview import overview_dot


def _dot(templates, config) -> str:
    envs = from_templates(templates)
    return overview_dot(Assembly(outdir=None, environments=envs, tree=None),
                        {e: config.environment(e) for e in envs})


def test_overview_shows_accounts_boundary_data_people_and_flow(synth, sample_config) -> None:
    dot = _dot(synth.templates, sample_config)
    for env in ("dev", "preprod", "prod"):
        cfg = sample_config.environment(env)
        assert f'label="{env} (account {cfg.account}, {cfg.region})"' in dot
        assert f"VPC {cfg.vpc_cidr}: no internet gateway, no NAT" in dot
        buckets = sum(1 for k, t in synth.templates.items() if k.startswith(env + "/")
                      for r in t["Resources"].values() if r["Type"] == "AWS::S3::Bucket")
        assert f"Data at rest: {buckets} buckets" in dot
        interface = sum(1 for k, t in synth.templates.items() if k.startswith(env + "/")
                        for r in t["Resources"].values()
                        if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == "Interface")
        assert f"Interface endpoints: {interface} in {cfg.endpoint_az_count} AZ" in dot
    # the flow from commit to the registry in the pipeline environment, then into each serving one
    for a, b in (("commit", "build"), ("build", "training"), ("training", "registry")):
        assert f"dev_flow_{a} -> dev_flow_{b}" in dot
    for env in ("preprod", "prod"):
        assert f"dev_flow_registry -> {env}_flow_endpoint" in dot
        assert f"{env}_flow_endpoint -> {env}_flow_capture" in dot
        assert f"{env}_flow_capture -> {env}_flow_monitoring" in dot
    assert re.search(r"dev_people -> dev_data \[label=\"IAM: \d+ role-bucket grants\"\]", dot)
    assert "Foundation/DataCapture: KMS Foundation/MonitoringKey, Object Lock" in dot


def test_overview_follows_the_templates(synth, sample_config) -> None:
    templates = copy.deepcopy(synth.templates)
    foundation = templates["prod/Foundation"]["Resources"]
    foundation["Igw"] = {"Type": "AWS::EC2::InternetGateway", "Properties": {}}
    foundation["Extra"] = {"Type": "AWS::S3::Bucket", "Properties": {}}
    for key in [k for k in templates if k.startswith("preprod/")]:
        templates[key]["Resources"] = {k: v for k, v in templates[key]["Resources"].items()
                                       if v["Type"] != "AWS::StepFunctions::StateMachine"}
    dot = _dot(templates, sample_config)
    assert "VPC 10.22.0.0/22: internet gateway or NAT PRESENT" in dot
    assert "Data at rest: 9 buckets" in dot and "Foundation/Extra: not encrypted" in dot
    assert "preprod_flow_endpoint" not in dot and "dev_flow_registry -> prod_flow_endpoint" in dot


def test_first_page_says_when_a_region_has_no_price_table(synth, sample_config, tmp_path, monkeypatch) -> None:
    """Every accepted region has a table today; should one be missing, the index (not only the
    cost page) says which environment is priced with another region's prices."""
    from review import prices as P
    from review.pack import build_pack

    monkeypatch.setattr(P, "PRICES", {"xx-other-1": P.PRICES["eu-west-2"]})
    build_pack(synth.outdir, sample_config, review_dir=tmp_path, diagrams=False)
    index = (tmp_path / "index.md").read_text()
    for env in ("dev", "preprod", "prod"):
        assert f"**No price table for eu-west-2 ({env}): its idle cost is priced with xx-other-1's" in index
    assert "No price table for eu-west-2 (dev)" in (tmp_path / "cost.md").read_text()
    monkeypatch.undo()
    build_pack(synth.outdir, sample_config, review_dir=tmp_path, diagrams=False)
    assert "No price table" not in (tmp_path / "index.md").read_text()
