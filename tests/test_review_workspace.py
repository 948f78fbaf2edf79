"""The review pack follows each environment's workspace (issue #15): controls, the overview,
the diagram and the idle-cost estimate show Studio where an environment uses it (the
sample's dev) and notebook instances where it uses them (``notebook_synth``)."""

from __future__ import annotations

import pytest

from review import prices as P
from review.assembly import from_templates, load_assembly
from review.controls import IMPLEMENTED, environment_roles, evaluate
from review.cost import estimate, notebook_hours


def _dev(result):
    return from_templates({k: v for k, v in result.templates.items() if k.startswith("dev/")})


def _requirements(results, control_id: str) -> dict[str, str]:
    control = next(r for r in results if r.control.id == control_id)
    return {r.requirement.description: r.status for r in control.per_env["dev"][1]}


@pytest.fixture(scope="module")
def controls(synth, notebook_synth, sample_config, notebook_config):
    out = {}
    for name, result, config in (("studio", synth, sample_config),
                                 ("notebook_instance", notebook_synth, notebook_config)):
        envs = _dev(result)
        out[name] = evaluate(envs, environment_roles(config, ["dev"]))
    return out


def test_studio_rows_apply_where_dev_runs_studio(controls) -> None:
    auth = _requirements(controls["studio"], "authorization")
    assert auth["Per-user Studio user profiles, each with its own execution role"] == "met"
    assert auth["Presigned Studio URL for own profile, limited by source IP or VPC endpoint"] == "met"
    assert auth["Studio calls attributed to the person (source identity)"] == "met"
    # the notebook rows are not applicable by configuration, not "not met"
    assert auth["Per-user notebook instances"] == "n/a"
    assert auth["Presigned notebook URL limited by source IP or VPC endpoint"] == "n/a"
    network = _requirements(controls["studio"], "network_isolation")
    assert network["Studio domains VPC-only in the platform's subnets"] == "met"
    assert network["Notebooks in the VPC without direct internet access"] == "n/a"
    encryption = _requirements(controls["studio"], "encryption")
    assert encryption["Every Studio domain's home EFS and app volumes, and shared notebooks, under a CMK"] == "met"
    for control in ("authorization", "network_isolation", "encryption"):
        assert next(r for r in controls["studio"] if r.control.id == control).per_env["dev"][0] == IMPLEMENTED


def test_notebook_rows_apply_where_dev_runs_notebook_instances(controls) -> None:
    auth = _requirements(controls["notebook_instance"], "authorization")
    assert auth["Per-user notebook instances"] == "met"
    assert auth["Presigned notebook URL limited by source IP or VPC endpoint"] == "met"
    assert auth["Per-user Studio user profiles, each with its own execution role"] == "n/a"
    assert auth["Presigned Studio URL for own profile, limited by source IP or VPC endpoint"] == "n/a"
    # an "each" row with no such resource is not applicable either
    assert auth["Studio calls attributed to the person (source identity)"] == "n/a"
    for control in ("authorization", "network_isolation", "encryption"):
        status = next(r for r in controls["notebook_instance"] if r.control.id == control).per_env["dev"][0]
        assert status == IMPLEMENTED, control


def test_a_public_studio_domain_fails_the_isolation_control(synth, sample_config) -> None:
    import copy

    templates = copy.deepcopy({k: v for k, v in synth.templates.items() if k.startswith("dev/")})
    (domain,) = [r for r in templates["dev/Access"]["Resources"].values()
                 if r["Type"] == "AWS::SageMaker::Domain"]
    domain["Properties"]["AppNetworkAccessType"] = "PublicInternetOnly"
    results = evaluate(from_templates(templates), environment_roles(sample_config, ["dev"]))
    network = _requirements(results, "network_isolation")
    assert network["Studio domains VPC-only in the platform's subnets"] == "not met"
    assert next(r for r in results if r.control.id == "network_isolation").per_env["dev"][0] != IMPLEMENTED
    # and a profile policy that lets anyone presign from anywhere is not evidence
    for template in templates.values():
        for r in template["Resources"].values():
            if r["Type"] == "AWS::IAM::ManagedPolicy":
                for s in r["Properties"]["PolicyDocument"]["Statement"]:
                    s.pop("Condition", None)
    results = evaluate(from_templates(templates), environment_roles(sample_config, ["dev"]))
    auth = _requirements(results, "authorization")
    assert auth["Presigned Studio URL for own profile, limited by source IP or VPC endpoint"] == "not met"
    assert next(r for r in results if r.control.id == "authorization").per_env["dev"][0] != IMPLEMENTED


def test_the_cost_estimate_prices_studio_apps_only_while_running_and_the_home_efs(
        synth, notebook_synth, sample_config, notebook_config) -> None:
    table = P.for_region("eu-west-2")[1]
    env = _dev(synth)["dev"]
    cost = estimate(env, "eu-west-2", sample_config.environment("dev"))
    lines = {line.item: line for line in cost.lines}
    people = sum(u.job_function.value == "data_scientist" for u in sample_config.users)
    hours = notebook_hours(sample_config.environment("dev"))
    default = sample_config.environment("dev").studio.instance_types[0]
    apps = lines[f"Studio JupyterLab apps {default} x{people}"]
    assert apps.quantity == pytest.approx(people * hours)  # working hours, not 730 h
    assert apps.unit_price == table["studio_app_hour"][default] > 0
    assert "billed only while running" in apps.note
    home = lines["Studio home directories (EFS Standard)"]
    assert home.unit == "GB-months" and home.unit_price == table["efs_standard_gb_month"]
    assert home.quantity == people * P.ASSUMPTIONS["studio_home_gb_per_person"]
    spaces = lines["Studio space volumes (ML storage)"]
    assert spaces.unit_price == table["ml_storage_gb_month"]
    assert lines[f"Studio domain (1) and user profiles ({people})"].monthly == 0
    assert not any(item.startswith("Notebook") for item in lines)
    # the notebook environment: notebooks, no Studio
    notebook_lines = {line.item for line in estimate(_dev(notebook_synth)["dev"], "eu-west-2",
                                                     notebook_config.environment("dev")).lines}
    assert any(item.startswith("Notebooks ml.") for item in notebook_lines)
    assert not any(item.startswith("Studio") for item in notebook_lines)


def test_every_studio_price_names_its_source_page() -> None:
    for key in ("studio_app_hour", "efs_standard_gb_month"):
        assert P.SOURCES[key].startswith("https://aws.amazon.com/")
        for region, table in P.PRICES.items():
            assert key in table, (region, key)
    # the review pack marks them unconfirmed: the build cannot read the pricing pages
    assert not P.confirmed("eu-west-2", "efs_standard_gb_month")


def test_overview_and_diagram_show_studio_in_dev(synth, sample_config) -> None:
    from review.diagram import environment_dot
    from review.overview import environment_facts, overview_dot

    assembly = load_assembly(synth.outdir)
    facts = environment_facts(assembly.environments["dev"])
    people = sum(u.job_function.value == "data_scientist" for u in sample_config.users)
    assert facts["in_vpc"]["Studio domains (VpcOnly)"] == 1
    assert facts["in_vpc"]["Studio user profiles (apps in the VPC)"] == people
    assert "notebooks" not in facts["in_vpc"]
    assert "Studio domains (VpcOnly)" not in environment_facts(assembly.environments["prod"])["in_vpc"]
    dot = overview_dot(assembly, {e: sample_config.environment(e) for e in assembly.names})
    assert "1 Studio domains (VpcOnly)" in dot
    assert "Studio" in environment_dot(assembly.tree, "dev")
