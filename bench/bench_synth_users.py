#!/usr/bin/env python3
"""Synthesis time and stack sizes with 3, 100 and 500 data scientists, against an empty
CDK app on the same machine.

Each case runs in a fresh subprocess (so jsii/node start-up is counted every time) and
measures the wall time of: importing the app, building it from the configuration and
`app.synth()` WITH the four cdk-nag packs and acknowledgements and CDK's own template
validation, WITHOUT cfn-guard unless --cfn-guard (the Control Tower guard rules run per
template in a separate engine; `make synth` runs them). The empty app is
`App(); Stack(); synth()`. Each case runs --repeat times; the table shows the median.

Writes a Markdown table (stdout and --out) and exits non-zero if any stack has 450 or more
resources, a template reaches 80% of CloudFormation's 1 MB limit, a managed policy exceeds
6,144 characters, or (with --enforce-time) 500 users take 4 times the empty app or longer.

    .venv/bin/python bench/bench_synth_users.py --out bench/results.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_RESOURCES = 450
MAX_TEMPLATE_BYTES = int(0.8 * 1_000_000)
MAX_MANAGED_POLICY = 6144

EMPTY = """
from aws_cdk import App, Stack
app = App(outdir={outdir!r})
Stack(app, "Empty")
app.synth()
"""

PLATFORM = """
import sys, yaml
sys.path.insert(0, {root!r})
from platform_config import parse_config
from app import build_app
data = yaml.safe_load(open({config!r}))
data["users"] = [u for u in data["users"] if u["job_function"] != "data_scientist"] + [
    {{"name": f"ds-{{i:03d}}", "job_function": "data_scientist",
      "allowed_source_cidrs": ["203.0.113.0/24"]}} for i in range({users})]
for env in data["environments"].values():
    if env.get("notebooks_enabled", True) and {workspace!r}:
        env["workspace"] = {workspace!r}
build_app(parse_config(data), outdir={outdir!r}, cfn_guard={cfn_guard}).synth()
"""


def run(code: str, repeat: int) -> float:
    """Median wall time of ``repeat`` fresh processes (shared CI machines have noisy
    neighbours: single runs of the same case here differ by up to 50%)."""
    env = dict(os.environ, PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
               AWS_EC2_METADATA_DISABLED="true", CDK_DISABLE_VERSION_CHECK="true")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _policy_chars(document) -> int:
    def resolve(value):
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
                return "x" * 90  # a reference, counted as a long ARN
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value
    return len(json.dumps(resolve(document), separators=(",", ":")))


def stacks(outdir: Path) -> list[dict]:
    rows = []
    for path in sorted(outdir.glob("assembly-*/*.template.json")):
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        policies = [_policy_chars(r["Properties"]["PolicyDocument"]) for r in resources.values()
                    if r["Type"] == "AWS::IAM::ManagedPolicy"]
        rows.append({"stack": f"{path.parent.name.removeprefix('assembly-')}/{path.stem}",
                     "resources": len(resources),
                     "bytes": len(json.dumps(template, separators=(",", ":"))),
                     "largest_policy": max(policies, default=0)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[3, 100, 500])
    parser.add_argument("--config", default=str(ROOT / "config" / "platform.yaml"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--enforce-time", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per case; the table shows the median (default 3)")
    parser.add_argument("--workspace", choices=["notebook_instance", "studio"], default="",
                        help="the data scientists' workspace where notebooks are enabled "
                             "(default: as the configuration says)")
    parser.add_argument("--cfn-guard", action="store_true",
                        help="also run cfn-guard's Control Tower rules, as `make synth` does")
    args = parser.parse_args()

    problems: list[str] = []
    lines = ["| case | synth wall time (s, median) | x empty app | stacks | max resources/stack "
             "| max template bytes | largest managed policy (chars) |",
             "|---|---|---|---|---|---|---|"]
    guard = " (with cfn-guard)" if args.cfn_guard else ""
    if args.workspace:
        guard += f", {args.workspace}"
    with tempfile.TemporaryDirectory() as tmp:
        empty = run(EMPTY.format(outdir=f"{tmp}/empty"), args.repeat)
        lines.append(f"| empty CDK app | {empty:.1f} | 1.0 | 1 | 0 | - | - |")
        details = []
        for users in args.users:
            outdir = Path(tmp) / f"u{users}"
            seconds = run(PLATFORM.format(root=str(ROOT), config=args.config, users=users,
                                          outdir=str(outdir), cfn_guard=args.cfn_guard,
                                          workspace=args.workspace),
                          args.repeat)
            rows = stacks(outdir)
            lines.append(
                f"| {users} data scientists{guard} | {seconds:.1f} | {seconds / empty:.1f} | "
                f"{len(rows)} | {max(r['resources'] for r in rows)} | "
                f"{max(r['bytes'] for r in rows):,} | {max(r['largest_policy'] for r in rows):,} |")
            for r in rows:
                if r["resources"] >= MAX_RESOURCES:
                    problems.append(f"{users} users: {r['stack']} has {r['resources']} resources")
                if r["bytes"] >= MAX_TEMPLATE_BYTES:
                    problems.append(f"{users} users: {r['stack']} is {r['bytes']} bytes")
                if r["largest_policy"] > MAX_MANAGED_POLICY:
                    problems.append(f"{users} users: {r['stack']} policy {r['largest_policy']}")
            if args.enforce_time and users >= 500 and seconds >= 4 * empty:
                problems.append(f"{users} users took {seconds / empty:.1f}x the empty app")
            details.append((users, rows))
    lines += ["", "Per stack (largest case):", "", "| stack | resources | template bytes |",
              "|---|---|---|"]
    for row in details[-1][1]:
        lines.append(f"| {row['stack']} | {row['resources']} | {row['bytes']:,} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)
    for problem in problems:
        print(f"LIMIT BROKEN: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
