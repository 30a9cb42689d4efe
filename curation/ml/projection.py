"""2-D coordinates for the embedding map, computed on a server-side downsample.

The map never ships more than ``max_points`` points: rows are drawn with a seeded generator, in
proportion to each stratum when strata (e.g. labels or clusters) are given, so small classes stay
visible. PCA uses a randomized SVD (Halko et al.) in float32 on large samples and an exact SVD on
small ones, with signs fixed so the picture does not flip between runs; t-SNE (sklearn, Barnes-Hut)
runs only on the downsample, after PCA to 50 dimensions. Same input and seed -> same output.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

DEFAULT_MAX_POINTS = {"pca": 50_000, "tsne": 5_000}
EXACT_SVD_MAX_ROWS = 5_000
TSNE_PCA_DIMS = 50


class Projection(NamedTuple):
    coords: np.ndarray  # float32 (m, 2)
    rows: np.ndarray  # int64 (m,), sorted: which input rows the coordinates belong to


def sample_rows(n: int, max_points: int, *, seed: int = 0, strata: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows; with ``strata``, each stratum keeps its share
    (largest remainders get the leftover slots, and every stratum keeps at least one row when room allows)."""
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if strata is None:
        return np.sort(rng.choice(n, size=max_points, replace=False)).astype(np.int64)
    _, inverse, counts = np.unique(np.asarray(strata), return_inverse=True, return_counts=True)
    quotas = _stratum_quotas(counts, max_points)
    chosen = [
        rng.choice(np.flatnonzero(inverse == stratum), size=quota, replace=False)
        for stratum, quota in enumerate(quotas)
        if quota
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _stratum_quotas(counts: np.ndarray, budget: int) -> np.ndarray:
    floor_one = np.minimum(counts, 1) if budget >= len(counts) else np.zeros_like(counts)
    exact = counts * (budget - floor_one.sum()) / counts.sum()
    quotas = np.minimum(floor_one + np.floor(exact).astype(np.int64), counts)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    for stratum in order:  # hand out what rounding left, largest remainder first
        if quotas.sum() >= budget:
            break
        if quotas[stratum] < counts[stratum]:
            quotas[stratum] += 1
    return quotas


def pca_2d(vectors: np.ndarray, *, seed: int = 0, components: int = 2) -> np.ndarray:
    """Top principal components of ``vectors`` (float32), sign-fixed."""
    from sklearn.utils.extmath import randomized_svd, svd_flip  # noqa: PLC0415 - sklearn: loaded on first use, not at start-up

    centred = np.asarray(vectors, dtype=np.float32)
    centred = centred - centred.mean(axis=0, dtype=np.float64).astype(np.float32)
    if len(centred) <= EXACT_SVD_MAX_ROWS:
        u, s, vt = np.linalg.svd(centred, full_matrices=False)
        u, s = u[:, :components], s[:components]
        vt = vt[:components]
    else:
        u, s, vt = randomized_svd(centred, components, random_state=seed)
    u, vt = svd_flip(u, vt)
    return (u * s).astype(np.float32)


def project_2d(
    embeddings: np.ndarray,
    *,
    method: Literal["pca", "tsne"] = "pca",
    max_points: int | None = None,
    seed: int = 0,
    strata: np.ndarray | None = None,
    perplexity: float = 30.0,
    tsne_iterations: int = 1000,
) -> Projection:
    """Coordinates for at most ``max_points`` rows of ``embeddings`` (n, dim).

    method: "pca" (default) or "tsne". max_points: default 50 000 for PCA, 5 000 for t-SNE. seed: drives
    the downsample, the randomized SVD and t-SNE. strata: one label per row to sample in proportion to.
    perplexity: t-SNE's, capped below a third of the sample size. tsne_iterations: t-SNE's max_iter (>= 250).
    """
    if method not in DEFAULT_MAX_POINTS:
        raise ValueError(f"method must be one of {sorted(DEFAULT_MAX_POINTS)}, got {method!r}")
    rows = sample_rows(len(embeddings), max_points or DEFAULT_MAX_POINTS[method], seed=seed, strata=strata)
    sample = np.asarray(embeddings[rows], dtype=np.float32)
    if method == "pca" or len(sample) < 4:
        coords = pca_2d(sample, seed=seed) if len(sample) > 1 else np.zeros((len(sample), 2), np.float32)
        return Projection(coords=_pad_columns(coords), rows=rows)
    from sklearn.manifold import TSNE  # noqa: PLC0415 - sklearn: loaded on first use, not at start-up

    reduced = pca_2d(sample, seed=seed, components=min(TSNE_PCA_DIMS, *sample.shape))
    tsne = TSNE(
        n_components=2,
        perplexity=min(perplexity, (len(sample) - 1) / 3),
        init="pca",
        max_iter=tsne_iterations,
        random_state=seed,
        n_jobs=1,
    )
    return Projection(coords=tsne.fit_transform(reduced).astype(np.float32), rows=rows)


def _pad_columns(coords: np.ndarray) -> np.ndarray:
    """Two columns even when the data has rank < 2."""
    if coords.shape[1] >= 2:
        return coords
    return np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]), np.float32)])
