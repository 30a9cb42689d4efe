from pathlib import Path

import numpy as np
import pytest

from curation.ml.similarity import BruteForceIndex, DuplicateGroup, FaissIndex, duplicate_groups


def random_vectors(seed: int, count: int, dim: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)


def clustered_vectors(seed: int, count: int, dim: int, clusters: int = 100, spread: float = 0.5) -> np.ndarray:
    """Embedding-like data: points around cluster centres (IVF's use case), not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    return centres[rng.integers(0, clusters, count)] + spread * rng.standard_normal((count, dim)).astype(np.float32)


def sparse_ids(seed: int, count: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(10**9, size=count, replace=False).astype(np.int64)


def with_planted_duplicates(seed: int, count: int, dim: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """``count`` clustered vectors plus near copies: two pairs, a triple, and a chain a~b~c where a !~ c."""
    rng = np.random.default_rng(seed)
    base = clustered_vectors(seed, count, dim, spread=1.0)  # no natural pair reaches cosine 0.95
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    jitter = 0.02 * rng.standard_normal((4, dim)).astype(np.float32)
    step = rng.standard_normal(dim).astype(np.float32)
    step *= 0.25 / np.linalg.norm(step)
    copies = np.stack([base[0] + jitter[0], base[1] + jitter[1], base[2] + jitter[2], base[2] + jitter[3]])
    chain = np.stack([base[3] + step, base[3] + 2 * step])  # cosines ~0.97 to the neighbour, ~0.89 end to end
    vectors = np.concatenate([base, copies, chain])
    ids = np.arange(len(vectors), dtype=np.int64) * 7 + 5
    n = count
    groups = [(ids[0], ids[n]), (ids[1], ids[n + 1]), (ids[2], ids[n + 2], ids[n + 3])]
    groups.append((ids[3], ids[n + 4], ids[n + 5]))
    return vectors, ids, sorted(tuple(int(i) for i in group) for group in groups)


@pytest.mark.parametrize(("count", "dim", "k"), [(500, 16, 1), (2000, 64, 10), (50, 8, 80)])
def test_flat_faiss_search_equals_brute_force(count: int, dim: int, k: int) -> None:
    vectors, ids, queries = random_vectors(0, count, dim), sparse_ids(1, count), random_vectors(2, 40, dim)
    faiss_index, brute = FaissIndex(dim), BruteForceIndex(dim)
    faiss_index.add(vectors[: count // 2], ids[: count // 2])
    faiss_index.add(vectors[count // 2 :], ids[count // 2 :])
    brute.add(vectors, ids)

    faiss_scores, faiss_ids = faiss_index.search(queries, k)
    brute_scores, brute_ids = brute.search(queries, k)

    assert faiss_index.kind == "flat"
    np.testing.assert_array_equal(faiss_ids, brute_ids)
    np.testing.assert_allclose(faiss_scores, brute_scores, atol=1e-5)


def test_ivf_recall_at_10_against_brute_force() -> None:
    vectors, ids = clustered_vectors(0, 10_000, 32), sparse_ids(1, 10_000)
    queries = vectors[:300] + 0.3 * random_vectors(2, 300, 32)
    faiss_index, brute = FaissIndex(32, flat_max=1_000), BruteForceIndex(32)
    faiss_index.add(vectors, ids)
    brute.add(vectors, ids)

    _, faiss_ids = faiss_index.search(queries, 10)
    _, brute_ids = brute.search(queries, 10)

    recall = np.mean([len(set(found) & set(true)) / 10 for found, true in zip(faiss_ids, brute_ids, strict=True)])
    assert faiss_index.kind == "ivf"
    assert (faiss_index.nlist, faiss_index.nprobe) == (256, 32)  # min(4 sqrt(n), n / 39) lists
    assert recall >= 0.95
    faiss_index.nprobe = faiss_index.nlist  # every list: exact
    np.testing.assert_array_equal(faiss_index.search(queries, 10)[1], brute_ids)


@pytest.mark.parametrize(("count", "flat_max", "kind"), [(300, 10_000, "flat"), (3_000, 1_000, "ivf")])
def test_planted_near_duplicates_are_found_as_brute_force_finds_them(count: int, flat_max: int, kind: str) -> None:
    vectors, ids, planted = with_planted_duplicates(3, count, 32)
    faiss_index, brute = FaissIndex(32, flat_max=flat_max), BruteForceIndex(32)
    faiss_index.add(vectors, ids)
    brute.add(vectors, ids)

    found, reference = faiss_index.find_duplicates(0.95), brute.find_duplicates(0.95)

    assert faiss_index.kind == kind
    assert [group.ids for group in found] == [group.ids for group in reference] == planted
    for group, expected in zip(found, reference, strict=True):
        assert [pair[:2] for pair in group.pairs] == [pair[:2] for pair in expected.pairs]
        np.testing.assert_allclose([pair[2] for pair in group.pairs], [pair[2] for pair in expected.pairs], atol=1e-5)
    chain = found[3]
    assert len(chain.pairs) == 2  # joined through the middle vector, not directly


def test_range_search_returns_every_hit_at_or_above_the_threshold_best_first() -> None:
    vectors, ids = random_vectors(4, 400, 8), sparse_ids(5, 400)
    faiss_index, brute = FaissIndex(8), BruteForceIndex(8)
    faiss_index.add(vectors, ids)
    brute.add(vectors, ids)

    found, expected = faiss_index.range_search(vectors[:20], 0.8), brute.range_search(vectors[:20], 0.8)

    for (found_ids, found_scores), (true_ids, true_scores) in zip(found, expected, strict=True):
        assert found_ids.tolist() == true_ids.tolist()
        np.testing.assert_allclose(found_scores, true_scores, atol=1e-5)
        assert (np.diff(found_scores) <= 0).all() and (found_scores >= 0.8).all()


@pytest.mark.parametrize("flat_max", [10_000, 500])
def test_save_and_load_round_trip(tmp_path: Path, flat_max: int) -> None:
    vectors, ids, queries = clustered_vectors(6, 3_000, 16), sparse_ids(7, 3_000), random_vectors(8, 20, 16)
    index = FaissIndex(16, flat_max=flat_max)
    index.add(vectors, ids)
    before = index.search(queries, 5)

    index.save(tmp_path / "index.faiss")
    loaded = FaissIndex.load(tmp_path / "index.faiss", flat_max=flat_max)

    after = loaded.search(queries, 5)
    assert (loaded.kind, len(loaded), loaded.nprobe) == (index.kind, 3_000, index.nprobe)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_array_equal(after[0], before[0])


def test_brute_force_save_and_load_round_trip(tmp_path: Path) -> None:
    index = BruteForceIndex(4)
    index.add(random_vectors(9, 30, 4), sparse_ids(10, 30))

    index.save(tmp_path / "brute.npz")
    loaded = BruteForceIndex.load(tmp_path / "brute.npz")

    np.testing.assert_array_equal(loaded.ids, index.ids)
    np.testing.assert_array_equal(loaded.vectors, index.vectors)


def test_a_flat_index_that_outgrows_flat_max_becomes_ivf_and_keeps_every_vector() -> None:
    vectors, ids = clustered_vectors(11, 3_000, 16), sparse_ids(12, 3_000)
    index = FaissIndex(16, flat_max=1_000)
    index.add(vectors[:800], ids[:800])
    assert index.search(vectors[:1], 1)[1][0, 0] == ids[0]
    assert index.kind == "flat"

    index.add(vectors[800:], ids[800:])

    _, found = index.search(vectors[[0, 2_999]], 1)
    assert (index.kind, len(index)) == ("ivf", 3_000)
    assert found[:, 0].tolist() == [ids[0], ids[2_999]]


def test_search_pads_with_minus_one_when_fewer_than_k_vectors_exist() -> None:
    index = FaissIndex(4)
    index.add(random_vectors(13, 2, 4), np.array([3, 9]))

    scores, ids = index.search(random_vectors(14, 1, 4), 4)

    assert sorted(ids[0, :2].tolist()) == [3, 9] and ids[0, 2:].tolist() == [-1, -1]
    assert np.isneginf(scores[0, 2:]).all()


def test_duplicate_groups_are_connected_components_of_the_pairs() -> None:
    groups = duplicate_groups(np.array([9, 2, 5, 4, 9]), np.array([2, 5, 2, 7, 2]), np.array([0.9, 0.8, 0.8, 0.7, 0.9]))

    assert groups == [
        DuplicateGroup(ids=(2, 5, 9), pairs=((2, 5, 0.8), (2, 9, 0.9))),
        DuplicateGroup(ids=(4, 7), pairs=((4, 7, pytest.approx(0.7)),)),
    ]


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="expected embeddings"):
        FaissIndex(4).add(random_vectors(0, 3, 5), np.arange(3))
    with pytest.raises(ValueError, match="expected embeddings"):
        BruteForceIndex(4).add(random_vectors(0, 3, 4), np.arange(2))
