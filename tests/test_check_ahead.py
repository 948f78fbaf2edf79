"""Checks ahead (app.py ``check_ahead``, every CLI command): the environments without people
are synthesized as soon as they are built, and cfn-guard and CDK's validator check their
templates in the background while the people's stacks are built. What the checks report,
what the gate decides and what the templates hold must not depend on it."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Stack

import app as app_module
from compliance import _cfn_validate as cv
from compliance import _checks, _guard, _priority
from compliance.gate import synth_or_fail
from test_cfn_validate import ENV, cache  # noqa: F401 - the validator's cache, per test


@pytest.fixture(autouse=True)
def _no_engine_left():
    yield
    cv.wait_ahead()
    cv.stop_engine()


def _careless_stacks(outdir: Path) -> list[dict]:
    """One template CloudFormation's schemas reject, written to disk; as the plugins see it."""
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)  # written only
    stack = Stack(app, "Careless", env=ENV)
    CfnResource(stack, "Topic", type="AWS::SNS::Topic", properties={"Bogus": 1})
    CfnResource(stack, "Queue", type="AWS::SQS::Queue", properties={"VisibilityTimeout": "x"})
    artifact = app.synth().get_stack_artifact(stack.artifact_id)
    return [{"path": artifact.hierarchical_id, "template": artifact.template_full_path,
             "account": ENV.account, "region": ENV.region}]


def _cached(stacks: list[dict]) -> dict[str, list]:
    found = {}
    for stack in stacks:
        key = cv._key(stack, Path(stack["template"]).read_bytes())
        path = cv.CACHE_DIR / "results" / f"{key}.json"
        if path.exists():
            found[stack["template"]] = json.loads(path.read_text())
    return found


def test_checked_ahead_by_the_engine_as_the_plugin_checks_them(tmp_path, cache, monkeypatch):
    """What the background thread stores is what the validator finds in the app's process;
    the plugin then takes it from the cache and runs no validator."""
    stacks = _careless_stacks(tmp_path / "out")
    in_process = cv.diagnostics(None, stacks, run=lambda todo, _a: cv._run_validator(todo))
    assert in_process[stacks[0]["template"]], "the careless template has no finding"
    for result in (cache / "results").glob("*.json"):
        result.unlink()  # the same template, checked again: ahead this time

    cv.start_engine()
    assert cv._engine is not None, "aws-cdk-lib's unpacked JavaScript was not found"
    assert cv.check_ahead(stacks) is True
    cv.wait_ahead()
    assert _cached(stacks) == in_process

    monkeypatch.setattr(cv, "_run_validator", lambda *_: pytest.fail("validated again"))
    assert cv.diagnostics(None, stacks) == in_process


def test_without_an_engine_nothing_is_checked_ahead(tmp_path, cache):
    stacks = _careless_stacks(tmp_path / "out")
    assert cv._engine is None
    assert cv.check_ahead(stacks) is False
    assert cv._ahead is None and _cached(stacks) == {}


def test_a_dead_engine_stores_nothing_and_the_plugin_validates(tmp_path, cache):
    """A worker that died must not leave an empty (passing) result behind: the check ahead
    stores only what the worker reported, and the plugin then validates in-process."""
    stacks = _careless_stacks(tmp_path / "out")
    cv.start_engine()
    assert cv._engine is not None
    cv._engine.kill()
    cv._engine.wait()
    assert cv.check_ahead(stacks) is True  # the engine looked alive when it was asked
    cv.wait_ahead()
    assert _cached(stacks) == {}
    assert cv._engine is None  # handed over to the app's process
    found = cv.diagnostics(None, stacks)[stacks[0]["template"]]
    assert found, "the in-process validator found nothing on a careless template"


def test_checks_ahead_queue_and_the_plugin_waits_for_them(tmp_path, cache, monkeypatch):
    """Two calls return at once and run one after the other (one engine, one request at a
    time); wait_ahead, called by the plugin before it uses the engine, waits for both."""
    first, second = _careless_stacks(tmp_path / "a"), _careless_stacks(tmp_path / "b")
    second[0]["path"] = "Other"  # another cache key
    release = threading.Event()
    log: list[str] = []

    def worker(stacks):
        log.append(f"start {stacks[0]['path']}")
        release.wait(10)
        time.sleep(0.05)
        log.append(f"end {stacks[0]['path']}")
        return {"violations": []}

    monkeypatch.setattr(cv, "_engine", object())
    monkeypatch.setattr(cv, "_run_in_worker", worker)
    started = time.monotonic()
    assert cv.check_ahead(first) and cv.check_ahead(second)
    assert time.monotonic() - started < 1  # the build goes on
    release.set()
    cv.wait_ahead()
    assert log == ["start Careless", "end Careless", "start Other", "end Other"]
    assert len(_cached(first + second)) == 2


def test_the_plugin_waits_for_the_checks_ahead_before_it_uses_the_engine(
    tmp_path, cache, monkeypatch
):
    """One engine, one request at a time: the validator plugin joins the background thread
    before it validates anything itself."""
    stacks = _careless_stacks(tmp_path / "out")
    log: list[str] = []

    def worker(todo):
        time.sleep(0.3)
        log.append("ahead done")
        return {"violations": []}

    monkeypatch.setattr(cv, "_engine", object())
    monkeypatch.setattr(cv, "_run_in_worker", worker)
    monkeypatch.setattr(cv, "stop_engine", lambda: None)
    assert cv.check_ahead(stacks)
    real = cv.diagnostics

    def spy(app_construct, todo, **options):
        log.append("plugin")
        return real(app_construct, todo, **options)

    monkeypatch.setattr(cv, "diagnostics", spy)
    report = cv.CachedCloudFormationValidate().validate(cv._Context(None, stacks))
    assert log == ["ahead done", "plugin"]
    assert report.success and not report.violations  # what the worker reported, from the cache


def test_low_priority_is_set_before_the_check_starts():
    """`nice` starts the program at the lowest priority, so every thread it creates (node's
    compiler and collector threads too) inherits it; off unless the app turns it on."""
    _priority.run_checks_at_low_priority(False)
    assert _priority.command(["node", "x"]) == ["node", "x"]
    try:
        _priority.run_checks_at_low_priority(True)
        argv = _priority.command(["sh", "-c", "nice"])
        assert argv[1:3] == ["-n", "19"]
        niceness = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        assert int(niceness) == 19
    finally:
        _priority.run_checks_at_low_priority(False)


def test_cfn_guard_and_the_engine_are_started_through_the_priority_setting(
    tmp_path, cache, monkeypatch
):
    commands: list[list[str]] = []
    monkeypatch.setattr(_priority, "command", lambda argv: commands.append(argv) or argv)
    monkeypatch.setattr(
        subprocess, "run",
        lambda argv, **_: subprocess.CompletedProcess(argv, 0, '{"violations": []}', ""))
    _guard._run_worker(str(tmp_path / "t.json"), tmp_path)
    cv.start_engine()
    assert [c[1] for c in commands] == [str(_guard.WORKER), str(cv.WORKER)]


def test_the_app_runs_the_checks_ahead_at_low_priority(monkeypatch, tmp_path):
    """main() (every CLI command) builds with check_ahead, except for the deploy rehearsal,
    whose stages are rewritten after they are built."""
    seen = {}

    class Stop(Exception):
        pass

    def build_app(config, **options):
        seen.update(options, low=_priority._low)
        raise Stop

    monkeypatch.setattr(app_module, "build_app", build_app)
    monkeypatch.setattr(app_module, "start_engine", lambda: None)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    try:
        with pytest.raises(Stop):
            app_module.main()
    finally:
        _priority.run_checks_at_low_priority(False)
    assert seen["check_ahead"] is True and seen["omit_custom_resources"] is False
    assert seen["low"] is True


def test_check_ahead_refuses_what_rewrites_or_skips_the_checks(sample_config):
    for options in ({"omit_custom_resources": True}, {"compliance": False}):
        with pytest.raises(ValueError, match="check_ahead needs"):
            app_module.build_app(sample_config, check_ahead=True, **options)


def test_stages_without_people_are_checked_ahead_and_the_templates_do_not_change(
    sample_config, synth, tmp_path, monkeypatch
):
    """The sample's preprod (no notebooks) is synthesized and handed to the checks before
    dev's people exist; dev's people come after; the synth passes the gate and writes the
    templates the suite's ordinary synth writes, byte for byte."""
    handed: list[tuple[str, list[str], int]] = []
    real = _checks.check_stages_ahead

    def spy(stages, *, cfn_guard=True):
        stacks = real(stages, cfn_guard=cfn_guard)
        dev = app.node.try_find_child("dev")
        handed.append((
            ",".join(s.stage_name for s in stages),
            sorted(Path(s["template"]).name for s in stacks),
            -1 if dev is None else len(dev.user_shards),
        ))
        return stacks

    monkeypatch.setattr(app_module, "check_stages_ahead", spy)
    prefetched: list[str] = []
    monkeypatch.setattr(_checks, "prefetch", lambda paths: prefetched.extend(paths))
    app = None
    original_init = app_module.App.__init__

    def remember(self, *args, **kwargs):  # the spy looks at dev's shards through it
        nonlocal app
        original_init(self, *args, **kwargs)
        app = self

    monkeypatch.setattr(app_module.App, "__init__", remember)
    built = app_module.build_app(sample_config, outdir=str(tmp_path / "ahead"),
                                 environments=("dev", "preprod"), check_ahead=True)
    assert len(handed) == 1
    stage_names, templates, dev_shards_then = handed[0]
    assert stage_names == "preprod"
    assert templates and all(t.startswith("preprod") for t in templates)
    assert dev_shards_then == 0  # dev's people did not exist yet
    assert sorted(Path(p).name for p in prefetched) == templates  # cfn-guard started on them
    dev = built.node.find_child("dev")
    assert dev.user_shards and not dev.user_shards_pending
    with pytest.raises(ValueError, match="already added"):
        dev.add_user_shards()

    synth_or_fail(built, tmp_path / "ahead")
    written = sorted((tmp_path / "ahead").glob("assembly-*/*.template.json"))
    assert len(written) == len(list(synth.outdir.glob("assembly-dev/*.template.json"))) + len(
        templates)
    for path in written:
        expected = synth.outdir / path.relative_to(tmp_path / "ahead")
        assert path.read_bytes() == expected.read_bytes(), path.name
