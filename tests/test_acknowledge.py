"""The library's acknowledgement mechanism (compliance.acknowledge_findings), apart from the
platform's own list (compliance/acknowledgements.py, not shipped): what it records, what it
refuses, and that the example app uses it. Small apps, one real synth."""

from __future__ import annotations

import importlib.util
import re
import tarfile
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from compliance import Acknowledgement, AcknowledgementRefused, acknowledge_findings
from compliance._summary import load_validation_report

ROOT = Path(__file__).resolve().parents[1]
REASON = "A reason a reviewer accepted, long enough to be one, for this one resource only."


def _acknowledged(node) -> dict[str, str]:
    """The acknowledged ids (plugin::rule) recorded on one construct, with their reasons."""
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    return {
        re.sub(r"^annotation::", "", k, flags=re.I): v
        for entry in node.node.metadata
        if entry.type == key
        for k, v in dict(entry.data).items()
    }


def _app() -> tuple[App, Stack, s3.CfnBucket]:
    app = App()
    stack = Stack(app, "Team")
    bucket = s3.Bucket(stack, "Data")
    return app, stack, bucket.node.default_child  # type: ignore[return-value]


def test_records_all_findings_of_one_resource_in_one_acknowledge_call(monkeypatch):
    import aws_cdk

    calls: list[str] = []

    class Spy:
        ACKNOWLEDGED_RULES_METADATA_KEY = Validations.ACKNOWLEDGED_RULES_METADATA_KEY

        @staticmethod
        def of(node):
            calls.append(node.node.path)
            return Validations.of(node)

    # The mechanism imports the CDK where it walks a tree (the review pack reads the lists
    # without starting jsii), so the spy replaces the CDK's own name.
    monkeypatch.setattr(aws_cdk, "Validations", Spy)
    app, _stack, resource = _app()
    acknowledge_findings(
        app,
        [
            Acknowledgement("Team/Data/Resource", "AwsSolutions-S1", REASON),
            Acknowledgement(
                "Team/Data/Resource", "cdk-validator-cfnguard::s3_bucket_logging_check", REASON
            ),
            Acknowledgement(
                "Team/Data/Resource",
                "AwsSolutions-IAM5[Resource::arn:aws:s3:::{prefix}data/*]",
                REASON,
            ),
        ],
        placeholders={"prefix": "team-"},
    )
    assert calls == ["Team/Data/Resource"], "one acknowledge() call per construct"
    assert set(_acknowledged(resource)) == {
        "AwsSolutions::AwsSolutions-S1",
        "cdk-validator-cfnguard::s3_bucket_logging_check",
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::team-data/*]",
    }


@pytest.mark.parametrize(
    ("finding", "says"),
    [
        ("AwsSolutions-IAM5", "'AwsSolutions-IAM5[<finding>]'"),
        ("AwsSolutions::AwsSolutions-IAM4", "'AwsSolutions-IAM4[<finding>]'"),
        ("HIPAA.Security-RDSLoggingEnabled", "granular rule"),
        ("NIST.800.53.R5-*", "name one rule"),
        ("cdk-validator-cfnguard::*", "name one rule"),
        ("S3BucketLoggingEnabled", "prefix it with its plugin name"),
    ],
)
def test_refuses_a_whole_rule_or_a_pattern_of_rules(finding, says):
    app, _stack, resource = _app()
    ok = Acknowledgement("Team/Data/Resource", "AwsSolutions-S1", REASON)
    with pytest.raises(AcknowledgementRefused, match=re.escape(says)):
        acknowledge_findings(app, [ok, Acknowledgement("Team/Data/Resource", finding, REASON)])
    assert _acknowledged(resource) == {}, "a refused list records nothing"


@pytest.mark.parametrize("path", ["Team", "*"])
def test_refuses_an_acknowledgement_on_a_whole_stack(path):
    app, stack, _resource = _app()
    with pytest.raises(AcknowledgementRefused, match="targets a whole Stack: name the resource"):
        acknowledge_findings(app, [Acknowledgement(path, "AwsSolutions-S1", REASON)])
    assert _acknowledged(stack) == {}


def test_refuses_an_acknowledgement_on_the_scope_itself():
    app, stack, _resource = _app()
    with pytest.raises(AcknowledgementRefused, match="targets a whole"):
        acknowledge_findings(stack, [Acknowledgement("", "AwsSolutions-S1", REASON)])


def test_refuses_entries_without_a_reason_or_without_a_construct():
    app, _stack, _resource = _app()
    with pytest.raises(AcknowledgementRefused) as refused:
        acknowledge_findings(
            app,
            [
                Acknowledgement("Team/Data/Resource", "AwsSolutions-S1", "  "),
                Acknowledgement("Team/Gone/Resource", "AwsSolutions-S10", REASON),
            ],
        )
    message = str(refused.value)
    assert message.startswith("2 acknowledgement(s) refused")
    assert "has no reason" in message and "matches no construct" in message
    # Constructs that exist only in some configurations: allowed when asked for.
    acknowledge_findings(
        app,
        [Acknowledgement("Team/Gone/Resource", "AwsSolutions-S10", REASON)],
        allow_unmatched=True,
    )


def test_patterns_match_per_segment_and_plugins_limit_what_is_recorded():
    app = App()
    stack = Stack(app, "Team")
    roles = [iam.Role(stack, f"User{i}", assumed_by=iam.AccountRootPrincipal()) for i in (1, 2)]
    acknowledge_findings(
        app,
        [
            Acknowledgement("Team/User*/Resource", "AwsSolutions-IAM4[Policy::x]", REASON),
            Acknowledgement("Team/User*/Resource", "cdk-validator-cfnguard::rule", REASON),
        ],
        plugins=["AwsSolutions"],
    )
    for role in roles:
        assert _acknowledged(role.node.default_child) == {
            "AwsSolutions::AwsSolutions-IAM4[Policy::x]": REASON
        }


def test_granular_rules_are_the_ones_the_installed_cdk_nag_says_are_granular():
    """cdk-nag's packs describe each granular rule ("This is a granular rule that returns
    individual findings"); the mechanism's list must name every one of them, or it would
    accept a whole-rule acknowledgement of a new one."""
    import cdk_nag

    from compliance._acknowledge import GRANULAR_RULES

    (bundle,) = (Path(cdk_nag.__file__).parent / "_jsii").glob("cdk-nag@*.jsii.tgz")
    derived = set()
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if not re.fullmatch(r"package/lib/packs/[^/]+\.js", member.name):
                continue
            source = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
            pack = re.search(r"this\.packName = '([^']+)'", source)
            if not pack:
                continue
            for block in source.split("this.applyRule({")[1:]:
                block = block.split("});", 1)[0]
                if "This is a granular rule" in block:
                    suffix = re.search(r"ruleSuffixOverride: '([^']+)'", block) or re.search(
                        r"rule: \w+\.(\w+)", block
                    )
                    assert suffix, block
                    derived.add(f"{pack[1]}-{suffix[1]}")
    assert "AwsSolutions-IAM5" in derived, "the pack text changed: update this test"
    assert derived <= GRANULAR_RULES, f"granular rules missing: {derived - GRANULAR_RULES}"


def test_a_real_synth_reports_the_acknowledged_finding_as_suppressed(tmp_path):
    """What cdk-nag does with the recorded ids: the finding is suppressed, not violated."""
    from cdk_nag import HIPAASecurityChecks

    app = App(outdir=str(tmp_path), context={"@aws-cdk/core:failSynthOnValidationErrors": False})
    stack = Stack(app, "Team")
    s3.Bucket(stack, "Data", enforce_ssl=True, versioned=True)
    Validations.of(app).add_plugins(HIPAASecurityChecks(app))
    rule = "HIPAA.Security-S3BucketReplicationEnabled"
    acknowledge_findings(app, [Acknowledgement("Team/Data/Resource", rule, REASON)])
    app.synth()
    report = load_validation_report(tmp_path)
    assert report, "no validation report written"
    violations = [v for p in report["pluginReports"] for v in p["violations"]]
    suppressed = [v for p in report["pluginReports"] for v in p.get("suppressedViolations", [])]
    assert rule not in {v["ruleName"] for v in violations}
    assert [(v["ruleName"], v["reason"]) for v in suppressed if v["ruleName"] == rule] == [
        (rule, REASON)
    ]


def _example():
    spec = importlib.util.spec_from_file_location(
        "secure_data_app", ROOT / "examples" / "secure_data_app" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_example_app_acknowledges_through_the_mechanism():
    example = _example()
    app = example.build()
    stack = app.node.find_child("RiskData")
    logs = stack.node.find_child("AccessLogs").node.find_child("Bucket").node.default_child
    acknowledged = _acknowledged(logs)
    assert len(acknowledged) == 8
    assert acknowledged["HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled"] == (
        example.REPLICATION
    )
    # The same list with a whole-rule entry is refused: the example goes through the
    # mechanism, not around it.
    whole_rule = Acknowledgement(example.DATA, "AwsSolutions-IAM5", REASON)
    with pytest.raises(AcknowledgementRefused, match="granular rule"):
        example.build(acknowledgements=(*example.ACKNOWLEDGEMENTS, whole_rule))
