"""Ordering members inside clusters and keeping the first few of each: shared by SemDeDup, DBP and SSP."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

WhichToKeep = Literal["hard", "easy", "random"]
WHICH_TO_KEEP: tuple[str, ...] = ("hard", "easy", "random")


def keep_order_key(dist_to_centroid: np.ndarray, which_to_keep: str, seed: int) -> np.ndarray:
    """A sort key whose ascending order puts the members to keep first.

    hard: farthest from the centroid first, ties in sample order (the earlier sample first);
    easy: exactly the reverse of the hard order, so nearest first and ties with the LATER sample
    first; random: the ranks of `np.random.default_rng(seed).permutation(m)`. This is the order
    of the SemDeDup reference (a stable descending sort for hard, reversed for easy) and of the
    DBP reference (easy keeps the tail of the hard order): with exact copies, hard keeps the
    earliest and easy the latest.
    """
    if which_to_keep == "hard":
        return -dist_to_centroid.astype(np.float64)
    if which_to_keep == "easy":
        m = dist_to_centroid.size
        reverse_hard = np.lexsort((-np.arange(m), dist_to_centroid.astype(np.float64)))
        key = np.empty(m, dtype=np.float64)
        key[reverse_hard] = np.arange(m)
        return key
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


def floor_target_count(keep_fraction: float, n: int) -> int:
    """N = floor(keep_fraction * n), DBP's reference `int(prune_ratio * size)`, for keep_fraction in [0, 1].

    A product within 1e-9 (relative) of an integer counts as that integer: the reference's
    int(0.29 * 100) is 28 because 0.29 * 100 = 28.999999999999996 in floating point.
    """
    target_count(keep_fraction, n)
    product = keep_fraction * n
    nearest = round(product)
    return int(nearest) if abs(product - nearest) <= 1e-9 * max(1.0, product) else math.floor(product)


def target_count(keep_fraction: float, n: int) -> int:
    """N = round(keep_fraction * n); keep_fraction must lie in [0, 1]."""
    if not 0.0 <= keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction is the fraction KEPT and must lie in [0, 1], got {keep_fraction}")
    return round(keep_fraction * n)
