"""The review pack's caches (diagrams by dot source, test discovery by file content) give
the same pack as no cache, and re-do only what changed."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from review import controls, diagram

DOT = "digraph G { a -> b; }"


@pytest.fixture()
def counted_dot(tmp_path, monkeypatch):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz (dot) is not installed here: `make graphviz` installs it")
    monkeypatch.setattr(diagram, "DIAGRAM_CACHE", tmp_path / "cache")
    calls = []
    real = subprocess.run

    def run(args, *a, **kw):
        if "-V" not in args:
            calls.append(list(args))
        return real(args, *a, **kw)

    monkeypatch.setattr(diagram.subprocess, "run", run)
    return calls


def test_a_diagram_is_rendered_once_per_source(tmp_path, counted_dot):
    first = diagram.render(DOT, tmp_path / "one" / "d")
    assert len(counted_dot) == 2  # png and svg
    assert {p.suffix for p in first} == {".png", ".svg"}
    again = diagram.render(DOT, tmp_path / "two" / "d")
    assert len(counted_dot) == 2  # from the cache
    for a, b in zip(first, again, strict=True):
        assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0
    diagram.render(DOT.replace("b;", "c;"), tmp_path / "three" / "d")
    assert len(counted_dot) == 4  # a changed source is rendered again
    assert "c" in (tmp_path / "three" / "d.svg").read_text()


def test_test_discovery_reads_changed_files_again(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEW_CACHE", str(tmp_path / "cache"))
    tests = tmp_path / "tests"
    tests.mkdir()
    control = controls.CONTROLS[0]
    marked = (
        f'import pytest\n\n@pytest.mark.control("{control.id}")\ndef test_one():\n    assert True\n'
    )
    (tests / "test_x.py").write_text(marked)
    cold = controls.discover_tests(tests)
    assert cold == {control.id: ["tests/test_x.py::test_one"]}
    assert controls.discover_tests(tests) == cold  # warm, from the cache
    (tests / "test_x.py").write_text(marked.replace("test_one", "test_two"))
    assert controls.discover_tests(tests) == {control.id: ["tests/test_x.py::test_two"]}


def test_cached_discovery_equals_a_fresh_parse_of_the_real_suite(tmp_path, monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parent
    monkeypatch.setenv("REVIEW_CACHE", str(tmp_path / "a"))
    fresh = controls.discover_tests(root)
    assert fresh and all(fresh.values())
    assert controls.discover_tests(root) == fresh


def test_the_review_pack_reads_the_lists_without_starting_the_cdk():
    """Importing aws_cdk starts a jsii node process (~1.5 s of CPU per `make synth`); the
    review pack needs the acknowledgement lists and the pack names, not the CDK."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, review.__main__, review.pack, review.rules, compliance.acknowledgements;"
        "from review.rules import nag_rules; nag_rules();"
        "from compliance.acknowledgements import checkov_skips; checkov_skips();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'cdk_nag', 'jsii')))"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def _resource(path: str, type_: str, logical_id: str) -> dict:
    return {
        "id": path.rsplit("/", 1)[-1],
        "path": path,
        "constructInfo": {"fqn": "aws-cdk-lib.CfnResource"},
        "attributes": {
            "aws:cdk:cloudformation:type": type_,
            "aws:cdk:cloudformation:logicalId": logical_id,
            "aws:cdk:cloudformation:props": {},
        },
    }


def _people_tree(count: int) -> dict:
    people = {}
    for i in range(count):
        base = f"dev/Shard/Person{i}"
        people[f"Person{i}"] = {
            "id": f"Person{i}",
            "path": base,
            "constructInfo": {"fqn": "constructs.Construct"},
            "children": {
                "Role": _resource(f"{base}/Role", "AWS::IAM::Role", f"Role{i}"),
                "Workspace": _resource(
                    f"{base}/Workspace", "AWS::SageMaker::UserProfile", f"Ws{i}"
                ),
            },
        }
    stack = {"id": "Shard", "path": "dev/Shard", "children": people}
    return {"children": {"dev": {"id": "dev", "path": "dev", "children": {"Shard": stack}}}}


def test_many_alike_constructs_fold_into_one_note():
    """500 people's workspaces made the construct-tree diagram 32,767 px tall (Graphviz's
    limit) and its layout the slowest part of the pack; the first members of a repeated
    shape are drawn, the rest is one note."""
    many = diagram.environment_dot(_people_tree(40), "dev")
    assert "cluster_dev_Shard_Person0" in many and "cluster_dev_Shard_Person1" in many
    assert "cluster_dev_Shard_Person2" not in many and "Person39" not in many
    assert "and 38 more like Person0" in many
    few = diagram.environment_dot(_people_tree(3), "dev")  # a few are drawn as they are
    assert "more like" not in few and all(f"Person{i}" in few for i in range(3))
