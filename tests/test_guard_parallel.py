"""cfn-guard per template, in parallel, cached: the same findings as the cdklabs plugin, and a
changed template is the only one checked again (compliance/_guard.py)."""

from __future__ import annotations

import json
import re
import subprocess

import jsii
import pytest
from aws_cdk import App, IPolicyValidationContextBeta1, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from compliance import _guard as guard


@jsii.implements(IPolicyValidationContextBeta1)
class _Context:
    def __init__(self, paths: list[str]) -> None:
        self._paths = paths

    @property
    def template_paths(self) -> list[str]:
        return self._paths


@pytest.fixture
def templates(tmp_path) -> list[str]:
    app = App(outdir=str(tmp_path / "out"))
    s3.Bucket(Stack(app, "Buckets"), "Careless")
    sqs.Queue(Stack(app, "Queues"), "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    Stack(app, "Empty")
    assembly = app.synth()
    return sorted(str(tmp_path / "out" / s.template_file) for s in assembly.stacks)


def _findings(violations) -> list[tuple]:
    return sorted(
        (v["ruleName"], r["resourceLogicalId"], r["templatePath"], v.get("fix"))
        for v in violations
        for r in v["violatingResources"]
    )


def test_same_findings_as_the_cdklabs_plugin_then_only_changed_templates(
    templates, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(guard, "CACHE_DIR", tmp_path / "cache")
    original = CfnGuardValidator(control_tower_rules_enabled=True).validate(_Context(templates))
    expected = _findings(
        [
            {
                "ruleName": v.rule_name,
                "fix": v.fix,
                "violatingResources": [
                    {"resourceLogicalId": r.resource_logical_id, "templatePath": r.template_path}
                    for r in v.violating_resources
                ],
            }
            for v in original.violations
        ]
    )
    assert expected  # the careless bucket and queue are found

    checked: list[str] = []
    real_run = subprocess.run

    def counting_run(args, **kwargs):
        checked.append(args[-1])
        return real_run(args, **kwargs)

    monkeypatch.setattr(guard.subprocess, "run", counting_run)
    first = guard.check_templates(templates)
    assert _findings(first["violations"]) == expected and first["success"] is False
    assert sorted(checked) == templates  # one process per template

    checked.clear()
    assert _findings(guard.check_templates(templates)["violations"]) == expected
    assert checked == []  # nothing changed: every result from the cache

    queue_template = next(t for t in templates if "Queues" in t)
    data = json.loads(open(queue_template).read())
    data["Resources"]["Queue4A7E3555"]["Properties"] = {"SqsManagedSseEnabled": True}
    open(queue_template, "w").write(json.dumps(data))
    checked.clear()
    again = guard.check_templates(templates)
    assert checked == [queue_template]  # only the changed template ran again
    assert not any("sqs_queue_encrypted_check" == v["ruleName"] for v in again["violations"])


def test_concurrent_checks_of_one_template_run_cfn_guard_once(tmp_path, monkeypatch) -> None:
    """Two synths (or two test workers) checking the same template at once: one runs
    cfn-guard, the others wait on the template's lock and read its cached result."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from compliance import _guard as guard

    monkeypatch.setattr(guard, "CACHE_DIR", tmp_path / "cache")
    calls = []

    def slow_worker(path, package):
        calls.append(path)
        time.sleep(0.3)
        return {"success": True, "violations": []}

    monkeypatch.setattr(guard, "_run_worker", slow_worker)
    template = tmp_path / "t.template.json"
    template.write_text('{"Resources": {}}')
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda _: guard.check_template(str(template), tmp_path), range(4)))
    assert calls == [str(template)]
    assert all(r == {"success": True, "violations": []} for r in reports)


def test_prefetched_checks_are_used_unless_the_template_changed(tmp_path, monkeypatch) -> None:
    """The first plugin starts cfn-guard early (guard.prefetch); the guard plugin takes those
    results, and checks a template again if it was rewritten in between."""
    checked: list[str] = []

    def fake_check(path, package):
        text = open(path).read()
        checked.append(text)
        return {"success": True, "violations": [{"checked": text}]}

    monkeypatch.setattr(guard, "check_template", fake_check)
    monkeypatch.setattr(guard, "package_dir", lambda: tmp_path)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("A1")
    b.write_text("B1")
    guard.prefetch([str(a), str(b)])
    b.write_text("B2")  # rewritten after the prefetch
    report = guard.check_templates([str(a), str(b)])
    # What was reported is what the templates hold now; A was checked once (the prefetch).
    assert [v["checked"] for v in report["violations"]] == ["A1", "B2"]
    assert checked.count("A1") == 1
    assert not any(key[0] == str(a) for key in guard._STARTED)  # consumed
    guard._STARTED.clear()


def test_the_first_plugin_starts_cfn_guard(tmp_path, monkeypatch) -> None:
    """CDK's validator runs first and starts cfn-guard before its own engine, so the guard
    plugin (run last) finds its processes already at work."""
    from compliance import _checks as checks

    app = App(outdir=str(tmp_path / "out"), builtin_cloud_formation_validation=False)
    Stack(app, "Empty")
    order: list[str] = []
    monkeypatch.setattr(checks, "prefetch", lambda paths: order.append(f"prefetch {paths}"))
    monkeypatch.setattr(
        guard,
        "check_templates",
        lambda paths: order.append("guard") or {"success": True, "violations": []},
    )
    checks.add_compliance_checks(app)
    app.synth()
    assert len(order) == 2 and order[1] == "guard", order
    assert order[0].startswith("prefetch [") and "Empty.template.json" in order[0]


# --- rule files see only the resources of the types they name (guard_worker.js) ------------

_SELECTION = re.compile(r"Resources\s*(\.\s*\*\s*)?\[\s*(\w+)")


def _rule_files() -> list:
    return sorted((guard.package_dir() / "rules").rglob("*.guard"))


def test_every_rule_file_selects_resources_only_by_a_type_it_names() -> None:
    """The assumptions that make the per-type partition exact, checked on every rule file of
    the pinned bundle: it names at least one resource type; it selects resources only with a
    Type filter; and its only other access to resources is a lookup by a logical ID taken
    from a selected resource's references (`%doc.Resources[ keys == %resource_key ]`), which
    the worker covers by giving each rule file the resources its selection references,
    transitively. A new rule file that breaks this fails here; the worker would still run
    an untyped `Resources.*` selection on the whole template."""
    files = _rule_files()
    assert len(files) > 200
    forms: set[str] = set()
    lookups = 0
    for path in files:
        body = "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        )
        assert re.search(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+", body), path.name
        for match in _SELECTION.finditer(body):
            forms.add(match.group(2))
        for lookup in re.finditer(r"Resources\s*\[\s*keys\s*==\s*([^\]]*)\]", body):
            assert lookup.group(0) == "Resources[ keys == %resource_key ]", path.name
            assert "%doc.Resources[ keys == %resource_key ]" in body, path.name
            lookups += 1
        assert not re.search(r"Resources\s*\.\s*\*(?!\s*\[\s*Type\b)", body), path.name
    assert forms <= {"Type", "keys"}, forms
    assert lookups > 0  # the reference lookups exist: the closure is needed, and tested below


_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
_LET = re.compile(r"""^\s*let\s+(\w+)\s*=\s*(["'])(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)\2\s*$""", re.M)


def _body(path) -> str:
    return "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    )


def test_each_rule_file_is_given_the_types_it_selects_and_what_they_reference() -> None:
    """What the worker gives each rule file (`guard_worker.js --scopes`), read again here
    from the rule text: every type a selection tests is given; the file is marked as
    looking resources up exactly when it does; and a type the file names but does not
    select is only ever handed to a helper rule as the type of a *referenced* resource
    (`check_local_references(%doc, KmsKeyId, %KMS_KEY_TYPE)`), in a file that looks up, so
    the worker's closure gives it whenever a selected resource references it."""
    done = subprocess.run(
        ["node", str(guard.WORKER), str(guard.package_dir()), "--scopes"],
        capture_output=True, text=True, check=True,
    )
    scopes = json.loads(done.stdout)
    files = _rule_files()
    assert {str(f.relative_to(guard.package_dir())) for f in files} == set(scopes)
    exact = narrowed = 0
    for path in files:
        scope = scopes[str(path.relative_to(guard.package_dir()))]
        assert scope is not None, path.name  # every file names and filters by a type
        body = _body(path)
        constants = {m.group(1): m.group(3) for m in _LET.finditer(body)}
        for bracket in re.finditer(r"Resources\s*(?:\.\s*\*\s*)?\[([^\]]*)\]", body):
            for operand in re.findall(r"""Type\s*==\s*(%\w+|["']AWS::[^"']+["'])""", bracket[1]):
                given = constants.get(operand[1:]) if operand.startswith("%") else operand[1:-1]
                assert given in scope["types"], (path.name, operand)
        assert scope["lookup"] == ("%doc.Resources[ keys == %resource_key ]" in body), path.name
        dropped = set(_TYPE.findall(body)) - set(scope["types"])
        assert not dropped or scope["lookup"], path.name
        for kind in dropped:
            names = [n for n, t in constants.items() if t == kind]
            for line in body.splitlines():
                if re.match(r"\s*let\s", line):
                    continue
                if kind in line or any(re.search(rf"%{n}\b", line) for n in names):
                    assert re.match(r"\s*\w+\(.*\)", line) and "Resources" not in line, (
                        path.name, line)
        exact += scope["exact"]
        narrowed += bool(dropped)
    assert exact >= len(files) - 3  # the others are given every type they name
    assert narrowed > 10  # lookup-only types exist: the narrowing is exercised


def test_partitioned_run_finds_what_a_whole_template_run_finds(synth, notebook_synth) -> None:
    """On every kind of template of the sample synth, the worker's per-type run (with
    referenced resources) and cfn-guard over the whole template (the cdklabs plugin's way, `--whole`)
    report the same findings, success and fixes."""
    from concurrent.futures import ThreadPoolExecutor

    # Every dev template (foundation, audit, access and its shards, training) and a serving
    # stack: every kind of stack the platform has (preprod and prod repeat dev's kinds); dev
    # runs Studio, so dev's access stacks on notebook instances as well.
    templates = sorted(synth.outdir.glob("assembly-dev/*.template.json"))
    templates += sorted(synth.outdir.glob("assembly-preprod/*Serving*.template.json"))
    templates += sorted(notebook_synth.outdir.glob("assembly-dev/*Access*.template.json"))
    assert len(templates) >= 9

    def run(template, whole: bool):
        args = ["node", str(guard.WORKER), str(guard.package_dir()), str(template)]
        done = subprocess.run(
            args + (["--whole"] if whole else []), capture_output=True, text=True, check=True
        )
        report = json.loads(done.stdout)
        return (
            report["success"],
            sorted(
                (
                    v["ruleName"],
                    v.get("fix") or "",
                    r["resourceLogicalId"],
                    tuple(r.get("locations") or []),
                )
                for v in report["violations"]
                for r in v["violatingResources"]
            ),
        )

    def compare(template):
        return template.name, run(template, False), run(template, True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(compare, templates))
    for name, partitioned, whole in results:
        assert partitioned == whole, name
    # Real findings were compared (acknowledged ones: log groups, endpoints, notebooks...),
    # including a rule that looks resources up by reference (CT.LAMBDA.PR.2's SourceArn).
    assert sum(len(whole[1]) for _, _, whole in results) > 15


def test_a_changed_worker_checks_every_template_again(monkeypatch) -> None:
    """The cache key covers the worker's code (which resources each rule file sees), not
    only the validator's version and the template: results of an older worker are not
    reused."""
    before = guard._key(b"{}")
    guard._worker_digest.cache_clear()
    monkeypatch.setattr(guard, "WORKER", guard.WORKER.with_name("cfn_validate_worker.js"))
    try:
        assert guard._key(b"{}") != before
    finally:
        guard._worker_digest.cache_clear()
