"""The SimilarityIndex contract and what every index shares: unit rows, duplicate groups.

Indexes normalise what they are given (cosine = inner product of unit vectors) and take int64 ids.
``find_duplicates(threshold)`` returns near-duplicate groups: the connected components of the graph
whose edges are pairs with cosine >= threshold, each group with its ids sorted and the pair scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

QUERY_BATCH = 8192


@dataclass(frozen=True)
class DuplicateGroup:
    ids: tuple[int, ...]  # sorted
    pairs: tuple[tuple[int, int, float], ...]  # (smaller id, larger id, cosine), sorted


class SimilarityIndex(Protocol):
    """add(embeddings (n, dim), ids (n,) int64); search(query (q, dim), k) -> (scores, ids), each (q, k), best
    first, padded with -inf / -1; range_search(query, threshold) -> per query (ids, scores) with cosine >=
    threshold, best first; find_duplicates(threshold) -> groups ordered by their smallest id; save(path)."""

    dim: int

    def __len__(self) -> int: ...

    def add(self, embeddings: np.ndarray, ids: np.ndarray) -> None: ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def range_search(self, query: np.ndarray, threshold: float) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def find_duplicates(self, threshold: float) -> list[DuplicateGroup]: ...

    def save(self, path: str | Path) -> None: ...


def normalized_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 C-contiguous copy with unit rows (zero rows stay zero)."""
    rows = np.array(np.atleast_2d(vectors), dtype=np.float32, order="C")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


def duplicate_groups(a_ids: np.ndarray, b_ids: np.ndarray, scores: np.ndarray) -> list[DuplicateGroup]:
    """Connected components of the pairs (a, b, score); a pair seen twice counts once."""
    low, high = np.minimum(a_ids, b_ids), np.maximum(a_ids, b_ids)
    keep = low != high
    edges = np.unique(np.stack([low[keep], high[keep]], axis=1), axis=0, return_index=True)[1]
    low, high, scores = low[keep][edges], high[keep][edges], scores[keep][edges]
    if len(low) == 0:
        return []
    nodes, inverse = np.unique(np.concatenate([low, high]), return_inverse=True)
    graph = coo_matrix((np.ones(len(low)), (inverse[: len(low)], inverse[len(low) :])), shape=(len(nodes),) * 2)
    _, component = connected_components(graph, directed=False)
    groups: dict[int, list[tuple[int, int, float]]] = {}
    for a, b, score, label in zip(low, high, scores, component[inverse[: len(low)]], strict=True):
        groups.setdefault(int(label), []).append((int(a), int(b), float(score)))
    result = [
        DuplicateGroup(ids=tuple(sorted({i for a, b, _ in pairs for i in (a, b)})), pairs=tuple(sorted(pairs)))
        for pairs in groups.values()
    ]
    return sorted(result, key=lambda group: group.ids)


class DuplicateSearch:
    """find_duplicates for an index that can list its stored vectors and find the pairs above a threshold."""

    def _stored(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def _pairs_above(self, ids: np.ndarray, vectors: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
        """(query ids, stored ids, scores) of every stored vector with cosine >= threshold to a query."""
        raise NotImplementedError

    def find_duplicates(self, threshold: float) -> list[DuplicateGroup]:
        """Near-duplicate groups: connected components of pairs with cosine >= ``threshold``."""
        found = [(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))]
        for ids, vectors in self._stored():
            a, b, scores = self._pairs_above(ids, vectors, threshold)
            later = b > a  # each unordered pair once, self excluded
            found.append((a[later], b[later], scores[later]))
        a, b, scores = (np.concatenate(column) for column in zip(*found, strict=True))
        return duplicate_groups(a, b, scores)


def check_shapes(embeddings: np.ndarray, ids: np.ndarray, dim: int) -> None:
    if embeddings.ndim != 2 or embeddings.shape[1] != dim or len(embeddings) != len(ids):
        raise ValueError(f"expected embeddings (n, {dim}) and n ids, got {embeddings.shape} and {len(ids)} ids")
