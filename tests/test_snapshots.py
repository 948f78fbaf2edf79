"""Snapshot of every synthesized stack. Asset hashes are normalized so that snapshots only
change when the infrastructure does. Review a snapshot diff like a template diff; accept
intended changes with `.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update`."""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
STAGES = ("dev", "preprod", "prod")


def normalize(template: dict) -> dict:
    text = json.dumps(template, sort_keys=True)
    text = ASSET_HASH.sub("<asset-hash>", text)
    return json.loads(text)


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_normalize_replaces_asset_hashes_only() -> None:
    digest = "a" * 64
    template = {"S3Key": f"{digest}.zip", "Other": "b" * 63}
    assert normalize(template) == {"S3Key": "<asset-hash>.zip", "Other": "b" * 63}


@pytest.mark.parametrize("stage", STAGES)
def test_foundation_stack_snapshot(synth, snapshot_json, stage) -> None:
    assert normalize(synth.template(stage, "Foundation")) == snapshot_json


@pytest.mark.parametrize("stage", STAGES)
def test_audit_stack_snapshot(synth, snapshot_json, stage) -> None:
    assert normalize(synth.template(stage, "Audit")) == snapshot_json


def test_training_stack_snapshot(synth, snapshot_json) -> None:
    assert normalize(synth.template("dev", "Training")) == snapshot_json


@pytest.mark.parametrize("stage", STAGES)
def test_access_stack_snapshot(synth, snapshot_json, stage) -> None:
    assert normalize(synth.template(stage, "Access")) == snapshot_json


# The sample's data scientists land in these shards (a hash of their names).
USER_SHARDS = ("Access-Shard05", "Access-Shard07")


@pytest.mark.parametrize("shard", USER_SHARDS)
def test_user_shard_stack_snapshot(synth, snapshot_json, shard) -> None:
    assert normalize(synth.template("dev", shard)) == snapshot_json


# The sample's dev runs Studio; the same dev on notebook instances (``notebook_synth``) keeps
# its own snapshots of the stacks the workspace changes: both workspaces are first-class.
@pytest.mark.parametrize("stack", ("Foundation", "Audit", "Access", *USER_SHARDS))
def test_notebook_instance_workspace_snapshot(notebook_synth, snapshot_json, stack) -> None:
    assert normalize(notebook_synth.template("dev", stack)) == snapshot_json


@pytest.mark.parametrize("stage", ("preprod", "prod"))
def test_serving_stack_snapshot(synth, snapshot_json, stage) -> None:
    assert normalize(synth.template(stage, "Serving")) == snapshot_json


def test_every_stack_has_a_snapshot_test(synth) -> None:
    """A new stack must get its snapshot test here."""
    tested = {f"{stage}/{stack}" for stage in STAGES for stack in ("Foundation", "Audit", "Access")}
    tested |= {f"dev/{shard}" for shard in USER_SHARDS} | {"dev/Training"}
    tested |= {"preprod/Serving", "prod/Serving"}
    assert set(synth.templates) == tested


def test_stack_metadata_names_logical_ids_without_creation_stack_traces(synth) -> None:
    """The app turns off CDK's creation stack traces (in a Python app they only ever say
    "jsii runtime, node internals"); the logical-ID metadata the CLI and the review pack use
    is still written for every resource."""
    files = sorted(synth.outdir.glob("assembly-*/*.metadata.json"))
    assert files
    for path in files:
        entries = [e for es in json.loads(path.read_text()).values() for e in es]
        types = {e["type"] for e in entries}
        assert "aws:cdk:creationStack" not in types, path.name
        logical_ids = {e["data"] for e in entries if e["type"] == "aws:cdk:logicalId"}
        resources = json.loads(
            path.with_name(path.name.replace(".metadata.json", ".template.json")).read_text()
        )["Resources"]
        assert set(resources) <= logical_ids, path.name
