"""SemDeDup: semantic deduplication inside k-means clusters.

Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale through semantic
deduplication" (reference: facebookresearch/SemDeDup). Per cluster, members are ordered by
cosine distance to the centroid, DESCENDING for which_to_keep="hard" (the default), ties in
sample order; "easy" is that order reversed, as in the reference (ascending, ties with the later
sample first, so of two exact copies hard keeps the earlier and easy the later); "random" is a
seeded permutation (not the reference's `random.shuffle`). With S = X X^T,
M[j] = max_{i<j} S[i, j] and sample j is removed when M[j] > 1 - eps. Choices made:
- An item similar to ANY earlier item is removed, even when that item was itself removed (a~b,
  b~c, a≁c removes b and c), exactly as the reference code; "keep one per connected
  component" would be a different method.
- Larger eps removes more (the reference README says the opposite; its code agrees with us).
- Singletons (and each cluster's first item) have M = -inf and are never removed.
- S is never materialised for big clusters: each block of rows is multiplied (float32 GEMM)
  against every row up to the block's end, the block's diagonal square is masked with one shared
  triangle, and a row argmax gives M and the earlier sample it comes from (`duplicate_of`).
- M does not depend on eps, so `semdedup_sweep` and `semdedup_rethreshold` are free.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from curation.ml.clustering import ClusterAssignment, KMeansConfig, as_row_indices, check_unit_rows, spherical_kmeans
from curation.ml.pruning.result import PruneReason, PruneResult, RowDecisions
from curation.ml.pruning.selection import WHICH_TO_KEEP, WhichToKeep, keep_order_key, order_within_clusters

DEFAULT_EPS_SWEEP: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1)


@dataclass(frozen=True)
class SemDeDupConfig:
    """eps: remove when cosine similarity to an earlier item > 1 - eps; larger eps removes more."""

    eps: float = 0.05
    which_to_keep: WhichToKeep = "hard"
    seed: int = 1234  # order of the "random" mode
    # Rows per GEMM block, each against all rows up to the block's end. Clusters up to 4096 rows are
    # one GEMM (X X^T, which BLAS does as a symmetric rank-k update): many small GEMMs cost up to
    # 1.5x the CPU on 2 busy cores.
    block_rows: int = 4096
    max_block_bytes: int = 64 * 2**20  # memory cap for one block of similarities
    kmeans: KMeansConfig = field(default_factory=KMeansConfig)

    def __post_init__(self) -> None:
        if not 0.0 < self.eps < 1.0:
            raise ValueError(f"eps must lie in (0, 1), got {self.eps}")
        if self.which_to_keep not in WHICH_TO_KEEP:
            raise ValueError(f"which_to_keep must be one of {WHICH_TO_KEEP}, got {self.which_to_keep!r}")
        if self.block_rows < 1 or self.max_block_bytes < 1:
            raise ValueError("block_rows and max_block_bytes must be positive")


@dataclass(frozen=True)
class SweepPoint:
    eps: float
    n_kept: int
    kept_fraction: float


def max_earlier_similarity(
    members: np.ndarray, *, block_rows: int, workspace: SimilarityWorkspace | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For ordered unit rows x_0..x_{m-1}: M[j] = max_{i<j} <x_i, x_j> and its argmax i (-inf, -1 for j = 0).

    Rows are taken `block_rows` at a time, each block in one GEMM against every row up to the
    block's end (one X X^T when the cluster fits a block); the row maxima are then taken
    `_ARGMAX_ROWS` rows at a time over the columns before each chunk's end only, so the masked
    triangle is never scanned. Ties go to the earliest i. `workspace` reuses buffers across calls.
    """
    m = members.shape[0]
    best = np.full(m, -np.inf, dtype=np.float32)
    best_of = np.full(m, -1, dtype=np.int64)
    if m < 2:
        return best, best_of
    block_rows = max(1, min(block_rows, m))
    workspace = workspace or SimilarityWorkspace()
    upper = workspace.upper_triangle(_ARGMAX_ROWS)
    for r0 in range(0, m, block_rows):
        r1 = min(r0 + block_rows, m)
        sims = workspace.block(r1 - r0, r1)
        np.matmul(members[r0:r1], members[:r1].T, out=sims)  # sims[j - r0, i] = <x_j, x_i> for i < r1
        for c0 in range(r0, r1, _ARGMAX_ROWS):
            c1 = min(c0 + _ARGMAX_ROWS, r1)
            chunk = sims[c0 - r0 : c1 - r0, :c1]
            np.copyto(chunk[:, c0:], -np.inf, where=upper[: c1 - c0, : c1 - c0])  # only i < j counts
            earlier = chunk.argmax(axis=1)
            best[c0:c1] = chunk[np.arange(c1 - c0), earlier]
            best_of[c0:c1] = earlier
    best_of[best == -np.inf] = -1
    return best, best_of


_ARGMAX_ROWS = 256  # rows per row-max pass: 256 x 4096 floats stay in cache


class SimilarityWorkspace:
    """Buffers reused from cluster to cluster: a fresh multi-megabyte array per cluster costs page faults."""

    def __init__(self) -> None:
        self._sims = np.empty(0, dtype=np.float32)
        self._members = np.empty(0, dtype=np.float32)
        self._upper = np.ones((0, 0), dtype=bool)

    def block(self, rows: int, columns: int) -> np.ndarray:
        """A C-contiguous float32 (rows, columns) array (contents undefined)."""
        self._sims = _at_least(self._sims, rows * columns)
        return self._sims[: rows * columns].reshape(rows, columns)

    def upper_triangle(self, size: int) -> np.ndarray:
        """A boolean mask, at least (size, size), true on and above the diagonal (corners serve smaller chunks)."""
        if self._upper.shape[0] < size:
            self._upper = np.triu(np.ones((size, size), dtype=bool))
        return self._upper

    def members(self, embeddings: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """embeddings[rows] gathered into the reused buffer."""
        dim = embeddings.shape[1]
        self._members = _at_least(self._members, rows.size * dim)
        out = self._members[: rows.size * dim].reshape(rows.size, dim)
        np.take(embeddings, rows, axis=0, out=out)
        return out


def _at_least(buffer: np.ndarray, size: int) -> np.ndarray:
    return buffer if buffer.size >= size else np.empty(max(size, 2 * buffer.size), dtype=buffer.dtype)


def _block_rows_for(config: SemDeDupConfig, m: int) -> int:
    return max(1, min(config.block_rows, config.max_block_bytes // (4 * m)))


def _cluster_scores(
    embeddings: np.ndarray, rows: np.ndarray, cluster: np.ndarray, key: np.ndarray, config: SemDeDupConfig
) -> tuple[np.ndarray, np.ndarray]:
    """M and duplicate_of (sample indices) for each candidate row."""
    best = np.full(rows.size, -np.inf, dtype=np.float32)
    duplicate_of = np.full(rows.size, -1, dtype=np.int64)
    order, starts = order_within_clusters(cluster, key)
    workspace = SimilarityWorkspace()
    for start, stop in itertools.pairwise(starts):
        if stop - start < 2:
            continue
        positions = order[start:stop]
        members = workspace.members(embeddings, rows[positions])
        block_rows = _block_rows_for(config, stop - start)
        m_values, earlier = max_earlier_similarity(members, block_rows=block_rows, workspace=workspace)
        best[positions] = m_values
        duplicate_of[positions] = np.where(earlier >= 0, rows[positions[np.maximum(earlier, 0)]], -1)
    return best, duplicate_of


def _decide(best: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    remove = best.astype(np.float64) > 1.0 - eps
    reason = np.where(remove, PruneReason.SEMANTIC_DUPLICATE, PruneReason.KEPT).astype(np.int8)
    return ~remove, reason


def semdedup(
    embeddings: np.ndarray,
    config: SemDeDupConfig | None = None,
    *,
    rows: np.ndarray | None = None,
    clusters: ClusterAssignment | None = None,
) -> PruneResult:
    """Semantic deduplication of unit-norm float32 `embeddings`.

    Args:
        embeddings: (n, d) float32 with L2-normalised rows.
        config: SemDeDupConfig() = eps 0.05, which_to_keep "hard", seed 1234, 4096-row blocks,
            64 MiB per block, spherical k-means with KMeansConfig() defaults.
        rows: candidate rows (indices or mask); default all rows, or the clustered rows of `clusters`.
        clusters: an existing assignment covering the candidates; computed when None.
    Returns a PruneResult whose score is M (max similarity to an earlier item of the cluster)
    and whose duplicate_of names that earlier item, for removed and kept rows alike.
    """
    config = config or SemDeDupConfig()
    check_unit_rows(embeddings)
    n = embeddings.shape[0]
    if rows is None and clusters is not None:
        rows = clusters.rows
    rows = as_row_indices(rows, n)
    if clusters is None:
        clusters = spherical_kmeans(embeddings, config.kmeans, rows=rows)
    cluster = clusters.labels[rows]
    if cluster.size and cluster.min() < 0:
        raise ValueError("every candidate row must have a cluster in `clusters`")
    dist = clusters.dist_to_centroid[rows]
    best, duplicate_of = _cluster_scores(
        embeddings, rows, cluster, keep_order_key(dist, config.which_to_keep, config.seed), config
    )
    keep, reason = _decide(best, config.eps)
    decisions = RowDecisions(rows, keep, reason, best, cluster, dist, duplicate_of)
    params = {**dataclasses.asdict(config), "n_candidates": int(rows.size), "n_clusters": clusters.n_clusters}
    return decisions.scatter("semdedup", params, n)


def semdedup_rethreshold(result: PruneResult, eps: float) -> PruneResult:
    """The same SemDeDup result for another eps, without recomputing similarities."""
    if result.method != "semdedup":
        raise ValueError("semdedup_rethreshold needs a semdedup result")
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must lie in (0, 1), got {eps}")
    candidate = result.reason != PruneReason.NOT_CANDIDATE
    keep, reason = _decide(result.score, eps)
    keep &= candidate
    reason[~candidate] = PruneReason.NOT_CANDIDATE
    return dataclasses.replace(result, keep=keep, reason=reason, params={**result.params, "eps": eps})


def semdedup_sweep(result: PruneResult, eps_values: Sequence[float] = DEFAULT_EPS_SWEEP) -> list[SweepPoint]:
    """Kept count and fraction of the candidates for each eps, from the stored M values."""
    candidate = result.reason != PruneReason.NOT_CANDIDATE
    scores = np.sort(result.score[candidate].astype(np.float64))
    total = max(scores.size, 1)
    points = []
    for eps in eps_values:
        n_kept = int(np.searchsorted(scores, 1.0 - eps, side="right"))  # M <= 1 - eps is kept
        points.append(SweepPoint(float(eps), n_kept, n_kept / total))
    return points
