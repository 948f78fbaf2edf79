"""End-to-end computation: CSV file(s) -> validated chunks -> :class:`QualityMetrics`.

Two input layouts (see docs/model-quality.md):

* :class:`SeparateFiles` - a predictions file and a labels file with one value per row, in
  the same order (what a SageMaker batch transform writes next to the ground truth). The two
  files are streamed in lockstep; their batches are re-aligned row by row.
* :class:`CombinedFile` - one file with a label column and a score column (by default the
  header names ``label`` and ``score``, or columns 0 and 1 when there is no header), e.g. a
  batch transform output joined with its input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from model_quality_metrics_core import MetricsAccumulator, QualityMetrics
from model_quality_metrics_csv import (
    DEFAULT_BLOCK_SIZE,
    LABEL,
    SCORE,
    ColumnReader,
    ColumnSpec,
    Opener,
    open_local,
)
from model_quality_metrics_errors import RowCountMismatchError


@dataclass(frozen=True)
class SeparateFiles:
    predictions_uri: str
    labels_uri: str
    predictions_column: str | int | None = None
    labels_column: str | int | None = None

    def describe(self) -> dict[str, str]:
        return {"predictions": self.predictions_uri, "labels": self.labels_uri}


@dataclass(frozen=True)
class CombinedFile:
    uri: str
    label_column: str | int | None = None
    score_column: str | int | None = None

    def describe(self) -> dict[str, str]:
        return {"data": self.uri}


InputFiles = SeparateFiles | CombinedFile


def compute_metrics(
    inputs: InputFiles,
    threshold: float,
    *,
    opener: Opener = open_local,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> QualityMetrics:
    """Stream the input file(s) once and return exact metrics at ``threshold``.

    Raises a :class:`~model_quality_metrics_errors.ModelQualityInputError` subclass for any
    problem with the data.
    """
    accumulator = MetricsAccumulator(threshold)
    with ExitStack() as stack:
        if isinstance(inputs, CombinedFile):
            reader = ColumnReader(
                inputs.uri,
                opener,
                [
                    ColumnSpec(LABEL, inputs.label_column, "label_column", "label", 0),
                    ColumnSpec(SCORE, inputs.score_column, "score_column", "score", 1),
                ],
                block_size=block_size,
            )
            stack.enter_context(reader)
            for index, chunk in enumerate(reader.batches()):
                if index == 0:
                    _reserve(accumulator, reader)
                accumulator.update(chunk[LABEL], chunk[SCORE])
        else:
            predictions = ColumnReader(
                inputs.predictions_uri,
                opener,
                [ColumnSpec(SCORE, inputs.predictions_column, "predictions_column")],
                block_size=block_size,
            )
            labels = ColumnReader(
                inputs.labels_uri,
                opener,
                [ColumnSpec(LABEL, inputs.labels_column, "labels_column")],
                block_size=block_size,
            )
            stack.enter_context(predictions)
            stack.enter_context(labels)
            for index, (label_chunk, score_chunk) in enumerate(_aligned(predictions, labels)):
                if index == 0:
                    _reserve(accumulator, predictions)
                accumulator.update(label_chunk, score_chunk)
    return accumulator.result()


def _reserve(accumulator: MetricsAccumulator, reader: ColumnReader) -> None:
    """Size the score buffer once from the file size, so that it never has to grow."""
    estimate = reader.estimated_rows()
    if estimate is not None:
        accumulator.reserve(estimate)


def _aligned(
    predictions: ColumnReader, labels: ColumnReader
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pair the two files row by row although their batches have different lengths."""
    score_batches = predictions.batches()
    label_batches = labels.batches()
    scores: np.ndarray | None = np.empty(0)
    ys: np.ndarray | None = np.empty(0, dtype=bool)
    while True:
        if scores is not None and len(scores) == 0:
            scores = next(score_batches, {SCORE: None})[SCORE]
        if ys is not None and len(ys) == 0:
            ys = next(label_batches, {LABEL: None})[LABEL]
        if scores is None or ys is None:
            break
        n = min(len(scores), len(ys))
        yield ys[:n], scores[:n]
        scores, ys = scores[n:], ys[n:]
    # One file has ended; the other must end too.
    if scores is None and ys is None:
        return
    if scores is None:
        shorter, longer, longer_pending = predictions, labels, len(ys)  # type: ignore[arg-type]
    else:
        shorter, longer, longer_pending = labels, predictions, len(scores)
    consumed = longer.rows - longer_pending
    total, exact = longer.drain()
    count = f"{total}" if exact else f"at least {total}"
    raise RowCountMismatchError(
        f"row counts differ: {shorter.source} has {shorter.rows} data rows but "
        f"{longer.source} has {count}; predictions and labels must correspond row by row",
        source=longer.source,
        row=consumed + 1,
    )
