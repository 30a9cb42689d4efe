"""Density-Based Pruning (DBP): per-cluster budgets from concept complexity.

Abbas et al., ICLR 2024, "Effective pruning of web-scale datasets based on complexity of concept
clusters" (reference: amro-kamal/effective_pruning). Run after SemDeDup, on its survivors:
spherical k-means, C_j = d_intra_j * d_inter_j (see clustering.py), P = softmax(C / tau),
N = floor(keep_fraction * n), lb_j = min(int(N / k * cls_bal_ratio), |c_j| - 1), ub_j = |c_j|,
N_j = argmin 1/2 x'x - (N P)'x  s.t.  sum x = N, lb <= x <= ub; each cluster keeps its N_j
members farthest from the centroid ("hard"; "easy" and "random" too). Choices made:
- The QP is solved exactly without a solver: its KKT conditions give x = clip(N P - lambda,
  lb, ub), and sum x is monotone in lambda, so lambda is found by bisection.
- Budgets are rounded by largest remainder (floors, then +1 to the largest fractional parts
  that are still below ub), so sum N_j == N exactly and lb <= N_j <= ub. The reference rounds
  each x_j on its own, which misses N.
- tau defaults to 0.1, not the reference script's 0.5: C spreads over a small range (about
  0.01-0.1), so tau = 0.5 gives nearly uniform budgets. The budgets keep C and P for the UI.
- As in the reference: N is floored (its `int(prune_ratio * size)`; a product within 1e-9 of an
  integer counts as that integer, where the reference's int(0.29 * 100) gives 28); with
  cls_bal_ratio = 0 the lower bound is min(1, |c_j| - 1), not 0 (the reference's `min_samples = 1`),
  so every cluster of two or more keeps one; every non-empty cluster has its own C, singletons
  included (clustering.py).
- lb_j is clipped at 0 (empty clusters). The reference refuses cls_bal_ratio > 1; here it is
  allowed while sum lb <= N, and an error beyond. With k = 1, C is uniform.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from curation.ml.clustering import (
    ClusterAssignment,
    KMeansConfig,
    as_row_indices,
    check_unit_rows,
    cluster_complexity,
    spherical_kmeans,
)
from curation.ml.pruning.result import ClusterBudgets, PruneReason, PruneResult, RowDecisions, decide_per_class
from curation.ml.pruning.selection import (
    WHICH_TO_KEEP,
    WhichToKeep,
    floor_target_count,
    keep_first_per_cluster,
    keep_order_key,
    target_count,
)

_BISECTION_STEPS = 200


@dataclass(frozen=True)
class DBPConfig:
    """keep_fraction is the fraction of the candidates KEPT."""

    keep_fraction: float = 0.5
    tau: float = 0.1
    cls_bal_ratio: float = 0.5
    which_to_keep: WhichToKeep = "hard"
    seed: int = 1234  # order of the "random" mode
    n_inter_neighbors: int = 20
    kmeans: KMeansConfig = field(default_factory=KMeansConfig)

    def __post_init__(self) -> None:
        target_count(self.keep_fraction, 0)
        if self.tau <= 0:
            raise ValueError(f"tau must be positive, got {self.tau}")
        if self.cls_bal_ratio < 0:
            raise ValueError(f"cls_bal_ratio must be >= 0, got {self.cls_bal_ratio}")
        if self.which_to_keep not in WHICH_TO_KEEP:
            raise ValueError(f"which_to_keep must be one of {WHICH_TO_KEEP}, got {self.which_to_keep!r}")


def solve_budget_qp(target: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float) -> np.ndarray:
    """argmin 1/2 x'x - target'x  s.t.  sum x = total, lower <= x <= upper (continuous x).

    The solution is clip(target - lambda, lower, upper); lambda is bisected until the interval
    stops shrinking. Raises ValueError when sum(lower) > total or sum(upper) < total.
    """
    target, lower, upper = (np.asarray(a, dtype=np.float64) for a in (target, lower, upper))
    if np.any(lower > upper) or lower.sum() > total + 1e-9 or upper.sum() < total - 1e-9:
        raise ValueError(f"infeasible budgets: sum(lower)={lower.sum():g}, sum(upper)={upper.sum():g}, N={total:g}")
    lo, hi = float((target - upper).min()), float((target - lower).max())  # sum x(lo) = sum upper, x(hi) = lower
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if np.clip(target - mid, lower, upper).sum() > total:
            lo = mid
        else:
            hi = mid
    candidates = [np.clip(target - lam, lower, upper) for lam in (lo, hi)]
    return min(candidates, key=lambda x: abs(x.sum() - total))


def round_budgets(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int) -> np.ndarray:
    """Integers within [lower, upper] summing to `total`: floors, then largest remainders get +1."""
    budgets = np.clip(np.floor(x), lower, upper).astype(np.int64)
    fraction = np.asarray(x, dtype=np.float64) - budgets
    missing = total - int(budgets.sum())
    while missing != 0:
        step = 1 if missing > 0 else -1
        movable = np.flatnonzero(budgets < upper) if step > 0 else np.flatnonzero(budgets > lower)
        if movable.size == 0:
            raise ValueError("cannot round the budgets within their bounds")
        priority = -fraction[movable] if step > 0 else fraction[movable]
        chosen = movable[np.lexsort((movable, priority))][: abs(missing)]
        budgets[chosen] += step
        fraction[chosen] -= step
        missing -= step * chosen.size
    return budgets


def dbp_lower_bounds(n_keep: int, sizes: np.ndarray, cls_bal_ratio: float) -> np.ndarray:
    """lb_j = min(m, |c_j| - 1) clipped at 0, with m = int(N / k * cls_bal_ratio), or m = 1 when cls_bal_ratio is 0."""
    sizes = np.asarray(sizes, dtype=np.int64)
    minimum = int(n_keep / sizes.size * cls_bal_ratio) if cls_bal_ratio > 0 else 1
    return np.clip(np.minimum(minimum, sizes - 1), 0, None)


def dbp_cluster_budgets(
    complexity: np.ndarray, sizes: np.ndarray, n_keep: int, *, tau: float = 0.1, cls_bal_ratio: float = 0.5
) -> ClusterBudgets:
    """N_j for each cluster from complexity C_j and sizes |c_j| (see the module comment)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if n_keep > sizes.sum():
        raise ValueError(f"cannot keep {n_keep} of {sizes.sum()} samples")
    logits = np.asarray(complexity, dtype=np.float64) / tau
    probability = np.exp(logits - logits.max())
    probability /= probability.sum()
    lower = dbp_lower_bounds(n_keep, sizes, cls_bal_ratio)
    if lower.sum() > n_keep:
        raise ValueError(
            f"infeasible budgets: the lower bounds (cls_bal_ratio {cls_bal_ratio:g}; 0 means one per cluster of 2 "
            f"or more, as the reference) need {lower.sum()} samples but N is {n_keep}: fewer clusters or a larger "
            "keep_fraction"
        )
    continuous = solve_budget_qp(n_keep * probability, lower, sizes, n_keep)
    budgets = round_budgets(continuous, lower, sizes, n_keep)
    return ClusterBudgets(sizes, budgets, lower, sizes.copy(), np.asarray(complexity), probability, continuous)


def _dbp_rows(
    embeddings: np.ndarray, rows: np.ndarray, config: DBPConfig, clusters: ClusterAssignment | None
) -> RowDecisions:
    started = time.perf_counter()
    assignment = clusters or spherical_kmeans(embeddings, config.kmeans, rows=rows)
    clustered = time.perf_counter()
    cluster, dist = assignment.labels[rows], assignment.dist_to_centroid[rows]
    stats = cluster_complexity(assignment, n_neighbors=config.n_inter_neighbors)
    n_keep = floor_target_count(config.keep_fraction, rows.size)
    budgets = dbp_cluster_budgets(
        stats.complexity, assignment.sizes, n_keep, tau=config.tau, cls_bal_ratio=config.cls_bal_ratio
    )
    budgets = dataclasses.replace(budgets, d_intra=stats.d_intra, d_inter=stats.d_inter)
    keep = keep_first_per_cluster(cluster, keep_order_key(dist, config.which_to_keep, config.seed), budgets.budgets)
    reason = np.where(keep, PruneReason.KEPT, PruneReason.OVER_CLUSTER_BUDGET).astype(np.int8)
    params: dict[str, object] = {
        "n_candidates": int(rows.size),
        "n_keep": n_keep,
        "n_clusters": assignment.n_clusters,
        "n_inter_neighbors_used": stats.n_neighbors,
        "seconds_kmeans": clustered - started,
        "seconds_total": time.perf_counter() - started,
    }
    return RowDecisions(rows, keep, reason, dist, cluster, dist, None, budgets, params)


def density_based_pruning(
    embeddings: np.ndarray,
    config: DBPConfig | None = None,
    *,
    rows: np.ndarray | None = None,
    class_labels: np.ndarray | None = None,
    clusters: ClusterAssignment | None = None,
) -> PruneResult:
    """Density-Based Pruning of unit-norm float32 `embeddings`.

    Args:
        embeddings: (n, d) float32 with L2-normalised rows.
        config: DBPConfig() = keep_fraction 0.5, tau 0.1, cls_bal_ratio 0.5, which_to_keep "hard",
            seed 1234, l = 20 neighbouring centroids, KMeansConfig() defaults.
        rows: candidate rows (indices or mask), e.g. SemDeDup's survivors; default all.
        class_labels: (n,) labels; when given the budget N applies within each class, with
            k-means run per class (n_clusters clipped to the class size).
        clusters: an assignment computed on exactly the candidate rows (not with class_labels).
    Returns a PruneResult with score = cosine distance to the centroid and the cluster budgets.
    """
    config = config or DBPConfig()
    check_unit_rows(embeddings)
    n = embeddings.shape[0]
    if rows is None and clusters is not None:
        rows = clusters.rows
    rows = as_row_indices(rows, n)
    if clusters is not None and (class_labels is not None or not np.array_equal(clusters.rows, rows)):
        raise ValueError("`clusters` must cover exactly the candidate rows and cannot be combined with class_labels")
    params = dataclasses.asdict(config)
    if class_labels is None:
        decisions = _dbp_rows(embeddings, rows, config, clusters)
    else:
        decisions = decide_per_class(rows, class_labels, lambda part: _dbp_rows(embeddings, part, config, None))
    return decisions.scatter("dbp", params, n)
