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
        DPL  = q_a - q_d                                 difference in positive proportions in labels
    Post-training (labels and predicted labels)
        DI   = q'_d / q'_a                               disparate impact (four-fifths rule: 0.8-1.25)
        DPPL = q'_a - q'_d                               difference in positive proportions in predicted labels
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
      "facet": {"column": "SEX", "disadvantaged_group_d": {"values": [2]}, "advantaged_group_a": "...",
                "rows_excluded_missing_facet": {"pre_training": 0, "post_training": 0}},
      "label": {"column": "default", "positive_outcome": 0, "predicted_label_column": "predicted_label"},
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
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

try:
    from . import _common as common
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]

BIAS_REPORT_FILENAME = "bias_report.json"

DEFAULT_THRESHOLDS: Dict[str, Dict[str, float]] = {
    "CI": {"max_abs": 0.5},
    "DPL": {"max_abs": 0.1},
    "DI": {"min": 0.8, "max": 1.25},
    "DPPL": {"max_abs": 0.1},
    "RD": {"max_abs": 0.1},
    "AD": {"max_abs": 0.1},
}
DESCRIPTIONS = {
    "CI": ("Class Imbalance (CI)", "pre_training", "(n_a - n_d) / (n_a + n_d)"),
    "DPL": ("Difference in Positive Proportions in Labels (DPL)", "pre_training", "q_a - q_d, q = rows with the positive outcome in the labels / n"),
    "DI": ("Disparate Impact (DI)", "post_training", "q'_d / q'_a, q' = rows with the positive outcome in the predicted labels / n"),
    "DPPL": ("Difference in Positive Proportions in Predicted Labels (DPPL)", "post_training", "q'_a - q'_d"),
    "RD": ("Recall Difference (RD)", "post_training", "TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d), positive outcome as the positive class"),
    "AD": ("Accuracy Difference (AD)", "post_training", "ACC_a - ACC_d, ACC = (TP + TN) / n"),
}


class BiasConfigError(ValueError):
    """The facet configuration does not fit the data (missing column, value or group)."""


# ----------------------------------------------------------------------------- groups
def facet_mask(
    values: pd.Series,
    facet_values: Optional[Sequence[Any]] = None,
    facet_threshold: Optional[float] = None,
    column: str = "facet",
) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``(is_d, usable)``: membership of the disadvantaged group d, and rows whose
    facet value is present (rows with a missing facet value belong to neither group)."""
    if (facet_values is None or len(facet_values) == 0) == (facet_threshold is None):
        raise BiasConfigError("give exactly one of facet values or a facet threshold")
    usable = values.notna().to_numpy()
    if not usable.any():
        raise BiasConfigError("facet column %r has no values" % column)
    numeric = pd.api.types.is_numeric_dtype(values)
    if facet_threshold is not None:
        if not numeric:
            raise BiasConfigError("a facet threshold needs a numeric facet column; %r is not numeric" % column)
        is_d = (values > float(facet_threshold)).to_numpy() & usable
        if not is_d.any():
            raise BiasConfigError("no row has %s > %s: the disadvantaged group d is empty" % (column, facet_threshold))
    else:
        present = values[usable]
        if numeric:
            try:
                wanted = [float(v) for v in facet_values]  # type: ignore[union-attr]
            except (TypeError, ValueError):
                raise BiasConfigError("facet values %s are not numbers but %r is numeric" % (list(facet_values), column)) from None
            observed = set(float(v) for v in present.unique())
            is_d = values.isin(wanted).to_numpy() & usable
        else:
            wanted = [str(v) for v in facet_values]  # type: ignore[union-attr]
            observed = set(str(v) for v in present.unique())
            is_d = values.astype(str).isin(wanted).to_numpy() & usable
        absent = [v for v in wanted if v not in observed]
        if absent:
            raise BiasConfigError(
                "facet value(s) %s not present in column %r (present: %s)" % (absent, column, sorted(observed, key=str)[:20])
            )
    if not (usable & ~is_d).any():
        raise BiasConfigError("the advantaged group a is empty: every row with a %r value is in group d" % column)
    return is_d, usable


def _group_counts(outcome: np.ndarray, is_d: np.ndarray) -> Dict[str, float]:
    n_d = int(is_d.sum())
    n_a = int((~is_d).sum())
    return {"n_a": n_a, "n_d": n_d, "positive_a": int(outcome[~is_d].sum()), "positive_d": int(outcome[is_d].sum())}


def _metric(name: str, value: Optional[float], components: Dict, reason: Optional[str] = None) -> Dict:
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
def pretraining_metrics(labels: Sequence[Any], is_d: Sequence[bool], positive_outcome: Any = 0) -> Dict[str, Dict]:
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
        raise BiasConfigError("both groups need rows (n_a=%d, n_d=%d)" % (c["n_a"], c["n_d"]))
    q_a = c["positive_a"] / c["n_a"]
    q_d = c["positive_d"] / c["n_d"]
    ci = (c["n_a"] - c["n_d"]) / (c["n_a"] + c["n_d"])
    return {
        "CI": _metric("CI", ci, {"n_a": c["n_a"], "n_d": c["n_d"]}),
        "DPL": _metric("DPL", q_a - q_d, {"q_a": q_a, "q_d": q_d, **c}),
    }


def posttraining_metrics(
    labels: Sequence[Any], predicted: Sequence[Any], is_d: Sequence[bool], positive_outcome: Any = 0
) -> Dict[str, Dict]:
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
        raise BiasConfigError("both groups need rows (n_a=%d, n_d=%d)" % (n_a, n_d))

    def group(mask: np.ndarray) -> Dict[str, int]:
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
            "DI", None, {"q_prime_a": qp_a, "q_prime_d": qp_d},
            "undefined: no row of the advantaged group a is predicted the positive outcome (q'_a = 0)",
        )
    else:
        metrics["DI"] = _metric("DI", qp_d / qp_a, {"q_prime_a": qp_a, "q_prime_d": qp_d})
    metrics["DPPL"] = _metric("DPPL", qp_a - qp_d, {"q_prime_a": qp_a, "q_prime_d": qp_d})

    empty = [name for name, g in (("a", a), ("d", dd)) if g["tp"] + g["fn"] == 0]
    recall_a = a["tp"] / (a["tp"] + a["fn"]) if a["tp"] + a["fn"] else None
    recall_d = dd["tp"] / (dd["tp"] + dd["fn"]) if dd["tp"] + dd["fn"] else None
    if empty:
        metrics["RD"] = _metric(
            "RD", None, {"recall_a": recall_a, "recall_d": recall_d},
            "undefined: group(s) %s have no row with the positive outcome in the labels (TP + FN = 0)" % ", ".join(empty),
        )
    else:
        metrics["RD"] = _metric("RD", recall_a - recall_d, {"recall_a": recall_a, "recall_d": recall_d})
    acc_a = (a["tp"] + a["tn"]) / a["n"]
    acc_d = (dd["tp"] + dd["tn"]) / dd["n"]
    metrics["AD"] = _metric("AD", acc_a - acc_d, {"accuracy_a": acc_a, "accuracy_d": acc_d})
    for name in metrics:
        metrics[name]["components"]["group_a"] = a
        metrics[name]["components"]["group_d"] = dd
    return metrics


def merge_thresholds(overrides: Optional[Dict[str, Dict[str, float]]] = None) -> Dict[str, Dict[str, float]]:
    thresholds = copy.deepcopy(DEFAULT_THRESHOLDS)
    for name, values in (overrides or {}).items():
        if name not in thresholds:
            raise ValueError("unknown bias metric %r in thresholds" % name)
        for key, value in values.items():
            if key not in thresholds[name]:
                raise ValueError("threshold key %r is not used for %s (use %s)" % (key, name, sorted(thresholds[name])))
            if value is not None:
                thresholds[name][key] = float(value)
    if thresholds["DI"]["min"] > thresholds["DI"]["max"]:
        raise ValueError("DI min threshold exceeds DI max")
    return thresholds


def flag_metric(metric: Dict, threshold: Dict[str, float]) -> Dict:
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


def _clarify_section(metrics: Dict[str, Dict], stage: str, label: str, positive: Any, facet: str, d_spec: Any) -> Dict:
    chosen = [m for m in metrics.values() if m["stage"] == stage]
    return {
        "label": label,
        "label_value_or_threshold": str(positive),
        "facets": {
            facet: [
                {
                    "value_or_threshold": d_spec,
                    "metrics": [{"name": m["name"], "description": m["description"], "value": m["value"]} for m in chosen],
                }
            ]
        },
    }


def build_bias_report(
    facet_column: str,
    label_column: str = common.LABEL_COLUMN,
    pretraining: Optional[pd.DataFrame] = None,
    predictions: Optional[pd.DataFrame] = None,
    facet_values: Optional[Sequence[Any]] = None,
    facet_threshold: Optional[float] = None,
    positive_outcome: Any = 0,
    predicted_label_column: str = "predicted_label",
    thresholds: Optional[Dict[str, Dict[str, float]]] = None,
) -> Dict:
    """Compute the ``bias_report.json`` content. ``pretraining`` defaults to ``predictions``."""
    if pretraining is None and predictions is None:
        raise BiasConfigError("need labelled data for pre-training metrics and/or predictions")
    if pretraining is None:
        pretraining = predictions
    limits = merge_thresholds(thresholds)
    metrics: Dict[str, Dict] = {}
    groups: Dict[str, Dict] = {}
    excluded: Dict[str, int] = {}
    for stage, frame, needed in (
        ("pre_training", pretraining, [facet_column, label_column]),
        ("post_training", predictions, [facet_column, label_column, predicted_label_column]),
    ):
        if frame is None:
            continue
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise BiasConfigError("%s data lacks column(s) %s" % (stage.replace("_", "-"), missing))
        is_d, usable = facet_mask(frame[facet_column], facet_values, facet_threshold, facet_column)
        excluded[stage] = int((~usable).sum())
        rows = frame.loc[usable]
        d = is_d[usable]
        groups[stage] = {"n": int(len(rows)), "n_a": int((~d).sum()), "n_d": int(d.sum())}
        if stage == "pre_training":
            metrics.update(pretraining_metrics(rows[label_column].to_numpy(), d, positive_outcome))
        else:
            metrics.update(posttraining_metrics(rows[label_column].to_numpy(), rows[predicted_label_column].to_numpy(), d, positive_outcome))
    flagged = {name: flag_metric(metric, limits[name]) for name, metric in metrics.items()}
    warnings = []
    for name, metric in flagged.items():
        if metric["flag"] == "warn":
            warnings.append(
                "%s: %s" % (name, metric["reason"]) if metric["value"] is None
                else "%s = %.4f outside %s" % (name, metric["value"], metric["threshold"])
            )
    if facet_threshold is not None:
        d_group: Dict[str, Any] = {"threshold": float(facet_threshold), "rule": "facet value > threshold"}
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
            "advantaged_group_a": "every other row with a value in %s" % facet_column,
            "rows_excluded_missing_facet": excluded,
        },
        "label": {
            "column": label_column,
            "positive_outcome": positive_outcome,
            "positive_outcome_note": "the favourable outcome (Clarify label_values_or_threshold); for the credit-default label 0 = no default",
            "predicted_label_column": predicted_label_column if predictions is not None else None,
        },
        "groups": groups,
        "thresholds": limits,
    }
    report["pre_training_bias_metrics"] = _clarify_section(flagged, "pre_training", label_column, positive_outcome, facet_column, d_spec)
    if predictions is not None:
        report["post_training_bias_metrics"] = _clarify_section(flagged, "post_training", label_column, positive_outcome, facet_column, d_spec)
    return report


# ----------------------------------------------------------------------------- CLI
def _parse_scalar(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def run(
    output_dir: Path,
    facet_column: str,
    facet_values: Optional[Sequence[Any]] = None,
    facet_threshold: Optional[float] = None,
    predictions_path: Optional[Path] = None,
    pretraining_path: Optional[Path] = None,
    pretraining_columns_from: Optional[Path] = None,
    label_column: str = common.LABEL_COLUMN,
    positive_outcome: Any = 0,
    predicted_label_column: str = "predicted_label",
    thresholds: Optional[Dict[str, Dict[str, float]]] = None,
) -> Dict:
    predictions = common.read_csv_with_header(Path(predictions_path)) if predictions_path else None
    pretraining = None
    inputs: Dict[str, Any] = {}
    if predictions_path:
        inputs["predictions_sha256"] = common.sha256_files(common.list_csv_files(Path(predictions_path)))
    if pretraining_path:
        inputs["pretraining_sha256"] = common.sha256_files(common.list_csv_files(Path(pretraining_path)))
        if pretraining_columns_from:
            params = common.read_json(Path(pretraining_columns_from))
            columns = params["outputs"]["train"]["columns"]
            pretraining = common.read_headerless_csv(Path(pretraining_path), columns)
        else:
            pretraining = common.read_csv_with_header(Path(pretraining_path))
    inputs["pretraining_source"] = "pretraining_data" if pretraining is not None else "predictions_labels"
    report = build_bias_report(
        facet_column, label_column, pretraining, predictions, facet_values, facet_threshold,
        positive_outcome, predicted_label_column, thresholds,
    )
    report["inputs"] = inputs
    common.write_json(Path(output_dir) / BIAS_REPORT_FILENAME, report)
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Clarify-style bias metrics for the credit-default model.")
    parser.add_argument("--predictions", default="/opt/ml/processing/input/predictions", help="evaluate.py predictions.csv or its folder; 'none' to skip")
    parser.add_argument("--pretraining-data", default=None, help="labelled data for pre-training metrics")
    parser.add_argument("--pretraining-columns-from", default=None, help="preprocess_params.json, if --pretraining-data has no header")
    parser.add_argument("--output-dir", default="/opt/ml/processing/bias")
    parser.add_argument("--facet-column", default="SEX")
    parser.add_argument("--facet-values", default=None, help="comma-separated values of the disadvantaged group d (default 2)")
    parser.add_argument("--facet-threshold", type=float, default=None, help="numeric facet: d = value > threshold")
    parser.add_argument("--label-column", default=common.LABEL_COLUMN)
    parser.add_argument("--positive-outcome", default="0", help="favourable label value (default 0 = no default)")
    parser.add_argument("--predicted-label-column", default="predicted_label")
    for flag, metric, key in (
        ("--ci-max-abs", "CI", "max_abs"), ("--dpl-max-abs", "DPL", "max_abs"), ("--di-min", "DI", "min"),
        ("--di-max", "DI", "max"), ("--dppl-max-abs", "DPPL", "max_abs"), ("--rd-max-abs", "RD", "max_abs"),
        ("--ad-max-abs", "AD", "max_abs"),
    ):
        parser.add_argument(flag, dest="t_%s_%s" % (metric, key), type=float, default=None,
                            help="default %s" % DEFAULT_THRESHOLDS[metric][key])
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    thresholds: Dict[str, Dict[str, float]] = {}
    for key, value in vars(args).items():
        if key.startswith("t_") and value is not None:
            _, metric, name = key.split("_", 2)
            thresholds.setdefault(metric, {})[name] = value
    facet_values = None
    if args.facet_threshold is None:
        raw = args.facet_values if args.facet_values is not None else "2"
        facet_values = [_parse_scalar(v.strip()) for v in raw.split(",") if v.strip()]
    elif args.facet_values is not None:
        raise BiasConfigError("give --facet-values or --facet-threshold, not both")
    predictions = None if str(args.predictions).lower() == "none" else Path(args.predictions)
    report = run(
        Path(args.output_dir), args.facet_column, facet_values, args.facet_threshold, predictions,
        Path(args.pretraining_data) if args.pretraining_data else None,
        Path(args.pretraining_columns_from) if args.pretraining_columns_from else None,
        args.label_column, _parse_scalar(args.positive_outcome), args.predicted_label_column, thresholds,
    )
    common.LOG.info(
        "bias: %s %s", report["overall_flag"], {k: v["value"] for k, v in report["metrics"].items()}
    )
    return report


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
