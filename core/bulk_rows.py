"""Writing many rows of one table from NumPy columns, in batches: the per-sample tables of runs.

On PostgreSQL each batch is one COPY in binary format, built from the arrays without a Python object per
row (as curation/pruning/services/decisions.py does for prune decisions: about 20x faster than
bulk_create at a million rows); elsewhere (the embedded SQLite default) bulk_create in batches. Both write
the same rows; the caller holds the transaction, so a failure between batches leaves nothing.
"""

import struct
from collections.abc import Callable, Mapping

import numpy as np
from django.db import connection
from django.db.models import Model

BATCH_ROWS = 100_000
BULK_CREATE_BATCH = 5_000
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
# A column's PostgreSQL type -> the big-endian layout COPY's binary format gives its values.
_BINARY_TYPES = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2", "double precision": ">f8", "boolean": "u1"}


def columns_write(
    model: type[Model],
    columns: Mapping[str, np.ndarray],
    *,
    on_batch: Callable[[int, int], None] | None = None,
) -> int:
    """Insert one row of `model` per position of `columns` ({column name: array}, equal lengths, no NULLs;
    a foreign key by its column, e.g. "sample_id"); `on_batch(done, total)` runs after each batch.
    Returns the number of rows written."""
    total = len(next(iter(columns.values()))) if columns else 0
    if connection.vendor == "postgresql":
        _copy_write(model, columns, total, on_batch)
    else:
        _bulk_create_write(model, columns, total, on_batch)
    return total


def _binary_rows(columns: Mapping[str, np.ndarray], types: dict[str, str], rows: slice) -> bytes:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in columns:
        fields += [(f"{name}.len", ">i4"), (name, types[name])]
    first = next(iter(columns.values()))[rows]
    records = np.empty(len(first), dtype=np.dtype(fields))
    records["count"] = len(columns)
    for name, values in columns.items():
        records[f"{name}.len"] = np.dtype(types[name]).itemsize
        records[name] = values[rows]
    return records.tobytes()


def _copy_write(
    model: type[Model], columns: Mapping[str, np.ndarray], total: int, on_batch: Callable[[int, int], None] | None
) -> None:
    by_column = {field.column: field for field in model._meta.concrete_fields}
    types = {name: _BINARY_TYPES[str(by_column[name].db_type(connection))] for name in columns}
    # One COPY per batch: the connection cannot run other queries (a cancel check) while a COPY is open.
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT BINARY)"
    with connection.cursor() as cursor:
        for start in range(0, total, BATCH_ROWS):
            stop = min(start + BATCH_ROWS, total)
            with cursor.copy(sql) as copy:
                copy.write(_COPY_HEADER + _binary_rows(columns, types, slice(start, stop)) + _COPY_TRAILER)
            if on_batch is not None:
                on_batch(stop, total)


def _bulk_create_write(
    model: type[Model], columns: Mapping[str, np.ndarray], total: int, on_batch: Callable[[int, int], None] | None
) -> None:
    attnames = {field.column: field.attname for field in model._meta.concrete_fields}
    for start in range(0, total, BULK_CREATE_BATCH):
        stop = min(start + BULK_CREATE_BATCH, total)
        values = {attnames[name]: array[start:stop].tolist() for name, array in columns.items()}
        rows = [model(**dict(zip(values, row, strict=True))) for row in zip(*values.values(), strict=True)]
        model._default_manager.bulk_create(rows)
        if on_batch is not None:
            on_batch(stop, total)
