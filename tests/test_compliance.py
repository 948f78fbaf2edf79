"""The compliance gate: zero unacknowledged findings, and every acknowledgement exact,
explained and still needed."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import Stack, Stage

from compliance._summary import Finding, read_findings, summarize_validation_failure
from compliance.acknowledgements import ACKNOWLEDGEMENTS, CONDITIONAL_ACKNOWLEDGEMENTS, resolve
from platform_config import load_config
from platform_config._naming import ResourceNames

ROOT = Path(__file__).resolve().parents[1]


def _stage_relative(path: str) -> tuple[str, str]:
    stage, _, rest = path.partition("/")
    return stage, rest


_CONFIG = load_config(ROOT / "config" / "platform.yaml")


def _matches(ack, finding: Finding) -> bool:
    stage, rel = _stage_relative(finding.path)
    names = ResourceNames.for_environment(_CONFIG, stage)
    pipeline = ResourceNames.for_environment(_CONFIG, _CONFIG.training.pipeline_environment)
    rule = ack.rule_in(account=names.account, region=names.region, prefix=names.prefix,
                       pipeline_account=pipeline.account, pipeline_prefix=pipeline.prefix,
                       pipeline_region=pipeline.region)
    return (ack.plugin == finding.plugin and rule == finding.rule
            and fnmatch.fnmatchcase(rel.split(" (", 1)[0], ack.path))


def test_synth_has_zero_unacknowledged_findings(synth) -> None:
    assert read_findings(synth.outdir) == []


def test_all_four_nag_packs_and_cfn_guard_ran(unacknowledged) -> None:
    _, findings = unacknowledged
    plugins = {f.plugin for f in findings}
    # Packs that found something prove they ran; AwsSolutions is proven by the IAM test below.
    assert {"NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321", "cdk-validator-cfnguard"} <= plugins


def test_aws_solutions_pack_is_active(sample_config) -> None:
    """A deliberately non-compliant bucket must be caught by AwsSolutions (S1, S10)."""
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    from app import build_app

    app = build_app(sample_config, compliance=False)
    stage = next(c for c in app.node.children if isinstance(c, Stage))
    stack = next(c for c in stage.node.children if isinstance(c, Stack))
    s3.Bucket(stack, "Careless")
    report = AwsSolutionsChecks(stage).validate_scope(stage)
    # The platform's own resources have no AwsSolutions findings (see the unacknowledged
    # run), so these can only come from the careless bucket.
    rules = {v.rule_name for v in report.violations}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


@pytest.mark.parametrize("ack", ACKNOWLEDGEMENTS, ids=lambda a: f"{a.path}:{a.finding}")
def test_acknowledgement_is_explained(ack) -> None:
    assert len(ack.reason.split()) >= 12, "a reviewer needs a real reason"
    assert "*" not in ack.finding.split("[", 1)[0], "name one rule, not a pattern"


@pytest.mark.parametrize("ack", ACKNOWLEDGEMENTS, ids=lambda a: f"{a.path}:{a.finding}")
def test_acknowledgement_targets_resources_not_stacks(synth, ack) -> None:
    stages = [c for c in synth.app.node.children if isinstance(c, Stage)]
    targets = [node for stage in stages for node in resolve(stage, ack)]
    assert targets, f"{ack.path} resolves to no construct"
    for node in targets:
        assert not isinstance(node, (Stack, Stage)), f"{ack.path} is a whole {type(node).__name__}"
        assert node.node.scope is not None and not isinstance(node.node.scope, Stage)


@pytest.mark.parametrize("ack", ACKNOWLEDGEMENTS, ids=lambda a: f"{a.path}:{a.finding}")
def test_acknowledgement_names_a_finding_that_still_occurs(unacknowledged, ack) -> None:
    _, findings = unacknowledged
    assert any(_matches(ack, f) for f in findings), (
        f"{ack.finding} at {ack.path} no longer occurs: delete the acknowledgement")


def test_granular_rules_are_acknowledged_per_finding(unacknowledged) -> None:
    _, findings = unacknowledged
    granular_rules = {f.rule.split("[", 1)[0] for f in findings if "[" in f.rule}
    for ack in ACKNOWLEDGEMENTS:
        assert ack.rule.split("[", 1)[0] not in granular_rules or "[" in ack.rule, (
            f"{ack.finding} covers every finding of a granular rule; name one")


def test_every_finding_is_acknowledged_exactly(unacknowledged) -> None:
    """Consistency check of the two runs: each raw finding is covered by an acknowledgement."""
    _, findings = unacknowledged
    # the configuration-specific ones too: the sample's dev runs Studio
    applied = (*ACKNOWLEDGEMENTS, *CONDITIONAL_ACKNOWLEDGEMENTS)
    uncovered = [f for f in findings if not any(_matches(a, f) for a in applied)]
    assert uncovered == []


def test_failure_summary_is_readable(unacknowledged) -> None:
    outdir, findings = unacknowledged
    summary = summarize_validation_failure(outdir)
    assert f"{len(findings)} unacknowledged finding(s)" in summary
    first = findings[0]
    assert first.rule in summary and first.path in summary
    assert "fix:" in summary and "compliance/acknowledgements.py" in summary
    assert "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled" in summary


def _report(tmp_path, *plugins: dict):
    (tmp_path / "validation-report.json").write_text(json.dumps({"pluginReports": list(plugins)}))
    return tmp_path


def test_a_validator_that_did_not_complete_is_a_failure_no_acknowledgement_can_hide(
    tmp_path,
) -> None:
    """CDK reports a plugin that raised as concluded "failure" with its error in the metadata
    and no violation (compliance/_summary.py). The gate's inputs see it; the summary says what
    did not run and that it cannot be acknowledged."""
    from compliance._summary import IncompleteCheck, incomplete_checks

    crashed = {"pluginName": "cdk-validator-cfnguard", "conclusion": "failure", "violations": [],
               "metadata": {"error": "Validation plugin 'cdk-validator-cfnguard' failed: boom"}}
    silent = {"pluginName": "AwsSolutions", "conclusion": "failure", "violations": []}
    clean = {"pluginName": "NIST.800.53.R5", "conclusion": "success", "violations": [],
             "suppressedViolations": [{"ruleName": "x"}]}
    found = {"pluginName": "PCI.DSS.321", "conclusion": "failure", "violations": [
        {"ruleName": "PCI.DSS.321-S3BucketVersioningEnabled", "description": "versioning",
         "violatingConstructs": [{"constructPath": "dev/Foundation/X/Resource"}]}]}
    outdir = _report(tmp_path, crashed, silent, clean, found)
    assert incomplete_checks(outdir) == [
        IncompleteCheck("cdk-validator-cfnguard",
                        "Validation plugin 'cdk-validator-cfnguard' failed: boom"),
        IncompleteCheck("AwsSolutions", "concluded failure without listing a violation"),
    ]
    summary = summarize_validation_failure(outdir)
    assert "2 check(s) did not complete" in summary and "cannot be acknowledged" in summary
    assert "removing `.cache/`" in summary  # a broken unpacked validator is re-unpacked
    assert "- cdk-validator-cfnguard: Validation plugin" in summary
    assert "1 unacknowledged finding(s)" in summary  # the real finding is still listed
    assert incomplete_checks(_report(tmp_path, clean, found)) == []


def test_bad_config_fails_synth_with_the_message(tmp_path, capsys, monkeypatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config" / "platform.yaml").read_text().replace(
        'account: "111111111111"', 'account: "11"'))
    monkeypatch.setenv("PLATFORM_CONFIG", str(bad))
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "out"))
    import app

    assert app.main() == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "environments.dev.account" in err and "12-digit" in err


def test_cfn_lint_is_clean(synth) -> None:
    templates = sorted(str(p) for p in synth.outdir.glob("assembly-*/*.template.json"))
    assert len(templates) == len(synth.templates)
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *templates],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def _acknowledged(node) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in node.node.metadata:
        if entry.type == "aws:cdk:acknowledged-rules":
            found.update(entry.data)
    return found


def _small_stage():
    from aws_cdk import App, CfnResource

    stage = Stage(App(), "Dev", env={"account": "111111111111", "region": "eu-west-2"})
    stack = Stack(stage, "Access")
    one = CfnResource(stack, "One", type="AWS::SNS::Topic")
    other = CfnResource(stack, "Other", type="AWS::SNS::Topic")
    return stage, one, other


def test_acknowledgements_of_one_construct_are_recorded_together() -> None:
    from compliance.acknowledgements import Acknowledgement, apply_acknowledgements

    stage, one, other = _small_stage()
    reason = "a reason long enough for the reviewer of this small test stage to accept it"
    apply_acknowledgements(stage, (
        Acknowledgement("Access/One", "AwsSolutions-SNS2", reason),
        Acknowledgement("Access/One", "AwsSolutions-IAM5[Resource::arn:aws:s3:::{account}-x/*]",
                        reason),
        Acknowledgement("Access/Other", "NIST.800.53.R5-SNSEncryptedKMS", reason),
    ))
    assert _acknowledged(one) == {
        "AwsSolutions::AwsSolutions-SNS2": reason,
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::111111111111-x/*]": reason,
    }
    assert _acknowledged(other) == {"NIST.800.53.R5::NIST.800.53.R5-SNSEncryptedKMS": reason}


def test_acknowledgements_of_validators_that_do_not_run_are_not_recorded() -> None:
    from compliance._checks import plugin_names
    from compliance.acknowledgements import Acknowledgement, apply_acknowledgements

    reason = "a reason long enough for the reviewer of this small test stage to accept it"
    acks = (Acknowledgement("Access/One", "AwsSolutions-SNS2", reason),
            Acknowledgement("Access/One", "cdk-validator-cfnguard::sns_encrypted_kms", reason))
    without, one, _ = _small_stage()
    apply_acknowledgements(without, acks, plugins=plugin_names(cfn_guard=False))
    assert list(_acknowledged(one)) == ["AwsSolutions::AwsSolutions-SNS2"]
    with_guard, one, _ = _small_stage()
    apply_acknowledgements(with_guard, acks, plugins=plugin_names(cfn_guard=True))
    assert sorted(_acknowledged(one)) == ["AwsSolutions::AwsSolutions-SNS2",
                                          "cdk-validator-cfnguard::sns_encrypted_kms"]


def test_acknowledging_a_whole_stack_is_refused() -> None:
    from compliance.acknowledgements import Acknowledgement, apply_acknowledgements

    stage, _, _ = _small_stage()
    with pytest.raises(ValueError, match="targets a whole Stack"):
        apply_acknowledgements(stage, (Acknowledgement(
            "Access", "AwsSolutions-SNS2",
            "a reason long enough for the reviewer of this small test stage to accept it"),))


def test_acknowledging_a_whole_granular_rule_is_refused() -> None:
    """The platform's list goes through the library's mechanism: an IAM5 entry without its
    finding would accept every wildcard of every statement on the resource."""
    from compliance import AcknowledgementRefused
    from compliance.acknowledgements import Acknowledgement, apply_acknowledgements

    stage, one, _ = _small_stage()
    with pytest.raises(AcknowledgementRefused, match=r"granular rule.*'AwsSolutions-IAM5\[<finding>\]'"):
        apply_acknowledgements(stage, (Acknowledgement(
            "Access/One", "AwsSolutions-IAM5",
            "a reason long enough for the reviewer of this small test stage to accept it"),))
    assert _acknowledged(one) == {}


def test_the_mechanism_knows_every_granular_rule_the_packs_report(unacknowledged) -> None:
    """compliance._acknowledge refuses whole-rule entries of the rules it knows are granular;
    every granular rule the platform's synth really reports must be among them."""
    from compliance._acknowledge import GRANULAR_RULES

    _, findings = unacknowledged
    granular = {f.rule.split("[", 1)[0] for f in findings if "[" in f.rule}
    assert granular, "no granular finding: the IAM5 findings are gone?"
    assert granular <= GRANULAR_RULES, granular - GRANULAR_RULES
