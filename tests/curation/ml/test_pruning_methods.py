"""Exact dedup, prototypicality (SSP), the random control and the semdedup+dbp pipeline."""

import numpy as np
import pytest

from curation.ml.clustering import KMeansConfig, l2_normalize
from curation.ml.pruning import (
    DBPConfig,
    PrototypicalityConfig,
    PruneReason,
    RandomPruningConfig,
    SemDeDupConfig,
    exact_dedup,
    exact_duplicate_of,
    prototypicality_pruning,
    random_pruning,
    semdedup_then_dbp,
)
from curation.ml.pruning import exact as exact_module


def clustered(n: int, k: int, d: int = 12, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    centers = l2_normalize(rng.standard_normal((k, d)))
    return l2_normalize(centers[truth] + noise * rng.standard_normal((n, d))), truth


def with_copies(seed: int = 0) -> np.ndarray:
    x, _ = clustered(300, 4, seed=seed)
    x[[40, 90, 250]] = x[7]  # a quadruple
    x[120] = x[119]
    return x


def reference_duplicate_of(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    first: dict[bytes, int] = {}
    out = np.full(x.shape[0], -1)
    for i in rows:
        j = first.setdefault(x[i].tobytes(), int(i))
        out[i] = -1 if j == i else j
    return out


def test_exact_duplicates_match_a_byte_dictionary() -> None:
    x = with_copies()
    rows = np.arange(300)
    assert np.array_equal(exact_duplicate_of(x), reference_duplicate_of(x, rows))
    assert exact_duplicate_of(x)[[40, 90, 250, 120]].tolist() == [7, 7, 7, 119]
    subset = np.setdiff1d(rows, [7])
    assert np.array_equal(exact_duplicate_of(x, rows=subset), reference_duplicate_of(x, subset))


def test_exact_duplicates_survive_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    x = with_copies(seed=1)
    monkeypatch.setattr(exact_module, "_row_hashes", lambda e, rows, b: np.zeros(rows.size, dtype=np.uint64))
    assert np.array_equal(exact_duplicate_of(x), reference_duplicate_of(x, np.arange(300)))


def test_exact_dedup_result() -> None:
    result = exact_dedup(with_copies())
    assert result.n_kept == 296 and result.reason[90] == PruneReason.EXACT_DUPLICATE
    assert result.duplicate_of[90] == 7 and result.score[90] == 1.0


@pytest.mark.parametrize("which", ["hard", "easy"])
def test_prototypicality_keeps_the_hardest_or_easiest_overall(which: str) -> None:
    x, _ = clustered(400, 5)
    config = PrototypicalityConfig(keep_fraction=0.3, which_to_keep=which, kmeans=KMeansConfig(n_clusters=5))
    result = prototypicality_pruning(x, config)
    kept, dropped = result.score[result.keep], result.score[~result.keep]
    assert result.n_kept == 120
    assert kept.min() >= dropped.max() if which == "hard" else kept.max() <= dropped.min()
    assert (result.reason[~result.keep] == PruneReason.PROTOTYPICALITY).all()


def test_prototypicality_minimum_share_per_cluster() -> None:
    # given one tight cluster whose members are all easy, so plain "hard" would drop all of it
    x, truth = clustered(400, 4, noise=0.4)
    x[truth == 0] = l2_normalize(x[truth == 0] * 0.02 + l2_normalize(np.ones((1, 12))))
    config = PrototypicalityConfig(keep_fraction=0.25, min_cluster_share=0.8, kmeans=KMeansConfig(n_clusters=4))
    # when
    result = prototypicality_pruning(x, config)
    # then each cluster keeps at least lb = int(100 / 4 * 0.8) = 20 (or all of it)
    budgets = result.cluster_budgets
    assert budgets.lower.tolist() == np.minimum(20, budgets.sizes).tolist()
    assert (budgets.budgets >= budgets.lower).all() and budgets.budgets.sum() == result.n_kept == 100
    plain = prototypicality_pruning(x, PrototypicalityConfig(keep_fraction=0.25, kmeans=config.kmeans))
    assert plain.cluster_budgets.budgets.min() < 20


def test_random_control_keeps_exactly_n_per_class_and_is_seeded() -> None:
    classes = np.arange(1000) % 7
    first = random_pruning(1000, RandomPruningConfig(keep_fraction=0.35, seed=3), class_labels=classes)
    again = random_pruning(1000, RandomPruningConfig(keep_fraction=0.35, seed=3), class_labels=classes)
    other = random_pruning(1000, RandomPruningConfig(keep_fraction=0.35, seed=4), class_labels=classes)
    for c in range(7):
        assert first.keep[classes == c].sum() == round(0.35 * (classes == c).sum())
    assert np.array_equal(first.keep, again.keep) and not np.array_equal(first.keep, other.keep)
    subset = random_pruning(10, RandomPruningConfig(keep_fraction=0.5), rows=np.arange(4))
    assert subset.keep[:4].sum() == 2 and not subset.keep[4:].any() and subset.n_candidates == 4


def test_pipeline_runs_exact_then_semdedup_then_dbp_on_survivors() -> None:
    # given clustered data with exact copies and near copies
    x, _ = clustered(600, 6, seed=5)
    x[[10, 20]] = x[5]
    rng = np.random.default_rng(0)
    x[300:340] = l2_normalize(x[200:240] + 0.01 * rng.standard_normal((40, 12)))
    kmeans = KMeansConfig(n_clusters=6)
    # when
    result = semdedup_then_dbp(x, SemDeDupConfig(eps=0.01, kmeans=kmeans), DBPConfig(keep_fraction=0.5, kmeans=kmeans))
    # then
    exact, semantic, dbp = result.stages
    assert [s.method for s in result.stages] == ["exact", "semdedup", "dbp"]
    assert result.reason[[10, 20]].tolist() == [PruneReason.EXACT_DUPLICATE] * 2
    assert semantic.n_candidates == exact.n_kept and dbp.n_candidates == semantic.n_kept
    assert result.n_kept == round(0.5 * semantic.n_kept) and np.array_equal(result.keep, dbp.keep)
    assert (result.reason == PruneReason.SEMANTIC_DUPLICATE).sum() == semantic.n_candidates - semantic.n_kept >= 30
    assert (result.reason[result.keep] == PruneReason.KEPT).all()
    assert result.cluster_budgets.budgets.sum() == result.n_kept
    assert set(result.params) == {"exact", "semdedup", "dbp"}
