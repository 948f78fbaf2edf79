#!/usr/bin/env python3
"""Wall time of `make synth` (every gate: four cdk-nag packs, cfn-guard, the app's gate, then
the review pack), the command a user runs, in one run of this script:

1. sample configuration, cold: empty caches (cfn-guard results and its unpacked bundle,
   compliance/_guard.py; CDK's validator, compliance/_cfn_validate.py; the review pack's
   diagrams and test discovery, review/);
2. sample configuration, warm: the same again, nothing changed (target <= 15 s);
3. one user changed (a data scientist added): only the changed templates are re-checked by
   cfn-guard (target <= 10 s);
4. 500 data scientists, every gate, the cache warm from the runs above (target <= 45 s);
5. 500 data scientists again, nothing changed;
6. 3 and 500 data scientists on Studio (dev's workspace in the sample), each from empty
   caches, run back to back; the same pair with dev on notebook instances (issue 15: the
   500-person synth at most 1.5x the 3-person one). The two runs of a pair are adjacent and
   their order alternates between repetitions, so a neighbour's load that drifts during the
   benchmark (this is a shared 2-CPU machine) falls on both: each repetition gives one
   ratio, and the median of those ratios is judged (the ratio of the two medians is shown
   too).

Each case is one `make synth CONFIG=... OUT=...` in a fresh process, with its own cache folders
(CFN_GUARD_CACHE, CFN_VALIDATE_CACHE, DIAGRAM_CACHE, REVIEW_CACHE) so that case 1 really
starts cold. Prints a Markdown table (and --out).

    .venv/bin/python bench/bench_gates.py --out bench/gates.md [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"sample, warm": 15.0, "one user changed": 10.0, "500 users, every gate": 45.0}
# Issue 15's comparisons: dev's workspace -> the 3-person and the 500-person case.
PAIRS = {
    workspace: (f"3 users ({workspace}), cold", f"500 users ({workspace}), cold")
    for workspace in ("Studio", "notebook instances")
}


def _config(base: dict, folder: Path, name: str, *, users: int | None = None,
            extra_user: bool = False, workspace: str | None = None) -> Path:
    data = copy.deepcopy(base)
    if workspace is not None:
        data["environments"]["dev"]["workspace"] = workspace
    if users is not None:
        data["users"] = [u for u in data["users"] if u["job_function"] != "data_scientist"] + [
            {"name": f"ds-{i:03d}", "job_function": "data_scientist",
             "allowed_source_cidrs": ["203.0.113.0/24"]} for i in range(users)]
    if extra_user:
        data["users"].append({"name": "new-scientist", "job_function": "data_scientist",
                              "allowed_source_cidrs": ["203.0.113.0/24"]})
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_synth(config: Path, out: Path, cache: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process it ran). On a shared machine the wall time
    depends on the neighbours; the CPU time much less."""
    env = dict(
        os.environ,
        CFN_GUARD_CACHE=str(cache / "cfn-guard"),
        CFN_VALIDATE_CACHE=str(cache / "cfn-validate"),
        DIAGRAM_CACHE=str(cache / "diagrams"),
        REVIEW_CACHE=str(cache / "review"),
    )
    cpu, started = _cpu(), time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "synth",
                           f"CONFIG={config}", f"OUT={out}"], env=env, capture_output=True,
                          text=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"make synth failed for {config}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, _cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions of the whole sequence (median judged; default 3)")
    args = parser.parse_args()
    base = yaml.safe_load((ROOT / "config" / "platform.yaml").read_text())
    runs: dict[str, list[tuple[float, float, float]]] = {}
    for rep in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-gates-") as tmp:
            folder = Path(tmp)
            sample = _config(base, folder, "sample")
            changed = _config(base, folder, "one-more-user", extra_user=True)
            many = _config(base, folder, "users-500", users=500)
            nb_sample = _config(base, folder, "sample-nb", workspace="notebook_instance")
            nb_many = _config(base, folder, "users-500-nb", users=500,
                              workspace="notebook_instance")
            # (case, config, cache folder): one cache for the sequence a user goes through.
            cases = [("sample, cold", sample, "main"), ("sample, warm", sample, "main"),
                     ("one user changed", changed, "main"),
                     ("500 users, every gate", many, "main"),
                     ("500 users, nothing changed", many, "main")]
            # Issue 15's pairs (3 against 500 people, each from empty caches), adjacent, the
            # order alternating between repetitions.
            configs = {"Studio": (sample, many), "notebook instances": (nb_sample, nb_many)}
            for workspace, (small, big) in PAIRS.items():
                slug = "studio" if workspace == "Studio" else "nb"
                pair = [(small, configs[workspace][0], f"{slug}-3"),
                        (big, configs[workspace][1], f"{slug}-500")]
                cases += pair if rep % 2 == 0 else pair[::-1]
            for name, config, cache in cases:
                load = os.getloadavg()[0]
                seconds, cpu = make_synth(config, folder / f"out-{cache}", folder / cache)
                runs.setdefault(name, []).append((seconds, cpu, load))
                print(f"[{rep + 1}/{args.repeat}] {name}: {seconds:.1f} s wall, {cpu:.1f} s CPU, "
                      f"load {load:.1f}", file=sys.stderr)
    median = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
    lines = [f"`make synth`, every gate, on this machine ({os.cpu_count()} CPUs), "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; each case {args.repeat} "
             "time(s), every repetition from fresh caches; the median wall time is judged. "
             "Load = the 1-minute load average when the case started.", "",
             "| Case | Wall s (median) | Wall s (each run) | CPU s (median) | Load | Target (wall) | |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for name, rs in runs.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else ("met" if median[name] <= target else "MISSED")
        each = ", ".join(f"{r[0]:.1f}" for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        load = max(r[2] for r in rs)
        lines.append(f"| {name} | {median[name]:.1f} | {each} | {cpu:.1f} | {load:.1f} | "
                     f"{'' if target is None else f'<= {target:.0f}'} | {verdict} |")
    lines += ["", "500 data scientists against 3, both from empty caches, run back to back "
              "(target <= 1.5x; judged: the median of the repetitions' ratios):", ""]
    for label, (small, big) in PAIRS.items():
        ratios = [b[0] / a[0] for a, b in zip(runs[small], runs[big], strict=True)]
        judged = statistics.median(ratios)
        lines.append(
            f"- {label}: {judged:.2f}x ({'met' if judged <= 1.5 else 'MISSED'}); each repetition "
            + ", ".join(f"{b[0]:.1f} s / {a[0]:.1f} s = {r:.2f}x"
                        for a, b, r in zip(runs[small], runs[big], ratios, strict=True))
            + f"; ratio of the medians {median[big]:.1f} s / {median[small]:.1f} s = "
            f"{median[big] / median[small]:.2f}x")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
