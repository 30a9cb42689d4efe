"""Prototypicality pruning (SSP: self-supervised prototypes).

Sorscher et al. 2022, "Beyond neural scaling laws: beating power law scaling via data
pruning". Score = cosine distance to the nearest centroid of a spherical k-means; keep the
hardest (farthest) when data is plentiful, the easiest when it is scarce. Choices made:
- An optional per-cluster minimum, as in DBP: each cluster first keeps its
  lb_j = min(int(N / k * min_cluster_share), |c_j|) best members; the rest of the budget
  N = round(keep_fraction * n) goes to the best remaining members over all clusters.
- Ties: hard keeps the earlier sample, easy the later (easy is the hard order reversed, as in
  SemDeDup's and DBP's reference code), so results are deterministic for a seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from curation.ml.clustering import KMeansConfig, as_row_indices, check_unit_rows, spherical_kmeans
from curation.ml.pruning.result import ClusterBudgets, PruneReason, PruneResult, RowDecisions, decide_per_class
from curation.ml.pruning.selection import keep_first_per_cluster, keep_order_key, target_count


@dataclass(frozen=True)
class PrototypicalityConfig:
    keep_fraction: float = 0.5
    which_to_keep: Literal["hard", "easy"] = "hard"
    min_cluster_share: float = 0.0  # 0 = no per-cluster minimum; 1 = N / k each (or the whole cluster)
    kmeans: KMeansConfig = field(default_factory=KMeansConfig)

    def __post_init__(self) -> None:
        target_count(self.keep_fraction, 0)
        if self.which_to_keep not in ("hard", "easy"):
            raise ValueError(f"which_to_keep must be 'hard' or 'easy', got {self.which_to_keep!r}")
        if not 0.0 <= self.min_cluster_share <= 1.0:
            raise ValueError(f"min_cluster_share must lie in [0, 1], got {self.min_cluster_share}")


def _prototypicality_rows(embeddings: np.ndarray, rows: np.ndarray, config: PrototypicalityConfig) -> RowDecisions:
    assignment = spherical_kmeans(embeddings, config.kmeans, rows=rows)
    cluster, dist = assignment.labels[rows], assignment.dist_to_centroid[rows]
    n_keep = target_count(config.keep_fraction, rows.size)
    sizes = assignment.sizes
    lower = np.minimum(int(n_keep / sizes.size * config.min_cluster_share), sizes)
    key = keep_order_key(dist, config.which_to_keep, seed=0)
    keep = keep_first_per_cluster(cluster, key, lower)
    rest = np.flatnonzero(~keep)
    keep[rest[np.argsort(key[rest], kind="stable")[: n_keep - int(lower.sum())]]] = True
    budgets = ClusterBudgets(sizes, np.bincount(cluster[keep], minlength=sizes.size), lower, sizes.copy())
    reason = np.where(keep, PruneReason.KEPT, PruneReason.PROTOTYPICALITY).astype(np.int8)
    params: dict[str, object] = {"n_candidates": int(rows.size), "n_keep": n_keep, "n_clusters": int(sizes.size)}
    return RowDecisions(rows, keep, reason, dist, cluster, dist, None, budgets, params)


def prototypicality_pruning(
    embeddings: np.ndarray,
    config: PrototypicalityConfig | None = None,
    *,
    rows: np.ndarray | None = None,
    class_labels: np.ndarray | None = None,
) -> PruneResult:
    """SSP prototypicality pruning of unit-norm float32 `embeddings`.

    Args:
        config: PrototypicalityConfig() = keep_fraction 0.5, which_to_keep "hard",
            min_cluster_share 0.0, KMeansConfig() defaults.
        rows: candidate rows (indices or mask); default all.
        class_labels: (n,) labels; when given the budget applies within each class (k-means per class).
    Returns a PruneResult with score = cosine distance to the nearest centroid.
    """
    config = config or PrototypicalityConfig()
    check_unit_rows(embeddings)
    rows = as_row_indices(rows, embeddings.shape[0])
    if class_labels is None:
        decisions = _prototypicality_rows(embeddings, rows, config)
    else:
        decisions = decide_per_class(rows, class_labels, lambda part: _prototypicality_rows(embeddings, part, config))
    return decisions.scatter("prototypicality", dataclasses.asdict(config), embeddings.shape[0])
