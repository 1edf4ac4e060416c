"""PostgreSQL's binary COPY format, written from Arrow arrays a batch of rows at a time with numpy.

psycopg's write_row() turns each row into bytes in Python: 200,000 polygons took longer to write than PostgreSQL
took to store them. Here each column is encoded once as an array (big-endian numbers, or the offsets and bytes of
an Arrow string/binary array) and the rows are laid out with vectorised scatters: no Python work per row.

The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a header, then per row a
16-bit field count and per field a 32-bit length (-1 for NULL) and the value in the type's binary send format,
then -1 as the trailer.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
BATCH_ROWS = 20_000
_PG_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's epoch, in days after 1970-01-01
_PG_EPOCH_MICROSECONDS = _PG_EPOCH_DAYS * 86_400 * 1_000_000
# PostgreSQL type -> (Arrow type the values are cast to, big-endian numpy type of the binary form) for fixed sizes.
FIXED = {"int2": (pa.int16(), ">i2"), "int4": (pa.int32(), ">i4"), "int8": (pa.int64(), ">i8"),
         "float8": (pa.float64(), ">f8"), "bool": (pa.bool_(), "u1"), "date": (pa.date32(), ">i4"),
         "timestamp": (pa.timestamp("us"), ">i8"), "timestamptz": (pa.timestamp("us", tz="UTC"), ">i8")}
VARIABLE = {"text": pa.large_string(), "bytea": pa.large_binary()}  # bytea's form is the bytes: WKB for geometry


def batches(columns: list[tuple[pa.Array | pa.ChunkedArray, str]], batch_rows: int = BATCH_ROWS,
            ) -> Iterator[tuple[int, memoryview]]:
    """The rows of the columns ([(values, PostgreSQL type)], all of one length) in COPY's binary form, a batch at a
    time, each with the number of rows done after it; the caller writes HEADER before them and TRAILER after."""
    columns = [(v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v, kind) for v, kind in columns]
    count = len(columns[0][0]) if columns else 0
    for start in range(0, count, batch_rows):
        batch = [(values.slice(start, batch_rows), kind) for values, kind in columns]
        yield min(start + batch_rows, count), _batch(batch)


def _encoded(values: pa.Array, kind: str) -> tuple[np.ndarray, object]:
    """(lengths with -1 for NULL, the data): an (n, width) byte matrix for a fixed size, else a large_binary array
    (NULL as no bytes)."""
    valid = np.ones(len(values), bool) if values.null_count == 0 else \
        np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
    if kind in VARIABLE:
        data = values.cast(VARIABLE[kind]).cast(pa.large_binary())
        if data.null_count:
            data = data.fill_null(b"")
        _, offsets, _ = data.buffers()
        lengths = np.diff(np.frombuffer(offsets, np.int64)[data.offset:data.offset + len(data) + 1])
        return np.where(valid, lengths, -1), data
    arrow_type, numpy_type = FIXED[kind]
    values = values.cast(arrow_type)
    if kind in ("date", "timestamp", "timestamptz"):
        numbers = values.cast(pa.int32() if kind == "date" else pa.int64())
        numbers = pc.subtract(numbers, _PG_EPOCH_DAYS if kind == "date" else _PG_EPOCH_MICROSECONDS)
    else:
        numbers = values
    filler = False if kind == "bool" else 0
    plain = np.asarray(numbers.fill_null(filler).to_numpy(zero_copy_only=False)).astype(numpy_type)
    width = plain.dtype.itemsize
    return np.where(valid, width, -1), plain.view(np.uint8).reshape(len(values), width)


def _pieces(matrix: np.ndarray, lengths: np.ndarray | None = None) -> pa.Array:
    """Row i's first lengths[i] bytes of *matrix* (all of them without *lengths*), as a large_binary array."""
    n, width = matrix.shape
    if lengths is None:
        return pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [
            None, pa.py_buffer(np.arange(n + 1, dtype=np.int64) * width), pa.py_buffer(np.ascontiguousarray(matrix))])
    keep = np.arange(width) < lengths[:, None]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [
        None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix[keep]))])


def _batch(columns: list[tuple[pa.Array, str]]) -> memoryview:
    """The rows of a batch: each is a sequence of pieces (runs of fixed-size bytes, variable-length values), the
    pieces of all rows taken in row order by Arrow (one memcpy each, in C++), whose data buffer then is the COPY
    data."""
    n = len(columns[0][0])
    pieces, run = [], [np.full(n, len(columns), ">i2").view(np.uint8).reshape(n, 2)]
    for values, kind in columns:
        lengths, data = _encoded(values, kind)
        run.append(lengths.astype(">i4").view(np.uint8).reshape(n, 4))
        if isinstance(data, np.ndarray) and (lengths >= 0).all():
            run.append(data)
            continue
        pieces.append(_pieces(np.hstack(run)))
        run = []
        pieces.append(data if not isinstance(data, np.ndarray) else _pieces(data, np.maximum(lengths, 0)))
    if run:
        pieces.append(_pieces(np.hstack(run)))
    order = (np.arange(len(pieces), dtype=np.int64)[None, :] * n + np.arange(n, dtype=np.int64)[:, None]).ravel()
    rows = pa.concat_arrays(pieces).take(pa.array(order))
    _, offsets, data = rows.buffers()
    first, last = np.frombuffer(offsets, np.int64)[[rows.offset, rows.offset + len(rows)]]
    return memoryview(data)[first:last]  # no copy: psycopg sends it from Arrow's buffer
