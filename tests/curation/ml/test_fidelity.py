"""Fidelity to the reference code: SemDeDup's tie order, DBP's lower bound, target and complexity.

Each reference here is a loop transcribed from facebookresearch/SemDeDup (clustering/sort_clusters.py,
semdedup.py) or amro-kamal/effective_pruning (prune.py), on small hand-made inputs.
"""

import numpy as np
import pytest

from curation.ml.clustering import ClusterAssignment, cluster_complexity, l2_normalize
from curation.ml.pruning import DBPConfig, SemDeDupConfig, dbp_cluster_budgets, density_based_pruning, semdedup
from curation.ml.pruning.dbp import dbp_lower_bounds
from curation.ml.pruning.selection import floor_target_count


def reference_sorted_cluster(members: list[int], distance: np.ndarray, which_to_keep: str) -> list[int]:
    """sort_clusters.rank_within_cluster (Python's stable `sorted(..., reverse=True)` over dataset order),
    then semdedup.py's `[::-1]` for "easy"."""
    ordered = sorted(members, key=lambda i: float(distance[i]), reverse=True)
    return ordered[::-1] if which_to_keep == "easy" else ordered


def reference_semdedup_removed(vectors: np.ndarray, order: list[int], eps: float) -> set[int]:
    """semdedup.py: M = max over the upper triangle (zero diagonal) of the ordered cluster; remove M > 1 - eps."""
    x = vectors[order].astype(np.float64)
    triu = np.triu(x @ x.T, k=1)
    m = triu.max(axis=0)
    return {order[j] for j in range(len(order)) if m[j] > 1 - eps}


def one_cluster(vectors: np.ndarray, distance: np.ndarray) -> ClusterAssignment:
    centroid = l2_normalize(vectors.mean(axis=0, keepdims=True)).astype(np.float32)
    n = vectors.shape[0]
    return ClusterAssignment(centroid, np.zeros(n, np.int64), distance.astype(np.float32), np.array([n]), n_train=n)


@pytest.mark.parametrize("which", ["hard", "easy"])
def test_semdedup_exact_copies_keep_the_sample_the_reference_keeps(which: str) -> None:
    # given one cluster where samples 1, 3 and 4 are exact copies (so tied distances) and 0, 2 differ
    rng = np.random.default_rng(0)
    vectors = l2_normalize(rng.standard_normal((5, 8))).astype(np.float32)
    vectors[3] = vectors[1]
    vectors[4] = vectors[1]
    distance = np.array([0.30, 0.20, 0.10, 0.20, 0.20])
    # when
    result = semdedup(vectors, SemDeDupConfig(eps=0.01, which_to_keep=which), clusters=one_cluster(vectors, distance))
    # then: hard keeps the earliest copy (1), easy the latest (4), exactly as the reference
    order = reference_sorted_cluster(list(range(5)), distance, which)
    removed = reference_semdedup_removed(vectors, order, 0.01)
    assert set(np.flatnonzero(~result.keep).tolist()) == removed
    assert removed == ({3, 4} if which == "hard" else {1, 3})


def reference_dbp_kept(members: list[int], distance: np.ndarray, budget: int, which_to_keep: str) -> set[int]:
    """prune.get_paths: the hard-sorted cluster, kept head (hard) or tail (easy)."""
    ordered = reference_sorted_cluster(members, distance, "hard")
    return set(ordered[:budget] if which_to_keep == "hard" else ordered[len(ordered) - budget :])


@pytest.mark.parametrize("which", ["hard", "easy"])
def test_dbp_keeps_the_head_or_tail_of_the_hard_order_with_ties(which: str) -> None:
    # given one cluster of 6 whose distances tie in pairs, and a budget of 3 (floor(0.5 * 6))
    rng = np.random.default_rng(1)
    vectors = l2_normalize(rng.standard_normal((6, 8))).astype(np.float32)
    distance = np.array([0.2, 0.1, 0.2, 0.3, 0.1, 0.3])
    # when
    result = density_based_pruning(
        vectors, DBPConfig(keep_fraction=0.5, which_to_keep=which), clusters=one_cluster(vectors, distance)
    )
    # then
    assert set(np.flatnonzero(result.keep).tolist()) == reference_dbp_kept(list(range(6)), distance, 3, which)


def reference_lower_bounds(n_keep: int, sizes: list[int], cls_bal_ratio: float) -> list[int]:
    """prune.pruning_qp: min_samples = int(N / k * ratio) if ratio > 0 else 1; lb = min(min_samples, |c| - 1)."""
    min_samples = int((n_keep / len(sizes)) * cls_bal_ratio) if cls_bal_ratio > 0.0 else 1
    return [max(min(min_samples, size - 1), 0) for size in sizes]


@pytest.mark.parametrize("cls_bal_ratio", [0.0, 0.05, 0.5, 1.0])
def test_dbp_lower_bounds_follow_the_reference(cls_bal_ratio: float) -> None:
    sizes = [1, 2, 5, 40, 13]
    n_keep = 30
    lower = dbp_lower_bounds(n_keep, np.array(sizes), cls_bal_ratio)
    assert lower.tolist() == reference_lower_bounds(n_keep, sizes, cls_bal_ratio)


def test_dbp_with_cls_bal_ratio_zero_still_keeps_one_per_cluster() -> None:
    # given a cluster whose complexity is far below the others: the QP would give it nothing
    complexity = np.array([0.001, 1.0, 1.0])
    # when
    budgets = dbp_cluster_budgets(complexity, np.array([10, 10, 10]), 12, tau=0.05, cls_bal_ratio=0.0)
    # then: the reference's min_samples = 1 holds it at one
    assert budgets.lower.tolist() == [1, 1, 1]
    assert budgets.budgets.tolist() == [1, 6, 5]  # QP [1, 5.5, 5.5]; the tie goes to the lower cluster id


@pytest.mark.parametrize(
    ("keep_fraction", "n", "expected"),
    [(0.5, 7, 3), (0.3, 33, 9), (0.29, 100, 29), (0.7, 10, 7), (1.0, 9, 9), (0.0, 9, 0), (0.999, 1000, 999)],
)
def test_dbp_target_is_floored_like_the_reference(keep_fraction: float, n: int, expected: int) -> None:
    # the reference's int(prune_ratio * size), without its floating-point slip at 0.29 * 100
    assert floor_target_count(keep_fraction, n) == expected


def test_dbp_run_keeps_the_floored_target() -> None:
    rng = np.random.default_rng(2)
    vectors = l2_normalize(rng.standard_normal((7, 8))).astype(np.float32)
    result = density_based_pruning(vectors, DBPConfig(keep_fraction=0.5), clusters=one_cluster(vectors, np.ones(7)))
    assert result.n_kept == 3 and result.params["keep_fraction"] == 0.5


def test_single_member_clusters_have_their_own_complexity() -> None:
    # given clusters of sizes 3, 1 and 2 on three orthogonal centroids (every d_inter = 1 with l = 2)
    centroids = np.eye(3, dtype=np.float32)
    labels = np.array([0, 0, 0, 1, 2, 2])
    distance = np.array([0.1, 0.2, 0.3, 0.05, 0.2, 0.4], np.float32)
    assignment = ClusterAssignment(centroids, labels, distance, np.array([3, 1, 2]), n_train=6)
    # when
    stats = cluster_complexity(assignment, n_neighbors=2)
    # then C = d_intra * d_inter for each, as the reference (only NaN is replaced by the mean)
    assert stats.complexity.tolist() == pytest.approx([0.2, 0.05, 0.3], abs=1e-6)


def test_dbp_with_cls_bal_ratio_zero_and_fewer_samples_than_clusters_is_refused() -> None:
    # one per cluster is more than N: the reference's QP has no solution; here a clear error
    with pytest.raises(ValueError, match="infeasible budgets: the lower bounds"):
        dbp_cluster_budgets(np.ones(5), np.full(5, 4), 3, cls_bal_ratio=0.0)
