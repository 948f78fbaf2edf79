"""CDK's built-in CloudFormation validator, cached by template content
(compliance/_cfn_validate.py): the same findings as the built-in plugin, the same gate, and
no validator run for a template it has already seen."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Environment, Stack, Validations

from compliance import _cfn_validate as cv
from compliance.gate import ComplianceGateFailed, synth_or_fail

ENV = Environment(account="111111111111", region="eu-west-2")


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setattr(cv, "CACHE_DIR", folder)
    return folder


def _careless_app(outdir: Path, *, cached: bool, topic_name: object = 5) -> App:
    """A stack CloudFormation's schemas reject: an unknown property, a wrong type."""
    app = App(
        outdir=str(outdir),
        builtin_cloud_formation_validation=not cached,
        context={"@aws-cdk/core:failSynthOnValidationErrors": False},
    )
    stack = Stack(app, "Careless", env=ENV)
    CfnResource(
        stack, "Topic", type="AWS::SNS::Topic", properties={"Bogus": 1, "TopicName": topic_name}
    )
    CfnResource(stack, "Queue", type="AWS::SQS::Queue", properties={"VisibilityTimeout": "abc"})
    if cached:
        Validations.of(app).add_plugins(cv.CachedCloudFormationValidate())
    return app


def _report(outdir: Path) -> list[dict]:
    data = json.loads((outdir / "validation-report.json").read_text())
    return [
        {
            "plugin": r["pluginName"],
            "version": r.get("pluginVersion"),
            "conclusion": r.get("conclusion"),
            "violations": sorted(
                (
                    v["ruleName"],
                    v["description"],
                    v["severity"],
                    tuple(
                        (c["constructPath"], tuple(c["cloudFormationResource"]["propertyPaths"]))
                        for c in v["violatingConstructs"]
                    ),
                )
                for v in r["violations"]
            ),
        }
        for r in data["pluginReports"]
    ]


def test_same_findings_as_the_builtin_validator_then_from_the_cache(tmp_path, cache, monkeypatch):
    _careless_app(tmp_path / "builtin", cached=False).synth()
    builtin = _report(tmp_path / "builtin")
    assert [r["plugin"] for r in builtin] == ["CloudFormation Validate"]
    rules = {v[0] for v in builtin[0]["violations"]}
    assert {"F3002", "F3012", "W9003"} <= rules  # the fixture really has findings

    _careless_app(tmp_path / "cold", cached=True).synth()
    assert _report(tmp_path / "cold") == builtin  # name, engine version, findings, paths

    def no_engine(_stacks, _app=None):
        raise AssertionError("the validator ran although every template was cached")

    monkeypatch.setattr(cv, "_run_validator", no_engine)
    _careless_app(tmp_path / "warm", cached=True).synth()
    assert _report(tmp_path / "warm") == builtin


def test_the_gate_fails_on_a_cached_finding(tmp_path, cache):
    for run in ("cold", "warm"):
        with pytest.raises(ComplianceGateFailed) as failed:
            synth_or_fail(_careless_app(tmp_path / run, cached=True), tmp_path / run)
        assert "F3012" in failed.value.summary and "Careless/Queue" in failed.value.summary


def _stacks(tmp_path: Path, contents: dict[str, dict]) -> list[dict]:
    stacks = []
    for name, template in contents.items():
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps(template))
        stacks.append({"path": name, "template": str(path), "account": "1", "region": "r"})
    return stacks


class _FakeRun:
    """Stands in for the validator: one diagnostic per template, counting what it is given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, stacks, app_construct=None):
        with self.lock:
            self.calls.append(sorted(s["path"] for s in stacks))
        return {
            "violations": [
                {
                    "ruleName": "W1",
                    "description": "d",
                    "severity": "warning",
                    "violatingResources": [
                        {
                            "resourceLogicalId": f"R{s['path']}",
                            "templatePath": s["template"],
                            "locations": [],
                        }
                        for s in stacks
                    ],
                }
            ]
        }


def test_a_change_rechecks_only_the_changed_template(tmp_path, cache):
    run = _FakeRun()
    stacks = _stacks(tmp_path, {"A": {"Resources": {}}, "B": {"Resources": {}}})
    first = cv.diagnostics(None, stacks, run=run)
    assert run.calls == [["A", "B"]]
    assert first[stacks[0]["template"]][0]["resourceLogicalId"] == "RA"

    cv.diagnostics(None, stacks, run=run)
    assert run.calls == [["A", "B"]]  # nothing changed: no run

    Path(stacks[1]["template"]).write_text(json.dumps({"Resources": {"X": {}}}))
    again = cv.diagnostics(None, stacks, run=run)
    assert run.calls == [["A", "B"], ["B"]]
    assert again[stacks[1]["template"]][0]["resourceLogicalId"] == "RB"

    # The key covers the account and region the validator resolves pseudo parameters with.
    moved = [dict(s, region="other") for s in stacks]
    cv.diagnostics(None, moved, run=run)
    assert run.calls[-1] == ["A", "B"]


def test_concurrent_synths_run_the_validator_once_per_template(tmp_path, cache):
    run = _FakeRun()
    stacks = _stacks(tmp_path, {"A": {"Resources": {}}})
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cv.diagnostics(None, stacks, run=run)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert run.calls == [["A"]]
    assert len(results) == 4 and all(r == results[0] for r in results)


def test_merge_reports_one_violation_per_rule_across_templates(tmp_path):
    stacks = _stacks(tmp_path, {"A": {}, "B": {}})
    entry = {"ruleName": "E1", "description": "d", "severity": "error", "locations": ["P"]}
    per = {
        stacks[0]["template"]: [dict(entry, resourceLogicalId="X")],
        stacks[1]["template"]: [dict(entry, resourceLogicalId="Y")],
    }
    merged = cv.merge(stacks, per)
    assert merged["success"] is False  # an error is not a success, as the built-in reports
    assert len(merged["violations"]) == 1
    assert [r["resourceLogicalId"] for r in merged["violations"][0]["violatingResources"]] == [
        "X",
        "Y",
    ]


def test_the_platform_runs_the_cached_validator_instead_of_the_builtin(synth):
    """Once, not twice (the built-in instance is off), and through the cache: every stack
    template of the synth has its diagnostics stored under its content key."""
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    names = [r["pluginName"] for r in report["pluginReports"]]
    assert names.count(cv.PLUGIN_NAME) == 1
    checked = 0
    for manifest in synth.outdir.glob("assembly-*/manifest.json"):
        for artifact in json.loads(manifest.read_text())["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            account, region = artifact["environment"].removeprefix("aws://").split("/")
            template = manifest.parent / artifact["properties"]["templateFile"]
            stack = {"path": artifact["displayName"], "account": account, "region": region}
            key = cv._key(stack, template.read_bytes())
            assert (cv.CACHE_DIR / "results" / f"{key}.json").exists(), template.name
            checked += 1
    assert checked >= 10


def test_the_early_started_engine_finds_what_the_app_process_finds(tmp_path, cache, monkeypatch):
    """The engine started before the constructs are built (start_engine, a node process of
    its own) gives the report the validator gives in the app's jsii process; once the
    plugin has validated, the engine is stopped."""
    _careless_app(tmp_path / "builtin", cached=False).synth()
    builtin = _report(tmp_path / "builtin")

    cv.start_engine()
    engine = cv._engine
    assert engine is not None, "aws-cdk-lib's unpacked JavaScript was not found"
    in_worker = []
    real = cv._run_in_worker

    def spy(stacks):
        report = real(stacks)
        in_worker.append(report is not None)
        return report

    monkeypatch.setattr(cv, "_run_in_worker", spy)
    _careless_app(tmp_path / "worker", cached=True).synth()
    assert in_worker == [True]  # the worker validated, not the app's process
    assert _report(tmp_path / "worker") == builtin
    assert cv._engine is None and engine.poll() is not None  # stopped after validation


def test_a_failed_engine_hands_over_to_the_app_process(tmp_path, cache, monkeypatch):
    """If the worker dies, the validator runs in the app's process: same findings."""
    _careless_app(tmp_path / "builtin", cached=False).synth()
    builtin = _report(tmp_path / "builtin")
    cv.start_engine()
    assert cv._engine is not None
    cv._engine.kill()
    cv._engine.wait()
    _careless_app(tmp_path / "fallback", cached=True).synth()
    assert _report(tmp_path / "fallback") == builtin
    assert cv._engine is None


def test_an_unused_engine_is_stopped(tmp_path, cache):
    _careless_app(tmp_path / "first", cached=True).synth()  # fills the cache
    cv.start_engine()
    engine = cv._engine
    assert engine is not None
    _careless_app(tmp_path / "second", cached=True).synth()  # everything cached
    assert cv._engine is None and engine.poll() is not None


def test_a_second_synth_writes_the_same_templates(tmp_path, cache):
    """The plugin's version goes into the templates' analytics metadata (as `cdk synth` writes
    it): it must not depend on what the cache holds, or the first synth after a cold start
    would never be reused (it was: aws-cdk-lib's version before the engine had run, the
    engine's after)."""

    def build(outdir):
        app = App(
            outdir=str(outdir),
            builtin_cloud_formation_validation=False,
            context={"aws:cdk:version-reporting": True},
        )
        CfnResource(Stack(app, "Quiet", env=ENV), "Topic", type="AWS::SNS::Topic")
        Validations.of(app).add_plugins(cv.CachedCloudFormationValidate())
        return app

    first = build(tmp_path / "first").synth().get_stack_by_name("Quiet").template
    assert "CDKMetadata" in first["Resources"]  # the analytics are there to compare
    second = build(tmp_path / "second").synth().get_stack_by_name("Quiet").template
    assert first == second
    assert cv.engine_version() != cv.validator_version()  # the engine's, from its bundle


def test_the_engine_is_started_early_only_when_the_inputs_changed(tmp_path, cache, monkeypatch):
    """app.py starts the engine before building only if the configuration, the CLI's context
    or the app's code changed since the last synth that passed (a repeated synth finds every
    template cached and would start it for nothing)."""
    config = tmp_path / "platform.yaml"
    config.write_text("a: 1\n")
    first = cv.synth_inputs_digest(config)
    assert cv.last_synth_inputs() is None  # nothing recorded: start early
    cv.record_synth_inputs(first)
    assert cv.last_synth_inputs() == first == cv.synth_inputs_digest(config)
    config.write_text("a: 2\n")
    assert cv.synth_inputs_digest(config) != first  # another user, another digest
    config.write_text("a: 1\n")
    monkeypatch.setenv("CDK_CONTEXT_JSON", '{"config": "other.yaml"}')
    assert cv.synth_inputs_digest(config) != first  # other CLI context
    monkeypatch.delenv("CDK_CONTEXT_JSON")
    code = cv.ROOT / "compliance" / "_cfn_validate.py"
    monkeypatch.setattr(cv, "ROOT", tmp_path)  # the app's code is part of it too
    (tmp_path / "compliance").mkdir()
    (tmp_path / "compliance" / "x.py").write_text(code.read_text())
    assert cv.synth_inputs_digest(config) != first
