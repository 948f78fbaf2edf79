"""Pre- and post-training bias metrics with the SageMaker Clarify definitions.

Runs as a SageMaker processing job on the scikit-learn processing image (only numpy and
pandas are needed: post-training metrics use ``evaluate.py``'s ``predictions.csv``), or
locally.

Groups and sign conventions (as in SageMaker Clarify)
    * facet: the sensitive column (``--facet-column``, default ``SEX``);
    * **d, the disadvantaged / sensitive group**: rows whose facet value is one of
      ``--facet-values`` (default ``2``, female in the UCI coding), or, for a numeric facet
      given ``--facet-threshold``, rows whose value is greater than the threshold;
    * **a, the advantaged group**: every other row;
    * the **positive outcome** is the label value passed as ``--positive-outcome``
      (Clarify's ``label_values_or_threshold``). Clarify means the *favourable* outcome, so
      for this model it defaults to ``0``: "no default", i.e. credit is granted. q is the
      share of rows with the positive outcome in the labels, q' in the predicted labels.

Metrics (n = rows; TP/FN/... with respect to the positive outcome)
    Pre-training (labels only)
        CI   = (n_a - n_d) / (n_a + n_d)                 class imbalance, in [-1, 1]
        DPL  = q_a - q_d                                 difference in positive proportions
                                                         in labels
    Post-training (labels and predicted labels)
        DI   = q'_d / q'_a                               disparate impact
                                                         (four-fifths rule: 0.8-1.25)
        DPPL = q'_a - q'_d                               difference in positive proportions
                                                         in predicted labels
        RD   = TP_a/(TP_a+FN_a) - TP_d/(TP_d+FN_d)       recall difference (equal opportunity)
        AD   = ACC_a - ACC_d                             accuracy difference
    Positive DPL/DPPL/RD/AD and DI < 1 mean group d gets the positive outcome less often.

A metric whose denominator is zero (DI when q'_a = 0, RD when a group has no actual
positive outcome) is reported as ``null`` with a ``reason`` and flagged ``warn``; it does
not crash the step. A facet column, facet value or group that is missing or empty is a
configuration error and raises :class:`BiasConfigError`.

Reads
    ``--predictions`` (default ``/opt/ml/processing/input/predictions``): headed CSV with the
    label, the facet column and ``--predicted-label-column`` (``evaluate.py`` output).
    ``--pretraining-data`` (optional): the labelled data for the pre-training metrics, a
    headed CSV, or the header-less training CSV together with
    ``--pretraining-columns-from preprocess_params.json``. Without it the pre-training
    metrics use the labels in ``--predictions``.

Also writes ``monitor/analysis_config.json`` and ``monitor/analysis.json`` under
``--output-dir`` when ``--pretraining-columns-from`` names the served request layout
(``request_columns``): the bias-drift monitor's baseline (bias_monitor.py), which the
deployment workflow puts under the endpoint's baseline prefix.

Writes ``--output-dir`` (default ``/opt/ml/processing/bias``) / ``bias_report.json``::

    {
      "schema_version": "1.0", "step": "bias",
      "overall_flag": "pass" | "warn",          # Step Functions: $.overall_flag
      "warnings": ["DI: ..."],
      "metrics": {                               # also $.metrics.DI.value etc.
        "DI": {"name": "DI", "description": "Disparate Impact (DI)", "stage": "post_training",
               "value": 0.97 | null, "definition": "q'_d / q'_a ...", "flag": "pass" | "warn",
               "threshold": {"min": 0.8, "max": 1.25}, "reason": null | "...",
               "components": {"q_prime_a": 0.8, "q_prime_d": 0.78, ...}},
        "CI": {...}, "DPL": {...}, "DPPL": {...}, "RD": {...}, "AD": {...}},
      "facet": {"column": "SEX", "disadvantaged_group_d": {"values": [2]},
                "advantaged_group_a": "...",
                "rows_excluded_missing_facet": {"pre_training": 0, "post_training": 0}},
      "label": {"column": "default", "positive_outcome": 0,
                "predicted_label_column": "predicted_label"},
      "groups": {"pre_training": {"n": .., "n_a": .., "n_d": ..}, "post_training": {...}},
      "thresholds": {...}, "inputs": {...sha256...},
      "pre_training_bias_metrics": {...},        # SageMaker Clarify analysis.json style
      "post_training_bias_metrics": {...}        #   (facets -> value_or_threshold -> metrics)
    }
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

try:
    from . import _common as common
    from . import bias_monitor
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]
    import bias_monitor  # type: ignore[no-redef]

BIAS_REPORT_FILENAME = "bias_report.json"
# The bias-drift monitor's baseline (bias_monitor.py): analysis_config.json and analysis.json.
MONITOR_FOLDER = "monitor"

DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "CI": {"max_abs": 0.5},
    "DPL": {"max_abs": 0.1},
    "DI": {"min": 0.8, "max": 1.25},
    "DPPL": {"max_abs": 0.1},
    "RD": {"max_abs": 0.1},
    "AD": {"max_abs": 0.1},
}
DESCRIPTIONS = {
    "CI": ("Class Imbalance (CI)", "pre_training", "(n_a - n_d) / (n_a + n_d)"),
    "DPL": (
        "Difference in Positive Proportions in Labels (DPL)",
        "pre_training",
        "q_a - q_d, q = rows with the positive outcome in the labels / n",
    ),
    "DI": (
        "Disparate Impact (DI)",
        "post_training",
        "q'_d / q'_a, q' = rows with the positive outcome in the predicted labels / n",
    ),
    "DPPL": (
        "Difference in Positive Proportions in Predicted Labels (DPPL)",
        "post_training",
        "q'_a - q'_d",
    ),
    "RD": (
        "Recall Difference (RD)",
        "post_training",
        "TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d), positive outcome as the positive class",
    ),
    "AD": ("Accuracy Difference (AD)", "post_training", "ACC_a - ACC_d, ACC = (TP + TN) / n"),
}


class BiasConfigError(ValueError):
    """The facet configuration does not fit the data (missing column, value or group)."""


# ----------------------------------------------------------------------------- groups
def facet_mask(
    values: pd.Series,
    facet_values: Sequence[Any] | None = None,
    facet_threshold: float | None = None,
    column: str = "facet",
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(is_d, usable)``: membership of the disadvantaged group d, and rows whose
    facet value is present (rows with a missing facet value belong to neither group)."""
    if (facet_values is None or len(facet_values) == 0) == (facet_threshold is None):
        raise BiasConfigError("give exactly one of facet values or a facet threshold")
    usable = values.notna().to_numpy()
    if not usable.any():
        raise BiasConfigError(f"facet column {column!r} has no values")
    numeric = pd.api.types.is_numeric_dtype(values)
    if facet_threshold is not None:
        if not numeric:
            raise BiasConfigError(
                f"a facet threshold needs a numeric facet column; {column!r} is not numeric"
            )
        is_d = (values > float(facet_threshold)).to_numpy() & usable
        if not is_d.any():
            raise BiasConfigError(
                f"no row has {column} > {facet_threshold}: the disadvantaged group d is empty"
            )
    else:
        present = values[usable]
        if numeric:
            try:
                wanted = [float(v) for v in facet_values]  # type: ignore[union-attr]
            except (TypeError, ValueError):
                raise BiasConfigError(
                    f"facet values {list(facet_values)} are not numbers but {column!r} is numeric"
                ) from None
            observed = set(float(v) for v in present.unique())
            is_d = values.isin(wanted).to_numpy() & usable
        else:
            wanted = [str(v) for v in facet_values]  # type: ignore[union-attr]
            observed = set(str(v) for v in present.unique())
            is_d = values.astype(str).isin(wanted).to_numpy() & usable
        absent = [v for v in wanted if v not in observed]
        if absent:
            raise BiasConfigError(
                f"facet value(s) {absent} not present in column {column!r} (present: "
                f"{sorted(observed, key=str)[:20]})"
            )
    if not (usable & ~is_d).any():
        raise BiasConfigError(
            f"the advantaged group a is empty: every row with a {column!r} value is in group d"
        )
    return is_d, usable


def _group_counts(outcome: np.ndarray, is_d: np.ndarray) -> dict[str, float]:
    n_d = int(is_d.sum())
    n_a = int((~is_d).sum())
    return {
        "n_a": n_a,
        "n_d": n_d,
        "positive_a": int(outcome[~is_d].sum()),
        "positive_d": int(outcome[is_d].sum()),
    }


def _metric(name: str, value: float | None, components: dict, reason: str | None = None) -> dict:
    description, stage, definition = DESCRIPTIONS[name]
    return {
        "name": name,
        "description": description,
        "stage": stage,
        "value": None if value is None else float(value),
        "definition": definition,
        "reason": reason,
        "components": components,
    }


# ----------------------------------------------------------------------------- metrics
def pretraining_metrics(
    labels: Sequence[Any], is_d: Sequence[bool], positive_outcome: Any = 0
) -> dict[str, dict]:
    """CI and DPL for labels and a boolean d-membership array (all rows belong to a or d)."""
    y = np.asarray(labels, dtype=float)
    d = np.asarray(is_d, dtype=bool)
    if y.shape != d.shape:
        raise ValueError("labels and group membership differ in length")
    if np.isnan(y).any():
        raise ValueError("labels contain missing values")
    outcome = (y == float(positive_outcome)).astype(int)
    c = _group_counts(outcome, d)
    if c["n_a"] == 0 or c["n_d"] == 0:
        raise BiasConfigError(f"both groups need rows (n_a={int(c['n_a'])}, n_d={int(c['n_d'])})")
    q_a = c["positive_a"] / c["n_a"]
    q_d = c["positive_d"] / c["n_d"]
    ci = (c["n_a"] - c["n_d"]) / (c["n_a"] + c["n_d"])
    return {
        "CI": _metric("CI", ci, {"n_a": c["n_a"], "n_d": c["n_d"]}),
        "DPL": _metric("DPL", q_a - q_d, {"q_a": q_a, "q_d": q_d, **c}),
    }


def posttraining_metrics(
    labels: Sequence[Any], predicted: Sequence[Any], is_d: Sequence[bool], positive_outcome: Any = 0
) -> dict[str, dict]:
    """DI, DPPL, RD and AD. Zero denominators give ``value: None`` with a reason."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(predicted, dtype=float)
    d = np.asarray(is_d, dtype=bool)
    if not (y.shape == p.shape == d.shape):
        raise ValueError("labels, predictions and group membership differ in length")
    if np.isnan(y).any() or np.isnan(p).any():
        raise ValueError("labels or predicted labels contain missing values")
    positive = float(positive_outcome)
    actual = y == positive
    pred = p == positive
    n_a, n_d = int((~d).sum()), int(d.sum())
    if n_a == 0 or n_d == 0:
        raise BiasConfigError(f"both groups need rows (n_a={n_a}, n_d={n_d})")

    def group(mask: np.ndarray) -> dict[str, int]:
        return {
            "n": int(mask.sum()),
            "predicted_positive": int((pred & mask).sum()),
            "tp": int((pred & actual & mask).sum()),
            "fn": int((~pred & actual & mask).sum()),
            "tn": int((~pred & ~actual & mask).sum()),
            "fp": int((pred & ~actual & mask).sum()),
        }

    a, dd = group(~d), group(d)
    qp_a = a["predicted_positive"] / a["n"]
    qp_d = dd["predicted_positive"] / dd["n"]
    metrics = {}
    if qp_a == 0:
        metrics["DI"] = _metric(
            "DI",
            None,
            {"q_prime_a": qp_a, "q_prime_d": qp_d},
            "undefined: no row of the advantaged group a is predicted the positive outcome (q'_a = "
            "0)",
        )
    else:
        metrics["DI"] = _metric("DI", qp_d / qp_a, {"q_prime_a": qp_a, "q_prime_d": qp_d})
    metrics["DPPL"] = _metric("DPPL", qp_a - qp_d, {"q_prime_a": qp_a, "q_prime_d": qp_d})

    empty = [name for name, g in (("a", a), ("d", dd)) if g["tp"] + g["fn"] == 0]
    recall_a = a["tp"] / (a["tp"] + a["fn"]) if a["tp"] + a["fn"] else None
    recall_d = dd["tp"] / (dd["tp"] + dd["fn"]) if dd["tp"] + dd["fn"] else None
    if empty:
        metrics["RD"] = _metric(
            "RD",
            None,
            {"recall_a": recall_a, "recall_d": recall_d},
            "undefined: group(s) {} have no row with the positive outcome in the labels (TP + FN "
            "= 0)".format(", ".join(empty)),
        )
    else:
        metrics["RD"] = _metric(
            "RD", recall_a - recall_d, {"recall_a": recall_a, "recall_d": recall_d}
        )
    acc_a = (a["tp"] + a["tn"]) / a["n"]
    acc_d = (dd["tp"] + dd["tn"]) / dd["n"]
    metrics["AD"] = _metric("AD", acc_a - acc_d, {"accuracy_a": acc_a, "accuracy_d": acc_d})
    for name in metrics:
        metrics[name]["components"]["group_a"] = a
        metrics[name]["components"]["group_d"] = dd
    return metrics


def merge_thresholds(
    overrides: dict[str, dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    thresholds = copy.deepcopy(DEFAULT_THRESHOLDS)
    for name, values in (overrides or {}).items():
        if name not in thresholds:
            raise ValueError(f"unknown bias metric {name!r} in thresholds")
        for key, value in values.items():
            if key not in thresholds[name]:
                raise ValueError(
                    f"threshold key {key!r} is not used for {name} (use {sorted(thresholds[name])})"
                )
            if value is not None:
                thresholds[name][key] = float(value)
    if thresholds["DI"]["min"] > thresholds["DI"]["max"]:
        raise ValueError("DI min threshold exceeds DI max")
    return thresholds


def flag_metric(metric: dict, threshold: dict[str, float]) -> dict:
    """Add ``flag`` (pass / warn) and ``threshold`` to a metric; null values are ``warn``."""
    out = dict(metric, threshold=dict(threshold))
    value = metric["value"]
    if value is None:
        out["flag"] = "warn"
        return out
    ok = True
    if "max_abs" in threshold:
        ok = ok and abs(value) <= threshold["max_abs"]
    if "min" in threshold:
        ok = ok and value >= threshold["min"]
    if "max" in threshold:
        ok = ok and value <= threshold["max"]
    out["flag"] = "pass" if ok else "warn"
    return out


def _clarify_section(
    metrics: dict[str, dict], stage: str, label: str, positive: Any, facet: str, d_spec: Any
) -> dict:
    chosen = [m for m in metrics.values() if m["stage"] == stage]
    return {
        "label": label,
        "label_value_or_threshold": str(positive),
        "facets": {
            facet: [
                {
                    "value_or_threshold": d_spec,
                    "metrics": [
                        {"name": m["name"], "description": m["description"], "value": m["value"]}
                        for m in chosen
                    ],
                }
            ]
        },
    }


def build_bias_report(
    facet_column: str,
    label_column: str = common.LABEL_COLUMN,
    pretraining: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
    facet_values: Sequence[Any] | None = None,
    facet_threshold: float | None = None,
    positive_outcome: Any = 0,
    predicted_label_column: str = "predicted_label",
    thresholds: dict[str, dict[str, float]] | None = None,
) -> dict:
    """Compute the ``bias_report.json`` content. ``pretraining`` defaults to ``predictions``."""
    if pretraining is None and predictions is None:
        raise BiasConfigError("need labelled data for pre-training metrics and/or predictions")
    if pretraining is None:
        pretraining = predictions
    limits = merge_thresholds(thresholds)
    metrics: dict[str, dict] = {}
    groups: dict[str, dict] = {}
    excluded: dict[str, int] = {}
    for stage, frame, needed in (
        ("pre_training", pretraining, [facet_column, label_column]),
        ("post_training", predictions, [facet_column, label_column, predicted_label_column]),
    ):
        if frame is None:
            continue
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise BiasConfigError(
                "{} data lacks column(s) {}".format(stage.replace("_", "-"), missing)
            )
        is_d, usable = facet_mask(frame[facet_column], facet_values, facet_threshold, facet_column)
        excluded[stage] = int((~usable).sum())
        rows = frame.loc[usable]
        d = is_d[usable]
        groups[stage] = {"n": int(len(rows)), "n_a": int((~d).sum()), "n_d": int(d.sum())}
        if stage == "pre_training":
            metrics.update(pretraining_metrics(rows[label_column].to_numpy(), d, positive_outcome))
        else:
            metrics.update(
                posttraining_metrics(
                    rows[label_column].to_numpy(),
                    rows[predicted_label_column].to_numpy(),
                    d,
                    positive_outcome,
                )
            )
    flagged = {name: flag_metric(metric, limits[name]) for name, metric in metrics.items()}
    warnings = []
    for name, metric in flagged.items():
        if metric["flag"] == "warn":
            warnings.append(
                "{}: {}".format(name, metric["reason"])
                if metric["value"] is None
                else "{} = {:.4f} outside {}".format(name, metric["value"], metric["threshold"])
            )
    if facet_threshold is not None:
        d_group: dict[str, Any] = {
            "threshold": float(facet_threshold),
            "rule": "facet value > threshold",
        }
        d_spec: Any = str(facet_threshold)
    else:
        d_group = {"values": list(facet_values or [])}
        d_spec = ",".join(str(v) for v in (facet_values or []))
    report = {
        "schema_version": "1.0",
        "step": "bias",
        "overall_flag": "warn" if warnings else "pass",
        "warnings": warnings,
        "metrics": flagged,
        "facet": {
            "column": facet_column,
            "disadvantaged_group_d": d_group,
            "advantaged_group_a": f"every other row with a value in {facet_column}",
            "rows_excluded_missing_facet": excluded,
        },
        "label": {
            "column": label_column,
            "positive_outcome": positive_outcome,
            "positive_outcome_note": (
                "the favourable outcome (Clarify label_values_or_threshold); for the "
                "credit-default label 0 = no default"
            ),
            "predicted_label_column": predicted_label_column if predictions is not None else None,
        },
        "groups": groups,
        "thresholds": limits,
    }
    report["pre_training_bias_metrics"] = _clarify_section(
        flagged, "pre_training", label_column, positive_outcome, facet_column, d_spec
    )
    if predictions is not None:
        report["post_training_bias_metrics"] = _clarify_section(
            flagged, "post_training", label_column, positive_outcome, facet_column, d_spec
        )
    return report


# ----------------------------------------------------------------------------- full Clarify set
# The SageMaker Clarify bias metrics (names as in Clarify's analysis.json; the docs call
# DCAcc "DCA" in smclarify). Definitions follow the Clarify documentation; the tests check
# every value against AWS's ``smclarify`` package.
PRETRAINING_METRICS = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
POSTTRAINING_METRICS = [
    "DPPL",
    "DI",
    "DCAcc",
    "DCR",
    "RD",
    "SD",
    "DAR",
    "DRR",
    "AD",
    "TE",
    "CDDPL",
    "FT",
    "GE",
]
METRIC_NAMES = {
    "CI": "Class Imbalance",
    "DPL": "Difference in Positive Proportions in Labels",
    "KL": "Kullback-Leibler Divergence",
    "JS": "Jensen-Shannon Divergence",
    "LP": "L-p Norm (p=2)",
    "TVD": "Total Variation Distance",
    "KS": "Kolmogorov-Smirnov Distance",
    "CDDL": "Conditional Demographic Disparity in Labels",
    "DPPL": "Difference in Positive Proportions in Predicted Labels",
    "DI": "Disparate Impact",
    "DCAcc": "Difference in Conditional Acceptance",
    "DCR": "Difference in Conditional Rejection",
    "RD": "Recall Difference",
    "SD": "Specificity Difference",
    "DAR": "Difference in Acceptance Rates",
    "DRR": "Difference in Rejection Rates",
    "AD": "Accuracy Difference",
    "TE": "Treatment Equality",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels",
    "FT": "Flip Test",
    "GE": "Generalized Entropy (alpha = 2)",
}
# Metrics the registration gate reads by default: the model's behaviour towards group d.
# CI and DPL describe the data (reported, flagged, not gated unless --gate-metrics says so).
DEFAULT_GATE_METRICS = ["DI", "DPPL", "RD", "AD"]
# Groups smaller than this are reported but not gated: the sampling error of a rate on
# fewer rows is larger than the thresholds (e.g. AD on 40 rows has a standard error ~0.06).
DEFAULT_MIN_GROUP_SIZE = 100
# One-sided confidence that a gated metric is beyond its threshold before the gate fails.
DEFAULT_GATE_CONFIDENCE = 0.95
# Facets evaluated besides SEX=2 when the command line names none (the protected attributes
# preprocess keeps out of the model: AGE in bands, MARRIAGE per value).
DEFAULT_EXTRA_FACETS = ["AGE_BAND", "MARRIAGE"]


def _ratio(numerator: float, denominator: float) -> tuple[float | None, str | None]:
    """Clarify's convention: 0/0 = 0; x/0 is infinite (reported as null with a reason)."""
    if denominator == 0:
        return (0.0, None) if numerator == 0 else (None, "infinite (division by zero)")
    return float(numerator) / float(denominator), None


def _difference(left: tuple[float | None, str | None], right: tuple[float | None, str | None]):
    if (
        left[0] is None
        and right[0] is None
        and "infinite" in str(left[1])
        and "infinite" in str(right[1])
    ):
        return 0.0, "both sides infinite (division by zero): 0 by Clarify's convention"
    if left[0] is None or right[0] is None:
        return None, "undefined: %s" % (left[1] or right[1])
    return left[0] - right[0], None


def _label_distributions(positive: np.ndarray, is_d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_a and P_d over the label values both groups have (Clarify drops the others)."""
    rows = []
    for value in (False, True):
        p_a = float((positive[~is_d] == value).mean())
        p_d = float((positive[is_d] == value).mean())
        if p_a > 0 and p_d > 0:
            rows.append((p_a, p_d))
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def _cdd(
    positive: np.ndarray, is_d: np.ndarray, group: np.ndarray | None
) -> tuple[float | None, str | None]:
    if group is None:
        return None, "needs a group variable (--group-variable)"
    if positive.all() or (~positive).all():
        return None, "undefined: needs both outcomes"
    total, weighted = 0, 0.0
    for value in pd.unique(group):
        in_group = group == value
        accepted = positive & in_group
        rejected = ~positive & in_group
        share_accepted = (accepted & is_d).sum() / accepted.sum() if accepted.sum() else 0.0
        share_rejected = (rejected & is_d).sum() / rejected.sum() if rejected.sum() else 0.0
        weighted += in_group.sum() * (share_rejected - share_accepted)
        total += in_group.sum()
    return float(weighted / total), None


def full_pretraining_metrics(
    positive: Sequence[bool], is_d: Sequence[bool], group: Sequence | None = None
) -> dict[str, tuple[float | None, str | None]]:
    """Every Clarify pre-training metric: ``{name: (value or None, reason or None)}``."""
    y = np.asarray(positive, dtype=bool)
    d = np.asarray(is_d, dtype=bool)
    n_a, n_d = int((~d).sum()), int(d.sum())
    if n_a == 0 or n_d == 0:
        raise BiasConfigError(f"both groups need rows (n_a={n_a}, n_d={n_d})")
    out: dict[str, tuple[float | None, str | None]] = {
        "CI": ((n_a - n_d) / (n_a + n_d), None),
        "DPL": (float(y[~d].mean() - y[d].mean()), None),
    }
    p_a, p_d = _label_distributions(y, d)
    if len(p_a) == 0:
        for name in ("KL", "JS", "LP", "TVD", "KS"):
            out[name] = (None, "undefined: the groups share no label value")
    else:
        mixture = (p_a + p_d) / 2
        out["KL"] = (float(np.sum(p_a * np.log(p_a / p_d))), None)
        out["JS"] = (
            float(
                0.5 * (np.sum(p_a * np.log(p_a / mixture)) + np.sum(p_d * np.log(p_d / mixture)))
            ),
            None,
        )
        out["LP"] = (float(np.sqrt(np.sum((p_a - p_d) ** 2))), None)
        out["TVD"] = (float(0.5 * np.sum(np.abs(p_a - p_d))), None)
        out["KS"] = (float(np.max(np.abs(p_a - p_d))), None)
    out["CDDL"] = _cdd(y, d, None if group is None else np.asarray(group))
    return out


def flip_test(features: np.ndarray, is_d: np.ndarray, predicted_positive: np.ndarray) -> float:
    """Clarify's FlipTest: a k-NN (k=5, or 1 when group a has 9 rows or fewer) fitted on group
    a's features and predicted labels, applied to group d; (flips to negative-for-the-model
    positive - the reverse) / n_d, as Clarify counts them."""
    from sklearn.neighbors import KNeighborsClassifier  # the scikit-learn image has it

    neighbours = 5 if int((~is_d).sum()) > 9 else 1
    knn = KNeighborsClassifier(n_neighbors=neighbours)
    knn.fit(features[~is_d], predicted_positive[~is_d])
    as_if_a = knn.predict(features[is_d]).astype(bool)
    model = predicted_positive[is_d]
    return float(((model & ~as_if_a).sum() - (~model & as_if_a).sum()) / int(is_d.sum()))


def full_posttraining_metrics(
    positive: Sequence[bool],
    predicted_positive: Sequence[bool],
    is_d: Sequence[bool],
    features: np.ndarray | None = None,
    group: Sequence | None = None,
) -> dict[str, tuple[float | None, str | None]]:
    """Every Clarify post-training metric: ``{name: (value or None, reason or None)}``."""
    y = np.asarray(positive, dtype=bool)
    p = np.asarray(predicted_positive, dtype=bool)
    d = np.asarray(is_d, dtype=bool)
    a = ~d
    if int(a.sum()) == 0 or int(d.sum()) == 0:
        raise BiasConfigError(f"both groups need rows (n_a={int(a.sum())}, n_d={int(d.sum())})")

    def count(mask: np.ndarray) -> int:
        return int(mask.sum())

    out: dict[str, tuple[float | None, str | None]] = {}
    qp_a, qp_d = count(p & a) / count(a), count(p & d) / count(d)
    out["DPPL"] = (qp_a - qp_d, None)
    out["DI"] = (qp_d / qp_a, None) if qp_a else (None, "undefined: q'_a = 0")
    # conditional acceptance / rejection: observed / predicted counts
    out["DCAcc"] = _difference(
        _ratio(count(y & a), count(p & a)), _ratio(count(y & d), count(p & d))
    )
    out["DCR"] = _difference(
        _ratio(count(~y & d), count(~p & d)), _ratio(count(~y & a), count(~p & a))
    )
    out["RD"] = _difference(
        _ratio(count(y & p & a), count(y & a)), _ratio(count(y & p & d), count(y & d))
    )
    out["SD"] = _difference(
        _ratio(count(~y & ~p & d), count(~y & d)), _ratio(count(~y & ~p & a), count(~y & a))
    )
    out["DAR"] = _difference(
        _ratio(count(y & p & a), count(p & a)), _ratio(count(y & p & d), count(p & d))
    )
    out["DRR"] = _difference(
        _ratio(count(~y & ~p & d), count(~p & d)), _ratio(count(~y & ~p & a), count(~p & a))
    )
    out["AD"] = (
        (count(y & p & a) + count(~y & ~p & a)) / count(a)
        - (count(y & p & d) + count(~y & ~p & d)) / count(d),
        None,
    )
    out["TE"] = _difference(
        _ratio(count(y & ~p & d), count(~y & p & d)), _ratio(count(y & ~p & a), count(~y & p & a))
    )
    out["CDDPL"] = _cdd(p, d, None if group is None else np.asarray(group))
    if features is None:
        out["FT"] = (
            None,
            "needs the model features (--pretraining-columns-from or --feature-columns)",
        )
    else:
        out["FT"] = (flip_test(np.asarray(features, dtype=float), d, p), None)
    benefit = p.astype(float) - y.astype(float) + 1.0
    mean_benefit = benefit.mean()
    if mean_benefit == 0:
        out["GE"] = (None, "undefined: every prediction is a false negative")
    else:
        out["GE"] = (float(((benefit / mean_benefit) ** 2 - 1).sum() / (len(benefit) * 2)), None)
    return out


class FacetSpec:
    """One facet: ``COLUMN`` (each value vs the rest), ``COLUMN=V1,V2`` or ``COLUMN>T``."""

    def __init__(
        self, column: str, values: Sequence[Any] | None = None, threshold: float | None = None
    ):
        if not column:
            raise BiasConfigError("a facet needs a column name")
        if values is not None and threshold is not None:
            raise BiasConfigError(f"facet {column}: give values or a threshold, not both")
        self.column, self.values, self.threshold = (
            column,
            (list(values) if values else None),
            threshold,
        )

    @classmethod
    def parse(cls, text: str) -> FacetSpec:
        text = text.strip()
        if ">" in text:
            column, threshold = text.split(">", 1)
            try:
                return cls(column.strip(), threshold=float(threshold))
            except ValueError:
                raise BiasConfigError(
                    f"facet {text!r}: the threshold after '>' must be a number"
                ) from None
        if "=" in text:
            column, values = text.split("=", 1)
            parsed = [_parse_scalar(v.strip()) for v in values.split(",") if v.strip()]
            if not parsed:
                raise BiasConfigError(f"facet {text!r}: no value after '='")
            return cls(column.strip(), values=parsed)
        return cls(text)

    def groups(self, values: pd.Series) -> list[tuple[str, list[Any] | None, float | None]]:
        """``(label, facet_values, facet_threshold)`` for each group d this spec defines."""
        if self.threshold is not None:
            return [(f">{_label(self.threshold)}", None, self.threshold)]
        if self.values is not None:
            return [(",".join(_label(v) for v in self.values), self.values, None)]
        present = sorted(values.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
        if len(present) < 2:
            raise BiasConfigError(
                f"facet {self.column!r} has fewer than two values: no group to compare"
            )
        return [(_label(v), [v], None) for v in present]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"FacetSpec({self.column!r}, {self.values!r}, {self.threshold!r})"


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _usable(frame: pd.DataFrame | None, columns: Sequence[str]) -> bool:
    return frame is not None and all(c in frame.columns for c in columns)


def _proportion_difference_se(hits_a: int, n_a: int, hits_d: int, n_d: int) -> float | None:
    if n_a == 0 or n_d == 0:
        return None
    p_a, p_d = hits_a / n_a, hits_d / n_d
    return float(np.sqrt(p_a * (1 - p_a) / n_a + p_d * (1 - p_d) / n_d))


def standard_errors(
    positive: np.ndarray, is_d: np.ndarray, predicted: np.ndarray | None = None
) -> dict[str, float | None]:
    """Normal-approximation standard errors of the gated metrics (independent groups).

    DI's is on the log scale (delta method). ``None`` where a rate has no rows."""
    y, d = np.asarray(positive, dtype=bool), np.asarray(is_d, dtype=bool)
    a = ~d
    n_a, n_d = int(a.sum()), int(d.sum())
    n = n_a + n_d
    share = n_d / n
    out: dict[str, float | None] = {
        "CI": float(2 * np.sqrt(share * (1 - share) / n)),
        "DPL": _proportion_difference_se(int((y & a).sum()), n_a, int((y & d).sum()), n_d),
    }
    if predicted is None:
        return out
    p = np.asarray(predicted, dtype=bool)
    out["DPPL"] = _proportion_difference_se(int((p & a).sum()), n_a, int((p & d).sum()), n_d)
    correct = p == y
    out["AD"] = _proportion_difference_se(
        int((correct & a).sum()), n_a, int((correct & d).sum()), n_d
    )
    out["RD"] = _proportion_difference_se(
        int((y & p & a).sum()), int((y & a).sum()), int((y & p & d).sum()), int((y & d).sum())
    )
    q_a, q_d = (p & a).sum() / n_a, (p & d).sum() / n_d
    out["DI"] = (
        float(np.sqrt((1 - q_d) / (n_d * q_d) + (1 - q_a) / (n_a * q_a)))
        if q_a > 0 and q_d > 0
        else None
    )
    return out


def evidence_bound(
    name: str, value: float, se: float | None, limit: dict[str, float], z: float
) -> dict[str, Any]:
    """The metric moved by ``z`` standard errors toward its acceptable range, and whether even
    that bound is outside the threshold (evidence of a disparity beyond the tolerance)."""
    se = se or 0.0
    outside = False
    bound: dict[str, Any] = {"se": se}
    if "max_abs" in limit:
        bound["abs_lower"] = max(0.0, abs(value) - z * se)
        outside = outside or bound["abs_lower"] > limit["max_abs"]
    if name == "DI":
        if "min" in limit:
            bound["upper"] = float(value * np.exp(z * se))
            outside = outside or bound["upper"] < limit["min"]
        if "max" in limit:
            bound["lower"] = float(value * np.exp(-z * se))
            outside = outside or bound["lower"] > limit["max"]
    else:
        if "min" in limit:
            bound["upper"] = value + z * se
            outside = outside or bound["upper"] < limit["min"]
        if "max" in limit:
            bound["lower"] = value - z * se
            outside = outside or bound["lower"] > limit["max"]
    bound["evidence_outside_threshold"] = outside
    return bound


def _keep(table: dict[str, float | None], key: str, value: float, pick) -> None:
    table[key] = value if table[key] is None else pick(value, table[key])


def analyse_facets(
    facets: Sequence[FacetSpec],
    label_column: str,
    pretraining: pd.DataFrame | None,
    predictions: pd.DataFrame | None,
    positive_outcome: Any = 0,
    predicted_label_column: str = "predicted_label",
    thresholds: dict[str, dict[str, float]] | None = None,
    feature_columns: Sequence[str] | None = None,
    group_variable: str | None = None,
    gate_metrics: Sequence[str] = tuple(DEFAULT_GATE_METRICS),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    gate_confidence: float = DEFAULT_GATE_CONFIDENCE,
) -> dict:
    """The full Clarify metric set for every facet group, and the registration gate.

    The gate fails a gated group's metric when it is undefined, or when the evidence says it
    is beyond the threshold: the one-sided ``gate_confidence`` bound (normal approximation)
    is still outside. A point estimate outside the threshold without that evidence is a
    warning (``warnings``). ``gate_confidence=0`` gates on point estimates.

    Returns ``{"by_facet": {column: {group: {metric: value}}}, "facet_groups": [...],
    "gate": {...}}``. Pre-training metrics use ``pretraining`` (labels), post-training
    metrics ``predictions``; a group's ``n_d`` for the gate is its post-training size."""
    limits = merge_thresholds(thresholds)
    if not 0.0 <= gate_confidence < 1.0:
        raise BiasConfigError(f"gate confidence must be in [0, 1), got {gate_confidence}")
    z = NormalDist().inv_cdf(gate_confidence) if gate_confidence > 0.5 else 0.0
    unknown = [m for m in gate_metrics if m not in limits]
    if unknown:
        raise BiasConfigError(
            f"gate metrics {unknown} have no threshold; choose from {sorted(limits)}"
        )
    positive = float(positive_outcome)
    by_facet: dict[str, dict[str, dict[str, float | None]]] = {}
    groups_out: list[dict] = []
    # Worst value over the gated groups, one key per threshold (null when no group is gated).
    worst: dict[str, float | None] = {f"{m}_{k}": None for m in gate_metrics for k in limits[m]}
    worst_evidence: dict[str, float | None] = dict(worst)
    warnings: list[str] = []
    failures: list[str] = []
    not_gated: list[str] = []
    for spec in facets:
        source = predictions if _usable(predictions, [spec.column]) else pretraining
        if source is None or spec.column not in source.columns:
            raise BiasConfigError(
                f"facet column {spec.column!r} is in neither the predictions nor the pre-training "
                "data"
            )
        for label, values, threshold in spec.groups(source[spec.column]):
            flat: dict[str, float | None] = {}
            reasons: dict[str, str] = {}
            sizes: dict[str, dict[str, int]] = {}
            errors: dict[str, float | None] = {}
            for stage, frame, names in (
                ("pre_training", pretraining, PRETRAINING_METRICS),
                ("post_training", predictions, POSTTRAINING_METRICS),
            ):
                needed = [spec.column, label_column] + (
                    [predicted_label_column] if stage == "post_training" else []
                )
                if not _usable(frame, needed):
                    for name in names:
                        flat[name] = None
                        reasons[name] = "no {} data with column(s) {}".format(
                            stage.replace("_", "-"),
                            needed,
                        )
                    continue
                try:
                    is_d, usable = facet_mask(frame[spec.column], values, threshold, spec.column)
                except BiasConfigError as error:
                    if spec.values is not None or spec.threshold is not None:
                        # a configured group that does not fit the data is a configuration error
                        raise
                    # a value seen in one data set only (e.g. a rare age band absent from train)
                    for name in names:
                        flat[name] = None
                        reasons[name] = "no {} comparison: {}".format(
                            stage.replace("_", "-"), error
                        )
                    continue
                rows = frame.loc[usable]
                d = is_d[usable]
                sizes[stage] = {"n": int(len(rows)), "n_a": int((~d).sum()), "n_d": int(d.sum())}
                y = rows[label_column].to_numpy(dtype=float) == positive
                group = (
                    rows[group_variable].to_numpy()
                    if group_variable and group_variable in rows.columns
                    else None
                )
                if stage == "pre_training":
                    values_reasons = full_pretraining_metrics(y, d, group)
                    errors.update(
                        {k: v for k, v in standard_errors(y, d).items() if k in ("CI", "DPL")}
                    )
                else:
                    feats = None
                    if feature_columns and all(c in rows.columns for c in feature_columns):
                        feats = rows.loc[:, list(feature_columns)].to_numpy(dtype=float)
                    p = rows[predicted_label_column].to_numpy(dtype=float) == positive
                    values_reasons = full_posttraining_metrics(y, p, d, feats, group)
                    errors.update(
                        {
                            k: v
                            for k, v in standard_errors(y, d, p).items()
                            if k not in ("CI", "DPL")
                        }
                    )
                for name, (value, reason) in values_reasons.items():
                    flat[name] = value
                    if reason:
                        reasons[name] = reason
            n_d = sizes.get("post_training", sizes.get("pre_training", {})).get("n_d", 0)
            gated = n_d >= min_group_size
            checks = {}
            bounds = {}
            for name in gate_metrics:
                checked = flag_metric({"value": flat.get(name)}, limits[name])
                checks[name] = checked["flag"]
                if flat.get(name) is not None:
                    bounds[name] = evidence_bound(
                        name, flat[name], errors.get(name), limits[name], z
                    )
                if not gated:
                    continue
                if flat.get(name) is None:
                    failures.append(
                        f"{spec.column} {label}: {name} undefined ({reasons.get(name)})"
                    )
                elif bounds[name]["evidence_outside_threshold"]:
                    failures.append(
                        "{} {}: {} = {:.4f} outside {} with {:.0f}% confidence (se {:.4f})".format(
                            spec.column,
                            label,
                            name,
                            flat[name],
                            limits[name],
                            100 * gate_confidence,
                            bounds[name]["se"],
                        )
                    )
                elif checked["flag"] != "pass":
                    warnings.append(
                        "{} {}: {} = {:.4f} outside {}, within sampling error (se {:.4f})".format(
                            spec.column, label, name, flat[name], limits[name], bounds[name]["se"]
                        )
                    )
            if gated:
                for name in gate_metrics:
                    value = flat.get(name)
                    if value is None:
                        continue
                    limit, bound = limits[name], bounds[name]
                    # point estimates (worst) and the evidence bounds the gate decides on
                    # (worst_evidence): the value moved by z standard errors toward the range
                    if "max_abs" in limit:
                        _keep(worst, f"{name}_max_abs", abs(value), max)
                        _keep(worst_evidence, f"{name}_max_abs", bound["abs_lower"], max)
                    if "min" in limit:
                        _keep(worst, f"{name}_min", value, min)
                        _keep(worst_evidence, f"{name}_min", bound["upper"], min)
                    if "max" in limit:
                        _keep(worst, f"{name}_max", value, max)
                        _keep(worst_evidence, f"{name}_max", bound["lower"], max)
            else:
                not_gated.append(f"{spec.column} {label}: n_d = {int(n_d)} < {int(min_group_size)}")
            by_facet.setdefault(spec.column, {})[label] = flat
            groups_out.append(
                {
                    "facet": spec.column,
                    "group_d": label,
                    "disadvantaged_group_d": {"threshold": threshold}
                    if threshold is not None
                    else {"values": values},
                    "sizes": sizes,
                    "gated": gated,
                    "gate_flags": checks,
                    "gate_evidence": bounds,
                    "metrics": flat,
                    "reasons": reasons,
                }
            )
    return {
        "by_facet": by_facet,
        "facet_groups": groups_out,
        "gate": {
            "passed": not failures,
            "metrics": list(gate_metrics),
            "thresholds": {m: limits[m] for m in gate_metrics},
            "min_group_size": int(min_group_size),
            "confidence": gate_confidence,
            "worst": worst,
            "worst_evidence": worst_evidence,
            "failures": failures,
            "warnings": warnings,
            "not_gated_small_groups": not_gated,
        },
    }


# ----------------------------------------------------------------------------- CLI
def _parse_scalar(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _read_pretraining(
    pretraining_path: Path,
    pretraining_columns_from: Path | None,
    pretraining_facets: Path | None,
    inputs: dict[str, Any],
) -> pd.DataFrame:
    inputs["pretraining_sha256"] = common.sha256_files(
        common.list_csv_files(Path(pretraining_path))
    )
    if pretraining_columns_from:
        params = common.read_json(Path(pretraining_columns_from))
        frame = common.read_headerless_csv(
            Path(pretraining_path), params["outputs"]["train"]["columns"]
        )
    else:
        frame = common.read_csv_with_header(Path(pretraining_path))
    if pretraining_facets:
        facets = common.read_csv_with_header(Path(pretraining_facets))
        inputs["pretraining_facets_sha256"] = common.sha256_files(
            common.list_csv_files(Path(pretraining_facets))
        )
        if len(facets) != len(frame):
            raise BiasConfigError(
                f"the facet file has {len(facets)} rows but the pre-training data {len(frame)}: "
                "they must be row-aligned "
                "(preprocess writes facets/train_facets.csv for train/train.csv)"
            )
        clash = [c for c in facets.columns if c in frame.columns]
        if clash:
            raise BiasConfigError(
                f"columns {clash} are in both the pre-training data and the facet file"
            )
        frame = pd.concat([frame.reset_index(drop=True), facets.reset_index(drop=True)], axis=1)
    return frame


def run(
    output_dir: Path,
    facet_column: str | None,
    facet_values: Sequence[Any] | None = None,
    facet_threshold: float | None = None,
    predictions_path: Path | None = None,
    pretraining_path: Path | None = None,
    pretraining_columns_from: Path | None = None,
    label_column: str = common.LABEL_COLUMN,
    positive_outcome: Any = 0,
    predicted_label_column: str = "predicted_label",
    thresholds: dict[str, dict[str, float]] | None = None,
    pretraining_facets: Path | None = None,
    facets: Sequence[FacetSpec] | None = None,
    group_variable: str | None = None,
    gate_metrics: Sequence[str] = tuple(DEFAULT_GATE_METRICS),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    feature_columns: Sequence[str] | None = None,
    gate_confidence: float = DEFAULT_GATE_CONFIDENCE,
) -> dict:
    """Write ``bias_report.json``. The first facet (``facet_column`` or ``facets[0]``) also
    fills the six-metric ``metrics`` section; every facet gets the full Clarify set."""
    predictions = common.read_csv_with_header(Path(predictions_path)) if predictions_path else None
    pretraining = None
    inputs: dict[str, Any] = {}
    if predictions_path:
        inputs["predictions_sha256"] = common.sha256_files(
            common.list_csv_files(Path(predictions_path))
        )
    if pretraining_path:
        pretraining = _read_pretraining(
            Path(pretraining_path), pretraining_columns_from, pretraining_facets, inputs
        )
    inputs["pretraining_source"] = (
        "pretraining_data" if pretraining is not None else "predictions_labels"
    )
    specs = list(facets or [])
    if facet_column:
        specs.insert(0, FacetSpec(facet_column, facet_values, facet_threshold))
    if not specs:
        raise BiasConfigError("no facet: give --facet or --facet-column")
    primary = specs[0]
    if primary.values is None and primary.threshold is None:
        raise BiasConfigError(
            f"the first facet ({primary.column}) needs values or a threshold: it fills the "
            "headline metrics"
        )
    if feature_columns is None and pretraining_columns_from:
        feature_columns = common.read_json(Path(pretraining_columns_from))["parameters"][
            "feature_columns"
        ]
    report = build_bias_report(
        primary.column,
        label_column,
        pretraining,
        predictions,
        primary.values,
        primary.threshold,
        positive_outcome,
        predicted_label_column,
        thresholds,
    )
    report.update(
        analyse_facets(
            specs,
            label_column,
            pretraining if pretraining is not None else predictions,
            predictions,
            positive_outcome,
            predicted_label_column,
            thresholds,
            feature_columns,
            group_variable,
            gate_metrics,
            min_group_size,
            gate_confidence,
        )
    )
    report["inputs"] = inputs
    if pretraining_columns_from:
        params = common.read_json(Path(pretraining_columns_from))["parameters"]
        if params.get("request_columns"):
            report["bias_drift_monitor"] = _write_monitor_baseline(
                Path(output_dir) / MONITOR_FOLDER,
                params,
                specs,
                label_column,
                positive_outcome,
                report["thresholds"],
                pretraining if pretraining is not None else predictions,
            )
    common.write_json(Path(output_dir) / BIAS_REPORT_FILENAME, report)
    return report


def _write_monitor_baseline(
    folder: Path,
    params: dict,
    specs: Sequence[FacetSpec],
    label_column: str,
    positive_outcome: Any,
    thresholds: dict[str, dict[str, float]],
    frame: pd.DataFrame | None,
) -> dict:
    """The bias-drift monitor's analysis config and constraints (bias_monitor.py), for the
    deployment workflow to put under the endpoint's stable baseline prefix."""
    seen: dict[str, list[Any]] = {}
    for spec in specs:
        if frame is not None and spec.column in frame.columns:
            seen[spec.column] = sorted(frame[spec.column].dropna().unique().tolist())
    config, constraints, summary = bias_monitor.build(
        request_columns=params["request_columns"],
        label=label_column,
        positive_outcome=positive_outcome,
        specs=[(s.column, s.values, s.threshold) for s in specs],
        thresholds=thresholds,
        age_bands=params.get("age_bands"),
        seen_values=seen,
    )
    common.write_json(folder / bias_monitor.CONFIG_FILENAME, config)
    common.write_json(folder / bias_monitor.CONSTRAINTS_FILENAME, constraints)
    return dict(summary, folder=MONITOR_FOLDER)


def _value_list(values: Sequence[str] | None) -> list[Any] | None:
    """``--facet-values`` tokens, each optionally comma-separated, as scalars."""
    if values is None:
        return None
    return [
        _parse_scalar(part.strip())
        for token in values
        for part in str(token).split(",")
        if part.strip()
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Clarify-style bias metrics for the credit-default model."
    )
    parser.add_argument(
        "--predictions",
        default="/opt/ml/processing/input/predictions",
        help="evaluate.py predictions.csv or its folder; 'none' to skip",
    )
    parser.add_argument(
        "--pretraining-data", default=None, help="labelled data for pre-training metrics"
    )
    parser.add_argument(
        "--pretraining-columns-from",
        default=None,
        help="preprocess_params.json, if --pretraining-data has no header",
    )
    parser.add_argument("--output-dir", default="/opt/ml/processing/bias")
    parser.add_argument(
        "--pretraining-facets",
        default=None,
        help="facet file row-aligned with --pretraining-data (preprocess facets/train_facets.csv)",
    )
    parser.add_argument(
        "--facet-column",
        default=None,
        help="first facet's column (default SEX when no --facet is given)",
    )
    parser.add_argument(
        "--facet-values",
        nargs="+",
        default=None,
        help=(
            "values of the disadvantaged group d: one or more arguments, each optionally "
            "comma-separated (default 2)"
        ),
    )
    parser.add_argument(
        "--facet",
        dest="facets",
        action="append",
        type=FacetSpec.parse,
        default=None,
        help="repeatable: COLUMN (each value vs the rest), COLUMN=V1,V2 or COLUMN>T "
        "(default, without --facet-column: SEX=2, AGE_BAND, MARRIAGE)",
    )
    parser.add_argument(
        "--group-variable",
        default=None,
        help="column for CDDL/CDDPL (conditional demographic disparity)",
    )
    parser.add_argument(
        "--gate-metrics",
        default=",".join(DEFAULT_GATE_METRICS),
        help="comma-separated metrics the gate checks",
    )
    parser.add_argument(
        "--min-group-size",
        type=int,
        default=DEFAULT_MIN_GROUP_SIZE,
        help="smaller groups are reported, not gated",
    )
    parser.add_argument(
        "--gate-confidence",
        type=float,
        default=DEFAULT_GATE_CONFIDENCE,
        help=(
            "one-sided confidence that a metric is beyond its threshold before the gate fails (0 "
            "= point estimates)"
        ),
    )
    parser.add_argument(
        "--facet-threshold", type=float, default=None, help="numeric facet: d = value > threshold"
    )
    parser.add_argument("--label-column", default=common.LABEL_COLUMN)
    parser.add_argument(
        "--positive-outcome", default="0", help="favourable label value (default 0 = no default)"
    )
    parser.add_argument("--predicted-label-column", default="predicted_label")
    for flag, metric, key in (
        ("--ci-max-abs", "CI", "max_abs"),
        ("--dpl-max-abs", "DPL", "max_abs"),
        ("--di-min", "DI", "min"),
        ("--di-max", "DI", "max"),
        ("--dppl-max-abs", "DPPL", "max_abs"),
        ("--rd-max-abs", "RD", "max_abs"),
        ("--ad-max-abs", "AD", "max_abs"),
    ):
        parser.add_argument(
            flag,
            dest=f"t_{metric}_{key}",
            type=float,
            default=None,
            help=f"default {DEFAULT_THRESHOLDS[metric][key]}",
        )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    thresholds: dict[str, dict[str, float]] = {}
    for key, value in vars(args).items():
        if key.startswith("t_") and value is not None:
            _, metric, name = key.split("_", 2)
            thresholds.setdefault(metric, {})[name] = value
    facet_column = args.facet_column
    facets = args.facets
    if facet_column is None and not facets:
        facet_column = "SEX"
        if args.facet_values is None and args.facet_threshold is None:
            facets = [FacetSpec.parse(f) for f in DEFAULT_EXTRA_FACETS]
    facet_values = None
    if facet_column is not None:
        if args.facet_threshold is None:
            facet_values = _value_list(args.facet_values) if args.facet_values is not None else [2]
        elif args.facet_values is not None:
            raise BiasConfigError("give --facet-values or --facet-threshold, not both")
    predictions = None if str(args.predictions).lower() == "none" else Path(args.predictions)
    report = run(
        Path(args.output_dir),
        facet_column,
        facet_values,
        args.facet_threshold if facet_column else None,
        predictions,
        Path(args.pretraining_data) if args.pretraining_data else None,
        Path(args.pretraining_columns_from) if args.pretraining_columns_from else None,
        args.label_column,
        _parse_scalar(args.positive_outcome),
        args.predicted_label_column,
        thresholds,
        pretraining_facets=Path(args.pretraining_facets) if args.pretraining_facets else None,
        facets=facets,
        group_variable=args.group_variable,
        gate_metrics=[m.strip() for m in args.gate_metrics.split(",") if m.strip()],
        min_group_size=args.min_group_size,
        gate_confidence=args.gate_confidence,
    )
    common.LOG.info(
        "bias: gate %s, %s %s",
        "passed" if report["gate"]["passed"] else "FAILED",
        report["overall_flag"],
        {k: v["value"] for k, v in report["metrics"].items()},
    )
    return report


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
