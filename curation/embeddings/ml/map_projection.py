"""2-D coordinates for the embedding map: every row for PCA, a stratified sample for t-SNE.

PCA is fitted on a stratified sample of at most ``fit_points`` rows (curation.ml.projection.sample_rows)
and then applied to every row in batches, so a zoomed-in map can show all of them. t-SNE cannot place
rows it was not fitted on: it runs on the stratified sample only (curation.ml.projection.project_2d).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from curation.ml.projection import DEFAULT_MAX_POINTS, EXACT_SVD_MAX_ROWS, project_2d, sample_rows

PROJECT_BATCH = 65_536


class MapCoordinates(NamedTuple):
    rows: np.ndarray  # int64, sorted: the rows placed
    xy: np.ndarray  # float32 (len(rows), 2)


def pca_every_row(
    embeddings: np.ndarray,
    *,
    fit_points: int = DEFAULT_MAX_POINTS["pca"],
    seed: int = 0,
    strata: np.ndarray | None = None,
) -> MapCoordinates:
    """Top two principal components (fitted on a stratified sample, signs fixed) of every row."""
    from sklearn.utils.extmath import randomized_svd, svd_flip  # noqa: PLC0415 - sklearn: loaded on first use, not at start-up

    fit = sample_rows(len(embeddings), fit_points, seed=seed, strata=strata)
    sample = np.asarray(embeddings[fit], dtype=np.float32)
    mean = sample.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = sample - mean
    if len(centred) <= EXACT_SVD_MAX_ROWS:
        u, _, vt = np.linalg.svd(centred, full_matrices=False)
        u, vt = u[:, :2], vt[:2]
    else:
        u, _, vt = randomized_svd(centred, 2, random_state=seed)
    _, vt = svd_flip(u, vt)
    xy = np.zeros((len(embeddings), 2), dtype=np.float32)
    for start in range(0, len(embeddings), PROJECT_BATCH):
        batch = np.asarray(embeddings[start : start + PROJECT_BATCH], dtype=np.float32) - mean
        xy[start : start + PROJECT_BATCH, : len(vt)] = batch @ vt.T
    return MapCoordinates(rows=np.arange(len(embeddings), dtype=np.int64), xy=xy)


def map_coordinates(
    embeddings: np.ndarray,
    *,
    method: str = "pca",
    max_points: int | None = None,
    seed: int = 0,
    strata: np.ndarray | None = None,
    perplexity: float = 30.0,
) -> MapCoordinates:
    """method "pca": every row (PCA fitted on at most max_points rows, default 50k); "tsne": at most
    max_points rows (default 5k), PCA to 50 dimensions then t-SNE, sampled in proportion to ``strata``."""
    if method == "pca":
        return pca_every_row(embeddings, fit_points=max_points or DEFAULT_MAX_POINTS["pca"], seed=seed, strata=strata)
    projection = project_2d(
        embeddings, method="tsne", max_points=max_points, seed=seed, strata=strata, perplexity=perplexity
    )
    return MapCoordinates(rows=projection.rows, xy=projection.coords)
