"""FAISS inner-product index over unit vectors, the production SimilarityIndex.

It builds lazily, on the first query, once it knows how many vectors it holds: IndexFlatIP (exact)
up to ``flat_max`` vectors, IndexIVFFlat beyond (nlist ~ 4 sqrt(n), trained on a seeded sample of
``train_points_per_list`` points per list, searched with ``nprobe`` lists). Vectors added after the
build go straight in; a flat index that grows past ``flat_max`` is rebuilt as IVF.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from curation.ml.similarity.base import QUERY_BATCH, DuplicateSearch, check_shapes, normalized_rows


class FaissIndex(DuplicateSearch):
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
        check_shapes(embeddings, ids, self.dim)
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
