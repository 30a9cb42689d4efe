"""Density-Based Pruning: budgets against a scipy QP and exhaustive integer search, and the paper's sanity checks."""

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from curation.ml.clustering import KMeansConfig, l2_normalize
from curation.ml.pruning import (
    DBPConfig,
    PruneReason,
    dbp_cluster_budgets,
    density_based_pruning,
    round_budgets,
    solve_budget_qp,
)


def two_blobs(n_per: int, tight: float, spread: float, d: int = 16, seed: int = 0) -> np.ndarray:
    """Blobs around e0 and e1 with noise only in the other dimensions, so no point is nearer the other centre."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((2 * n_per, d))
    noise[:, :2] = 0
    x = np.eye(d)[np.repeat([0, 1], n_per)] + np.repeat([tight, spread], n_per)[:, None] * noise
    return l2_normalize(x)


def objective(x: np.ndarray, target: np.ndarray) -> float:
    return float(0.5 * x @ x - target @ x)


@pytest.mark.parametrize("seed", range(6))
def test_bisection_matches_scipy_qp(seed: int) -> None:
    # given a random instance with a feasible total
    rng = np.random.default_rng(seed)
    k = 6
    upper = rng.integers(1, 40, k).astype(float)
    lower = np.floor(upper * rng.uniform(0, 0.5, k))
    total = float(rng.integers(lower.sum(), upper.sum() + 1))
    target = total * rng.dirichlet(np.ones(k))
    # when
    ours = solve_budget_qp(target, lower, upper, total)
    scipy_x = minimize(
        lambda x: objective(x, target),
        x0=np.clip(np.full(k, total / k), lower, upper),
        jac=lambda x: x - target,
        bounds=list(zip(lower, upper, strict=True)),
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - total, "jac": lambda x: np.ones(k)}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    ).x
    # then
    assert ours.sum() == pytest.approx(total, abs=1e-9)
    assert np.allclose(ours, scipy_x, atol=1e-4)
    assert objective(ours, target) <= objective(scipy_x, target) + 1e-9


@pytest.mark.parametrize("seed", range(10))
def test_rounded_budgets_are_an_integer_optimum_by_exhaustive_search(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    k = 4
    upper = rng.integers(1, 6, k)
    lower = rng.integers(0, upper + 1)
    total = int(rng.integers(lower.sum(), upper.sum() + 1))
    target = rng.uniform(0, 2 * total / k + 1, k)
    budgets = round_budgets(solve_budget_qp(target, lower, upper, total), lower, upper, total)
    feasible = [
        np.array(x)
        for x in itertools.product(*(range(lo, hi + 1) for lo, hi in zip(lower, upper, strict=True)))
        if sum(x) == total
    ]
    best = min(objective(x, target) for x in feasible)
    assert budgets.sum() == total and (lower <= budgets).all() and (budgets <= upper).all()
    assert objective(budgets.astype(float), target) == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_cluster_budgets_sum_to_n_and_respect_bounds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 300, 40)
    n_keep = round(0.3 * sizes.sum())
    budgets = dbp_cluster_budgets(rng.uniform(0.01, 0.1, 40), sizes, n_keep, tau=0.02, cls_bal_ratio=0.5)
    assert budgets.budgets.sum() == n_keep
    assert np.array_equal(budgets.lower, np.clip(np.minimum(int(n_keep / 40 * 0.5), sizes - 1), 0, None))
    assert (budgets.lower <= budgets.budgets).all() and (budgets.budgets <= sizes).all()
    assert budgets.probability.sum() == pytest.approx(1.0)


def test_infeasible_lower_bounds_are_an_error() -> None:
    with pytest.raises(ValueError, match="infeasible"):
        dbp_cluster_budgets(np.ones(4), np.full(4, 100), 100, cls_bal_ratio=2.0)
    with pytest.raises(ValueError, match="cannot keep"):
        dbp_cluster_budgets(np.ones(2), np.array([3, 3]), 7)
    with pytest.raises(ValueError, match="fraction KEPT"):
        DBPConfig(keep_fraction=1.5)


def test_spread_cluster_gets_the_larger_budget() -> None:
    # given two equal-size clusters, one tight and one spread
    x = two_blobs(200, tight=0.05, spread=0.4)
    # when
    result = density_based_pruning(x, DBPConfig(keep_fraction=0.5, kmeans=KMeansConfig(n_clusters=2)))
    # then
    budgets = result.cluster_budgets
    spread_cluster = result.cluster[300]
    assert budgets.sizes.tolist() == [200, 200]
    assert budgets.d_intra[spread_cluster] > budgets.d_intra[1 - spread_cluster]
    assert budgets.budgets[spread_cluster] > budgets.budgets[1 - spread_cluster]
    assert budgets.budgets[spread_cluster] == 150 and budgets.budgets[1 - spread_cluster] == 50  # lb = 200 / 2 * 0.5
    assert result.n_kept == 200


@pytest.mark.parametrize("which", ["hard", "easy"])
def test_each_cluster_keeps_its_farthest_or_nearest_members(which: str) -> None:
    x = two_blobs(150, tight=0.2, spread=0.3, seed=1)
    config = DBPConfig(keep_fraction=0.4, which_to_keep=which, kmeans=KMeansConfig(n_clusters=3))
    result = density_based_pruning(x, config)
    for c in range(3):
        members = result.cluster == c
        kept, dropped = result.score[members & result.keep], result.score[members & ~result.keep]
        if kept.size and dropped.size:
            assert kept.min() >= dropped.max() if which == "hard" else kept.max() <= dropped.min()
        assert kept.size == result.cluster_budgets.budgets[c]
    assert (result.reason[~result.keep] == PruneReason.OVER_CLUSTER_BUDGET).all()


def test_random_mode_is_deterministic_for_a_seed() -> None:
    x = two_blobs(100, tight=0.2, spread=0.3, seed=2)
    config = DBPConfig(keep_fraction=0.5, which_to_keep="random", seed=5, kmeans=KMeansConfig(n_clusters=3))
    first, second = density_based_pruning(x, config), density_based_pruning(x, config)
    other = density_based_pruning(x, DBPConfig(keep_fraction=0.5, which_to_keep="random", seed=6, kmeans=config.kmeans))
    assert np.array_equal(first.keep, second.keep) and not np.array_equal(first.keep, other.keep)
    assert np.array_equal(first.cluster_budgets.budgets, other.cluster_budgets.budgets)


def test_single_cluster_keeps_n_and_zero_keeps_nothing() -> None:
    x = two_blobs(20, tight=0.2, spread=0.2, seed=3)
    one = density_based_pruning(x, DBPConfig(keep_fraction=0.25, kmeans=KMeansConfig(n_clusters=1)))
    assert one.cluster_budgets.budgets.tolist() == [10] and one.params["n_inter_neighbors_used"] == 0
    assert density_based_pruning(x, DBPConfig(keep_fraction=0.0, kmeans=KMeansConfig(n_clusters=2))).n_kept == 0


def test_budget_applies_within_each_class_and_rows_limit_the_candidates() -> None:
    x = two_blobs(60, tight=0.3, spread=0.3, seed=4)
    classes = np.arange(120) % 3
    rows = np.arange(100)
    result = density_based_pruning(x, DBPConfig(keep_fraction=0.3), rows=rows, class_labels=classes)
    for c in range(3):
        in_class = np.isin(np.arange(120), rows) & (classes == c)
        assert result.keep[in_class].sum() == int(0.3 * in_class.sum())  # N is floored, as DBP's reference
    assert (result.reason[100:] == PruneReason.NOT_CANDIDATE).all()
    assert result.cluster_budgets.budgets.sum() == result.n_kept
    assert len(np.unique(result.cluster[rows])) == result.cluster_budgets.sizes.size  # ids unique across classes
