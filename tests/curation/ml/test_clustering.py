"""Spherical k-means and DBP's cluster statistics, checked against brute-force references."""

import numpy as np
import pytest

from curation.ml.clustering import (
    ClusterAssignment,
    KMeansConfig,
    check_unit_rows,
    cluster_complexity,
    default_n_clusters,
    inter_centroid_distance,
    l2_normalize,
    spherical_kmeans,
)


def blobs(n_per: int, centers: np.ndarray, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(centers)), n_per)
    x = centers[truth] + noise * rng.standard_normal((truth.size, centers.shape[1]))
    return l2_normalize(x), truth


def unit(vectors: list[list[float]]) -> np.ndarray:
    return l2_normalize(np.array(vectors, dtype=np.float64))


@pytest.mark.parametrize(("n", "k"), [(1, 1), (2, 1), (200, 10), (1_000_000, 707), (10**10, 50_000)])
def test_default_n_clusters_is_sqrt_half_n_capped(n: int, k: int) -> None:
    assert default_n_clusters(n) == k


def test_kmeans_recovers_separated_blobs_and_assigns_by_brute_force() -> None:
    # given four well separated blobs
    x, truth = blobs(50, np.eye(8)[:4] * 3, noise=0.1)
    # when
    result = spherical_kmeans(x, KMeansConfig(n_clusters=4))
    # then each blob is exactly one cluster
    pairs = set(zip(truth.tolist(), result.labels.tolist(), strict=True))
    assert len(pairs) == 4 and len({c for _, c in pairs}) == 4
    assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    similarity = x.astype(np.float64) @ result.centroids.T.astype(np.float64)
    assert np.array_equal(result.labels, similarity.argmax(axis=1))
    assert np.allclose(result.dist_to_centroid, 1.0 - similarity.max(axis=1), atol=1e-5)
    assert result.sizes.tolist() == [50, 50, 50, 50]


def test_kmeans_on_a_row_subset_leaves_the_others_unassigned() -> None:
    x, _ = blobs(30, np.eye(6)[:3] * 3, noise=0.2)
    rows = np.arange(0, 90, 2)
    result = spherical_kmeans(x, KMeansConfig(n_clusters=3), rows=rows)
    outside = np.setdiff1d(np.arange(90), rows)
    assert (result.labels[outside] == -1).all() and np.isnan(result.dist_to_centroid[outside]).all()
    assert (result.labels[rows] >= 0).all() and result.sizes.sum() == rows.size


def test_kmeans_is_deterministic_for_a_seed_and_samples_256_per_centroid() -> None:
    x, _ = blobs(400, np.eye(16)[:5] * 2, noise=0.5)
    config = KMeansConfig(n_clusters=5, max_points_per_centroid=64)
    first, second = spherical_kmeans(x, config), spherical_kmeans(x, config)
    assert np.array_equal(first.centroids, second.centroids)
    assert np.array_equal(first.labels, second.labels)
    assert first.n_train == 5 * 64


def test_kmeans_clips_k_to_the_number_of_rows() -> None:
    x, _ = blobs(2, np.eye(4)[:2], noise=0.1)
    assert spherical_kmeans(x, KMeansConfig(n_clusters=10)).n_clusters == 4


def test_embeddings_must_be_unit_float32() -> None:
    with pytest.raises(ValueError, match="float32"):
        check_unit_rows(np.ones((3, 2)))
    with pytest.raises(ValueError, match="L2-normalised"):
        check_unit_rows(np.ones((3, 2), dtype=np.float32))


def test_d_inter_is_larger_for_an_isolated_cluster() -> None:
    # given three centroids close together and one far away
    centroids = unit([[1, 0.1, 0, 0], [1, -0.1, 0, 0], [1, 0, 0.1, 0], [0, 0, 0, 1]]).astype(np.float32)
    # when
    d_inter, n_used = inter_centroid_distance(centroids, n_neighbors=20)
    # then l is clipped to k - 1 and the isolated one is farthest from its neighbours
    assert n_used == 3
    assert d_inter.argmax() == 3 and d_inter[3] > d_inter[:3].max()


def test_d_inter_uses_only_the_l_nearest_other_centroids() -> None:
    centroids = unit([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]]).astype(np.float32)
    d_inter, _ = inter_centroid_distance(centroids, n_neighbors=1)
    similarity = centroids.astype(np.float64) @ centroids.T
    np.fill_diagonal(similarity, -np.inf)
    assert np.allclose(d_inter, 1.0 - similarity.max(axis=1), atol=1e-6)
    assert np.isnan(inter_centroid_distance(centroids[:1], 20)[0]).all()


def reference_complexity(a: ClusterAssignment, n_neighbors: int) -> np.ndarray:
    k = a.n_clusters
    values = []
    for j in range(k):
        members = [float(d) for d, c in zip(a.dist_to_centroid, a.labels, strict=True) if c == j]
        others = sorted(1 - float(np.dot(a.centroids[j], a.centroids[i])) for i in range(k) if i != j)
        l_used = min(n_neighbors, k - 1)
        c = np.mean(members) * np.mean(others[:l_used]) if members else np.nan  # DBP's reference: NaN only if empty
        values.append(c)
    values = np.array(values)
    values[np.isnan(values)] = np.nanmean(values)
    return values


def test_complexity_matches_a_loop_reference_with_nan_filling_for_empty_clusters() -> None:
    # given clusters of sizes 4, 3, 2, 1 and 0
    rng = np.random.default_rng(3)
    centroids = l2_normalize(rng.standard_normal((5, 6)))
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])
    dist = rng.uniform(0.05, 0.4, labels.size).astype(np.float32)
    assignment = ClusterAssignment(centroids, labels, dist, np.bincount(labels, minlength=5), n_train=10)
    # when
    stats = cluster_complexity(assignment, n_neighbors=2)
    # then
    assert np.allclose(stats.complexity, reference_complexity(assignment, 2), atol=1e-6)
    assert np.isnan(stats.d_intra[4]) and stats.n_neighbors == 2
    assert stats.complexity[4] == pytest.approx(stats.complexity[:4].mean())


def test_complexity_is_uniform_when_no_cluster_has_a_defined_value() -> None:
    # k = 1: d_inter is undefined, so no C is defined and C is 1
    assignment = ClusterAssignment(
        l2_normalize(np.ones((1, 3), np.float32)), np.zeros(4, np.int64), np.full(4, 0.1, np.float32),
        np.array([4]), n_train=4,
    )  # fmt: skip
    assert cluster_complexity(assignment).complexity.tolist() == [1.0]
