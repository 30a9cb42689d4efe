"""Cosine-similarity search over embeddings: ``FaissIndex`` in production, ``BruteForceIndex`` as its reference.

Both normalise what they are given (cosine = inner product of unit vectors) and take int64 ids.
``find_duplicates(threshold)`` returns near-duplicate groups: the connected components of the graph
whose edges are pairs with cosine >= threshold, each group with its ids sorted and the pair scores.

FaissIndex builds lazily, on the first query, once it knows how many vectors it holds: IndexFlatIP
(exact) up to ``flat_max`` vectors, IndexIVFFlat beyond (nlist ~ 4 sqrt(n), trained on a seeded
sample of ``train_points_per_list`` points per list, searched with ``nprobe`` lists). Vectors added
after the build go straight in; a flat index that grows past ``flat_max`` is rebuilt as IVF.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

QUERY_BATCH = 8192


@dataclass(frozen=True)
class DuplicateGroup:
    ids: tuple[int, ...]  # sorted
    pairs: tuple[tuple[int, int, float], ...]  # (smaller id, larger id, cosine), sorted


class SimilarityIndex(Protocol):
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


class _DuplicateSearch:
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


class BruteForceIndex(_DuplicateSearch):
    """Exact numpy reference: every query against every stored vector."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.vectors = np.empty((0, dim), dtype=np.float32)
        self.ids = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, embeddings: np.ndarray, ids: np.ndarray) -> None:
        _check_shapes(embeddings, ids, self.dim)
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


class FaissIndex(_DuplicateSearch):
    """FAISS inner-product index over unit vectors: exact flat up to ``flat_max`` vectors, IVF beyond.

    dim: embedding width. flat_max: largest size kept exact (default 200k). nlist: IVF lists (default
    4 sqrt(n)). nprobe: lists searched per query (default max(16, nlist/8)). train_points_per_list:
    k-means sample size per list. seed: training sample and k-means seed.
    """

    def __init__(
        self,
        dim: int,
        *,
        flat_max: int = 200_000,
        nlist: int | None = None,
        nprobe: int | None = None,
        train_points_per_list: int = 64,
        seed: int = 0,
    ) -> None:
        self.dim = dim
        self.flat_max = flat_max
        self.nlist = nlist
        self._nprobe = nprobe
        self.train_points_per_list = train_points_per_list
        self.seed = seed
        self._index: faiss.Index | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        built = self._index.ntotal if self._index is not None else 0
        return built + sum(len(ids) for ids, _ in self._pending)

    @property
    def nprobe(self) -> int | None:
        """IVF lists searched per query (None until an IVF index is built, unless given)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = value
        ivf: Any = faiss.try_extract_index_ivf(self._index) if self._index is not None else None
        if ivf is not None:
            ivf.nprobe = value

    @property
    def kind(self) -> str:
        """ "flat" or "ivf" once built, "pending" before."""
        if self._index is None:
            return "pending"
        return "ivf" if faiss.try_extract_index_ivf(self._index) is not None else "flat"

    def add(self, embeddings: np.ndarray, ids: np.ndarray) -> None:
        _check_shapes(embeddings, ids, self.dim)
        ids = np.array(ids, dtype=np.int64)
        if self._index is None or (self.kind == "flat" and self._index.ntotal + len(ids) > self.flat_max):
            self._pending.append((ids, np.array(embeddings, copy=True)))
            if self._index is not None:  # the flat index outgrew flat_max: rebuild all of it as IVF
                self._pending[:0] = list(self._stored(whole=True))
                self._index = None
            return
        self._index.add_with_ids(normalized_rows(embeddings), ids)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._built().search(normalized_rows(query), k)
        scores[ids < 0] = -np.inf
        return scores, ids

    def range_search(self, query: np.ndarray, threshold: float) -> list[tuple[np.ndarray, np.ndarray]]:
        limits, scores, ids = self._range(normalized_rows(query), threshold)
        results = []
        for start, stop in itertools.pairwise(limits):
            hit_scores, hit_ids = scores[start:stop], ids[start:stop]
            keep = hit_scores >= threshold
            order = np.argsort(-hit_scores[keep], kind="stable")
            results.append((hit_ids[keep][order], hit_scores[keep][order]))
        return results

    def _range(self, unit_query: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # FAISS keeps inner products strictly above the radius; step just below to keep ties.
        radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
        return self._built().range_search(unit_query, radius)

    def _pairs_above(self, ids: np.ndarray, vectors: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
        limits, scores, hits = self._range(vectors, threshold)
        queries = np.repeat(ids, np.diff(limits).astype(np.int64))
        keep = scores >= threshold
        return queries[keep], hits[keep], scores[keep]

    def save(self, path: str | Path) -> None:
        faiss.write_index(self._built(), str(path))

    @classmethod
    def load(cls, path: str | Path, *, flat_max: int = 200_000) -> FaissIndex:
        stored = faiss.read_index(str(path))
        ivf = faiss.try_extract_index_ivf(stored)
        index = cls(stored.d, flat_max=flat_max, nlist=ivf.nlist if ivf else None, nprobe=ivf.nprobe if ivf else None)
        index._index = stored
        return index

    def _built(self) -> faiss.Index:
        if self._index is None:
            self._index = self._build()
        return self._index

    def _build(self) -> faiss.Index:
        total = sum(len(ids) for ids, _ in self._pending)
        index = faiss.IndexIDMap(faiss.IndexFlatIP(self.dim)) if total <= self.flat_max else self._trained_ivf(total)
        while self._pending:  # drop each pending copy as soon as it is in the index
            ids, vectors = self._pending.pop(0)
            for start in range(0, len(ids), QUERY_BATCH):
                index.add_with_ids(
                    normalized_rows(vectors[start : start + QUERY_BATCH]), ids[start : start + QUERY_BATCH]
                )
        return index

    def _trained_ivf(self, total: int) -> faiss.IndexIVFFlat:
        # 4 sqrt(n) lists, but no fewer than the 39 training points per list k-means asks for.
        nlist = self.nlist or max(1, min(int(4 * math.sqrt(total)), total // 39))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = self.seed
        index.cp.max_points_per_centroid = self.train_points_per_list
        sample_size = min(total, nlist * self.train_points_per_list)
        rows = np.sort(np.random.default_rng(self.seed).choice(total, size=sample_size, replace=False))
        index.train(normalized_rows(_gather_rows([vectors for _, vectors in self._pending], rows)))
        index.nprobe = self._nprobe or min(nlist, max(16, nlist // 8))
        self.nlist, self._nprobe = nlist, index.nprobe
        return index

    def _stored(self, whole: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, unit vectors) held by the built index, batch by batch (one batch if ``whole``)."""
        index: Any = self._built()
        ivf: Any = faiss.try_extract_index_ivf(index)
        if ivf is None:
            return _flat_stored(index, self.dim, None if whole else QUERY_BATCH)
        return _ivf_stored(ivf, self.dim)


def _flat_stored(index: Any, dim: int, batch: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    flat: Any = faiss.downcast_index(index.index)
    vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * dim).reshape(-1, dim)
    ids = faiss.vector_to_array(index.id_map)
    step = max(batch or len(ids), 1)
    for start in range(0, len(ids), step):
        yield ids[start : start + step], np.array(vectors[start : start + step])


def _ivf_stored(ivf: Any, dim: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The inverted lists' ids and vectors, gathered into query batches of about QUERY_BATCH rows."""
    invlists = ivf.invlists
    held: list[tuple[np.ndarray, np.ndarray]] = []
    for list_no in range(ivf.nlist):
        size = invlists.list_size(list_no)
        if size:
            ids = faiss.rev_swig_ptr(invlists.get_ids(list_no), size).copy()
            codes = faiss.rev_swig_ptr(invlists.get_codes(list_no), size * invlists.code_size)
            held.append((ids, codes.view(np.float32).reshape(size, dim).copy()))
        if held and (sum(len(ids) for ids, _ in held) >= QUERY_BATCH or list_no == ivf.nlist - 1):
            yield np.concatenate([ids for ids, _ in held]), np.concatenate([vectors for _, vectors in held])
            held = []


def _gather_rows(arrays: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted, global numbering) of the row-wise concatenation of ``arrays``, without concatenating."""
    offsets = np.cumsum([0] + [len(array) for array in arrays])
    which = np.searchsorted(offsets, rows, side="right") - 1
    return np.concatenate([arrays[i][rows[which == i] - offsets[i]] for i in np.unique(which)])


def _check_shapes(embeddings: np.ndarray, ids: np.ndarray, dim: int) -> None:
    if embeddings.ndim != 2 or embeddings.shape[1] != dim or len(embeddings) != len(ids):
        raise ValueError(f"expected embeddings (n, {dim}) and n ids, got {embeddings.shape} and {len(ids)} ids")
