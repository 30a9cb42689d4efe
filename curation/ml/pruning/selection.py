"""Ordering members inside clusters and keeping the first few of each: shared by SemDeDup, DBP and SSP."""

from __future__ import annotations

from typing import Literal

import numpy as np

WhichToKeep = Literal["hard", "easy", "random"]
WHICH_TO_KEEP: tuple[str, ...] = ("hard", "easy", "random")


def keep_order_key(dist_to_centroid: np.ndarray, which_to_keep: str, seed: int) -> np.ndarray:
    """A sort key whose ascending order puts the members to keep first.

    hard: farthest from the centroid first; easy: nearest first; random: the ranks of
    `np.random.default_rng(seed).permutation(m)`. Ties fall back to sample order (stable sorts).
    """
    if which_to_keep == "hard":
        return -dist_to_centroid.astype(np.float64)
    if which_to_keep == "easy":
        return dist_to_centroid.astype(np.float64)
    if which_to_keep == "random":
        return np.random.default_rng(seed).permutation(dist_to_centroid.size).astype(np.float64)
    raise ValueError(f"which_to_keep must be one of {WHICH_TO_KEEP}, got {which_to_keep!r}")


def order_within_clusters(cluster: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by (cluster, key, position) and the start of each cluster's run in that order."""
    order = np.lexsort((key, cluster))
    starts = np.searchsorted(cluster[order], np.arange(int(cluster.max(initial=-1)) + 2))
    return order, starts


def keep_first_per_cluster(cluster: np.ndarray, key: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """Boolean mask keeping, in each cluster j, the `budgets[j]` members with the smallest key."""
    keep = np.zeros(cluster.size, dtype=bool)
    if cluster.size == 0:
        return keep
    order, starts = order_within_clusters(cluster, key)
    sorted_cluster = cluster[order]
    rank = np.arange(cluster.size) - starts[sorted_cluster]
    keep[order] = rank < budgets[sorted_cluster]
    return keep


def target_count(keep_fraction: float, n: int) -> int:
    """N = round(keep_fraction * n); keep_fraction must lie in [0, 1]."""
    if not 0.0 <= keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction is the fraction KEPT and must lie in [0, 1], got {keep_fraction}")
    return round(keep_fraction * n)
