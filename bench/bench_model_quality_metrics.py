#!/usr/bin/env python3
"""Benchmark of the model-quality metrics computation (lambda/model_quality_metrics).

Generates a CSV of ``label,score`` rows (1,000,000 by default; scores are float32 model
outputs written in shortest round-trip form, e.g. ``0.64818984``, as XGBoost's batch transform
writes them) in a temporary folder, then measures, in the same run:

* ``pyarrow``: pyarrow's plain read of the file, ``pyarrow.csv.read_csv(path)``;
* ``ours``:    ``compute_metrics`` end to end, from the file to the exact metrics;
* ``naive``:   a straightforward implementation, ``pandas.read_csv`` then scikit-learn's
  ``roc_auc_score``, ``accuracy_score``, ``precision_score``, ``recall_score``, ``f1_score``
  and ``confusion_matrix``.

Every measurement runs in its own subprocess so that imports, caches and peak memory do not
contaminate each other. Wall time is the best of ``--rounds`` x ``--repeat`` runs (one run
per round for the slow naive implementation); rounds interleave the implementations so that
a noisy neighbour hits all of them alike. CPU time (all threads) is reported alongside: it is
less sensitive to other load on the machine.
Memory of ours is measured in two more subprocesses: the peak RSS growth during one run
(``ru_maxrss`` minus the RSS before the run, after a warm-up on a tiny file) and the peak of
allocations (``tracemalloc`` for numpy/Python plus pyarrow's memory-pool peak).

Targets (exit status 1 when one is missed, unless ``--no-enforce``): ours <= 3x the pyarrow
read; ours >= 5x faster than the naive implementation; ours' peak memory < 2x the file size.
The metrics of ours and of scikit-learn must also agree (1e-12), or the run fails.

Usage: python bench/bench_model_quality_metrics.py [--rows N] [--rounds R] [--repeat K]
       [--no-enforce] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda" / "model_quality_metrics"
THRESHOLD = 0.5

TARGET_VS_READ = 3.0
TARGET_SPEEDUP = 5.0
TARGET_MEMORY = 2.0

KINDS = {
    "pyarrow": "pyarrow.csv.read_csv (plain read)",
    "ours": "ours: file -> exact metrics",
    "naive": "pandas.read_csv + scikit-learn",
}


# ----------------------------------------------------------------------------- data


def generate(path: Path, rows: int, seed: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    labels = rng.random(rows) < 0.3
    scores = np.clip(rng.normal(0.35 + 0.3 * labels, 0.2), 0.0, 1.0).astype(np.float32)
    table = pa.table({"label": pa.array(labels.astype(np.int8)), "score": pa.array(scores)})
    with open(path, "wb") as handle:
        handle.write(b"label,score\n")
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))


# ----------------------------------------------------------------------------- children


def _run_pyarrow(path: str) -> dict:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path)
    return {"rows": table.num_rows}


def _run_ours(path: str) -> dict:
    from model_quality_metrics_evaluate import CombinedFile, compute_metrics

    return compute_metrics(CombinedFile(path), THRESHOLD).to_dict()


def _run_naive(path: str) -> dict:
    import pandas as pd
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    frame = pd.read_csv(path)
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    predicted = (s >= THRESHOLD).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "auc": float(roc_auc_score(y, s)),
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "row_count": int(len(y)),
    }


RUNNERS = {"pyarrow": _run_pyarrow, "ours": _run_ours, "naive": _run_naive}


def _current_rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(mode: str, kind: str, path: str, repeat: int, warmup: str) -> dict:
    sys.path.insert(0, str(LAMBDA_DIR))
    runner = RUNNERS[kind]
    runner(warmup)  # imports, thread pools, first-call costs
    if mode == "time":
        times, cpu, result = [], [], None
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = runner(path)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)  # all threads of the process
        return {"times": times, "cpu": cpu, "result": result}
    if mode == "rss":
        import resource

        before = _current_rss()
        runner(path)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"rss_growth": max(0, peak - before)}
    if mode == "alloc":
        import tracemalloc

        import pyarrow as pa

        pools = [pa.default_memory_pool()]
        if kind == "ours":
            from model_quality_metrics_csv import _POOL  # the pool the reader allocates from

            pools.append(_POOL)
        # max_memory() is a lifetime peak: the warm-up's is tiny, so the delta is this run's.
        before = [pool.max_memory() for pool in pools]
        tracemalloc.start()
        runner(path)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        arrow = sum(max(0, pool.max_memory() - start) for pool, start in zip(pools, before))
        return {"traced_peak": traced, "arrow_pool_peak": arrow}
    raise ValueError(mode)


def spawn(mode: str, kind: str, path: Path, repeat: int, warmup: Path) -> dict:
    command = [sys.executable, __file__, "--_child", mode, kind, str(path), str(repeat), str(warmup)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child {mode}/{kind} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def _check_agreement(ours: dict, naive: dict) -> list[str]:
    problems = []
    for key in ("auc", "accuracy", "precision", "recall", "f1"):
        if abs(ours[key] - naive[key]) > 1e-12:
            problems.append(f"{key}: ours {ours[key]!r} != scikit-learn {naive[key]!r}")
    if ours["confusion_matrix"] != naive["confusion_matrix"] or ours["row_count"] != naive["row_count"]:
        problems.append("confusion matrix or row count differ from scikit-learn")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (one subprocess per kind each)")
    parser.add_argument("--repeat", type=int, default=4, help="timed runs per subprocess")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-enforce", action="store_true", help="report only; exit 0 even if a target is missed")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mq-bench-") as folder:
        path = Path(folder) / "predictions_and_labels.csv"
        warmup = Path(folder) / "warmup.csv"
        generate(path, args.rows, args.seed)
        generate(warmup, 2_000, args.seed + 1)
        size = path.stat().st_size

        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
        results: dict[str, dict] = {}
        for _ in range(args.rounds):
            for kind in KINDS:
                # The slow naive implementation needs fewer samples: its target has margin.
                repeat = 1 if kind == "naive" else args.repeat
                measured = spawn("time", kind, path, repeat, warmup)
                times[kind].extend(measured["times"])
                cpu[kind].extend(measured["cpu"])
                results[kind] = measured["result"]
        rss = {kind: spawn("rss", kind, path, 1, warmup)["rss_growth"] for kind in KINDS}
        alloc = spawn("alloc", "ours", path, 1, warmup)

    best = {kind: min(values) for kind, values in times.items()}
    best_cpu = {kind: min(values) for kind, values in cpu.items()}
    vs_read = best["ours"] / best["pyarrow"]
    speedup = best["naive"] / best["ours"]
    ours_peak = rss["ours"]
    ours_alloc = alloc["traced_peak"] + alloc["arrow_pool_peak"]
    memory_ratio = max(ours_peak, ours_alloc) / size
    disagreements = _check_agreement(results["ours"], results["naive"])

    print(f"## Model-quality metrics benchmark ({args.rows:,} rows)\n")
    print(
        f"File: {_mib(size)} ({size:,} bytes, {size / args.rows:.1f} B/row). Machine: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {_version('numpy')}, pyarrow {_version('pyarrow')}. "
        f"Best of {len(times['ours'])} runs ({len(times['naive'])} for the naive one), interleaved.\n"
    )
    print("| implementation | best wall time | vs pyarrow read | best CPU time (all threads) | peak RSS growth |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, label in KINDS.items():
        print(
            f"| {label} | {best[kind] * 1000:.1f} ms | {best[kind] / best['pyarrow']:.2f}x "
            f"| {best_cpu[kind] * 1000:.1f} ms | {_mib(rss[kind])} |"
        )
    print()
    print(
        f"Ours, allocation peak: {_mib(alloc['traced_peak'])} numpy/Python (tracemalloc) + "
        f"{_mib(alloc['arrow_pool_peak'])} pyarrow pool = {_mib(ours_alloc)}.\n"
    )
    checks = [
        ("ours / pyarrow read time", f"{vs_read:.2f}x", f"<= {TARGET_VS_READ:g}x", vs_read <= TARGET_VS_READ),
        ("naive / ours time (speed-up)", f"{speedup:.1f}x", f">= {TARGET_SPEEDUP:g}x", speedup >= TARGET_SPEEDUP),
        (
            "ours peak memory / file size",
            f"{memory_ratio:.2f}x",
            f"< {TARGET_MEMORY:g}x",
            memory_ratio < TARGET_MEMORY,
        ),
        ("ours == scikit-learn (1e-12)", "yes" if not disagreements else "NO", "equal", not disagreements),
    ]
    print("| target | measured | limit | met |")
    print("| --- | ---: | ---: | :---: |")
    for name, value, limit, ok in checks:
        print(f"| {name} | {value} | {limit} | {'yes' if ok else 'NO'} |")
    for problem in disagreements:
        print(f"\n- {problem}")
    print(f"\nBenchmark took {time.perf_counter() - started:.1f} s.")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "rows": args.rows,
                    "file_bytes": size,
                    "best_seconds": best,
                    "all_seconds": times,
                    "cpu_seconds": cpu,
                    "peak_rss_growth_bytes": rss,
                    "ours_allocation_peak_bytes": alloc,
                    "ratios": {"ours_vs_read": vs_read, "speedup_vs_naive": speedup, "memory_vs_file": memory_ratio},
                    "metrics": results["ours"],
                },
                indent=2,
            )
        )
    missed = [name for name, _, _, ok in checks if not ok]
    if missed and not args.no_enforce:
        print(f"\nTargets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        _, _, mode, kind, path, repeat, warmup = sys.argv
        print(json.dumps(child(mode, kind, path, int(repeat), warmup)))
        sys.exit(0)
    sys.exit(main())
