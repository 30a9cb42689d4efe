"""SemDeDup against a loop-based reference (pure Python over pairs), on small clustered data."""

import itertools

import numpy as np
import pytest

from curation.ml.clustering import ClusterAssignment, KMeansConfig, l2_normalize
from curation.ml.pruning import (
    PruneReason,
    SemDeDupConfig,
    max_earlier_similarity,
    semdedup,
    semdedup_rethreshold,
    semdedup_sweep,
)

EPS_VALUES = (0.005, 0.02, 0.05, 0.1, 0.3)


def clustered_data(seed: int = 0) -> tuple[np.ndarray, ClusterAssignment]:
    """5 clusters (one singleton) of 16-d unit rows with planted near-duplicates, and their assignment."""
    rng = np.random.default_rng(seed)
    centroids = l2_normalize(rng.standard_normal((5, 16)))
    labels = np.r_[np.repeat(np.arange(4), [60, 45, 30, 24]), 4]
    x = centroids[labels] + 0.35 * rng.standard_normal((labels.size, 16))
    planted = rng.choice(labels.size - 1, size=40, replace=False)
    x[planted[20:]] = x[planted[:20]] + rng.uniform(0.005, 0.2, (20, 1)) * rng.standard_normal((20, 16))
    labels[planted[20:]] = labels[planted[:20]]
    x = l2_normalize(x)
    dist = (1.0 - np.einsum("ij,ij->i", x, centroids[labels])).astype(np.float32)
    return x, ClusterAssignment(centroids, labels, dist, np.bincount(labels), n_train=labels.size)


def reference_semdedup(
    x: np.ndarray, labels: np.ndarray, dist: np.ndarray, eps: float, which: str, seed: int
) -> tuple[set[int], dict[int, float]]:
    """Removed samples and M per sample, by loops over pairs in float64."""
    permutation = np.random.default_rng(seed).permutation(labels.size)
    keys = {"hard": lambda i: (-float(dist[i]), i), "easy": lambda i: (float(dist[i]), i)}
    key = keys.get(which, lambda i: (int(permutation[i]), i))
    removed, best = set(), {}
    for c in sorted(set(labels.tolist())):
        order = sorted((i for i in range(labels.size) if labels[i] == c), key=key)
        for position, j in enumerate(order):
            similarities = [sum(float(a) * float(b) for a, b in zip(x[i], x[j], strict=True)) for i in order[:position]]
            best[j] = max(similarities, default=-np.inf)
            if best[j] > 1 - eps:
                removed.add(j)
    return removed, best


def removed_set(result) -> set[int]:
    return set(np.flatnonzero(~result.keep & (result.reason != PruneReason.NOT_CANDIDATE)).tolist())


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, ClusterAssignment]:
    return clustered_data()


@pytest.fixture(scope="module")
def references(data) -> dict[tuple[str, float], tuple[set[int], dict[int, float]]]:
    x, a = data
    modes = ("hard", "easy", "random")
    return {(w, e): reference_semdedup(x, a.labels, a.dist_to_centroid, e, w, 7) for w in modes for e in EPS_VALUES}


def test_planted_similarities_are_not_at_a_threshold(references) -> None:
    # guard: float32 GEMM vs float64 loops may only disagree within 1e-5 of 1 - eps
    best = np.array([v for v in references[("hard", 0.005)][1].values() if np.isfinite(v)])
    for eps in EPS_VALUES:
        assert np.abs(best - (1 - eps)).min() > 1e-5


@pytest.mark.parametrize("which", ["hard", "easy", "random"])
@pytest.mark.parametrize("eps", EPS_VALUES)
@pytest.mark.parametrize("block_rows", [512, 1, 3])
def test_decisions_equal_the_loop_reference(data, references, which: str, eps: float, block_rows: int) -> None:
    # given
    x, assignment = data
    expected_removed, expected_best = references[(which, eps)]
    # when
    config = SemDeDupConfig(eps=eps, which_to_keep=which, seed=7, block_rows=block_rows)
    result = semdedup(x, config, clusters=assignment)
    # then
    assert removed_set(result) == expected_removed
    assert (result.reason[list(expected_removed)] == PruneReason.SEMANTIC_DUPLICATE).all()
    assert np.allclose(result.score, [expected_best[i] for i in range(x.shape[0])], atol=1e-5)


def test_duplicate_of_names_an_earlier_member_of_the_cluster_with_similarity_m(data) -> None:
    x, assignment = data
    result = semdedup(x, SemDeDupConfig(eps=0.1), clusters=assignment)
    for j in np.flatnonzero(~result.keep):
        i = result.duplicate_of[j]
        assert assignment.labels[i] == assignment.labels[j]
        assert assignment.dist_to_centroid[i] >= assignment.dist_to_centroid[j]  # earlier in the hard order
        assert float(x[i] @ x[j]) == pytest.approx(float(result.score[j]), abs=1e-5)


def test_a_memory_budget_forces_row_blocks_with_the_same_decisions(data) -> None:
    x, assignment = data
    whole = semdedup(x, SemDeDupConfig(eps=0.05), clusters=assignment)
    blocked = semdedup(x, SemDeDupConfig(eps=0.05, max_block_bytes=4 * 60 * 2), clusters=assignment)  # 2 rows
    assert np.array_equal(whole.keep, blocked.keep)
    assert np.array_equal(whole.duplicate_of, blocked.duplicate_of)


def chain() -> tuple[np.ndarray, ClusterAssignment]:
    # a~b (cos 0.1 rad = 0.995), b~c, a and c 0.2 rad apart (0.980); a is farthest from the centroid
    angles = np.array([0.0, 0.1, 0.2])
    x = np.stack([np.cos(angles), np.sin(angles), np.zeros(3)], axis=1).astype(np.float32)
    dist = np.array([0.3, 0.2, 0.1], dtype=np.float32)
    return x, ClusterAssignment(np.eye(3, dtype=np.float32)[:1], np.zeros(3, np.int64), dist, np.array([3]), 3)


@pytest.mark.parametrize("block_rows", [512, 1])
def test_chain_removes_b_and_c_although_a_and_c_are_not_similar(block_rows: int) -> None:
    x, assignment = chain()
    result = semdedup(x, SemDeDupConfig(eps=0.01, block_rows=block_rows), clusters=assignment)
    assert result.keep.tolist() == [True, False, False]
    assert result.duplicate_of.tolist() == [-1, 0, 1]
    assert reference_semdedup(x, assignment.labels, assignment.dist_to_centroid, 0.01, "hard", 0)[0] == {1, 2}


def test_singletons_and_first_members_are_never_removed(data) -> None:
    x, assignment = data
    result = semdedup(x, SemDeDupConfig(eps=0.99), clusters=assignment)
    assert result.keep[-1] and result.score[-1] == -np.inf  # the singleton cluster
    for c in range(assignment.n_clusters):
        members = np.flatnonzero(assignment.labels == c)
        first = members[assignment.dist_to_centroid[members].argmax()]  # first in the "hard" order
        assert result.keep[first] and result.score[first] == -np.inf
    assert result.n_kept < x.shape[0] // 2


def test_larger_eps_removes_more(data) -> None:
    x, assignment = data
    removed = [removed_set(semdedup(x, SemDeDupConfig(eps=e), clusters=assignment)) for e in EPS_VALUES]
    assert all(a <= b for a, b in itertools.pairwise(removed))
    assert len(removed[0]) < len(removed[-1])


def test_sweep_and_rethreshold_match_fresh_runs(data) -> None:
    x, assignment = data
    first = semdedup(x, SemDeDupConfig(eps=0.05), clusters=assignment)
    points = semdedup_sweep(first, EPS_VALUES)
    for point in points:
        fresh = semdedup(x, SemDeDupConfig(eps=point.eps), clusters=assignment)
        assert point.n_kept == fresh.n_kept and point.kept_fraction == fresh.n_kept / x.shape[0]
        assert np.array_equal(semdedup_rethreshold(first, point.eps).keep, fresh.keep)


def test_rows_outside_the_candidates_are_marked_and_not_kept() -> None:
    x, _ = clustered_data(seed=1)
    rows = np.arange(0, x.shape[0], 3)
    result = semdedup(x, SemDeDupConfig(eps=0.1, kmeans=KMeansConfig(n_clusters=4)), rows=rows)
    outside = np.setdiff1d(np.arange(x.shape[0]), rows)
    assert (result.reason[outside] == PruneReason.NOT_CANDIDATE).all() and not result.keep[outside].any()
    assert result.n_candidates == rows.size and np.isin(result.duplicate_of[result.duplicate_of >= 0], rows).all()


def test_exact_copies_keep_the_lower_index_with_kmeans_and_a_fixed_seed() -> None:
    x, _ = clustered_data(seed=2)
    x[10] = x[50]
    config = SemDeDupConfig(eps=0.001, kmeans=KMeansConfig(n_clusters=4))
    first, second = semdedup(x, config), semdedup(x, config)
    assert not first.keep[50] and first.duplicate_of[50] == 10
    assert np.array_equal(first.keep, second.keep) and np.array_equal(first.cluster, second.cluster)


def test_max_earlier_similarity_on_a_tiny_case() -> None:
    x = np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    best, of = max_earlier_similarity(x, block_rows=1)
    assert best.tolist() == pytest.approx([-np.inf, 0.0, 0.8])
    assert of.tolist() == [-1, 0, 1]


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="eps"):
        SemDeDupConfig(eps=0.0)
    with pytest.raises(ValueError, match="which_to_keep"):
        SemDeDupConfig(which_to_keep="median")  # type: ignore[arg-type]
