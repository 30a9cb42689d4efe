"""Exact numpy reference index: every query against every stored vector (for tests and small sets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from curation.ml.similarity.base import DuplicateSearch, check_shapes, normalized_rows


class BruteForceIndex(DuplicateSearch):
    """Exact numpy reference: every query against every stored vector."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.vectors = np.empty((0, dim), dtype=np.float32)
        self.ids = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, embeddings: np.ndarray, ids: np.ndarray) -> None:
        check_shapes(embeddings, ids, self.dim)
        self.vectors = np.concatenate([self.vectors, normalized_rows(embeddings)])
        self.ids = np.concatenate([self.ids, np.asarray(ids, dtype=np.int64)])

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = normalized_rows(query) @ self.vectors.T
        top = min(k, len(self))
        order = np.argsort(-scores, axis=1, kind="stable")[:, :top]
        out_scores = np.full((len(scores), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(scores), k), -1, dtype=np.int64)
        out_scores[:, :top] = np.take_along_axis(scores, order, axis=1)
        out_ids[:, :top] = self.ids[order]
        return out_scores, out_ids

    def range_search(self, query: np.ndarray, threshold: float) -> list[tuple[np.ndarray, np.ndarray]]:
        results = []
        for scores in normalized_rows(query) @ self.vectors.T:
            hits = np.flatnonzero(scores >= threshold)
            hits = hits[np.argsort(-scores[hits], kind="stable")]
            results.append((self.ids[hits], scores[hits]))
        return results

    def _pairs_above(self, ids: np.ndarray, vectors: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
        scores = vectors @ self.vectors.T
        rows, columns = np.nonzero(scores >= threshold)
        return ids[rows], self.ids[columns], scores[rows, columns]

    def save(self, path: str | Path) -> None:
        with Path(path).open("wb") as file:
            np.savez(file, vectors=self.vectors, ids=self.ids)

    @classmethod
    def load(cls, path: str | Path) -> BruteForceIndex:
        with np.load(path) as stored:
            index = cls(stored["vectors"].shape[1])
            index.vectors, index.ids = stored["vectors"], stored["ids"]
        return index

    def _stored(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        batch = 1024  # a (batch x n) score block per step
        for start in range(0, len(self), batch):
            yield self.ids[start : start + batch], self.vectors[start : start + batch]
