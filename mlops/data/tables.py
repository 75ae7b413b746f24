"""Reading and writing CSV and Parquet parts with pyarrow.

CSV columns are read as text and written back unchanged, so a partition never reformats a
value (no ``1.50`` becoming ``1.5``, no ``007`` becoming ``7``). Values are written unquoted
unless one of them needs quotes (a comma, a quote or a line break), in which case the part is
written with text values quoted.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped,unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray

from mlops.data.io import InputFile
from mlops.errors import InputError

_STREAM_BLOCK = 2 << 20  # bytes of CSV per streamed chunk (~45k rows of transactions)
_STREAM_ROWS = 65_536  # rows per streamed Parquet batch
_WRITE_BATCH = 8192
_NEWLINE = ord("\n")


def read_header(item: InputFile) -> list[str]:
    """Column names of a part ([] for an empty file)."""
    if item.format == "parquet":
        try:
            return list(pq.read_schema(item.path).names)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(
                f"{item.name} is not a readable Parquet file: {_first_line(error)}"
            ) from None
    if item.size == 0:
        return []
    try:
        if item.name.lower().endswith(".gz"):
            with gzip.open(item.path, "rt", encoding="utf-8-sig", newline="") as stream:
                header = next(csv.reader(stream), [])
        else:
            with item.path.open(encoding="utf-8-sig", newline="") as stream:
                header = next(csv.reader(stream), [])
    except (UnicodeDecodeError, OSError, csv.Error) as error:
        raise InputError(f"{item.name} is not a readable CSV file: {_first_line(error)}") from None
    if len(set(header)) != len(header):
        duplicates = sorted({name for name in header if header.count(name) > 1})
        raise InputError(f"{item.name} repeats column names: {', '.join(duplicates)}")
    return header


@dataclass
class CsvChunk:
    """Some consecutive rows of a CSV part.

    ``lines``, when set, is the chunk's raw text, one line per row, each ending in ``\\n``, with
    no quote, carriage return or empty line: its rows can be copied as bytes, and ``table``
    holds only the columns asked for (or is None when not parsed). Otherwise ``table`` holds
    every column.
    """

    table: pa.Table | None  # None: not parsed (lines only)
    lines: bytes | None = None
    rows: int = 0
    ends: NDArray[np.int64] | None = None  # with lines: the position of each line's \\n
    block: Any = None  # generated rows (mlops.data.generator.Block) instead of a table


def stream_csv(
    item: InputFile, header: list[str], columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """A CSV part as tables of text columns (only ``columns`` when given), in file order."""
    for chunk in csv_chunks(item, header, columns, raw=False):
        assert chunk.table is not None
        yield chunk.table


def csv_chunks(
    item: InputFile, header: list[str], columns: list[str] | None, *, raw: bool, parse: bool = True
) -> Iterator[CsvChunk]:
    """A CSV part as chunks, in file order, one chunk in memory at a time.

    Plain files are cut at line ends into chunks of about 2 MB, each parsed on its own, so
    memory does not grow with the file. From the first chunk holding a quote character on
    (a quoted field may span lines), and for gzip files, pyarrow's streaming reader takes over.
    With ``raw``, plain chunks also carry their lines (see :class:`CsvChunk`) and parse only
    ``columns`` (at least one, to check every row), or nothing without ``parse`` (for a second
    pass over a part whose rows a first pass checked); other chunks parse every column.
    """
    some = _convert(header, columns or header[:1]) if raw else _convert(header, columns)
    every = _convert(header, None) if raw else some
    try:
        if item.name.lower().endswith(".gz"):
            for table in _stream_rest(pa.input_stream(str(item.path)), None, every):
                yield CsvChunk(table, rows=table.num_rows)
            return
        with item.path.open("rb") as stream:
            first = stream.read(_STREAM_BLOCK)
            line_end = first.find(b"\n")
            if line_end < 0 and len(first) < _STREAM_BLOCK:
                return  # a header row and nothing else
            if line_end < 0 or b'"' in first[:line_end]:
                stream.seek(0)
                for table in _stream_rest(pa.PythonFile(stream, "r"), None, every):
                    yield CsvChunk(table, rows=table.num_rows)
                return
            carry = first[line_end + 1 :]
            while True:
                data = stream.read(_STREAM_BLOCK)
                chunk = carry + data if data else carry
                if b'"' in chunk:
                    stream.seek(stream.tell() - len(chunk))
                    for table in _stream_rest(pa.PythonFile(stream, "r"), header, every):
                        yield CsvChunk(table, rows=table.num_rows)
                    return
                cut = chunk.rfind(b"\n") + 1 if data else len(chunk)
                if cut:
                    yield _plain_chunk(chunk[:cut], header, some, every, raw=raw, parse=parse)
                carry = chunk[cut:]
                if not data:
                    return
    except (pa.ArrowInvalid, pa.ArrowKeyError) as error:
        raise InputError(f"{item.name}: {_first_line(error)}") from None


def _convert(header: list[str], columns: list[str] | None) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        include_columns=columns,
        strings_can_be_null=False,
    )


def _plain_chunk(
    text: bytes,
    header: list[str],
    some: pacsv.ConvertOptions,
    every: pacsv.ConvertOptions,
    *,
    raw: bool,
    parse: bool,
) -> CsvChunk:
    """A quote-free chunk; with its lines when they map one to one to its rows."""
    if raw and b"\r" not in text:
        lines = text if text.endswith(b"\n") else text + b"\n"
        ends = np.flatnonzero(np.frombuffer(lines, dtype=np.uint8) == _NEWLINE)
        if ends[0] != 0 and not np.any(np.diff(ends) == 1):  # no empty line
            if not parse:
                return CsvChunk(None, lines, len(ends), ends)
            table = _parse_chunk(text, header, some)
            if table.num_rows == len(ends):
                return CsvChunk(table, lines, len(ends), ends)
    table = _parse_chunk(text, header, every)
    return CsvChunk(table, rows=table.num_rows)


def _parse_chunk(chunk: bytes, header: list[str], convert: pacsv.ConvertOptions) -> pa.Table:
    options = pacsv.ReadOptions(
        column_names=header, use_threads=False, block_size=max(len(chunk), 1 << 16) + 1
    )
    return pacsv.read_csv(pa.BufferReader(chunk), read_options=options, convert_options=convert)


def _stream_rest(
    source: pa.NativeFile, header: list[str] | None, convert: pacsv.ConvertOptions
) -> Iterator[pa.Table]:
    """The rest of a CSV stream through pyarrow's streaming reader (``header``: names of a
    stream that starts after the header row)."""
    options = pacsv.ReadOptions(use_threads=False, block_size=_STREAM_BLOCK, column_names=header)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    with pacsv.open_csv(
        source, read_options=options, parse_options=parse, convert_options=convert
    ) as reader:
        for batch in reader:
            yield pa.Table.from_batches([batch])


def stream_parquet(
    item: InputFile, row_groups: list[int], columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    try:
        parquet = pq.ParquetFile(item.path)
        yield from parquet.iter_batches(
            batch_size=_STREAM_ROWS, row_groups=row_groups, columns=columns
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"{item.name}: {_first_line(error)}") from None


def parquet_row_groups(item: InputFile) -> list[int]:
    """Rows in each row group of a Parquet part."""
    metadata = pq.ParquetFile(item.path).metadata
    return [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]


def csv_header_line(names: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(names)
    return buffer.getvalue().encode("utf-8")


def write_csv(table: pa.Table, path: Path) -> None:
    """Write ``table`` as a CSV file with a header row (see the module doc for quoting)."""
    header = csv_header_line(table.column_names)
    for quoting in ("none", "needed"):
        options = pacsv.WriteOptions(
            include_header=False, quoting_style=quoting, batch_size=_WRITE_BATCH
        )
        try:
            with pa.OSFile(str(path), "wb") as stream:
                stream.write(header)
                pacsv.write_csv(table, stream, write_options=options)
            return
        except pa.ArrowInvalid:
            if quoting == "needed":
                raise


class NeedsQuotes(Exception):
    """A value needs CSV quotes: the part must be rewritten with ``quoted=True``."""


class PartWriter:
    """A CSV part written piece by piece: the header row first, then tables (values unquoted
    unless ``quoted``: then text values are quoted) or raw lines. Raises :class:`NeedsQuotes`
    when an unquoted part meets a value with a comma, a quote or a line break."""

    def __init__(self, path: Path, columns: list[str], *, quoted: bool = False) -> None:
        self.path = path
        self.rows = 0
        self.quoted = quoted
        self._stream = pa.OSFile(str(path), "wb")
        self._stream.write(csv_header_line(columns))
        self._writer: pacsv.CSVWriter | None = None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self._writer is None:
            options = pacsv.WriteOptions(
                include_header=False,
                quoting_style="needed" if self.quoted else "none",
                batch_size=_WRITE_BATCH,
            )
            self._writer = pacsv.CSVWriter(self._stream, batch.schema, write_options=options)
        try:
            if isinstance(batch, pa.Table):
                self._writer.write_table(batch)
            else:
                self._writer.write_batch(batch)
        except pa.ArrowInvalid as error:
            raise NeedsQuotes(str(error)) from None
        self.rows += batch.num_rows

    def write_lines(self, lines: bytes, rows: int) -> None:
        """Append ``rows`` CSV lines as they are (each ending in a line break)."""
        self._stream.write(lines)
        self.rows += rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._stream.close()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="snappy")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
