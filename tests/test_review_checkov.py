"""checkov (`make scan`) on the synthesized templates: zero failed checks; every skip carried in
a template comes from an acknowledgement with its reason; network-interface writes on `*` are
conditioned rather than skipped.

The checkov run takes about 15 s of CPU (50-60 s wall on a busy 2-core machine), so it is
marked ``scan`` (``-m 'not scan'`` deselects it); the other tests here only read templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.acknowledgements import ACKNOWLEDGEMENTS, CHECKOV_ACKNOWLEDGEMENTS, CHECKOV_EQUIVALENTS, checkov_skips
from review import checkov

NETWORK_INTERFACE_WRITES = {"ec2:createnetworkinterface", "ec2:deletenetworkinterface",
                            "ec2:createnetworkinterfacepermission", "ec2:deletenetworkinterfacepermission",
                            "ec2:assignprivateipaddresses", "ec2:unassignprivateipaddresses"}


def _skips(templates: dict) -> dict[str, list[dict]]:
    """{"dev/Foundation/AccessLogs/Bucket/Resource": [{id, comment}]} from template metadata."""
    out = {}
    for template in templates.values():
        for body in template["Resources"].values():
            meta = body.get("Metadata") or {}
            if "checkov" in meta:
                out[meta["aws:cdk:path"]] = meta["checkov"]["skip"]
    return out


def test_skips_in_the_templates_come_from_acknowledgements_with_their_reason(synth) -> None:
    skips = _skips(synth.templates)
    expected = {(path, check, comment) for path, check, comment in checkov_skips()}
    found = set()
    for full_path, entries in skips.items():
        rel = full_path.split("/", 1)[1]
        for entry in entries:
            match = [e for e in expected if e[1] == entry["id"] and e[2] == entry["comment"]
                     and (rel == e[0] or rel == e[0] + "/Resource" or rel.startswith(e[0] + "/"))]
            assert match, f"{full_path}: skip {entry['id']} has no acknowledgement"
            found |= set(match)
    assert {e[1] for e in found} == {"CKV_AWS_18", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_61"}
    # the access-log bucket's skip carries the reason of the cfn-guard acknowledgement it mirrors
    bucket = skips["dev/Foundation/AccessLogs/Bucket/Resource"]
    guard = next(a for a in ACKNOWLEDGEMENTS if a.finding.endswith("s3_bucket_logging_enabled_check"))
    assert bucket == [{"id": "CKV_AWS_18",
                       "comment": f"{guard.reason} (acknowledged as {guard.finding})"}]
    assert all(e["comment"].strip() for entries in skips.values() for e in entries)


def test_checkov_equivalents_name_rules_that_exist(synth) -> None:
    """Each equivalent names a rule of the installed packs (or a cfn-guard rule), so a renamed
    rule cannot silently stop generating skips."""
    from review.rules import all_rules

    known = {r.id for r in all_rules()}
    for check, rules in CHECKOV_EQUIVALENTS.items():
        for rule in rules:
            assert rule.split("::", 1)[-1] in known or rule in known, f"{check}: unknown rule {rule}"


def test_network_interface_writes_on_any_resource_are_conditioned(synth) -> None:
    """What checkov's CKV_AWS_111/109 found: fixed with an ec2:Vpc condition, not skipped."""
    unconditioned = []
    for key, template in synth.templates.items():
        for lid, body in template["Resources"].items():
            doc = (body.get("Properties") or {}).get("PolicyDocument") or {}
            for s in doc.get("Statement", []):
                actions = {a.lower() for a in ([s.get("Action")] if isinstance(s.get("Action"), str)
                                               else s.get("Action") or [])}
                if s.get("Resource") == "*" and actions & NETWORK_INTERFACE_WRITES:
                    vpc = (s.get("Condition") or {}).get("ArnEquals", {}).get("ec2:Vpc")
                    if not vpc:
                        unconditioned.append(f"{key}/{lid} {s.get('Sid')}")
                    else:
                        assert ":vpc/" in json.dumps(vpc)
    assert unconditioned == []


@pytest.mark.scan
def test_checkov_finds_no_unskipped_failure(synth, tmp_path) -> None:
    if not checkov.DEFAULT_CHECKOV.exists():
        pytest.skip("checkov is not installed in .venv-scan: `make scan` (or `make test`) installs it "
                    "from requirements-scan.txt")
    result = checkov.run(synth.outdir, report=tmp_path / "checkov.json")
    assert result.version == checkov._recorded_version()  # the pinned version ran
    assert result.parsing_errors == []
    assert [(f.check_id, f.resource, f.file) for f in result.failed] == []
    assert result.passed > 1000 and result.templates == len(synth.templates)
    # every skip checkov honoured carries its reason, and no checkov acknowledgement is stale
    assert all(f.comment for f in result.skipped)
    skipped = {(f.check_id, f.resource.split(".", 1)[1]) for f in result.skipped}
    logical = {}
    for template in synth.templates.values():
        for lid, body in template["Resources"].items():
            logical.setdefault((body.get("Metadata") or {}).get("aws:cdk:path", "").split("/", 1)[-1], lid)
    for ack in CHECKOV_ACKNOWLEDGEMENTS:
        lid = logical.get(ack.path) or logical.get(ack.path + "/Resource")
        assert (ack.rule, lid) in skipped, f"stale checkov acknowledgement {ack.finding} at {ack.path}"
    # the pack lists the result beside cdk-nag and cfn-guard
    loaded = checkov.load(synth.outdir, report=tmp_path / "checkov.json")
    assert (loaded.passed, len(loaded.failed), len(loaded.skipped)) == (result.passed, 0, len(result.skipped))


def test_checkov_cli_reports_failures_and_exit_status(tmp_path) -> None:
    """A template with a bucket checkov fails (no logging, no versioning) and no skip: exit 1,
    the finding printed; with a skip in its metadata: exit 0."""
    if not checkov.DEFAULT_CHECKOV.exists():
        pytest.skip("checkov is not installed in .venv-scan (`make scan` installs it)")
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {}}
    (tmp_path / "manifest.json").write_text("{}")
    template = tmp_path / "Solo.template.json"
    template.write_text(json.dumps({"Resources": {"Plain": bucket}}))
    assert checkov.main([str(tmp_path)]) == 1
    failed = checkov.load(tmp_path).failed
    assert "CKV_AWS_18" in {f.check_id for f in failed}
    bucket["Metadata"] = {"checkov": {"skip": [{"id": f.check_id, "comment": "accepted for the test"}
                                              for f in failed]}}
    template.write_text(json.dumps({"Resources": {"Plain": bucket}}))
    assert checkov.main([str(tmp_path)]) == 0
    assert {f.comment for f in checkov.load(tmp_path).skipped} == {"accepted for the test"}
