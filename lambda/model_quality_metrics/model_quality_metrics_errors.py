"""Errors raised for bad model-quality input.

Every error that is the caller's fault (a bad request, a bad file) is a
:class:`ModelQualityInputError`. The handler turns these into a returned
``{"status": "INVALID_INPUT", "error": {...}}`` result instead of raising, so that a bad data
set can never put Step Functions into a retry loop. Anything else (an AWS error, a bug) is
raised and is retryable.

Each subclass has a stable ``code`` that a state machine can branch on, and carries the
file (``source``), the 1-based data row (``row``, the header not counted), the 1-based
physical line in the file (``line``), the column and the offending value where known.
"""

from __future__ import annotations

from typing import Any

_MAX_VALUE_CHARS = 80


def _shorten(value: str | None) -> str | None:
    if value is None or len(value) <= _MAX_VALUE_CHARS:
        return value
    return value[: _MAX_VALUE_CHARS - 3] + "..."


class ModelQualityInputError(ValueError):
    """Base class: the request or an input file is invalid (not retryable)."""

    code = "INVALID_INPUT"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.line = line
        self.column = column
        self.value = _shorten(value)
        self.detail = message
        super().__init__(self._compose(message))

    def _compose(self, message: str) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.row is not None:
            position = f"data row {self.row}"
            if self.line is not None:
                position += f" (line {self.line})"
            where.append(position)
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {message}" if where else message

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description, returned to Step Functions."""
        return {
            "code": self.code,
            "message": str(self),
            "source": self.source,
            "row": self.row,
            "line": self.line,
            "column": self.column,
            "value": self.value,
        }


class InvalidRequestError(ModelQualityInputError):
    """The event itself is malformed (missing URI, bad threshold, unknown metric...)."""

    code = "INVALID_REQUEST"


class EmptyInputError(ModelQualityInputError):
    """A file has no data rows."""

    code = "EMPTY_FILE"


class RowCountMismatchError(ModelQualityInputError):
    """The predictions file and the labels file do not have the same number of rows."""

    code = "ROW_COUNT_MISMATCH"


class MissingValueError(ModelQualityInputError):
    """An empty cell, or a null marker such as ``NA``, ``NaN`` or ``null``."""

    code = "MISSING_VALUE"


class NonNumericValueError(ModelQualityInputError):
    """A cell that is not a number."""

    code = "NON_NUMERIC_VALUE"


class ScoreOutOfRangeError(ModelQualityInputError):
    """A predicted probability outside [0, 1] (including infinities)."""

    code = "SCORE_OUT_OF_RANGE"


class UnknownLabelError(ModelQualityInputError):
    """A ground-truth label that is a number but not one of the classes {0, 1}."""

    code = "UNKNOWN_LABEL"


class MalformedCsvError(ModelQualityInputError):
    """The file is not a CSV of consistent shape (a row has the wrong number of fields)."""

    code = "MALFORMED_CSV"


class ColumnNotFoundError(ModelQualityInputError):
    """A requested column is not in the file, or the choice of column is ambiguous."""

    code = "COLUMN_NOT_FOUND"


class InputTooLargeError(ModelQualityInputError):
    """An input object is larger than the function's configured memory can hold (checked from
    the object's size before reading, so the function never ends in a MemoryError)."""

    code = "INPUT_TOO_LARGE"


class ModelQualityTransientError(RuntimeError):
    """A transient AWS error while reading an input (``SlowDown``, 5xx, a dropped or short
    response body: ``ResponseStreamingError``, ``IncompleteReadError``, read timeouts).
    Not an input error: raised under this name so the workflow's ``Retry`` lists it and the
    check runs again (it is read-only and idempotent)."""
