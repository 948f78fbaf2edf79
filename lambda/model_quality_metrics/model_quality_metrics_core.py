"""Exact binary-classification metrics, accumulated chunk by chunk (numpy only).

Algorithm and memory bound
--------------------------
Threshold metrics (accuracy, precision, recall, F1, confusion matrix, positive rates) are
sums: each chunk adds four integer counts and is dropped, so they cost O(1) memory.

ROC AUC is the normalised Mann-Whitney statistic::

    AUC = (#{(p, n) : s_p > s_n} + 0.5 * #{(p, n) : s_p == s_n}) / (n_pos * n_neg)

over every (positive, negative) pair. It depends on the global order of the scores, so no
fixed-size summary of the chunks gives it exactly (a histogram is exact only if every bucket
holds a single distinct value, and predicted probabilities are almost all distinct). We keep
the scores themselves, and nothing else:

* each chunk's scores are split by label with ``np.compress`` straight into one float64
  buffer, positives filling it from the front and negatives from the back;
* the labels are not kept (the side of the buffer encodes them) and no index array is ever
  built: the retained state is exactly **8 bytes per row**, below the size of the CSV text
  itself (``1,0.64818984`` is 12 bytes; a full float64 repr ~20). The buffer is sized from
  the file size when known, so it never has to grow (otherwise it grows by 1.5x);
* at the end each class is cut in two halves and the four pieces are sorted in place by
  two threads (numpy's sort releases the GIL; largest pieces first, so the threads are
  balanced); the two halves of the *larger* class are merged in place (numpy's stable sort
  is a timsort, linear on two sorted runs); then, for the scores of the *smaller* class,
  ``np.searchsorted(larger, x, "left")`` counts the other class's scores strictly below
  ``x`` (two threads, one half each), and the ties (``larger[left] == x``, a sequential
  gather; only tied scores are searched again with ``"right"``) complete the count. The
  sums give twice the Mann-Whitney U in exact integer arithmetic, ties counted one half,
  which is what scikit-learn's trapezoidal ``roc_auc_score`` computes.

Searching with the smaller class rather than the larger roughly halves the search, and
sorting once at the end costs less CPU than sorting runs while streaming and merging them
(the parser already keeps both cores busy while streaming). Transient memory at the end is
timsort's merge buffer (half of the larger class: at most 4 bytes/row) and slices of
32 Ki int64 positions: the peak is ~12 bytes/row. float32 scores would halve the footprint
but are not exact (two float64 probabilities that differ beyond float32 precision would tie
and change the AUC), so scores stay float64 and the result equals ``roc_auc_score`` to
floating-point rounding (the only rounding is the final division).

Conventions, chosen to match scikit-learn's defaults:

* a row is predicted positive when ``score >= threshold``;
* precision, recall and F1 are 0.0 when undefined (``zero_division=0`` behaviour; the reason
  is reported in ``undefined``);
* AUC is ``None`` when only one class is present, with the reason in ``undefined``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_SEARCH_SLICE = 1 << 15
_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """Two worker threads: numpy's sort and searchsorted release the GIL."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mq-auc")
        return _EXECUTOR


def _count_below(haystack: np.ndarray, needles: np.ndarray) -> tuple[int, int]:
    """For sorted ``haystack`` and ``needles`` (sorted, for cache locality), return
    ``(sum #haystack < x, sum #haystack == x)`` over the needles ``x``, in bounded slices."""
    below = ties = 0
    last = len(haystack) - 1
    for start in range(0, len(needles), _SEARCH_SLICE):
        part = needles[start : start + _SEARCH_SLICE]
        left = np.searchsorted(haystack, part, side="left")
        below += int(left.sum(dtype=np.int64))
        equal = haystack[np.minimum(left, last)] == part  # first haystack value >= x is x
        if equal.any():
            tied = part[equal]
            ties += int(
                (np.searchsorted(haystack, tied, side="right") - left[equal]).sum(dtype=np.int64)
            )
    return below, ties


def _halves(array: np.ndarray) -> list[np.ndarray]:
    middle = len(array) // 2
    return [array[:middle], array[middle:]]


def auc_from_sorted_runs(positives: np.ndarray, negatives: np.ndarray) -> float | None:
    """Exact ROC AUC from the float64 scores of each class, each array being a
    concatenation of sorted runs. The larger class is merged in place (timsort); the smaller
    one is only read. Returns ``None`` when either class is empty.
    """
    n_pos, n_neg = len(positives), len(negatives)
    if n_pos == 0 or n_neg == 0:
        return None
    if n_pos <= n_neg:
        haystack, needles, needles_are_positive = negatives, positives, True
    else:
        haystack, needles, needles_are_positive = positives, negatives, False
    haystack.sort(kind="stable")  # timsort: merges the sorted runs in O(n log runs)
    pool = _executor()
    counts = [pool.submit(_count_below, haystack, half) for half in _halves(needles)]
    below = ties = 0
    for future in counts:
        part_below, part_ties = future.result()
        below += part_below
        ties += part_ties
    if needles_are_positive:
        # 2U = sum over positives p of 2 * #neg < p + #neg == p
        twice_u = 2 * below + ties
    else:
        # 2U = sum over negatives n of 2 * #pos > n + #pos == n
        #    = 2 * n_pos * n_neg - 2 * #pos < n - #pos == n
        twice_u = 2 * n_pos * n_neg - 2 * below - ties
    return twice_u / (2 * n_pos * n_neg)


def auc_from_scores(positives: np.ndarray, negatives: np.ndarray) -> float | None:
    """Exact ROC AUC from unsorted float64 scores of each class (reordered in place): the
    halves of both classes are sorted by two threads, then :func:`auc_from_sorted_runs`."""
    pieces = sorted(_halves(positives) + _halves(negatives), key=len, reverse=True)
    pool = _executor()
    for sorting in [pool.submit(piece.sort) for piece in pieces]:  # largest first: balanced
        sorting.result()
    return auc_from_sorted_runs(positives, negatives)


# DeLong's variance needs every score's placement in the other class; beyond this many
# scores per class a systematic sample of the sorted scores (every k-th) estimates the
# placements' variance (relative error of the SE about 1/sqrt(2 * 16384), 0.6 %).
DELONG_SAMPLE = 1 << 14


def _placement_variance(haystack: np.ndarray, needles: np.ndarray) -> float:
    """Variance (ddof=1) over the needles ``x`` of ``(#haystack < x + 0.5 * #haystack == x)
    / len(haystack)``; both arrays sorted. At most :data:`DELONG_SAMPLE` needles are used
    (every k-th, from the sorted array)."""
    if len(needles) > DELONG_SAMPLE:
        needles = needles[:: -(-len(needles) // DELONG_SAMPLE)]
    k = len(needles)
    total = squares = 0.0
    for start in range(0, k, _SEARCH_SLICE):
        part = needles[start : start + _SEARCH_SLICE]
        placement = (
            np.searchsorted(haystack, part, side="left")
            + np.searchsorted(haystack, part, side="right")
        ) * 0.5
        total += float(placement.sum())
        squares += float(np.dot(placement, placement))
    return (squares - total * total / k) / (k - 1) / (len(haystack) ** 2)


def delong_standard_error(positives: np.ndarray, negatives: np.ndarray) -> float | None:
    """DeLong, DeLong & Clarke-Pearson (1988) standard error of the ROC AUC from the
    structural components (each score's placement in the other class): exact up to
    :data:`DELONG_SAMPLE` scores per class, a systematic sample beyond. Sorts both arrays in
    place (stable: cheap on the sorted runs :func:`auc_from_scores` leaves). ``None`` when a
    class has fewer than two scores (the variance is undefined)."""
    m, n = len(positives), len(negatives)
    if m < 2 or n < 2:
        return None
    positives.sort(kind="stable")
    negatives.sort(kind="stable")
    # V10(p) = share of negatives below p; V01(q) = share of positives above q, whose
    # variance is that of the share of positives below q.
    var10 = _placement_variance(negatives, positives)
    var01 = _placement_variance(positives, negatives)
    return float(np.sqrt(max(var10 / m + var01 / n, 0.0)))


def exact_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Exact ROC AUC of in-memory arrays (labels truthy = positive)."""
    y = np.asarray(labels).astype(bool, copy=False)
    s = np.asarray(scores, dtype=np.float64)
    return auc_from_scores(s[y], s[~y])


class _TwoSidedBuffer:
    """One float64 array: class-1 scores fill it from the front, class-0 from the back."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._data = np.empty(max(int(capacity), 16), dtype=np.float64)
        self.front_count = 0
        self.back_count = 0

    @property
    def capacity(self) -> int:
        return len(self._data)

    def reserve(self, total: int) -> None:
        """Make room for ``total`` rows in all (a size hint; exact sizing avoids growth copies)."""
        if total > self.capacity:
            self._resize(total)

    def _resize(self, capacity: int) -> None:
        old, front, back = self._data, self.front_count, self.back_count
        data = np.empty(capacity, dtype=np.float64)
        data[:front] = old[:front]
        if back:
            data[capacity - back :] = old[len(old) - back :]
        self._data = data

    def take(self, front: int, back: int) -> tuple[np.ndarray, np.ndarray]:
        """Views for ``front`` more class-1 and ``back`` more class-0 scores."""
        needed = self.front_count + self.back_count + front + back
        if needed > self.capacity:
            self._resize(max(needed, int(self.capacity * 1.5)))
        cap = self.capacity
        head = self._data[self.front_count : self.front_count + front]
        tail = self._data[cap - self.back_count - back : cap - self.back_count]
        self.front_count += front
        self.back_count += back
        return head, tail

    def front(self) -> np.ndarray:
        return self._data[: self.front_count]

    def back(self) -> np.ndarray:
        return self._data[self.capacity - self.back_count :]

    def release(self) -> None:
        self._data = np.empty(0, dtype=np.float64)
        self.front_count = self.back_count = 0


@dataclass
class QualityMetrics:
    """Metrics of a binary classifier at one decision threshold."""

    threshold: float
    row_count: int
    tp: int
    fp: int
    tn: int
    fn: int
    auc: float | None
    undefined: dict[str, str] = field(default_factory=dict)
    auc_standard_error: float | None = None  # DeLong; the evidence rule's confidence bound

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def predicted_positives(self) -> int:
        return self.tp + self.fp

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.row_count

    @property
    def precision(self) -> float:
        denominator = self.tp + self.fp
        return self.tp / denominator if denominator else 0.0

    @property
    def recall(self) -> float:
        denominator = self.tp + self.fn
        return self.tp / denominator if denominator else 0.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0

    @property
    def positive_rate(self) -> float:
        return self.positives / self.row_count

    @property
    def predicted_positive_rate(self) -> float:
        return self.predicted_positives / self.row_count

    def value(self, name: str) -> float | None:
        """A comparable metric by name: ``auc``, ``accuracy``, ``precision``, ``recall``, ``f1``."""
        return {
            "auc": self.auc,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "auc": self.auc,
            "auc_standard_error": self.auc_standard_error,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "row_count": self.row_count,
            "positive_rate": self.positive_rate,
            "predicted_positive_rate": self.predicted_positive_rate,
            "threshold": self.threshold,
            "confusion_matrix": {"tn": self.tn, "fp": self.fp, "fn": self.fn, "tp": self.tp},
            "undefined": dict(self.undefined),
        }


class MetricsAccumulator:
    """Consumes validated chunks ``(labels: bool[], scores: float64[])`` of equal length.

    Memory: one float64 per row (see the module docstring); everything else is O(1).
    ``reserve(rows)`` pre-sizes the score buffer when the row count can be estimated.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self.row_count = 0
        self.positives = 0
        self.predicted_positives = 0
        self.true_positives = 0
        self._scores = _TwoSidedBuffer()

    def reserve(self, rows: int) -> None:
        self._scores.reserve(rows)

    def update(self, labels: np.ndarray, scores: np.ndarray) -> None:
        n = len(scores)
        if n == 0:
            return
        predicted = scores >= self.threshold
        positives = int(np.count_nonzero(labels))
        self.row_count += n
        self.positives += positives
        self.predicted_positives += int(np.count_nonzero(predicted))
        self.true_positives += int(np.count_nonzero(predicted & labels))
        pos, neg = self._scores.take(positives, n - positives)
        if positives:
            np.compress(labels, scores, out=pos)
        if positives < n:
            np.compress(~labels, scores, out=neg)

    def result(self) -> QualityMetrics:
        n = self.row_count
        if n == 0:
            raise ValueError("no rows were accumulated")
        tp = self.true_positives
        fp = self.predicted_positives - tp
        fn = self.positives - tp
        tn = n - tp - fp - fn
        undefined: dict[str, str] = {}
        auc = auc_from_scores(self._scores.front(), self._scores.back())
        auc_se = (
            delong_standard_error(self._scores.front(), self._scores.back())
            if auc is not None
            else None
        )
        self._scores.release()
        if auc is None:
            only = 1 if self.positives else 0
            undefined["auc"] = (
                f"only one class present: all {n} rows have label {only}; "
                "ROC AUC needs both positives and negatives"
            )
        if tp + fp == 0:
            undefined["precision"] = (
                f"no row was predicted positive at threshold {self.threshold:g}; reported as 0.0"
            )
        if tp + fn == 0:
            undefined["recall"] = "no positive labels; reported as 0.0"
        if 2 * tp + fp + fn == 0:
            undefined["f1"] = "no positive labels and no positive predictions; reported as 0.0"
        return QualityMetrics(
            threshold=self.threshold,
            row_count=n,
            tp=tp,
            fp=fp,
            tn=tn,
            fn=fn,
            auc=auc,
            undefined=undefined,
            auc_standard_error=auc_se,
        )
