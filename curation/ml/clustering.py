"""Spherical k-means over L2-normalised embeddings, and the per-cluster statistics pruning needs.

Spherical k-means as in SemDeDup (Abbas et al. 2023) and Density-Based Pruning (Abbas et al.
ICLR 2024): FAISS `Kmeans(d, k, niter, seed=1234, spherical=True)`, so centroids are unit norm
and inner products are cosines. Choices made here:
- Training subsamples at most `max_points_per_centroid` (256) rows per centroid, as FAISS does,
  but the sample is drawn here with a seeded NumPy generator from the candidate rows, so a
  subset of a big array is clustered without copying the whole subset.
- `niter` defaults to 20, not the reference's 100: on 2 cores 100 iterations over 1M rows
  cost over 2 minutes, and the objective barely moves after 20.
- k defaults to round(sqrt(n / 2)), capped at 50,000 (the paper's k for LAION-440M) and at n.
- FAISS is imported by the functions that use it, not at module level: web processes import this
  module (through the pruning APIs' constants) and never cluster.
- Every row is then assigned to its nearest centroid by inner product, in batches.
- Cluster complexity (DBP): d_intra = mean cosine distance of the members to their centroid,
  d_inter = mean cosine distance from the centroid to its l = 20 nearest OTHER centroids
  (fewer when k - 1 < 20), C = d_intra * d_inter. As in the reference code (which replaces only
  NaN values), C is defined for every non-empty cluster, one or two members included; empty
  clusters get the mean of the defined C, and when none is defined (k = 1) C is 1 everywhere.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

MAX_DEFAULT_CLUSTERS = 50_000
_NORM_CHECK_ROWS = 4096
_NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class KMeansConfig:
    """Spherical k-means settings; `n_clusters=None` picks `default_n_clusters(n)`."""

    n_clusters: int | None = None
    niter: int = 20
    seed: int = 1234
    max_points_per_centroid: int = 256
    assign_batch_rows: int = 32_768


@dataclass(frozen=True, eq=False)
class ClusterAssignment:
    """Centroids and per-row assignment; rows outside the clustered set have label -1, distance NaN."""

    centroids: np.ndarray  # (k, d) float32, unit rows
    labels: np.ndarray  # (n,) int64
    dist_to_centroid: np.ndarray  # (n,) float32, 1 - <e_i, mu_label(i)>
    sizes: np.ndarray  # (k,) int64
    n_train: int  # rows the centroids were trained on
    train_seconds: float = 0.0
    assign_seconds: float = 0.0

    @property
    def n_clusters(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def rows(self) -> np.ndarray:
        return np.flatnonzero(self.labels >= 0)


@dataclass(frozen=True, eq=False)
class ClusterComplexity:
    """DBP's per-cluster statistics; `complexity` has its NaNs already replaced."""

    d_intra: np.ndarray  # (k,) float64, NaN for empty clusters
    d_inter: np.ndarray  # (k,) float64, NaN when k == 1
    complexity: np.ndarray  # (k,) float64
    n_neighbors: int  # l actually used: min(requested, k - 1)


def default_n_clusters(n: int, *, cap: int = MAX_DEFAULT_CLUSTERS) -> int:
    """k = round(sqrt(n / 2)), at least 1, at most `cap` and n."""
    if n < 1:
        raise ValueError("cannot pick a number of clusters for an empty set")
    return max(1, min(round(math.sqrt(n / 2)), cap, n))


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """A float32 C-contiguous copy with unit rows (all-zero rows stay zero)."""
    x = np.array(embeddings, dtype=np.float32, order="C", copy=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def check_unit_rows(embeddings: np.ndarray) -> None:
    """Raise ValueError unless `embeddings` is a 2-D float32 C-contiguous array of unit rows.

    Only up to 4096 evenly spaced rows are checked, so the check costs nothing at 1M rows.
    """
    if embeddings.ndim != 2 or embeddings.dtype != np.float32 or not embeddings.flags.c_contiguous:
        raise ValueError("embeddings must be a 2-D C-contiguous float32 array; use l2_normalize()")
    n = embeddings.shape[0]
    probe = np.unique(np.linspace(0, max(n - 1, 0), num=min(n, _NORM_CHECK_ROWS)).astype(np.int64))
    norms = np.linalg.norm(embeddings[probe], axis=1)
    if norms.size and np.abs(norms - 1.0).max() > _NORM_TOLERANCE:
        raise ValueError("embeddings must have L2-normalised rows; use l2_normalize()")


def as_row_indices(rows: np.ndarray | None, n: int) -> np.ndarray:
    """Sorted unique int64 row indices from None (all rows), a boolean mask or an index array."""
    if rows is None:
        return np.arange(n, dtype=np.int64)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise ValueError(f"row mask has shape {rows.shape}, expected ({n},)")
        return np.flatnonzero(rows).astype(np.int64)
    out = rows.astype(np.int64)
    if out.size > 1 and not (out[1:] > out[:-1]).all():  # sorting is only paid for when needed
        out = np.unique(out)
    if out.size and (out[0] < 0 or out[-1] >= n):
        raise ValueError("row indices out of range")
    return out


def gather_rows(embeddings: np.ndarray, rows: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows[start:stop] of the embeddings, as a view when they are consecutive."""
    first, last = int(rows[start]), int(rows[stop - 1])
    if last - first == stop - start - 1:
        return embeddings[first : last + 1]
    return embeddings[rows[start:stop]]


def assign_to_centroids(
    embeddings: np.ndarray, centroids: np.ndarray, rows: np.ndarray, *, batch_rows: int = 32_768
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid by inner product for each of `rows`: (labels int64, similarity float32)."""
    import faiss  # noqa: PLC0415 - faiss: loaded on first use, not at start-up

    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    labels = np.empty(rows.size, dtype=np.int64)
    similarity = np.empty(rows.size, dtype=np.float32)
    for start in range(0, rows.size, batch_rows):
        stop = min(start + batch_rows, rows.size)
        sim, idx = index.search(gather_rows(embeddings, rows, start, stop), 1)
        labels[start:stop] = idx[:, 0]
        similarity[start:stop] = sim[:, 0]
    return labels, similarity


def _training_sample(embeddings: np.ndarray, rows: np.ndarray, cap: int, seed: int) -> np.ndarray:
    if rows.size <= cap:
        chosen = rows
    else:
        rng = np.random.default_rng(seed)
        chosen = rows[np.sort(rng.choice(rows.size, size=cap, replace=False))]
    if chosen.size == embeddings.shape[0]:
        return embeddings
    return embeddings[chosen]


def spherical_kmeans(
    embeddings: np.ndarray, config: KMeansConfig | None = None, *, rows: np.ndarray | None = None
) -> ClusterAssignment:
    """Cluster `rows` of unit-norm float32 `embeddings` with FAISS spherical k-means.

    Args:
        embeddings: (n, d) float32, L2-normalised rows (see `l2_normalize`).
        config: KMeansConfig(); n_clusters=None means default_n_clusters(len(rows)); a k larger
            than the number of rows is clipped to it.
        rows: which rows to cluster (indices or boolean mask); default all. Others get label -1.
    """
    config = config or KMeansConfig()
    check_unit_rows(embeddings)
    rows = as_row_indices(rows, embeddings.shape[0])
    if rows.size == 0:
        raise ValueError("no rows to cluster")
    import faiss  # noqa: PLC0415 - faiss: loaded on first use, not at start-up

    k = min(config.n_clusters or default_n_clusters(rows.size), rows.size)
    cap = k * config.max_points_per_centroid
    started = time.perf_counter()
    train = _training_sample(embeddings, rows, cap, config.seed)
    n_train = int(train.shape[0])
    kmeans = faiss.Kmeans(
        embeddings.shape[1],
        k,
        niter=config.niter,
        seed=config.seed,
        spherical=True,
        max_points_per_centroid=config.max_points_per_centroid,
        min_points_per_centroid=1,
        verbose=False,
    )
    kmeans.train(train)
    del train
    trained = time.perf_counter()
    centroids = l2_normalize(np.asarray(kmeans.centroids))
    local_labels, similarity = assign_to_centroids(embeddings, centroids, rows, batch_rows=config.assign_batch_rows)
    labels = np.full(embeddings.shape[0], -1, dtype=np.int64)
    labels[rows] = local_labels
    dist = np.full(embeddings.shape[0], np.nan, dtype=np.float32)
    dist[rows] = 1.0 - similarity
    sizes = np.bincount(local_labels, minlength=k).astype(np.int64)
    assigned = time.perf_counter()
    return ClusterAssignment(centroids, labels, dist, sizes, n_train, trained - started, assigned - trained)


def inter_centroid_distance(centroids: np.ndarray, n_neighbors: int = 20) -> tuple[np.ndarray, int]:
    """Mean cosine distance from each centroid to its l nearest OTHER centroids, and l.

    l = min(n_neighbors, k - 1); with k == 1 the distances are NaN and l is 0.
    """
    k = centroids.shape[0]
    n_used = min(n_neighbors, k - 1)
    if n_used < 1:
        return np.full(k, np.nan), 0
    import faiss  # noqa: PLC0415 - faiss: loaded on first use, not at start-up

    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    similarity, neighbors = index.search(np.ascontiguousarray(centroids, dtype=np.float32), n_used + 1)
    # Drop each centroid's own entry; when a duplicate centroid outranks it, drop the last one instead.
    is_self = neighbors == np.arange(k)[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    others = similarity[~is_self].reshape(k, n_used).astype(np.float64)
    return (1.0 - others).mean(axis=1), n_used


def cluster_complexity(assignment: ClusterAssignment, *, n_neighbors: int = 20) -> ClusterComplexity:
    """d_intra, d_inter and C = d_intra * d_inter per cluster, as DBP defines them (see module comment)."""
    k = assignment.n_clusters
    member = assignment.labels >= 0
    totals = np.bincount(
        assignment.labels[member], weights=assignment.dist_to_centroid[member].astype(np.float64), minlength=k
    )
    sizes = assignment.sizes
    d_intra = np.divide(totals, sizes, out=np.full(k, np.nan), where=sizes > 0)
    d_inter, n_used = inter_centroid_distance(assignment.centroids, n_neighbors)
    complexity = d_intra * d_inter
    defined = ~np.isnan(complexity)
    complexity[~defined] = complexity[defined].mean() if defined.any() else 1.0
    return ClusterComplexity(d_intra, d_inter, complexity, n_used)
