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
    from platform_config import _prices as P
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


def test_acknowledgements_read_as_decisions_grouped_by_reason(synth) -> None:
    from compliance.acknowledgements import ACKNOWLEDGEMENTS, STUDIO_ACKNOWLEDGEMENTS
    from review.acks import acknowledgement_rows
    from review.assembly import from_templates
    from review.pack import acks_doc, reason_groups
    from review.report import to_markdown

    rows = acknowledgement_rows(synth.outdir, from_templates(synth.templates))
    groups = reason_groups(rows)
    # every acknowledgement, and those configuration-specific ones that apply to the sample:
    # Studio's (dev runs Studio), not the notebook instances' or other configurations'
    always = {(a.path, a.finding) for a in ACKNOWLEDGEMENTS}
    studio = {(a.path, a.finding) for a in STUDIO_ACKNOWLEDGEMENTS}
    specific = [r for r in rows if (r.path, r.finding) not in always]
    assert specific and all((r.path, r.finding) in studio and r.applied for r in specific)
    applied = len(ACKNOWLEDGEMENTS) + len(specific)
    assert len(rows) == applied
    assert len(groups) == len({r.reason for r in rows}) < applied
    assert sum(len(g) for _, g in groups) == applied
    assert [len(g) for _, g in groups] == sorted((len(g) for _, g in groups), reverse=True)
    text = to_markdown(acks_doc(rows))
    assert f"{applied} acknowledgements from `compliance/acknowledgements.py`, {len(groups)} decisions" in text
    biggest_reason, biggest = groups[0]
    assert f"| 1 | {biggest_reason} | {len(biggest)} |" in text


def test_scanners_table_lists_each_pack_guard_and_checkov(synth, tmp_path) -> None:
    import json
    import shutil

    from review.pack import scanner_rows

    rows = scanner_rows(synth.outdir, [])
    names = [r[0] for r in rows]
    for plugin in ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321", "cdk-validator-cfnguard"):
        row = next(r for r in rows if r[0] == f"{plugin} (synth)")
        assert row[2] == "0" and int(row[3]) > 0
    assert names[-1] == "checkov" and rows[-1][1] == "not run: `make scan`"
    # a checkov report with a failure is shown in bold with its check id
    shutil.copy(next(synth.outdir.glob("*validation-report.json")), tmp_path)
    (tmp_path / "checkov-report.json").write_text(json.dumps({"results": {
        "passed_checks": [{}], "skipped_checks": [],
        "failed_checks": [{"check_id": "CKV_AWS_18", "check_name": "logging", "resource": "AWS::S3::Bucket.B",
                           "file_abs_path": str(tmp_path / "x.template.json")}]}}))
    checkov_row = scanner_rows(tmp_path, [])[-1]
    assert checkov_row[2] == "**1**: CKV_AWS_18" and checkov_row[1] == "2 checks on templates"
