import numpy as np
import pytest
from sklearn.decomposition import PCA

from curation.ml.projection import pca_2d, project_2d, sample_rows


def embeddings(seed: int, count: int, dim: int = 16) -> np.ndarray:
    """Float16 rows with a clear leading 2-D structure (two strong directions plus noise)."""
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((count, 2)) * [5.0, 3.0]
    return (signal @ rng.standard_normal((2, dim)) + 0.1 * rng.standard_normal((count, dim))).astype(np.float16)


@pytest.mark.parametrize(("method", "count", "max_points"), [("pca", 3_000, 1_000), ("tsne", 300, 80)])
def test_projection_is_deterministic_for_a_seed_and_covers_only_the_downsample(
    method: str, count: int, max_points: int
) -> None:
    data = embeddings(0, count)

    options = {"method": method, "max_points": max_points, "tsne_iterations": 250}

    first = project_2d(data, seed=7, **options)
    second = project_2d(data, seed=7, **options)

    assert first.coords.shape == (max_points, 2)
    assert first.coords.dtype == np.float32
    np.testing.assert_array_equal(first.coords, second.coords)
    np.testing.assert_array_equal(first.rows, second.rows)
    assert first.rows.tolist() == sorted(set(first.rows.tolist()))
    np.testing.assert_array_equal(first.rows, sample_rows(count, max_points, seed=7))
    assert not np.array_equal(first.rows, sample_rows(count, max_points, seed=8))


def test_small_inputs_are_not_downsampled() -> None:
    projection = project_2d(embeddings(1, 50), max_points=100)

    assert projection.rows.tolist() == list(range(50))


def test_pca_matches_sklearn_up_to_sign_on_the_exact_and_randomized_paths() -> None:
    for count in (1_000, 8_000):  # exact SVD up to 5 000 rows, randomized beyond
        data = embeddings(2, count).astype(np.float32)

        coords = pca_2d(data, seed=0)

        expected = PCA(n_components=2, svd_solver="full").fit_transform(data)
        np.testing.assert_allclose(np.abs(coords), np.abs(expected), atol=1e-2)


def test_stratified_sampling_keeps_one_row_per_stratum_then_shares_the_rest_in_proportion() -> None:
    strata = np.array([0] * 600 + [1] * 300 + [2] * 99 + [3])

    rows = sample_rows(len(strata), 100, seed=3, strata=strata)

    labels, counts = np.unique(strata[rows], return_counts=True)
    # 1 each, then 96 by largest remainder: 57.6, 28.8, 9.5, 0.1 -> 57 + 1, 28 + 1 + 1, 9 + 1, 0 + 1 (+1 for 0.6)
    assert dict(zip(labels.tolist(), counts.tolist(), strict=True)) == {0: 59, 1: 30, 2: 10, 3: 1}
    assert len(set(rows.tolist())) == 100


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        project_2d(embeddings(0, 10), method="umap")  # type: ignore[arg-type]
