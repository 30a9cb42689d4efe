"""Exact duplicates: rows whose bytes are identical, found by hashing rows.

Each row's 64-bit words are hashed with a random odd-multiplier linear hash mod 2^64 (computed
in batches, so memory stays flat); rows sharing a hash are then compared byte for byte, so a
hash collision never merges different rows. The first occurrence (lowest index) survives and
every later copy points at it. -0.0 and 0.0 differ here: this is byte identity, the cheap
stage before SemDeDup, which catches everything else.
"""

from __future__ import annotations

import numpy as np

from curation.ml.clustering import as_row_indices, gather_rows
from curation.ml.pruning.result import PruneReason, PruneResult, RowDecisions

_HASH_SEED = 0x5EED


def _as_words(block: np.ndarray) -> np.ndarray:
    return block.view(np.uint64) if block.shape[1] % 2 == 0 else block.view(np.uint32).astype(np.uint64)


def _row_hashes(embeddings: np.ndarray, rows: np.ndarray, batch_rows: int) -> np.ndarray:
    n_words = _as_words(embeddings[:1]).shape[1]
    multipliers = np.random.default_rng(_HASH_SEED).integers(0, 2**63, size=n_words, dtype=np.uint64)
    multipliers = multipliers * np.uint64(2) + np.uint64(1)
    hashes = np.empty(rows.size, dtype=np.uint64)
    for start in range(0, rows.size, batch_rows):
        stop = min(start + batch_rows, rows.size)
        hashes[start:stop] = _as_words(gather_rows(embeddings, rows, start, stop)) @ multipliers  # wraps mod 2^64
    return hashes


def _same_bytes(embeddings: np.ndarray, a: np.ndarray, b: np.ndarray, batch_rows: int) -> np.ndarray:
    words = embeddings.view(np.uint32)
    same = np.empty(a.size, dtype=bool)
    for start in range(0, a.size, batch_rows):
        stop = start + batch_rows
        same[start:stop] = np.all(words[a[start:stop]] == words[b[start:stop]], axis=1)
    return same


def _group_by_bytes(embeddings: np.ndarray, group: np.ndarray, duplicate_of: np.ndarray) -> None:
    """Slow path for a hash group whose rows are not all identical (a hash collision)."""
    first_by_bytes: dict[bytes, int] = {}
    for sample in np.sort(group):
        first = first_by_bytes.setdefault(embeddings[sample].tobytes(), int(sample))
        duplicate_of[sample] = -1 if first == sample else first


def exact_duplicate_of(
    embeddings: np.ndarray, *, rows: np.ndarray | None = None, batch_rows: int = 16_384
) -> np.ndarray:
    """(n,) int64: for each row the lowest-index row with identical bytes before it, else -1.

    Only `rows` (indices or mask; default all) take part; the array must be 2-D, C-contiguous float32.
    """
    if embeddings.ndim != 2 or embeddings.dtype != np.float32 or not embeddings.flags.c_contiguous:
        raise ValueError("embeddings must be a 2-D C-contiguous float32 array")
    rows = as_row_indices(rows, embeddings.shape[0])
    duplicate_of = np.full(embeddings.shape[0], -1, dtype=np.int64)
    if rows.size < 2:
        return duplicate_of
    hashes = _row_hashes(embeddings, rows, batch_rows)
    order = np.argsort(hashes, kind="stable")  # stable: the first of a run has the lowest index
    sorted_hashes = hashes[order]
    run_id = np.cumsum(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]]) - 1
    run_start = np.searchsorted(run_id, np.arange(run_id[-1] + 1))
    later = np.flatnonzero(np.arange(rows.size) != run_start[run_id])
    samples, firsts = rows[order[later]], rows[order[run_start[run_id[later]]]]
    same = _same_bytes(embeddings, samples, firsts, batch_rows)
    duplicate_of[samples[same]] = firsts[same]
    for run in np.unique(run_id[later[~same]]):
        _group_by_bytes(embeddings, rows[order[run_id == run]], duplicate_of)
    return duplicate_of


def exact_dedup(embeddings: np.ndarray, *, rows: np.ndarray | None = None) -> PruneResult:
    """Remove byte-identical copies; the first occurrence is kept. Score is 1.0 for a copy, -inf otherwise."""
    rows = as_row_indices(rows, embeddings.shape[0])
    duplicate_of = exact_duplicate_of(embeddings, rows=rows)[rows]
    is_copy = duplicate_of >= 0
    reason = np.where(is_copy, PruneReason.EXACT_DUPLICATE, PruneReason.KEPT).astype(np.int8)
    score = np.where(is_copy, 1.0, -np.inf).astype(np.float32)
    decisions = RowDecisions(rows, ~is_copy, reason, score, duplicate_of=duplicate_of)
    return decisions.scatter("exact", {"n_candidates": int(rows.size)}, embeddings.shape[0])
