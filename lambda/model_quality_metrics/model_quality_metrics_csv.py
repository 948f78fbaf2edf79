"""Block-wise, validating reader of numeric CSV columns (pyarrow + numpy).

Reading: the file is consumed in fixed-size blocks of whole lines (``block_size`` bytes,
512 KiB by default, cut after the last newline); each block is parsed by
``pyarrow.csv.read_csv`` with explicit column types (multi-threaded within the block) and
only the selected columns are converted. Parsing runs in a background thread that stays at
most ``_PREFETCH_DEPTH`` blocks ahead of the consumer, so memory is bounded by a few blocks
whatever the file size, and the caller's numpy work on block *k* overlaps the parsing of
block *k + 1* (pyarrow and numpy release the GIL). pyarrow's own streaming reader
(``open_csv``) is not used: it reads ahead without bound (the whole object, for a file on
S3).

File layout rules (see docs/model-quality.md):

* UTF-8 CSV, comma separated, one record per line (no newlines inside quoted values).
* A header row is optional: the first line is a header when none of its fields is a number.
* Labels are ``0``/``1`` (also ``0.0``/``1.0``, or any other spelling of those numbers);
  scores are decimal numbers in [0, 1].
* An empty cell, an empty line, or a null marker (``NA``, ``NaN``, ``null``, ``N/A``...) is
  a missing value, which is an error. Empty lines at the very end of the file are ignored.

Every problem raises a :class:`~model_quality_metrics_errors.ModelQualityInputError` naming
the file, the 1-based data row, the physical line and the column. The exact row of a parse
or conversion error is found on the error path only, by re-parsing the failing block (held
in memory) as text.
"""

from __future__ import annotations

import csv
import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from model_quality_metrics_errors import (
    ColumnNotFoundError,
    EmptyInputError,
    MalformedCsvError,
    MissingValueError,
    NonNumericValueError,
    ScoreOutOfRangeError,
    UnknownLabelError,
)

DEFAULT_BLOCK_SIZE = 512 << 10
_SNIFF_BYTES = 64 << 10
_MAX_LINE_BYTES = 16 << 20
_PREFETCH_DEPTH = 2
_PARSE_SPLITS = 4  # pieces parsed in parallel within one block
_MIN_PARSE_PIECE = 64 << 10
_LABEL_TRUE = ["1", "1.0"]
_LABEL_FALSE = ["0", "0.0"]

LABEL = "label"
SCORE = "score"


def _memory_pool() -> pa.MemoryPool:
    """jemalloc (or the system allocator): returns freed pages to the OS promptly, whereas
    pyarrow's default mimalloc pool keeps per-thread pages and doubles the peak RSS here."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.system_memory_pool()


_POOL = _memory_pool()


@dataclass(frozen=True)
class OpenedFile:
    """A readable binary stream and, when known, its size in bytes."""

    stream: BinaryIO
    size: int | None = None


Opener = Callable[[str], OpenedFile]


def open_local(path: str) -> OpenedFile:
    """Opener for local paths (tests, benchmark, local runs). Never used by the handler."""
    handle = open(path, "rb")  # noqa: SIM115 - closed by ColumnReader
    return OpenedFile(handle, os.fstat(handle.fileno()).st_size)


@dataclass(frozen=True)
class ColumnSpec:
    """Which column of a file holds a role (``label`` or ``score``).

    ``selector`` is a 0-based index or a header name. When it is ``None`` the column is
    ``default_name`` if the file has a header containing it, else ``default_index``; when
    both defaults are ``None`` the file must have exactly one column. ``option`` is the
    request field that sets the selector, named in error messages.
    """

    role: str
    selector: str | int | None
    option: str
    default_name: str | None = None
    default_index: int | None = None


class _NumericLabelsNeeded(Exception):
    """Internal: labels spelled e.g. ``1.00`` or ``1e0`` need the general numeric parser."""


@dataclass(frozen=True)
class _Layout:
    has_header: bool
    header: tuple[str, ...]
    column_count: int
    body_offset: int  # bytes of the header line (0 without a header)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_head(stream: BinaryIO, source: str) -> bytes:
    head = stream.read(_SNIFF_BYTES) or b""
    while b"\n" not in head and len(head) < _MAX_LINE_BYTES:
        more = stream.read(_SNIFF_BYTES)
        if not more:
            break
        head += more
    if b"\n" not in head and len(head) >= _MAX_LINE_BYTES:
        raise MalformedCsvError(
            f"the first line is longer than {_MAX_LINE_BYTES} bytes; not a CSV of values",
            source=source,
            line=1,
        )
    return head


def _sniff(head: bytes, source: str) -> _Layout:
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise EmptyInputError("the file is empty (no data rows)", source=source)
    newline = head.find(b"\n")
    first = head[: newline if newline >= 0 else len(head)]
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r")
    fields = next(csv.reader([text])) if text else [""]
    stripped = tuple(f.strip() for f in fields)
    has_header = any(stripped) and not any(_is_number(f) for f in stripped)
    body_offset = (newline + 1 if newline >= 0 else len(head)) if has_header else 0
    return _Layout(has_header, stripped if has_header else (), len(fields), body_offset)


def _resolve(spec: ColumnSpec, layout: _Layout, source: str) -> int:
    available = (
        f"header columns: {list(layout.header)}"
        if layout.has_header
        else f"the file has no header and {layout.column_count} column(s)"
    )
    selector = spec.selector
    if isinstance(selector, bool):
        raise ColumnNotFoundError(
            f"{spec.option} must be a column name or a 0-based index", source=source
        )
    if isinstance(selector, int):
        if 0 <= selector < layout.column_count:
            return selector
        raise ColumnNotFoundError(
            f"{spec.option}={selector} is out of range ({available})", source=source
        )
    if isinstance(selector, str):
        if not layout.has_header:
            raise ColumnNotFoundError(
                f"{spec.option}={selector!r} names a column but {available}; "
                "select the column by 0-based index",
                source=source,
            )
        return _by_name(selector, spec, layout, source, available)
    if spec.default_name is not None and layout.has_header:
        return _by_name(spec.default_name, spec, layout, source, available)
    if spec.default_index is not None:
        if spec.default_index < layout.column_count:
            return spec.default_index
        raise ColumnNotFoundError(
            f"expected a {spec.role} column at index {spec.default_index} ({available}); set "
            f"{spec.option}",
            source=source,
        )
    if layout.column_count == 1:
        return 0
    raise ColumnNotFoundError(
        f"the file has {layout.column_count} columns; set {spec.option} to choose the {spec.role} "
        "column",
        source=source,
    )


def _by_name(name: str, spec: ColumnSpec, layout: _Layout, source: str, available: str) -> int:
    if name in layout.header:
        return layout.header.index(name)
    folded = [i for i, h in enumerate(layout.header) if h.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ColumnNotFoundError(
        f"no {spec.role} column named {name!r} ({available}); set {spec.option}", source=source
    )


def _read_into(stream: BinaryIO, buffer: bytearray, start: int, size: int) -> int:
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        return readinto(memoryview(buffer)[start : start + size]) or 0
    data = stream.read(size)
    buffer[start : start + len(data)] = data
    return len(data)


def _line_blocks(
    stream: BinaryIO, initial: bytes, block_size: int, source: str
) -> Iterator[memoryview]:
    """Yield blocks of whole lines of about ``block_size`` bytes, each ending with a newline.

    One buffer is reused: a yielded view is valid until the next block is requested. Blank
    lines at the very end of the file are dropped; a final line without a newline gets one.
    """
    buffer = bytearray(max(2 * block_size, len(initial) + block_size) + 1)
    buffer[: len(initial)] = initial
    filled = len(initial)
    eof = False
    need_more = False
    while True:
        while not eof and (filled < block_size or need_more):
            if len(buffer) - filled <= block_size:  # a long line: a bigger buffer
                if filled > _MAX_LINE_BYTES:
                    raise MalformedCsvError(
                        f"a line is longer than {_MAX_LINE_BYTES} bytes", source=source
                    )
                bigger = bytearray(2 * len(buffer))
                bigger[:filled] = buffer[:filled]
                buffer = bigger
            read = _read_into(stream, buffer, filled, block_size)
            if read:
                filled += read
                need_more = False
            else:
                eof = True
        if eof:
            end = filled
            while end and buffer[end - 1] in b"\r\n":
                end -= 1
            if end:
                buffer[end] = ord("\n")
                yield memoryview(buffer)[: end + 1]
            return
        cut = buffer.rfind(b"\n", 0, filled) + 1
        if cut == 0:
            need_more = True
            continue
        yield memoryview(buffer)[:cut]
        remainder = filled - cut
        buffer[:remainder] = buffer[cut:filled]
        filled = remainder


def _first_true(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _prefetch(produce: Callable[[], Iterator[Any]], depth: int) -> Iterator[Any]:
    """Run ``produce()`` in a daemon thread, at most ``depth`` items ahead of the consumer.

    Exceptions raised by the producer are re-raised in the consumer. Closing the returned
    generator stops the producer and joins its thread.
    """
    channel: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        items = produce()
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(("error", exc))
        finally:
            items.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=run, name="mq-csv-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, payload = channel.get()
            if kind == "item":
                yield payload
            elif kind == "end":
                return
            else:
                raise payload
    finally:
        stop.set()
        thread.join()


class ColumnReader:
    """Streams validated numpy chunks of the requested columns of one CSV file.

    ``batches()`` yields ``{role: array}`` where ``label`` is ``bool`` and ``score`` is
    ``float64``, after checking that no value is missing, every score is in [0, 1] and every
    label is 0 or 1. ``rows`` counts the data rows yielded so far.

    Labels are parsed on a fast path (pyarrow booleans with true/false values
    ``1``/``1.0`` and ``0``/``0.0``); at the first other spelling of 0 or 1 (``1.00``,
    ``1e0``) the reader switches, for that block and the rest of the file, to float64
    labels checked to be exactly 0 or 1.
    """

    def __init__(
        self,
        source: str,
        opener: Opener,
        specs: list[ColumnSpec],
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        if block_size < 1:
            raise ValueError("block_size must be positive")
        self.source = source
        self._opener = opener
        self._specs = specs
        self._block_size = int(block_size)
        self._numeric_labels = False
        self.rows = 0
        self.size: int | None = None
        self._bytes_per_row: float | None = None
        self._rows_received = 0
        self._raw: Iterator[tuple[int, pa.Table]] | None = None
        self._stream: BinaryIO | None = None
        self._layout = _Layout(False, (), 0, 0)
        self._columns: dict[str, str] = {}

    # -- setup ---------------------------------------------------------------------------
    def open(self) -> ColumnReader:
        opened = self._opener(self.source)
        self._stream = opened.stream
        self.size = opened.size
        try:
            head = _read_head(opened.stream, self.source)
            self._layout = _sniff(head, self.source)
            self._columns = {
                spec.role: f"c{_resolve(spec, self._layout, self.source)}" for spec in self._specs
            }
            if len(set(self._columns.values())) != len(self._columns):
                raise ColumnNotFoundError(
                    "the label and the score would be read from the same column", source=self.source
                )
        except BaseException:
            self.close()
            raise
        body = head[self._layout.body_offset :]
        self._raw = _prefetch(lambda: self._parsed_blocks(opened.stream, body), _PREFETCH_DEPTH)
        return self

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()  # type: ignore[attr-defined]
            self._raw = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> ColumnReader:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- producer thread: blocks of text -> typed tables -----------------------------------
    def _names(self) -> list[str]:
        return [f"c{i}" for i in range(self._layout.column_count)]

    def _types(self) -> dict[str, pa.DataType]:
        types: dict[str, pa.DataType] = {}
        for role, column in self._columns.items():
            label_fast_path = role == LABEL and not self._numeric_labels
            types[column] = pa.bool_() if label_fast_path else pa.float64()
        return types

    def _read(
        self,
        block: memoryview,
        types: dict[str, pa.DataType],
        piece: int,
        strings_can_be_null: bool = False,
    ) -> pa.Table:
        use_bool = any(t == pa.bool_() for t in types.values())
        return pacsv.read_csv(
            pa.py_buffer(block),
            memory_pool=_POOL,
            read_options=pacsv.ReadOptions(
                use_threads=True, block_size=piece, column_names=self._names()
            ),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(types),
                column_types=types,
                true_values=_LABEL_TRUE if use_bool else None,
                false_values=_LABEL_FALSE if use_bool else None,
                quoted_strings_can_be_null=True,
                strings_can_be_null=strings_can_be_null,
            ),
        )

    def _parse_block(self, block: memoryview, first_row: int) -> pa.Table:
        piece = max(_MIN_PARSE_PIECE, -(-block.nbytes // _PARSE_SPLITS))
        while True:
            try:
                return self._read(block, self._types(), piece)
            except pa.ArrowInvalid as exc:
                message = str(exc)
                if "straddl" in message and piece <= block.nbytes:
                    piece = block.nbytes + 1  # a row longer than a piece: parse in one piece
                    continue
                if "conversion error" not in message.lower():
                    raise self._locate_malformed(block, first_row, message) from None
                try:
                    raise self._locate_conversion(block, first_row, piece, message) from None
                except _NumericLabelsNeeded:
                    self._numeric_labels = True  # sticky for the rest of the file

    def _parsed_blocks(self, stream: BinaryIO, body: bytes) -> Iterator[tuple[int, pa.Table]]:
        first_row = 0
        for block in _line_blocks(stream, body, self._block_size, self.source):
            table = self._parse_block(block, first_row)
            if self._bytes_per_row is None and table.num_rows:
                self._bytes_per_row = block.nbytes / table.num_rows
            yield first_row, table
            first_row += table.num_rows

    def estimated_rows(self) -> int | None:
        """Data rows of the whole file, estimated from its size and the first block.

        Available once the first batch has been received; ``None`` if the size is unknown.
        """
        if self.size is None or not self._bytes_per_row:
            return None
        return int((self.size - self._layout.body_offset) / self._bytes_per_row * 1.05) + 1024

    # -- consumer: validation ------------------------------------------------------------
    def batches(self) -> Iterator[dict[str, np.ndarray]]:
        assert self._raw is not None, "call open() first"
        for _, table in self._raw:
            self._rows_received += table.num_rows
            # One contiguous batch per block: fewer, longer sorted runs to merge at the end.
            for batch in table.combine_chunks(memory_pool=_POOL).to_batches():
                if batch.num_rows:
                    yield self._validate(batch)
        if self.rows == 0:
            raise EmptyInputError("the file has no data rows", source=self.source)

    def drain(self) -> tuple[int, bool]:
        """Total data rows of the file, reading what is left: ``(rows, exact)``. For messages."""
        total = self._rows_received
        if self._raw is None:
            return total, True
        try:
            for _, table in self._raw:
                total += table.num_rows
        except Exception:  # noqa: BLE001 - a later bad row only makes the count a lower bound
            return total, False
        return total, True

    def _validate(self, batch: pa.RecordBatch) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        start = self.rows
        for role, column in self._columns.items():
            array = batch.column(column)
            if array.null_count:
                index = _first_true(array.is_null().to_numpy(zero_copy_only=False))
                raise self._error(MissingValueError, "missing value", role, start + index)
            if role == SCORE:
                scores = array.to_numpy()
                if not (scores.min() >= 0.0 and scores.max() <= 1.0):
                    index = _first_true(~((scores >= 0.0) & (scores <= 1.0)))
                    raise self._out_of_domain(role, start + index, float(scores[index]))
                out[role] = scores
            elif array.type == pa.bool_():
                out[role] = array.to_numpy(zero_copy_only=False)
            else:
                labels = array.to_numpy()
                positive = labels == 1.0
                if np.count_nonzero(positive) + np.count_nonzero(labels == 0.0) != len(labels):
                    index = _first_true((labels != 0.0) & (labels != 1.0))
                    raise self._out_of_domain(role, start + index, float(labels[index]))
                out[role] = positive
        self.rows += batch.num_rows
        return out

    # -- errors ------------------------------------------------------------------------------
    def _display(self, role: str) -> str:
        index = int(self._columns[role][1:])
        return self._layout.header[index] if self._layout.has_header else f"#{index}"

    def _error(
        self,
        kind: type[Exception],
        message: str,
        role: str | None,
        index: int,
        value: str | None = None,
    ) -> Exception:
        row = index + 1
        return kind(  # type: ignore[call-arg]
            message,
            source=self.source,
            row=row,
            line=row + (1 if self._layout.has_header else 0),
            column=self._display(role) if role else None,
            value=value,
        )

    def _out_of_domain(self, role: str, index: int, value: float) -> Exception:
        if role == SCORE:
            return self._error(
                ScoreOutOfRangeError, f"score {value!r} is outside [0, 1]", role, index, repr(value)
            )
        return self._error(
            UnknownLabelError,
            f"label {value!r} is not one of the known classes {{0, 1}}",
            role,
            index,
            repr(value),
        )

    def _locate_conversion(
        self, block: memoryview, first_row: int, piece: int, message: str
    ) -> Exception:
        """Re-parse the failing block as text and report its first bad cell."""
        table = self._read(
            block, {c: pa.string() for c in self._columns.values()}, piece, strings_can_be_null=True
        )
        offset = first_row
        for batch in table.to_batches():
            found: tuple[int, Exception] | None = None
            for role, column in self._columns.items():
                candidate = self._first_problem(batch.column(column), role, offset)
                if candidate is not None and (found is None or candidate[0] < found[0]):
                    found = candidate
            if found is not None:
                return found[1]
            offset += batch.num_rows
        return NonNumericValueError(f"a value could not be parsed ({message})", source=self.source)

    def _first_problem(
        self, strings: pa.Array, role: str, start: int
    ) -> tuple[int, Exception] | None:
        nulls = strings.is_null().to_numpy(zero_copy_only=False)
        null_at = _first_true(nulls) if nulls.any() else None
        if role == LABEL and not self._numeric_labels:
            allowed = pa.array(_LABEL_TRUE + _LABEL_FALSE)
            bad = ~pc.fill_null(pc.is_in(strings, value_set=allowed), True).to_numpy(
                zero_copy_only=False
            )
            bad_at = _first_true(bad) if bad.any() else None
            if bad_at is not None and (null_at is None or bad_at < null_at):
                text = strings[bad_at].as_py()
                number = _parse_float(text)
                if number in (0.0, 1.0):
                    raise _NumericLabelsNeeded(text)
                if number is not None:
                    return bad_at, self._out_of_domain(role, start + bad_at, number)
                return bad_at, self._error(
                    NonNumericValueError,
                    f"label {text!r} is not a number",
                    role,
                    start + bad_at,
                    text,
                )
        else:
            bad_at = _first_unparsable(strings)
            # A parsable value before bad_at may still be out of its domain.
            limit = min(i for i in (bad_at, null_at, len(strings)) if i is not None)
            values = pc.cast(strings.slice(0, limit), pa.float64()).to_numpy(zero_copy_only=False)
            if role == SCORE:
                outside = ~((values >= 0.0) & (values <= 1.0))
            else:
                outside = (values != 0.0) & (values != 1.0)
            if outside.any():
                index = _first_true(outside)
                return index, self._out_of_domain(role, start + index, float(values[index]))
            if bad_at is not None and (null_at is None or bad_at < null_at):
                text = strings[bad_at].as_py()
                return bad_at, self._error(
                    NonNumericValueError,
                    f"{role} {text!r} is not a number",
                    role,
                    start + bad_at,
                    text,
                )
        if null_at is not None:
            return null_at, self._error(MissingValueError, "missing value", role, start + null_at)
        return None

    def _locate_malformed(self, block: memoryview, first_row: int, message: str) -> Exception:
        """Find the first line of the block whose field count differs from the first line's."""
        text = bytes(block).decode("utf-8", errors="replace")
        lines = text.split("\n")[:-1]  # the block ends with a newline
        for index, fields in enumerate(csv.reader(line.rstrip("\r") for line in lines)):
            if len(fields) not in (0, self._layout.column_count):
                return self._error(
                    MalformedCsvError,
                    f"expected {self._layout.column_count} field(s), found {len(fields)}",
                    None,
                    first_row + index,
                    ",".join(fields),
                )
        return MalformedCsvError(f"not a valid CSV file ({message})", source=self.source)


def _parse_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if not math.isnan(value) else None


def _first_unparsable(strings: pa.Array) -> int | None:
    """Index of the first non-null string that Arrow cannot parse as float64 (bisection)."""

    def parses(array: pa.Array) -> bool:
        try:
            pc.cast(array, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    if parses(strings):
        return None
    lo, hi = 0, len(strings)  # the first bad index is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if parses(strings.slice(lo, mid - lo)):
            lo = mid
        else:
            hi = mid
    return lo
