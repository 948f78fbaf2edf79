"""Model-quality metrics: exactness against scikit-learn, every bad input, the decision, the
handler on moto S3 with its embedded-metric-format output."""

from __future__ import annotations

import json
import math
import tracemalloc
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

import model_quality_metrics_handler as handler_module
from model_quality_metrics_check import run_check
from model_quality_metrics_compare import compare_with_baseline
from model_quality_metrics_core import MetricsAccumulator, auc_from_scores, exact_auc
from model_quality_metrics_errors import (
    ColumnNotFoundError,
    EmptyInputError,
    InvalidRequestError,
    MalformedCsvError,
    MissingValueError,
    ModelQualityInputError,
    NonNumericValueError,
    RowCountMismatchError,
    ScoreOutOfRangeError,
    UnknownLabelError,
)
from model_quality_metrics_evaluate import CombinedFile, SeparateFiles, compute_metrics
from model_quality_metrics_request import parse_request

# --------------------------------------------------------------------------- helpers


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _fmt(values: np.ndarray, decimals: int | None) -> list[str]:
    if decimals is None:
        return [repr(float(v)) for v in values]
    return [f"{v:.{decimals}f}" for v in values]


def _random_case(seed: int, n: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels, float64 scores exactly as parsed from their text, and that text."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rng.uniform(0.1, 0.6)).astype(np.int64)
    raw = np.clip(rng.normal(0.4 + 0.2 * labels, 0.25), 0.0, 1.0)
    text = _fmt(raw, decimals)
    return labels, np.array([float(t) for t in text]), text


def _sklearn(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    predicted = (scores >= threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    return {
        "auc": roc_auc_score(labels, scores),
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted, zero_division=0),
        "f1": f1_score(labels, predicted, zero_division=0),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "row_count": len(labels),
        "positive_rate": float(labels.mean()),
        "predicted_positive_rate": float(predicted.mean()),
    }


def _assert_matches(result: dict, expected: dict) -> None:
    for key in ("auc", "accuracy", "precision", "recall", "f1", "positive_rate", "predicted_positive_rate"):
        assert result[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-12), key
    assert result["confusion_matrix"] == expected["confusion_matrix"]
    assert result["row_count"] == expected["row_count"]


def _brute_force_auc(labels: np.ndarray, scores: np.ndarray) -> Fraction:
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    wins = sum(int(np.count_nonzero(p > neg)) for p in pos)
    ties = sum(int(np.count_nonzero(p == neg)) for p in pos)
    return Fraction(2 * wins + ties, 2 * len(pos) * len(neg))


# --------------------------------------------------------------------------- exactness

BLOCK_SIZES = [64, 200, 1024, 1 << 20]


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
@pytest.mark.parametrize(
    ("seed", "decimals"),
    [(1, 2), (2, 3), (3, None)],  # 2-3 decimals: many ties across classes; None: full repr
)
def test_combined_file_matches_sklearn(tmp_path: Path, block_size: int, seed: int, decimals: int | None) -> None:
    labels, scores, text = _random_case(seed, 3000, decimals)
    path = _write(tmp_path / "data.csv", "label,score\n" + "".join(f"{y},{s}\n" for y, s in zip(labels, text)))
    threshold = 0.45
    metrics = compute_metrics(CombinedFile(path), threshold, block_size=block_size)
    _assert_matches(metrics.to_dict(), _sklearn(labels, scores, threshold))


@pytest.mark.parametrize(("pred_block", "label_block"), [(64, 1024), (1024, 64), (97, 131), (1 << 20, 1 << 20)])
def test_separate_files_realigned_across_chunk_boundaries(tmp_path: Path, pred_block: int, label_block: int) -> None:
    labels, scores, text = _random_case(7, 2500, 3)
    predictions = _write(tmp_path / "pred.csv.out", "".join(f"{s}\n" for s in text))
    truth = _write(tmp_path / "labels.csv", "label\n" + "".join(f"{y}\n" for y in labels))

    # Different block sizes per file: the readers' batches never line up.
    from model_quality_metrics_csv import ColumnReader, ColumnSpec
    from model_quality_metrics_evaluate import _aligned

    accumulator = MetricsAccumulator(0.5)
    with ColumnReader(predictions, _local, [ColumnSpec("score", None, "predictions_column")], block_size=pred_block) as p, \
            ColumnReader(truth, _local, [ColumnSpec("label", None, "labels_column")], block_size=label_block) as t:
        for y, s in _aligned(p, t):
            accumulator.update(y, s)
    _assert_matches(accumulator.result().to_dict(), _sklearn(labels, scores, 0.5))

    metrics = compute_metrics(SeparateFiles(predictions, truth), 0.5, block_size=pred_block)
    _assert_matches(metrics.to_dict(), _sklearn(labels, scores, 0.5))


def _local(path: str):
    from model_quality_metrics_csv import open_local

    return open_local(path)


@pytest.mark.parametrize("seed", range(6))
def test_auc_is_exact_including_ties(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 400))
    labels = rng.integers(0, 2, n)
    labels[0], labels[-1] = 0, 1
    scores = rng.integers(0, 12, n) / 11.0  # heavy ties
    expected = _brute_force_auc(labels, scores)
    assert exact_auc(labels, scores) == float(expected)  # exactly, not approximately
    assert exact_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("positive_share", [0.2, 0.5, 0.8])  # either class may be the smaller
def test_auc_from_scores_is_exact_for_either_smaller_class(positive_share: float) -> None:
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 5000):
        labels = (rng.random(n + 1) < positive_share).astype(np.int64)
        labels[0] = 1 - labels[-1]  # both classes present
        scores = rng.integers(0, 50, n + 1) / 49.0  # ties, including at 0.0 and 1.0
        expected = float(_brute_force_auc(labels, scores))
        pos, neg = scores[labels == 1].copy(), scores[labels == 0].copy()
        assert auc_from_scores(pos, neg) == expected
        larger = neg if len(neg) >= len(pos) else pos
        assert np.all(np.diff(larger) >= 0)  # the larger class was merged in place


def test_auc_ties_at_the_top_of_the_other_class() -> None:
    # Needles equal to, and above, the largest haystack value.
    pos = np.array([1.0, 1.0, 0.9, 0.2])
    neg = np.array([1.0, 0.9, 0.5, 0.1, 0.1, 0.0])
    labels = np.r_[np.ones(4), np.zeros(6)].astype(int)
    assert auc_from_scores(pos.copy(), neg.copy()) == float(_brute_force_auc(labels, np.r_[pos, neg]))
    assert auc_from_scores(neg.copy(), pos.copy()) == float(_brute_force_auc(1 - labels, np.r_[pos, neg]))


def test_buffer_growth_keeps_both_classes() -> None:
    rng = np.random.default_rng(9)
    labels = rng.random(50_000) < 0.3
    scores = rng.random(50_000)
    accumulator = MetricsAccumulator(0.5)  # default capacity is smaller: it must grow
    for start in range(0, 50_000, 997):
        accumulator.update(labels[start : start + 997], scores[start : start + 997])
    assert accumulator.result().auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_all_scores_tied_gives_half(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "".join(f"{i % 2},0.5\n" for i in range(100)))
    assert compute_metrics(CombinedFile(path), 0.5).auc == 0.5


def _traced_peak(path: str) -> int:
    compute_metrics(CombinedFile(path), 0.5)  # warm-up (imports, thread pool)
    tracemalloc.start()
    try:
        compute_metrics(CombinedFile(path), 0.5)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_by_about_8_bytes_per_row(tmp_path: Path) -> None:
    peaks, sizes = {}, {}
    for n in (40_000, 160_000):
        labels, _, text = _random_case(11, n, None)
        path = _write(tmp_path / f"d{n}.csv", "label,score\n" + "".join(f"{y},{s}\n" for y, s in zip(labels, text)))
        peaks[n], sizes[n] = _traced_peak(path), Path(path).stat().st_size
    per_row = (peaks[160_000] - peaks[40_000]) / 120_000
    # 8 B/row of retained scores + the merged smaller class (<= 12 B/row of it at the end);
    # the labels, the text and the parsed blocks are not retained: the constant part is a few
    # blocks, and the growth is well below the growth of the text.
    assert per_row < 14, per_row
    assert peaks[160_000] - peaks[40_000] < (sizes[160_000] - sizes[40_000]) * 0.75


# --------------------------------------------------------------------------- layouts


def test_combined_file_column_selection(tmp_path: Path) -> None:
    rows = [(1, 0.9), (0, 0.2), (1, 0.4), (0, 0.6)]
    reversed_header = _write(tmp_path / "r.csv", "id,score,f1,label\n" + "".join(f"x{i},{s},7,{y}\n" for i, (y, s) in enumerate(rows)))
    no_header = _write(tmp_path / "n.csv", "".join(f"{y},{s}\n" for y, s in rows))
    by_index = _write(tmp_path / "i.csv", "".join(f"{s},3,{y}\n" for y, s in rows))
    expected = roc_auc_score([y for y, _ in rows], [s for _, s in rows])
    assert compute_metrics(CombinedFile(reversed_header), 0.5).auc == pytest.approx(expected)
    assert compute_metrics(CombinedFile(no_header), 0.5).auc == pytest.approx(expected)
    assert compute_metrics(CombinedFile(by_index, label_column=2, score_column=0), 0.5).auc == pytest.approx(expected)
    renamed = _write(tmp_path / "c.csv", "Target,Prob\n" + "".join(f"{y},{s}\n" for y, s in rows))
    assert compute_metrics(CombinedFile(renamed, "target", "prob"), 0.5).auc == pytest.approx(expected)


@pytest.mark.parametrize(("one", "zero"), [("1.0", "0.0"), ("1.00", "0"), ("1e0", "0e0")])
def test_label_spellings(tmp_path: Path, one: str, zero: str) -> None:
    path = _write(tmp_path / "d.csv", f"label,score\n{one},0.9\n{zero},0.1\n{zero},0.8\n{one},0.7\n")
    metrics = compute_metrics(CombinedFile(path), 0.5, block_size=64)
    assert (metrics.tp, metrics.fp, metrics.tn, metrics.fn) == (2, 1, 1, 0)
    assert metrics.auc == 0.75


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbflabel,score\r\n1,0.9\r\n0,0.1\r\n")
    assert compute_metrics(CombinedFile(str(path)), 0.5).auc == 1.0


# --------------------------------------------------------------------------- bad input


def _combined(tmp_path: Path, body: str, header: str = "label,score\n") -> str:
    return _write(tmp_path / "bad.csv", header + body)


def _good_rows(n: int) -> str:
    return "".join(f"{i % 2},0.{i % 10}\n" for i in range(n))


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.csv", "")
    with pytest.raises(EmptyInputError, match=r"empty\.csv: the file is empty"):
        compute_metrics(CombinedFile(path), 0.5)


def test_header_only_file(tmp_path: Path) -> None:
    path = _combined(tmp_path, "")
    with pytest.raises(EmptyInputError, match="no data rows"):
        compute_metrics(CombinedFile(path), 0.5)


def test_empty_labels_file_is_named(tmp_path: Path) -> None:
    predictions = _write(tmp_path / "p.csv", "0.1\n0.2\n")
    labels = _write(tmp_path / "l.csv", "")
    with pytest.raises(EmptyInputError) as info:
        compute_metrics(SeparateFiles(predictions, labels), 0.5)
    assert info.value.source == labels


@pytest.mark.parametrize(("n_pred", "n_labels"), [(10, 9), (9, 10), (300, 10)])
def test_row_count_mismatch(tmp_path: Path, n_pred: int, n_labels: int) -> None:
    predictions = _write(tmp_path / "p.csv", "".join("0.5\n" for _ in range(n_pred)))
    labels = _write(tmp_path / "l.csv", "".join(f"{i % 2}\n" for i in range(n_labels)))
    with pytest.raises(RowCountMismatchError) as info:
        compute_metrics(SeparateFiles(predictions, labels), 0.5, block_size=64)
    message = str(info.value)
    assert f"has {min(n_pred, n_labels)} data rows" in message
    assert f"has {max(n_pred, n_labels)}" in message
    assert info.value.row == min(n_pred, n_labels) + 1


@pytest.mark.parametrize("marker", ["", "NA", "NaN", "null"])
def test_missing_score_reports_row_and_line(tmp_path: Path, marker: str) -> None:
    body = _good_rows(40) + f"1,{marker}\n" + _good_rows(5)
    path = _combined(tmp_path, body)
    with pytest.raises(MissingValueError) as info:
        compute_metrics(CombinedFile(path), 0.5, block_size=64)
    error = info.value
    assert (error.row, error.line, error.column) == (41, 42, "score")
    assert "bad.csv, data row 41 (line 42), column 'score': missing value" in str(error)


def test_empty_line_is_a_missing_value(tmp_path: Path) -> None:
    predictions = _write(tmp_path / "p.csv", "0.1\n0.2\n\n0.4\n")
    labels = _write(tmp_path / "l.csv", "0\n1\n0\n1\n")
    with pytest.raises(MissingValueError) as info:
        compute_metrics(SeparateFiles(predictions, labels), 0.5)
    assert (info.value.source, info.value.row) == (predictions, 3)


@pytest.mark.parametrize("block_size", [64, 1 << 20])
def test_non_numeric_score(tmp_path: Path, block_size: int) -> None:
    path = _combined(tmp_path, _good_rows(57) + "0,abc\n" + _good_rows(3))
    with pytest.raises(NonNumericValueError) as info:
        compute_metrics(CombinedFile(path), 0.5, block_size=block_size)
    assert (info.value.row, info.value.line, info.value.value) == (58, 59, "abc")
    assert "'abc' is not a number" in str(info.value)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "inf", "1e3"])
def test_score_out_of_range(tmp_path: Path, value: str) -> None:
    path = _combined(tmp_path, _good_rows(20) + f"1,{value}\n")
    with pytest.raises(ScoreOutOfRangeError, match=r"outside \[0, 1\]") as info:
        compute_metrics(CombinedFile(path), 0.5, block_size=64)
    assert info.value.row == 21


@pytest.mark.parametrize("block_size", [64, 1 << 20])
@pytest.mark.parametrize("value", ["2", "-1", "0.5"])
def test_label_outside_known_classes(tmp_path: Path, block_size: int, value: str) -> None:
    path = _combined(tmp_path, _good_rows(30) + f"{value},0.3\n" + _good_rows(2))
    with pytest.raises(UnknownLabelError, match=r"not one of the known classes \{0, 1\}") as info:
        compute_metrics(CombinedFile(path), 0.5, block_size=block_size)
    assert (info.value.row, info.value.column) == (31, "label")


def test_unknown_label_found_on_numeric_label_path(tmp_path: Path) -> None:
    # "1.00" forces the numeric-label parser; "3" must still be reported with its row.
    path = _combined(tmp_path, "1.00,0.2\n0,0.3\n3,0.4\n")
    with pytest.raises(UnknownLabelError) as info:
        compute_metrics(CombinedFile(path), 0.5)
    assert info.value.row == 3


def test_non_numeric_label(tmp_path: Path) -> None:
    labels = _write(tmp_path / "l.csv", "0\n1\nyes\n")
    predictions = _write(tmp_path / "p.csv", "0.1\n0.2\n0.3\n")
    with pytest.raises(NonNumericValueError) as info:
        compute_metrics(SeparateFiles(predictions, labels), 0.5)
    assert (info.value.source, info.value.row, info.value.value) == (labels, 3, "yes")


def test_first_problem_in_a_batch_wins(tmp_path: Path) -> None:
    # Out-of-range at row 2 precedes the unparsable value at row 4 in the same block.
    path = _combined(tmp_path, "1,0.2\n0,7\n1,0.3\n0,x\n")
    with pytest.raises(ScoreOutOfRangeError) as info:
        compute_metrics(CombinedFile(path), 0.5)
    assert info.value.row == 2


def test_malformed_row(tmp_path: Path) -> None:
    path = _combined(tmp_path, _good_rows(10) + "1,0.5,extra\n")
    with pytest.raises(MalformedCsvError, match="expected 2 field") as info:
        compute_metrics(CombinedFile(path), 0.5)
    assert (info.value.row, info.value.line) == (11, 12)


def test_ambiguous_or_missing_columns(tmp_path: Path) -> None:
    two_columns = _write(tmp_path / "p.csv", "0.3,0.7\n0.6,0.4\n")
    labels = _write(tmp_path / "l.csv", "0\n1\n")
    with pytest.raises(ColumnNotFoundError, match="set predictions_column"):
        compute_metrics(SeparateFiles(two_columns, labels), 0.5)
    assert compute_metrics(SeparateFiles(two_columns, labels, predictions_column=1), 0.5).auc == 0.0
    named = _combined(tmp_path, "1,0.5\n", header="y,p\n")
    with pytest.raises(ColumnNotFoundError, match="no label column named 'label'"):
        compute_metrics(CombinedFile(named), 0.5)


def test_single_class_reports_null_auc_with_reason(tmp_path: Path) -> None:
    path = _combined(tmp_path, "1,0.9\n1,0.4\n1,0.7\n")
    metrics = compute_metrics(CombinedFile(path), 0.5)
    assert metrics.auc is None
    assert "only one class present: all 3 rows have label 1" in metrics.undefined["auc"]
    assert metrics.recall == pytest.approx(2 / 3)
    decision = compare_with_baseline(metrics, {"auc": 0.9, "recall": 0.5}, {"auc": 0.1, "recall": 0.1}, None,
                                     min_labelled_rows=0, min_class_rows=0)
    assert decision["comparison"]["auc"]["status"] == "UNDEFINED"
    assert decision["comparison"]["recall"]["status"] == "OK"
    assert decision["degraded"] is True and decision["breached_metrics"] == ["auc"]


def test_errors_are_input_errors_with_serialisable_detail(tmp_path: Path) -> None:
    path = _combined(tmp_path, "1,0.2\n0,2\n")
    with pytest.raises(ModelQualityInputError) as info:
        compute_metrics(CombinedFile(path), 0.5)
    detail = info.value.to_dict()
    assert detail["code"] == "SCORE_OUT_OF_RANGE"
    assert json.loads(json.dumps(detail))["row"] == 2


# --------------------------------------------------------------------------- decision


@dataclass
class _Metrics:
    """Metrics of a sample so large that sampling noise is nil (the evidence rule is tested
    in test_model_quality_evidence.py)."""

    auc: float | None
    accuracy: float
    undefined: dict
    row_count: int = 10**15
    positives: int = 10**14
    positive_rate: float = 0.1
    auc_standard_error: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 10**14
    tn: int = 9 * 10**14

    def value(self, name: str) -> float | None:
        return getattr(self, name)


@pytest.mark.parametrize(
    ("current", "tolerance", "status"),
    [(0.89, 0.02, "OK"), (0.89, 0.01, "OK"), (0.889, 0.01, "BREACHED"), (0.95, 0.0, "OK"), (0.9, 0.0, "OK")],
)
def test_tolerance_boundaries(current: float, tolerance: float, status: str) -> None:
    decision = compare_with_baseline(_Metrics(current, 0.8, {}), {"auc": 0.9}, {"auc": tolerance}, None)  # type: ignore[arg-type]
    assert decision["comparison"]["auc"]["status"] == status
    assert decision["degraded"] is (status == "BREACHED")


def test_default_tolerance_and_not_checked() -> None:
    metrics = _Metrics(0.80, 0.70, {})
    decision = compare_with_baseline(metrics, {"auc": 0.9, "accuracy": 0.75}, {"auc": 0.2}, None)  # type: ignore[arg-type]
    assert decision["comparison"]["accuracy"]["status"] == "NOT_CHECKED"
    assert decision["degraded"] is False
    decision = compare_with_baseline(metrics, {"auc": 0.9, "accuracy": 0.75}, {"auc": 0.2}, 0.01)  # type: ignore[arg-type]
    # accuracy moves with the default rate alone: reported, not an alarm
    assert decision["advisory_metrics"] == ["accuracy"] and decision["degraded"] is False


def test_threshold_changes_the_decision(tmp_path: Path) -> None:
    labels, scores, text = _random_case(3, 2000, 3)
    path = _write(tmp_path / "d.csv", "label,score\n" + "".join(f"{y},{s}\n" for y, s in zip(labels, text)))
    good = _sklearn(labels, scores, 0.5)["accuracy"]
    event = {
        "data_s3_uri": path,
        "baseline_metrics": {"accuracy": good, "auc": 0.5},
        "tolerances": {"accuracy": 0.01},
        "model_package_group": "g",
    }
    ok = run_check(parse_request({**event, "threshold": 0.5}))
    assert ok["degraded"] is False and ok["comparison"]["accuracy"]["status"] == "OK"
    bad = run_check(parse_request({**event, "threshold": 0.05}))  # almost everything predicted positive
    assert bad["comparison"]["accuracy"]["status"] == "BREACHED"
    assert bad["degraded"] is False and bad["advisory_metrics"] == ["accuracy"]
    assert bad["metrics"]["accuracy"] == pytest.approx(_sklearn(labels, scores, 0.05)["accuracy"])


# --------------------------------------------------------------------------- request


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"data_s3_uri": None, "predictions_s3_uri": None}, "input files are missing"),
        ({"predictions_s3_uri": "s3://b/p"}, "not both"),
        ({"threshold": 1.5}, r"threshold must be in \[0, 1\]"),
        ({"threshold": "0.5"}, "threshold must be a number"),
        ({"tolerances": {"mse": 0.1}}, "unknown metric"),
        ({"tolerances": {"recall": 0.1}}, "no baseline value for recall"),
        ({"tolerances": {}}, "nothing to check"),
        ({"baseline_metrics": {}}, "non-empty"),
        ({"baseline_metrics": {"auc": 1.2}}, r"baseline_metrics.auc must be in \[0, 1\]"),
        ({"model_package_group": None}, "model_package_group is required"),
        ({"label_column": -1}, ">= 0"),
    ],
)
def test_invalid_requests(patch: dict, message: str) -> None:
    event = {
        "data_s3_uri": "s3://b/d.csv",
        "baseline_metrics": {"auc": 0.9},
        "tolerances": {"auc": 0.05},
        "model_package_group": "g",
    }
    event.update(patch)
    with pytest.raises(InvalidRequestError, match=message):
        parse_request({k: v for k, v in event.items() if v is not None})


def test_sagemaker_statistics_baseline_is_accepted() -> None:
    request = parse_request(
        {
            "predictions_s3_uri": "s3://b/p.csv",
            "labels_s3_uri": "s3://b/l.csv",
            "baseline_metrics": {
                "version": 0.0,
                "binary_classification_metrics": {
                    "auc": {"value": 0.91, "standard_deviation": 0.01},
                    "f1": {"value": 0.7},
                    "false_positive_rate": {"value": 0.1},
                },
            },
            "tolerances": {"AUC": 0.02},
            "model_package_group": "g",
        }
    )
    assert request.baseline == {"auc": 0.91, "f1": 0.7}
    assert request.tolerances == {"auc": 0.02}
    assert request.threshold == 0.5
    assert isinstance(request.inputs, SeparateFiles)


# --------------------------------------------------------------------------- handler (moto)

BUCKET = "ml-eval"


@dataclass
class FakeContext:
    function_name: str = "model-quality-metrics"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:model-quality-metrics"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def s3():
    with mock_aws():
        handler_module.reset_clients()
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client
    handler_module.reset_clients()


def _emf_documents(output: str) -> list[dict]:
    documents = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            document = json.loads(line)
            if "_aws" in document:
                documents.append(document)
    return documents


def test_handler_reads_s3_and_publishes_metrics(s3, capsys: pytest.CaptureFixture[str]) -> None:
    labels, scores, text = _random_case(21, 5000, 4)
    s3.put_object(Bucket=BUCKET, Key="transform/test.csv.out", Body="".join(f"{s}\n" for s in text).encode())
    s3.put_object(Bucket=BUCKET, Key="data/labels.csv", Body=("label\n" + "".join(f"{y}\n" for y in labels)).encode())
    expected = _sklearn(labels, scores, 0.5)
    event = {
        "predictions_s3_uri": f"s3://{BUCKET}/transform/test.csv.out",
        "labels_s3_uri": f"s3://{BUCKET}/data/labels.csv",
        "threshold": 0.5,
        "baseline_metrics": {"auc": expected["auc"] + 0.05, "accuracy": expected["accuracy"]},
        "tolerances": {"auc": 0.01, "accuracy": 0.01},
        "model_package_group": "credit-risk",
        "endpoint_name": "credit-risk-prod",
    }
    capsys.readouterr()
    result = handler_module.handler(event, FakeContext())

    assert result["status"] == "OK"
    _assert_matches(result["metrics"], expected)
    assert result["degraded"] is True and result["breached_metrics"] == ["auc"]
    assert result["comparison"]["accuracy"]["status"] == "OK"

    documents = _emf_documents(capsys.readouterr().out)
    assert len(documents) == 1
    document = documents[0]
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "MlPlatformTest"
    assert directive["Dimensions"] == [["ModelPackageGroup", "Endpoint"]]
    assert document["ModelPackageGroup"] == "credit-risk"
    assert document["Endpoint"] == "credit-risk-prod"
    assert "service" not in document
    names = {m["Name"] for m in directive["Metrics"]}
    assert {"AUC", "Accuracy", "Precision", "Recall", "F1", "RowCount", "Degraded", "TruePositives"} <= names
    # Powertools v3 writes each metric value as a list of datapoints.
    assert document["AUC"] == [pytest.approx(expected["auc"], abs=1e-12)]
    assert document["Accuracy"] == [pytest.approx(expected["accuracy"], abs=1e-12)]
    assert document["RowCount"] == [5000]
    assert document["TruePositives"] == [expected["confusion_matrix"]["tp"]]
    assert document["FalseNegatives"] == [expected["confusion_matrix"]["fn"]]
    assert document["Degraded"] == [1]
    assert document["BreachedMetrics"] == [1]


def test_handler_returns_invalid_input_instead_of_raising(s3, capsys: pytest.CaptureFixture[str]) -> None:
    s3.put_object(Bucket=BUCKET, Key="eval/joined.csv", Body=b"label,score\n1,0.9\n0,1.7\n")
    event = {
        "data_s3_uri": f"s3://{BUCKET}/eval/joined.csv",
        "baseline_metrics": {"auc": 0.9},
        "tolerances": {"auc": 0.05},
        "model_package_group": "credit-risk",
    }
    capsys.readouterr()
    result = handler_module.handler(event, FakeContext())
    assert result["status"] == "INVALID_INPUT"
    assert result["error"]["code"] == "SCORE_OUT_OF_RANGE"
    assert result["error"]["row"] == 2
    assert result["error"]["source"] == f"s3://{BUCKET}/eval/joined.csv"
    documents = _emf_documents(capsys.readouterr().out)
    assert [d.get("InvalidInput") for d in documents] == [[1.0]]
    assert documents[0]["Endpoint"] == "none"


def test_handler_refuses_non_s3_uris(s3, tmp_path: Path) -> None:
    local = _write(tmp_path / "d.csv", "label,score\n1,0.9\n0,0.1\n")
    event = {"data_s3_uri": local, "baseline_metrics": {"auc": 0.9}, "tolerances": {"auc": 0.1}, "model_package_group": "g"}
    result = handler_module.handler(event, FakeContext())
    assert result["status"] == "INVALID_INPUT"
    assert result["error"]["code"] == "INVALID_REQUEST"
    assert "not an s3:// URI" in result["error"]["message"]


def test_handler_raises_aws_errors(s3) -> None:
    event = {
        "data_s3_uri": f"s3://{BUCKET}/missing.csv",
        "baseline_metrics": {"auc": 0.9},
        "tolerances": {"auc": 0.1},
        "model_package_group": "g",
    }
    with pytest.raises(ClientError) as info:
        handler_module.handler(event, FakeContext())
    assert info.value.response["Error"]["Code"] == "NoSuchKey"


def test_metrics_are_json_serialisable_floats(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "label,score\n1,0.9\n0,0.2\n1,0.3\n")
    result = run_check(
        parse_request(
            {"data_s3_uri": path, "baseline_metrics": {"auc": 0.6}, "default_tolerance": 0.1, "model_package_group": "g"}
        )
    )
    round_tripped = json.loads(json.dumps(result))
    assert round_tripped == result
    assert all(not isinstance(v, float) or math.isfinite(v) for v in result["metrics"].values())
