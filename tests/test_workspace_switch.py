"""Switching an environment's ``workspace`` (issue #15): both workspaces synthesized and gated
at stack level (the sample's dev runs Studio, ``notebook_synth`` the same dev on notebook
instances), and a switch either way deletes nobody's home storage: every workspace resource
the switch removes from the templates carries ``DeletionPolicy``/``UpdateReplacePolicy:
Retain``, and the change review (``make review BASELINE=...``) calls the removed workspaces
out. docs/studio.md ("Switching the workspace") describes the migration."""

from __future__ import annotations

import pytest

from review.change import WORKSPACE_TYPES, review_change

# Where people's files live in each workspace: the notebook instance (its ML storage volume),
# the Studio user profile (home directory on the domain's EFS) and the domain (the EFS).
HOME_STORAGE = ("AWS::SageMaker::NotebookInstance", "AWS::SageMaker::UserProfile",
                "AWS::SageMaker::Domain")


def _dev(result) -> dict[str, dict]:
    return {k: v for k, v in result.templates.items() if k.startswith("dev/")}


def _workspaces(templates: dict[str, dict]) -> dict[tuple[str, str], dict]:
    return {(stack, logical): body for stack, t in templates.items()
            for logical, body in t["Resources"].items() if body["Type"] in HOME_STORAGE}


def test_both_workspaces_are_synthesized_with_every_gate(synth, notebook_synth,
                                                        sample_config, notebook_config) -> None:
    """The session synth (Studio in dev) and notebook_synth (notebook instances in dev) both
    passed every compliance pack and cfn-guard (synthesize raises on a finding)."""
    studio, notebooks = _workspaces(_dev(synth)), _workspaces(_dev(notebook_synth))
    data_scientists = sorted(u.name for u in sample_config.users
                             if u.job_function.value == "data_scientist")
    assert sorted(b["Properties"]["UserProfileName"] for b in studio.values()
                  if b["Type"] == "AWS::SageMaker::UserProfile") == data_scientists
    assert sorted(b["Properties"]["NotebookInstanceName"] for b in notebooks.values()) == [
        f"mlp-dev-{n}" for n in data_scientists]
    assert {b["Type"] for b in notebooks.values()} == {"AWS::SageMaker::NotebookInstance"}
    assert notebook_config.environment("dev").notebook_instances_enabled


@pytest.mark.parametrize("direction", ["notebook_instance -> studio", "studio -> notebook_instance"])
def test_a_workspace_switch_deletes_no_home_storage(synth, notebook_synth, direction) -> None:
    before, after = ((notebook_synth, synth) if direction.startswith("notebook")
                     else (synth, notebook_synth))
    old, new = _workspaces(_dev(before)), _workspaces(_dev(after))
    removed = {k: v for k, v in old.items() if k not in new}
    # the switch removes every workspace of the old kind from the templates ...
    assert removed and len(removed) == len(old)
    for (stack, logical), body in removed.items():
        # ... and CloudFormation leaves each of them (and its files) in the account
        assert body.get("DeletionPolicy") == "Retain", (stack, logical)
        assert body.get("UpdateReplacePolicy") == "Retain", (stack, logical)


def test_execution_roles_keep_their_name_and_logical_id_across_a_switch(synth, notebook_synth) -> None:
    """docs/studio.md: an orphaned notebook still runs as the person (same role, updated in
    place, still trusted by SageMaker); S3 prefixes, jobs and policies are unchanged."""
    def roles(result) -> dict[tuple[str, str], dict]:
        return {(stack, logical): body for stack, t in _dev(result).items()
                for logical, body in t["Resources"].items()
                if body["Type"] == "AWS::IAM::Role"
                and str(body["Properties"].get("RoleName", "")).startswith("mlp-dev-ds-")}

    studio, notebooks = roles(synth), roles(notebook_synth)
    assert studio and set(studio) == set(notebooks)
    for key, body in studio.items():
        assert body["Properties"]["RoleName"] == notebooks[key]["Properties"]["RoleName"]
        for b in (body, notebooks[key]):
            (statement,) = b["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_every_home_storage_type_is_one_the_change_review_watches() -> None:
    assert set(HOME_STORAGE) <= set(WORKSPACE_TYPES)


@pytest.fixture(scope="module")
def switch_to_studio(synth, notebook_synth, sample_config):
    return review_change(notebook_synth.outdir, synth.outdir, config=sample_config)


def test_the_change_review_calls_out_the_removed_workspaces(switch_to_studio, sample_config) -> None:
    from review.change import change_doc
    from review.report import to_markdown

    dev = switch_to_studio.envs["dev"]
    removed = sorted(w.name for w in dev.workspaces if w.change == "removed")
    added = sorted(w.name for w in dev.workspaces if w.change == "added")
    people = sorted(u.name for u in sample_config.users if u.job_function.value == "data_scientist")
    assert removed == [f"mlp-dev-{n}" for n in people]
    assert added == sorted(["mlp-dev-studio", *people])
    assert all(w.deletion_policy == "Retain" and not w.deletes_data for w in dev.workspaces)
    text = to_markdown(change_doc(switch_to_studio))
    assert "## Workspaces" in text and f"**{len(removed)} workspace resource(s) removed**" in text
    assert "retained and no longer managed" in text and "docs/studio.md" in text
    # each row names the construct (stage-relative path), e.g. Access-Shard05/User-raj-patel/Notebook
    paths = {w.name: w.resource for w in dev.workspaces if w.change == "removed"}
    assert all(p.startswith("Access-Shard") and p.count("Access-Shard") == 1 and p.endswith("/Notebook")
               for p in paths.values()), paths


def test_python_m_review_prints_the_removed_workspaces(switch_to_studio, sample_config) -> None:
    from review.change import removed_workspace_lines

    people = sorted(u.name for u in sample_config.users if u.job_function.value == "data_scientist")
    (line,) = removed_workspace_lines(switch_to_studio)
    assert line.startswith(f"dev: {len(people)} workspace(s) removed (retained: copy files, "
                           "then delete them by hand; docs/studio.md): ")
    assert all(f"mlp-dev-{n}" in line for n in people)


def test_a_removed_workspace_without_retain_weakens_the_change(tmp_path) -> None:
    """The guard the Retain policy satisfies: a workspace removed with DeletionPolicy Delete is
    reported as deleted with its files, and the change weakens retention."""
    import json

    from review.change import EnvChange, workspace_changes
    from review.assembly import Assembly, from_templates

    def assembly(resources: dict) -> Assembly:
        return Assembly(tmp_path, from_templates({"dev/Access-Shard05": {"Resources": resources}}), None)

    notebook = {"Type": "AWS::SageMaker::NotebookInstance",
                "Properties": {"NotebookInstanceName": "mlp-dev-jane-smith"}}
    changes = workspace_changes("dev", assembly({"Nb": notebook}), assembly({}))
    assert [(w.change, w.name, w.deletion_policy, w.deletes_data) for w in changes] == [
        ("removed", "mlp-dev-jane-smith", "Delete", True)]
    assert EnvChange("dev", workspaces=changes).weakens
    from review.change import ChangeReview, removed_workspace_lines

    (line,) = removed_workspace_lines(ChangeReview("x", {"dev": EnvChange("dev", workspaces=changes)}))
    assert line == "dev: 1 workspace(s) removed (1 DELETED with their files): mlp-dev-jane-smith"
    retained = workspace_changes("dev", assembly({"Nb": {**notebook, "DeletionPolicy": "Retain"}}),
                                 assembly({}))
    assert not retained[0].deletes_data and not EnvChange("dev", workspaces=retained).weakens
    assert json.dumps(retained[0].what_to_do).count("administrator") == 1


def test_notebook_instance_acknowledgements_name_findings_that_occur(notebook_config,
                                                                     tmp_path_factory) -> None:
    """The sample has no notebook instances (Studio in dev): without acknowledgements, the
    dev stage on notebook instances has every finding the notebook acknowledgements name
    (and notebook_synth shows nothing of the notebooks' is left without one)."""
    import fnmatch

    from compliance.acknowledgements import NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS
    from compliance._summary import read_findings
    from synth_support import synthesize

    outdir = tmp_path_factory.mktemp("notebook-raw")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        synthesize(notebook_config, outdir, environments=("dev",), acknowledgements=False)
    findings = read_findings(outdir)
    assert NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS
    for ack in NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS:
        rule = ack.rule_in(account="111111111111", region="eu-west-2", prefix="mlp-dev-")
        hits = [f for f in findings if f.plugin == ack.plugin and f.rule == rule
                and fnmatch.fnmatchcase(f.path.split("/", 1)[1].split(" (", 1)[0], ack.path)]
        assert len(hits) >= 2, ack  # one per data scientist's notebook


def test_notebook_entries_are_recorded_only_where_people_have_notebook_instances() -> None:
    """app.py records the per-person notebook entries only on a stage with notebook
    instances (in a Studio stage they match nothing and cost two jsii calls per person);
    every other entry goes to every stage, the rehearsal's only to the rehearsal's synth.
    notebook_synth (every check on) shows a notebook stage still gets all it needs."""
    from compliance.acknowledgements import (
        ACKNOWLEDGEMENTS,
        CONDITIONAL_ACKNOWLEDGEMENTS,
        NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS,
        REHEARSAL_ACKNOWLEDGEMENTS,
        stage_acknowledgements,
    )

    studio = set(stage_acknowledgements(notebook_instances=False))
    notebook = set(stage_acknowledgements(notebook_instances=True))
    assert notebook == {*ACKNOWLEDGEMENTS, *CONDITIONAL_ACKNOWLEDGEMENTS}
    assert notebook - studio == set(NOTEBOOK_INSTANCE_ACKNOWLEDGEMENTS)
    assert not studio & set(REHEARSAL_ACKNOWLEDGEMENTS)
    rehearsal = set(stage_acknowledgements(notebook_instances=False, rehearsal=True))
    assert rehearsal - studio == set(REHEARSAL_ACKNOWLEDGEMENTS)
