"""Change review (`make review BASELINE=...`): two assemblies synthesized from two
configurations, and exactly what the diff reports between them, both ways; the pipeline gate
(--fail-on-broaden); git-ref baselines; and, on small hand-built stacks, security-group,
resource-policy, encryption and retention changes."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from review import prices as P
from review.change import BaselineError, resolve_baseline, review_change

ROOT = Path(__file__).resolve().parents[1]
NEW_USER = {"name": "ana-costa", "job_function": "data_scientist",
            "allowed_source_cidrs": ["203.0.113.0/24"], "notebook_instance_type": "ml.t3.medium"}
SHARD = "Access-Shard05"  # hash("ana-costa") % 8 and hash("raj-patel") % 8 both give shard 5


def _candidate(data: dict) -> dict:
    """One more user, raj-patel's second source range widened from /28 to /24, and dev's
    interface endpoints in two AZs instead of one."""
    cand = copy.deepcopy(data)
    cand["users"].append(dict(NEW_USER))
    raj = next(u for u in cand["users"] if u["name"] == "raj-patel")
    assert raj["allowed_source_cidrs"] == ["203.0.113.0/24", "198.51.100.16/28"]
    raj["allowed_source_cidrs"] = ["203.0.113.0/24", "198.51.100.0/24"]
    assert cand["environments"]["dev"]["endpoint_az_count"] == 1
    cand["environments"]["dev"]["endpoint_az_count"] = 2
    return cand


@pytest.fixture(scope="session")
def assemblies(sample_config_data, tmp_path_factory) -> tuple[Path, Path]:
    """(baseline, candidate): the dev stage only, on notebook instances, without the
    compliance checks (they are not what this diff is about, and they cost seconds). A
    workspace switch is tests/test_workspace_switch.py."""
    from app import build_app
    from platform_config.loader import parse_config

    base = copy.deepcopy(sample_config_data)
    base["environments"]["dev"]["workspace"] = "notebook_instance"
    out = []
    for name, data in (("baseline", base), ("candidate", _candidate(base))):
        outdir = tmp_path_factory.mktemp(name)
        build_app(parse_config(data), outdir=str(outdir), compliance=False, environments=("dev",)).synth()
        out.append(outdir)
    return out[0], out[1]


@pytest.fixture(scope="session")
def forward(assemblies, notebook_config):
    return review_change(*assemblies, config=notebook_config)


def _rows(change, *, broadens=None):
    return sorted((s.change, s.verdict, s.kind, s.effect, tuple(s.principals)) for s in change.statements
                  if broadens is None or s.broadens == broadens)


def test_change_that_adds_a_user_and_widens_a_range_broadens_access(forward) -> None:
    dev = forward.envs["dev"]
    ana, raj = f"AWS:${{{SHARD}/User-ana-costa/AccessRole}}", f"AWS:${{{SHARD}/User-raj-patel/AccessRole}}"
    saml = "Federated:arn:aws:iam::111111111111:saml-provider/CorpIdP"
    assert _rows(dev, broadens=True) == sorted([
        ("added", "new grant", "trust policy", "Allow", (saml,)),
        ("added", "new grant", "trust policy", "Allow", ("Service:sagemaker.amazonaws.com",)),
        ("added", "new grant", "identity policy", "Allow", (ana,)),
        ("added", "broadened", "identity policy", "Allow", (raj,)),
        ("removed", "deny removed or narrowed", "identity policy", "Deny", (raj,)),
    ])
    assert _rows(dev, broadens=False) == sorted([
        ("added", "new deny", "identity policy", "Deny", (ana,)),
        ("added", "new deny", "identity policy", "Deny", (ana,)),
        ("added", "new deny", "identity policy", "Deny", (raj,)),
        ("removed", "replaced", "identity policy", "Allow", (raj,)),
    ])
    widened = next(s for s in dev.statements if s.verdict == "broadened")
    assert widened.condition == {"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.113.0/24"]}}
    assert widened.resources == ["arn:aws:sagemaker:eu-west-2:111111111111:notebook-instance/mlp-dev-raj-patel"]
    assert widened.sources == [f"{SHARD}/User-raj-patel/AccessPolicy"]
    trust = next(s for s in dev.statements if s.principals == [saml])
    assert trust.resources == [f"${{{SHARD}/User-ana-costa/AccessRole.Arn}}"]
    assert trust.condition["StringEquals"]["sts:RoleSessionName"] == "ana-costa"
    assert sorted(dev.managed_policies) == sorted(
        [("added", f"${{{SHARD}/User-ana-costa/ExecutionRole}}", f"arn:aws:iam::111111111111:policy/mlp-dev-{p}")
         for p in ("ds-data", "ds-sagemaker", "ds-guardrails", "ds-kms-guardrails",
                   "package-mirror-read")]
        + [("added", f"${{{SHARD}/User-ana-costa/AccessRole}}", "arn:aws:iam::111111111111:policy/mlp-dev-nb-access-ana-costa")])
    assert dev.reasons() == ["5 IAM statement(s) grant more", "6 managed polic(ies) attached"]
    assert forward.broadens
    assert forward.verdict == ("broadens access: yes (dev: 5 IAM statement(s) grant more, "
                               "6 managed polic(ies) attached)")


def test_one_more_endpoint_az_is_a_network_change_that_does_not_broaden(forward, assemblies, notebook_config) -> None:
    from review.assembly import load_assembly

    dev = forward.envs["dev"]
    endpoints = [r for r in load_assembly(assemblies[0]).environments["dev"].of_type("AWS::EC2::VPCEndpoint")
                 if r.props.get("VpcEndpointType") == "Interface"]
    assert len(endpoints) == 15
    assert {(n.what, n.broadens) for n in dev.network} == {("endpoint AZs changed", False)}
    assert sorted(n.detail.split("`")[1] for n in dev.network) == sorted(r.short_path for r in endpoints)
    assert all(": 1 → 2 AZ" in n.detail for n in dev.network)
    # the idle cost grows by one endpoint-AZ per interface endpoint, plus the new user's
    # ml.t3.medium notebook (instance hours and its ML storage volume)
    from review.cost import notebook_hours

    table = P.for_region("eu-west-2")[1]
    volume = next(r for r in load_assembly(assemblies[1]).environments["dev"].of_type("AWS::SageMaker::NotebookInstance")
                  if "ana-costa" in r.path).props.get("VolumeSizeInGB") or P.ASSUMPTIONS["notebook_volume_gb_default"]
    expected = (15 * P.HOURS_PER_MONTH * table["vpc_interface_endpoint_az_hour"]
                + notebook_hours(notebook_config.environment("dev")) * table["notebook_instance_hour"]["ml.t3.medium"]
                + int(volume) * table["ml_storage_gb_month"])
    before, after = dev.cost
    assert after - before == pytest.approx(expected, abs=0.03)
    assert dev.settings == [] and dev.controls == []
    # compliance=False still runs the always-on plugins: their acknowledgements are compared
    assert forward.ack_note == "" and dev.acks_added == [] and dev.acks_removed == []


def test_reverting_the_change_does_not_broaden(assemblies, notebook_config) -> None:
    back = review_change(assemblies[1], assemblies[0], config=notebook_config)
    assert back.verdict == "broadens access: no"
    dev = back.envs["dev"]
    raj = f"AWS:${{{SHARD}/User-raj-patel/AccessRole}}"
    assert ("added", "narrowed or unchanged", "identity policy", "Allow", (raj,)) in _rows(dev)
    assert ("removed", "deny replaced by a wider one", "identity policy", "Deny", (raj,)) in _rows(dev)
    assert [s.verdict for s in dev.statements if s.effect == "Deny" and "ana-costa" in s.principals[0]] == [
        "removed with its principal"] * 2
    assert {c for c, _, _ in dev.managed_policies} == {"removed"}
    assert not any(n.broadens for n in dev.network)
    # ana-costa's notebook leaves the templates but not the account (Retain): called out
    assert [(w.change, w.name, w.deletion_policy, w.deletes_data) for w in dev.workspaces] == [
        ("removed", "mlp-dev-ana-costa", "Retain", False)]


def test_an_assembly_compared_with_itself_has_no_changes(assemblies) -> None:
    same = review_change(assemblies[0], assemblies[0])
    dev = same.envs["dev"]
    assert (dev.statements, dev.managed_policies, dev.network, dev.settings) == ([], [], [], [])
    assert dev.cost[0] == dev.cost[1]
    assert same.verdict == "broadens access: no"


def _review(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "review", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)


def test_fail_on_broaden_is_a_pipeline_gate(assemblies, tmp_path) -> None:
    base, cand = assemblies
    gate = _review(str(cand), "--no-diagrams", "--baseline", str(base), "--fail-on-broaden")
    assert gate.returncode == 3, gate.stderr
    assert "broadens access: yes" in gate.stdout
    assert "FAIL: the change broadens access" in gate.stderr
    html = (cand / "review" / "index.html").read_text()
    assert "broadens access: yes" in html and "IAM statements per principal" in html
    assert (cand / "review" / "change.md").is_file()
    back = _review(str(base), "--no-diagrams", "--baseline", str(cand), "--fail-on-broaden")
    assert back.returncode == 0, back.stderr
    assert "broadens access: no" in back.stdout
    # without the option a broadening change is reported, not failed
    assert _review(str(cand), "--no-diagrams", "--baseline", str(base)).returncode == 0
    assert _review(str(cand), "--no-diagrams", "--fail-on-broaden").returncode == 2
    bad = _review(str(cand), "--no-diagrams", "--baseline", str(tmp_path))
    assert bad.returncode == 2 and "manifest.json" in bad.stderr


def test_make_review_with_baseline_and_fail_on_broaden(assemblies) -> None:
    base, cand = assemblies
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    proc = subprocess.run(["make", "--no-print-directory", "review", f"OUT={cand}", f"BASELINE={base}",
                           "FAIL_ON_BROADEN=1"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "--fail-on-broaden" in proc.stdout and "broadens access: yes" in proc.stdout


def test_unknown_baseline_is_refused_with_what_to_pass(tmp_path) -> None:
    with pytest.raises(BaselineError, match="neither a cdk.out folder nor a git ref"):
        resolve_baseline("no-such-ref-xyz", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaselineError, match="without manifest.json"):
        resolve_baseline(str(tmp_path / "empty"), tmp_path)


def test_git_ref_is_synthesized_in_a_temporary_worktree(tmp_path) -> None:
    """A throwaway repository whose app.py writes a one-stack assembly where `cdk synth`
    says, with the configuration (-c config=...) the ref carries: the ref is checked out, synthesized with this venv,
    and the worktree removed."""
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    app = ("import os\nfrom pathlib import Path\nfrom aws_cdk import App, Stack, aws_sns as sns\n"
           "app = App(outdir=os.environ['CDK_OUTDIR'])\n"
           "stack = Stack(app, 'Solo')\n"
           "sns.Topic(stack, Path(app.node.try_get_context('config')).read_text().strip())\n"
           "app.synth()\n")
    (repo / "app.py").write_text(app)
    (repo / "cdk.json").write_text('{"app": "python3 app.py"}')
    (repo / "config" / "platform.yaml").write_text("AtTheRef\n")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                              env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
                                       GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")).stdout

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "baseline")
    git("tag", "v1")
    (repo / "config" / "platform.yaml").write_text("AfterTheRef\n")  # uncommitted: must not be used
    out, label = resolve_baseline("v1", tmp_path / "work", root=repo, config=repo / "config" / "platform.yaml")
    assert "git ref `v1`" in label
    template = next(out.glob("Solo.template.json")).read_text()
    assert "AtTheRef" in template and "AfterTheRef" not in template
    assert git("worktree", "list").count("\n") == 1  # the temporary worktree is gone


# --- hand-built stacks: network, resource policies, encryption and retention ----------------

def _small_app(outdir: Path, *, cidr: str, principal: str, rotation: bool, retention: str) -> Path:
    from aws_cdk import App, RemovalPolicy, Stack, aws_ec2 as ec2, aws_iam as iam, aws_kms as kms
    from aws_cdk import aws_logs as logs, aws_s3 as s3

    app = App(outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    stack = Stack(app, "Net")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0, restrict_default_security_group=False,
                  subnet_configuration=[ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    sg = ec2.SecurityGroup(stack, "Sg", vpc=vpc, allow_all_outbound=False)
    sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443))
    key = kms.Key(stack, "Key", enable_key_rotation=rotation, removal_policy=RemovalPolicy.RETAIN)
    bucket = s3.Bucket(stack, "Data", encryption_key=key, removal_policy=RemovalPolicy.RETAIN)
    bucket.add_to_resource_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("*")],
                                                      principals=[iam.ArnPrincipal(principal)]))
    logs.LogGroup(stack, "Logs", retention=getattr(logs.RetentionDays, retention), removal_policy=RemovalPolicy.RETAIN)
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = _small_app(tmp_path_factory.mktemp("small-base"), cidr="10.0.0.0/24",
                      principal="arn:aws:iam::111111111111:role/reader", rotation=True, retention="ONE_YEAR")
    cand = _small_app(tmp_path_factory.mktemp("small-cand"), cidr="10.0.0.0/16",
                      principal="arn:aws:iam::999999999999:role/reader", rotation=False, retention="ONE_MONTH")
    return base, cand


def test_widened_security_group_cidr_broadens_and_narrowing_does_not(small) -> None:
    base, cand = small
    net = review_change(base, cand).envs["Net"].network
    assert [(n.what, n.broadens) for n in net] == [("ingress rule added", True), ("ingress rule removed", False)]
    assert "tcp 443 10.0.0.0/16" in net[0].detail and "(was: " in net[0].detail and "10.0.0.0/24" in net[0].detail
    back = review_change(cand, base).envs["Net"].network
    assert [(n.what, n.broadens) for n in back] == [("ingress rule changed (not broader)", False)]


def test_bucket_policy_for_another_account_is_a_broadening_resource_policy(small) -> None:
    base, cand = small
    env = review_change(base, cand).envs["Net"]
    policy = [s for s in env.statements if s.kind.startswith("resource policy")]
    assert sorted((s.change, s.kind, s.verdict, tuple(s.principals)) for s in policy) == [
        ("added", "resource policy (bucket)", "new grant", ("AWS:arn:aws:iam::999999999999:role/reader",)),
        ("removed", "resource policy (bucket)", "removed", ("AWS:arn:aws:iam::111111111111:role/reader",)),
    ]
    assert env.broadens


def test_key_rotation_off_and_shorter_log_retention_are_weakened_settings(small) -> None:
    base, cand = small
    env = review_change(base, cand).envs["Net"]
    assert sorted((s.resource.split("`")[1], s.setting, s.old, s.new, s.weakens) for s in env.settings) == [
        ("Key", "EnableKeyRotation", "true", "false", True),
        ("Logs", "RetentionInDays", "365", "30", True),
    ]
    assert env.weakens
    assert not any(s.weakens for s in review_change(cand, base).envs["Net"].settings)
