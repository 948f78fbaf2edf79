#!/usr/bin/env python3
"""False-alarm rate and detection power of the scheduled model-quality check.

A false alarm is the check saying ``degraded`` although the model did not change: the
labelled rows of a week are a sample, and a sample's AUC and accuracy scatter around the
model's true values. This script measures that rate by resampling unchanged predictions.

Data: a reference test set of ``--population`` predictions of a credit-default model (22 %
defaulters, class-conditional scores ``sigmoid(N(mu, 1))`` with ``mu`` chosen so the AUC is
about 0.78, the sample model's level). The baseline is that test set's metrics at threshold
0.5 (what evaluation.json registers with the model package). Then, for each sample size:

* **false alarms**: ``--trials`` samples of ``n`` rows drawn with replacement from the
  unchanged predictions, each checked with the configured tolerances
  (``{"auc": 0.02, "accuracy": 0.03}``, config/platform.yaml) by
  * the previous rule: degraded when any ``baseline - current > tolerance``;
  * the evidence rule (lambda/model_quality_metrics/model_quality_metrics_compare.py);
* **base-rate shift**: the same model, the default rate moved from 22 % to 40 %
  (class-conditional scores unchanged: a change in the population, not in the model);
* **power**: a model that really degraded (AUC about 0.70 and about 0.65).

Rates are shares of ``--trials`` with a 95 % Wilson interval. Target (exit status 1 when
missed, unless ``--no-enforce``): the evidence rule's false-alarm rate at 1,000 labelled rows
is at most 1 %.

Usage: python bench/bench_quality_false_alarms.py [--trials N] [--seed S] [--no-enforce]
       [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda" / "model_quality_metrics"))

from model_quality_metrics_compare import compare_with_baseline  # noqa: E402
from model_quality_metrics_core import MetricsAccumulator  # noqa: E402

THRESHOLD = 0.5
TOLERANCES = {"auc": 0.02, "accuracy": 0.03}
DEFAULT_RATE = 0.22
TARGET_FALSE_ALARMS_AT_1000 = 0.01
SIZES = (500, 1000, 2000, 5000)


def scores_for(rng: np.random.Generator, labels: np.ndarray, separation: float) -> np.ndarray:
    """Class-conditional scores: logit ~ N(-1.6, 1) for payers, N(-1.6 + separation, 1) for
    defaulters; AUC = Phi(separation / sqrt(2))."""
    logits = rng.normal(-1.6, 1.0, len(labels)) + separation * labels
    return 1.0 / (1.0 + np.exp(-logits))


def population(rng: np.random.Generator, rows: int, rate: float, separation: float
               ) -> tuple[np.ndarray, np.ndarray]:
    labels = (rng.random(rows) < rate).astype(bool)
    return labels, scores_for(rng, labels, separation)


def metrics_of(labels: np.ndarray, scores: np.ndarray):
    accumulator = MetricsAccumulator(THRESHOLD)
    accumulator.update(labels, scores.astype(np.float64))
    return accumulator.result()


def previous_rule(metrics, baseline: dict[str, float]) -> bool:
    return any(baseline[m] - (metrics.value(m) if metrics.value(m) is not None else -1) > t + 1e-9
               for m, t in TOLERANCES.items())


def wilson(hits: int, trials: int) -> tuple[float, float]:
    if trials == 0:
        return (0.0, 1.0)
    z, p = 1.959964, hits / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def alarm_rates(rng, labels, scores, baseline, n, trials) -> dict[str, float]:
    previous = evidence = 0
    for _ in range(trials):
        pick = rng.integers(0, len(labels), n)
        metrics = metrics_of(labels[pick], scores[pick])
        previous += previous_rule(metrics, baseline)
        evidence += compare_with_baseline(metrics, baseline, TOLERANCES, None)["degraded"]
    return {"previous": previous / trials, "evidence": evidence / trials,
            "evidence_hits": evidence, "previous_hits": previous, "trials": trials}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--population", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--no-enforce", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    separation = 1.09  # AUC ~ 0.78
    labels, scores = population(rng, args.population, DEFAULT_RATE, separation)
    reference = metrics_of(labels, scores)
    baseline = {"auc": reference.auc, "accuracy": reference.accuracy}
    print(f"reference test set: {args.population} rows, default rate {reference.positive_rate:.3f}, "
          f"AUC {reference.auc:.4f}, accuracy {reference.accuracy:.4f}; tolerances {TOLERANCES}; "
          f"{args.trials} trials per cell\n")

    scenarios = {"unchanged (false alarms)": (labels, scores)}
    big = 200_000
    scenarios["default rate 22% -> 40%, same model"] = population(rng, big, 0.40, separation)
    scenarios["degraded model, AUC ~0.70"] = population(rng, big, DEFAULT_RATE, 0.74)
    scenarios["degraded model, AUC ~0.65"] = population(rng, big, DEFAULT_RATE, 0.55)

    results: dict[str, dict[int, dict[str, float]]] = {}
    print("| scenario | labelled rows | previous rule: alarms | evidence rule: alarms (95% CI) |")
    print("|---|---|---|---|")
    for name, (ys, ss) in scenarios.items():
        results[name] = {}
        for n in SIZES:
            rates = alarm_rates(rng, ys, ss, baseline, n, args.trials)
            results[name][n] = rates
            low, high = wilson(rates["evidence_hits"], args.trials)
            print(f"| {name} | {n:,} | {rates['previous']:.1%} | {rates['evidence']:.1%} "
                  f"({low:.1%}-{high:.1%}) |", flush=True)

    at_1000 = results["unchanged (false alarms)"][1000]["evidence"]
    ok = at_1000 <= TARGET_FALSE_ALARMS_AT_1000
    print(f"\ntarget: false-alarm rate at 1,000 rows <= {TARGET_FALSE_ALARMS_AT_1000:.0%}: "
          f"{at_1000:.2%} -> {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"baseline": baseline, "results": {
            k: {str(n): v for n, v in r.items()} for k, r in results.items()}}, indent=2))
    return 0 if ok or args.no_enforce else 1


if __name__ == "__main__":
    sys.exit(main())
