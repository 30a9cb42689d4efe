"""Writing a prune run's per-sample decisions: one row per sample, in batches.

On PostgreSQL the rows go through COPY in binary format, built from the NumPy arrays without a
Python object per row (about 20x faster than bulk_create, which matters at a million samples);
elsewhere (the embedded SQLite default) bulk_create in batches. Both write exactly the same rows;
the caller holds the transaction, so a failure between batches leaves nothing.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import connection

from curation.pruning.models import PruneDecision

BATCH_ROWS = 100_000
BULK_CREATE_BATCH = 5_000
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
# Column -> big-endian binary type of PostgreSQL's COPY (bigint, boolean, smallint, double, integer).
_BINARY_TYPES = {
    "prune_run_id": ">i8",
    "sample_id": ">i8",
    "keep": "u1",
    "reason": ">i2",
    "score": ">f8",
    "duplicate_of_id": ">i8",
    "cluster": ">i4",
}
BatchCallback = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class DecisionArrays:
    """Per-sample decisions in sample order; NaN score, -1 duplicate_of and -1 cluster are stored as NULL."""

    sample_ids: np.ndarray  # int64
    keep: np.ndarray  # bool
    reason: np.ndarray  # int8/int16 PruneReason
    score: np.ndarray  # float, non-finite means none
    duplicate_of: np.ndarray  # int64 sample ids, -1 when none
    cluster: np.ndarray  # int64, -1 when none

    def columns(self, prune_run_id: int, rows: slice) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(values, null masks) per table column for `rows`."""
        score = self.score[rows].astype(np.float64)
        values = {
            "prune_run_id": np.full(score.size, prune_run_id, dtype=np.int64),
            "sample_id": self.sample_ids[rows],
            "keep": self.keep[rows].astype(np.uint8),
            "reason": self.reason[rows].astype(np.int16),
            "score": score,
            "duplicate_of_id": self.duplicate_of[rows],
            "cluster": self.cluster[rows].astype(np.int32),
        }
        nulls = {
            "score": ~np.isfinite(score),
            "duplicate_of_id": values["duplicate_of_id"] < 0,
            "cluster": values["cluster"] < 0,
        }
        return values, nulls


def decisions_write(prune_run_id: int, decisions: DecisionArrays, *, on_batch: BatchCallback | None = None) -> None:
    """Insert one PruneDecision per sample; `on_batch(done, total)` runs after each batch (e.g. a cancel check)."""
    if connection.vendor == "postgresql":
        _copy_write(prune_run_id, decisions, on_batch)
    else:
        _bulk_create_write(prune_run_id, decisions, on_batch)


def binary_copy_rows(values: dict[str, np.ndarray], nulls: dict[str, np.ndarray]) -> bytes:
    """Rows in COPY binary format: rows with the same NULL pattern share one fixed-width record layout."""
    names = list(values)
    n = len(next(iter(values.values())))
    pattern = np.zeros(n, dtype=np.int64)
    nullable = [name for name in names if name in nulls]
    for bit, name in enumerate(nullable):
        pattern |= nulls[name].astype(np.int64) << bit
    parts = []
    for code in np.unique(pattern):
        rows = np.flatnonzero(pattern == code)
        is_null = {name: bool(code >> bit & 1) for bit, name in enumerate(nullable)}
        fields: list[tuple[str, str]] = [("count", ">i2")]
        for name in names:
            fields.append((f"{name}.len", ">i4"))
            if not is_null.get(name, False):
                fields.append((name, _BINARY_TYPES[name]))
        records = np.empty(rows.size, dtype=np.dtype(fields))
        records["count"] = len(names)
        for name in names:
            if is_null.get(name, False):
                records[f"{name}.len"] = -1
            else:
                records[f"{name}.len"] = np.dtype(_BINARY_TYPES[name]).itemsize
                records[name] = values[name][rows]
        parts.append(records.tobytes())
    return b"".join(parts)


def _copy_write(prune_run_id: int, decisions: DecisionArrays, on_batch: BatchCallback | None) -> None:
    # One COPY per batch: the connection cannot run other queries (the cancel check) while a COPY is open.
    table = PruneDecision._meta.db_table
    sql = f"COPY {table} ({', '.join(_BINARY_TYPES)}) FROM STDIN WITH (FORMAT BINARY)"
    total = decisions.sample_ids.size
    with connection.cursor() as cursor:
        for start in range(0, total, BATCH_ROWS):
            stop = min(start + BATCH_ROWS, total)
            rows = binary_copy_rows(*decisions.columns(prune_run_id, slice(start, stop)))
            with cursor.copy(sql) as copy:
                copy.write(_COPY_HEADER + rows + _COPY_TRAILER)
            if on_batch is not None:
                on_batch(stop, total)


def _bulk_create_write(prune_run_id: int, decisions: DecisionArrays, on_batch: BatchCallback | None) -> None:
    total = decisions.sample_ids.size
    for start in range(0, total, BULK_CREATE_BATCH):
        stop = min(start + BULK_CREATE_BATCH, total)
        values, nulls = decisions.columns(prune_run_id, slice(start, stop))
        rows = [
            PruneDecision(
                prune_run_id=prune_run_id,
                sample_id=int(values["sample_id"][i]),
                keep=bool(values["keep"][i]),
                reason=int(values["reason"][i]),
                score=None if nulls["score"][i] else float(values["score"][i]),
                duplicate_of_id=None if nulls["duplicate_of_id"][i] else int(values["duplicate_of_id"][i]),
                cluster=None if nulls["cluster"][i] else int(values["cluster"][i]),
            )
            for i in range(stop - start)
        ]
        PruneDecision.objects.bulk_create(rows)
        if on_batch is not None:
            on_batch(stop, total)
