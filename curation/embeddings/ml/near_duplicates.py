"""Near-duplicate pairs (cosine >= threshold) over unit embeddings: exact blocks, or within k-means cells.

Exact search compares every pair in row blocks (upper triangle only) and is the reference; it is
O(n^2 d), fine up to tens of thousands of rows. Beyond that, all-pairs is hours of work at 1M rows,
so pairs are searched within k-means cells, as SemDeDup does (Abbas et al. 2023) and as an IVF index
does: spherical k-means with about ``cell_size`` rows per cell, each row compared with the rows whose
nearest centroid is among its own ``probes`` nearest centroids (probes = 2 catches most pairs that
straddle a cell boundary; near duplicates have almost the same nearest centroids). Every pair found
is a true pair (its cosine is computed exactly); what is lost is recall, which
``cell_search_recall`` measures against the exact search on a random sample of rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import faiss
import numpy as np

from curation.ml.clustering import l2_normalize

EXACT_MAX_ROWS = 50_000
DEFAULT_CELL_SIZE = 1_000
DEFAULT_PROBES = 2
BLOCK_ROWS = 4_096
BLOCK_COLUMNS = 16_384
ASSIGN_BATCH = 65_536
KMEANS_ITERATIONS = 10
TRAIN_ROWS_PER_CELL = 64


@dataclass(frozen=True, eq=False)
class PairSearch:
    """Pairs (rows a < b) with cosine >= threshold, how they were searched and how long it took."""

    rows_a: np.ndarray  # int64
    rows_b: np.ndarray  # int64
    scores: np.ndarray  # float32
    method: str  # "exact" or "cells"
    seconds: float
    details: dict[str, float | int] = field(default_factory=dict)

    def pair_keys(self, n: int) -> np.ndarray:
        """Each pair as one int64 (a * n + b), for set comparisons."""
        return self.rows_a * n + self.rows_b


def unit_rows(embeddings: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """``embeddings[rows]`` as float32 unit rows: one copy, normalised in place (the input may be a float16
    memory map, which is only ever converted a block at a time)."""
    block = np.array(embeddings[rows], dtype=np.float32, order="C")
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    np.divide(block, norms, out=block, where=norms > 0)
    return block


def exact_pairs(embeddings: np.ndarray, threshold: float) -> PairSearch:
    """Every pair of rows with cosine >= threshold, by blocked matrix products (the reference)."""
    started = time.perf_counter()
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    n = len(embeddings)
    for start in range(0, n, BLOCK_ROWS):
        rows = np.arange(start, min(start + BLOCK_ROWS, n))
        found.append(_pairs_between(embeddings, rows, np.arange(start, n), threshold))
    return _search("exact", found, started)


def _pairs_between(
    embeddings: np.ndarray, query_rows: np.ndarray, base_rows: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower row, higher row, cosine) of query x base pairs >= threshold, self pairs left out; rows are
    converted and scored BLOCK_ROWS x BLOCK_COLUMNS at a time (at most 256 MB of float32 scores)."""
    found = []
    queries = unit_rows(embeddings, query_rows)
    for start in range(0, len(base_rows), BLOCK_COLUMNS):
        base = base_rows[start : start + BLOCK_COLUMNS]
        scores = queries @ unit_rows(embeddings, base).T
        q, b = np.nonzero(scores >= threshold)
        a_rows, b_rows = query_rows[q], base[b]
        keep = a_rows != b_rows
        low, high = np.minimum(a_rows[keep], b_rows[keep]), np.maximum(a_rows[keep], b_rows[keep])
        found.append((low, high, scores[q[keep], b[keep]]))
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    a, b, scores = (np.concatenate(column) for column in zip(*found, strict=True))
    return a, b, scores


def cell_pairs(
    embeddings: np.ndarray,
    threshold: float,
    *,
    cell_size: int = DEFAULT_CELL_SIZE,
    probes: int = DEFAULT_PROBES,
    seed: int = 1234,
) -> PairSearch:
    """Pairs with cosine >= threshold among rows that share one of their ``probes`` nearest k-means cells."""
    started = time.perf_counter()
    n = len(embeddings)
    n_cells = max(1, min(n, math.ceil(n / cell_size)))
    centroids = _spherical_centroids(embeddings, n_cells, seed)
    trained = time.perf_counter()
    probes = min(probes, len(centroids))
    nearest = _nearest_cells(embeddings, centroids, probes)
    members = _rows_per_cell(nearest[:, 0], len(centroids))
    visitors = _rows_per_cell(nearest.ravel(), len(centroids), stride=probes)
    del nearest
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for cell in range(len(centroids)):
        base, queries = members[cell], visitors[cell]
        if len(base) == 0 or len(queries) == 0:
            continue
        for start in range(0, len(queries), BLOCK_ROWS):
            found.append(_pairs_between(embeddings, queries[start : start + BLOCK_ROWS], base, threshold))
    details = {"cells": len(centroids), "probes": probes, "kmeans_seconds": round(trained - started, 2)}
    return _search("cells", found, started, details)


def _spherical_centroids(embeddings: np.ndarray, n_cells: int, seed: int) -> np.ndarray:
    """Unit centroids of FAISS spherical k-means (KMEANS_ITERATIONS) on a seeded sample of TRAIN_ROWS_PER_CELL
    rows per cell: cells only need to be coherent, not optimal (as for an IVF index's coarse quantizer)."""
    sample_size = min(len(embeddings), n_cells * TRAIN_ROWS_PER_CELL)
    rows = np.sort(np.random.default_rng(seed).choice(len(embeddings), sample_size, replace=False))
    kmeans = faiss.Kmeans(
        embeddings.shape[1], n_cells, niter=KMEANS_ITERATIONS, seed=seed, spherical=True,
        max_points_per_centroid=TRAIN_ROWS_PER_CELL, min_points_per_centroid=1, verbose=False,
    )  # fmt: skip
    kmeans.train(unit_rows(embeddings, rows))
    return l2_normalize(np.asarray(kmeans.centroids))


def _nearest_cells(embeddings: np.ndarray, centroids: np.ndarray, probes: int) -> np.ndarray:
    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    nearest = np.empty((len(embeddings), probes), dtype=np.int64)
    for start in range(0, len(embeddings), ASSIGN_BATCH):
        stop = min(start + ASSIGN_BATCH, len(embeddings))
        nearest[start:stop] = index.search(unit_rows(embeddings, slice(start, stop)), probes)[1]
    return nearest


def _rows_per_cell(cells: np.ndarray, n_cells: int, *, stride: int = 1) -> list[np.ndarray]:
    """Row numbers grouped by cell (``cells`` holds ``stride`` cells per row, flattened)."""
    order = np.argsort(cells, kind="stable")
    bounds = np.searchsorted(cells[order], np.arange(n_cells + 1))
    rows = (order // stride).astype(np.int64)
    return [rows[bounds[cell] : bounds[cell + 1]] for cell in range(n_cells)]


def _search(
    method: str,
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    started: float,
    details: dict[str, float | int] | None = None,
) -> PairSearch:
    if found:
        a, b, scores = (np.concatenate(column) for column in zip(*found, strict=True))
    else:
        a, b, scores = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    keys, first = np.unique(a.astype(np.int64) * (int(b.max(initial=0)) + 1) + b, return_index=True)
    del keys  # a pair found through two cells counts once
    return PairSearch(
        rows_a=a[first].astype(np.int64),
        rows_b=b[first].astype(np.int64),
        scores=scores[first].astype(np.float32),
        method=method,
        seconds=round(time.perf_counter() - started, 3),
        details=details or {},
    )


def near_duplicate_pairs(
    embeddings: np.ndarray,
    threshold: float,
    *,
    method: str = "auto",
    exact_max_rows: int = EXACT_MAX_ROWS,
    cell_size: int = DEFAULT_CELL_SIZE,
    probes: int = DEFAULT_PROBES,
) -> PairSearch:
    """Pairs with cosine >= ``threshold``. method: "exact", "cells", or "auto" (exact up to exact_max_rows)."""
    if method not in ("auto", "exact", "cells"):
        raise ValueError(f"method must be auto, exact or cells, got {method!r}")
    if method == "exact" or (method == "auto" and len(embeddings) <= exact_max_rows):
        return exact_pairs(embeddings, threshold)
    return cell_pairs(embeddings, threshold, cell_size=cell_size, probes=probes)


def cell_search_recall(
    embeddings: np.ndarray, search: PairSearch, threshold: float, *, sample_rows: int = EXACT_MAX_ROWS, seed: int = 0
) -> dict[str, float | int]:
    """Recall of ``search`` against the exact search, on the pairs whose both rows fall in a random sample.

    Returns {"sample_rows", "exact_pairs", "found_pairs", "recall"} (recall 1.0 when the sample has no pair).
    """
    n = len(embeddings)
    rows = np.arange(n) if n <= sample_rows else np.sort(np.random.default_rng(seed).choice(n, sample_rows, False))
    reference = exact_pairs(embeddings[rows], threshold)
    exact_keys = rows[reference.rows_a] * n + rows[reference.rows_b]
    in_sample = np.isin(search.rows_a, rows) & np.isin(search.rows_b, rows)
    found_keys = search.pair_keys(n)[in_sample]
    hits = int(np.isin(exact_keys, found_keys).sum())
    return {
        "sample_rows": len(rows),
        "exact_pairs": len(exact_keys),
        "found_pairs": hits,
        "recall": round(hits / len(exact_keys), 4) if len(exact_keys) else 1.0,
    }
