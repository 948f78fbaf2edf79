"""Evaluate the trained model on the held-out test set.

Runs as a SageMaker processing job on the SageMaker XGBoost 1.7-1 image (it needs
``xgboost`` to load the model; the scikit-learn image does not ship it), or locally.

Reads
    ``--model`` (default ``/opt/ml/processing/input/model``): a folder with ``xgboost-model``
    or with the training job's ``model.tar.gz``, or either file itself.
    ``--test`` (default ``/opt/ml/processing/input/test``): ``test.csv`` WITH a header,
    label first, then the model's features in training order, then optional pass-through
    columns (the layout ``preprocess.py`` writes).

Writes (``--output-dir``, default ``/opt/ml/processing/evaluation``)
    ``evaluation.json``  the metrics (shape below)
    ``predictions.csv``  the test rows plus ``score`` (predicted probability of default) and
                         ``predicted_label`` (1 = default) -- the input of ``bias.py``.

Optional ``--train`` and ``--validation`` (the header-less split files, label first) add
the train/validation gap, so a gate can bound overfitting as well as test AUC:
``metrics.train_auc``, ``metrics.validation_auc``, ``metrics.auc_gap`` (= train_auc -
validation_auc) and ``metrics.train_test_auc_gap`` (= train_auc - test auc).

A row is predicted positive (default, label 1) when ``score >= --threshold``.
Precision, recall and F1 are for the positive class 1 and are 0.0 when undefined (no
predicted or no actual positives), as scikit-learn reports them. AUC needs both classes in
the test set; otherwise the step fails rather than write a metric a gate could pass on.

``evaluation.json``::

    {
      "schema_version": "1.0",
      "step": "evaluate",
      "metrics": {                       # Step Functions Choice: $.metrics.auc.value
        "auc": {"value": 0.78}, "accuracy": {"value": 0.82}, "precision": {"value": 0.66},
        "recall": {"value": 0.35}, "f1": {"value": 0.46},
        "false_positive_rate": {"value": 0.05}, "log_loss": {"value": 0.43}
      },
      "confusion_matrix": {
        "labels": [0, 1],
        "matrix": [[tn, fp], [fn, tp]],  # rows = actual label, columns = predicted label
        "true_negative": tn, "false_positive": fp, "false_negative": fn, "true_positive": tp
      },
      "threshold": 0.5,
      "positive_label": 1,
      "counts": {"n_samples": n, "n_positive": p, "n_negative": q, "n_predicted_positive": r},
      "binary_classification_metrics": {  # SageMaker model-quality style (Model Registry
        "auc": {"value": 0.78, "standard_deviation": "NaN"},     #  ModelQuality.Statistics)
        "accuracy": {...}, "precision": {...}, "recall": {...}, "f1": {...},
        "true_positive_rate": {...}, "true_negative_rate": {...},
        "false_positive_rate": {...}, "false_negative_rate": {...},
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
      },                                 # confusion_matrix[actual][predicted]
      "model": {"model_sha256": ..., "archive_sha256": ..., "xgboost_version": ...},
      "data": {"test_sha256": ..., "label_column": "default", "feature_columns": [...]}
    }
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

try:
    from . import _common as common
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]

EVALUATION_FILENAME = "evaluation.json"
PREDICTIONS_FILENAME = "predictions.csv"
SCORE_COLUMN = "score"
PREDICTED_LABEL_COLUMN = "predicted_label"


def _check_inputs(y_true: np.ndarray, scores: np.ndarray) -> None:
    if y_true.shape != scores.shape or y_true.ndim != 1:
        raise ValueError("labels and scores must be 1-D arrays of the same length")
    if len(y_true) == 0:
        raise ValueError("no rows to evaluate")
    if not np.isin(y_true, [0, 1]).all():
        raise ValueError("labels must be 0/1")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")


def roc_auc(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U; tied scores count one half)."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    _check_inputs(y, s)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC is undefined: the labels contain only one class")
    order = np.argsort(s, kind="mergesort")
    sorted_scores = s[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_scores)) + 1])
    ends = np.concatenate([starts[1:], [len(s)]])
    average_rank = (starts + 1 + ends) / 2.0  # 1-based ranks starts+1..ends, averaged over ties
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(average_rank, ends - starts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def binary_metrics(y_true: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> dict:
    """AUC, accuracy, precision, recall, F1, rates, log loss and the confusion matrix."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be in [0, 1]")
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    _check_inputs(y, s)
    predicted = (s >= threshold).astype(int)
    tp = int(((predicted == 1) & (y == 1)).sum())
    tn = int(((predicted == 0) & (y == 0)).sum())
    fp = int(((predicted == 1) & (y == 0)).sum())
    fn = int(((predicted == 0) & (y == 1)).sum())
    eps = 1e-15
    clipped = np.clip(s, eps, 1 - eps)
    return {
        "auc": roc_auc(y, s),
        "accuracy": _ratio(tp + tn, len(y)),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "true_positive_rate": _ratio(tp, tp + fn),
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }


def build_report(
    metrics: dict, threshold: float, n_samples: int, extra: dict | None = None
) -> dict:
    """The ``evaluation.json`` document for metrics from :func:`binary_metrics`."""
    tn, fp, fn, tp = metrics["tn"], metrics["fp"], metrics["fn"], metrics["tp"]
    headline = ["auc", "accuracy", "precision", "recall", "f1", "false_positive_rate", "log_loss"]
    sagemaker_style = [
        "auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "true_positive_rate",
        "true_negative_rate",
        "false_positive_rate",
        "false_negative_rate",
    ]
    binary = {
        name: {"value": metrics[name], "standard_deviation": "NaN"} for name in sagemaker_style
    }
    binary["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    report = {
        "schema_version": "1.0",
        "step": "evaluate",
        "metrics": {name: {"value": metrics[name]} for name in headline},
        "confusion_matrix": {
            "labels": [0, 1],
            "matrix": [[tn, fp], [fn, tp]],
            "true_negative": tn,
            "false_positive": fp,
            "false_negative": fn,
            "true_positive": tp,
        },
        "threshold": float(threshold),
        "positive_label": 1,
        "counts": {
            "n_samples": int(n_samples),
            "n_positive": tp + fn,
            "n_negative": tn + fp,
            "n_predicted_positive": tp + fp,
        },
        "binary_classification_metrics": binary,
    }
    if extra:
        report.update(extra)
    return report


def predict_scores(booster, frame: pd.DataFrame, feature_columns: Sequence[str]) -> np.ndarray:
    """Probability of default for each row (the model's ``binary:logistic`` output)."""
    return booster.predict(common.make_dmatrix(frame, feature_columns, booster)).astype(np.float64)


def split_auc(booster, path: Path, feature_columns: Sequence[str]) -> dict:
    """AUC of the model on a header-less split file (label first, then the features)."""
    frame = common.read_headerless_csv(Path(path))
    if frame.shape[1] < 1 + len(feature_columns):
        raise ValueError(
            f"{path} has {frame.shape[1]} columns; the model needs the label and "
            f"{len(feature_columns)} features"
        )
    frame = frame.iloc[:, : 1 + len(feature_columns)]
    frame.columns = ["__label__"] + list(feature_columns)
    scores = predict_scores(booster, frame, feature_columns)
    return {
        "auc": roc_auc(frame["__label__"].to_numpy(), scores),
        "rows": int(len(frame)),
        "sha256": common.sha256_files(common.list_csv_files(Path(path))),
    }


def generalisation_gap(
    booster,
    feature_columns: Sequence[str],
    train_path: Path,
    validation_path: Path,
    test_auc: float,
) -> dict:
    """Train and validation AUC and the gaps a gate bounds (positive = better on train)."""
    train = split_auc(booster, train_path, feature_columns)
    validation = split_auc(booster, validation_path, feature_columns)
    return {
        "train_auc": train["auc"],
        "validation_auc": validation["auc"],
        "auc_gap": train["auc"] - validation["auc"],
        "train_test_auc_gap": train["auc"] - test_auc,
        "inputs": {"train": train, "validation": validation},
    }


def run(
    model_path: Path,
    test_path: Path,
    output_dir: Path,
    threshold: float = 0.5,
    label_column: str = common.LABEL_COLUMN,
    train_path: Path | None = None,
    validation_path: Path | None = None,
) -> dict:
    booster, model_info = common.load_booster(Path(model_path))
    test_files = common.list_csv_files(Path(test_path))
    frame = common.read_csv_with_header(Path(test_path))
    features = common.model_feature_columns(frame, label_column, booster)
    for column in (SCORE_COLUMN, PREDICTED_LABEL_COLUMN):
        if column in frame.columns:
            raise ValueError(f"test data already has a {column!r} column")
    scores = predict_scores(booster, frame, features)
    metrics = binary_metrics(frame[label_column].to_numpy(), scores, threshold)
    report = build_report(
        metrics,
        threshold,
        len(frame),
        extra={
            "model": {
                k: model_info[k] for k in ("model_sha256", "archive_sha256", "xgboost_version")
            },
            "data": {
                "test_sha256": common.sha256_files(test_files),
                "label_column": label_column,
                "feature_columns": features,
            },
        },
    )
    if (train_path is None) != (validation_path is None):
        raise ValueError(
            "give both --train and --validation for the train/validation gap, or neither"
        )
    if train_path is not None:
        gap = generalisation_gap(
            booster, features, Path(train_path), Path(validation_path), metrics["auc"]
        )
        for name in ("train_auc", "validation_auc", "auc_gap", "train_test_auc_gap"):
            report["metrics"][name] = {"value": gap[name]}
        report["generalisation"] = {
            "definition": (
                "auc_gap = train_auc - validation_auc; train_test_auc_gap = train_auc - test auc"
            ),
            "inputs": gap["inputs"],
        }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    predictions = frame.copy()
    predictions[SCORE_COLUMN] = scores
    predictions[PREDICTED_LABEL_COLUMN] = (scores >= threshold).astype(int)
    predictions.to_csv(output_dir / PREDICTIONS_FILENAME, index=False)
    common.write_json(output_dir / EVALUATION_FILENAME, report)
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Evaluate the credit-default model on the test set."
    )
    parser.add_argument(
        "--model",
        default="/opt/ml/processing/input/model",
        help="model folder, xgboost-model or model.tar.gz",
    )
    parser.add_argument(
        "--test", default="/opt/ml/processing/input/test", help="test.csv or its folder"
    )
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="score >= threshold predicts default"
    )
    parser.add_argument("--label-column", default=common.LABEL_COLUMN)
    parser.add_argument(
        "--train", default=None, help="header-less train split (for train_auc and the gap)"
    )
    parser.add_argument(
        "--validation",
        default=None,
        help="header-less validation split (for validation_auc and the gap)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    report = run(
        Path(args.model),
        Path(args.test),
        Path(args.output_dir),
        args.threshold,
        args.label_column,
        Path(args.train) if args.train else None,
        Path(args.validation) if args.validation else None,
    )
    common.LOG.info(
        "evaluation: %s", {k: round(v["value"], 4) for k, v in report["metrics"].items()}
    )
    return report


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
