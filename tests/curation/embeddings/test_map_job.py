"""The `embedding_map` job: PCA places every row, t-SNE a stratified sample; bad input; PCA of every row."""

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage

from core.api_errors import ApplicationError
from curation.embeddings.files import file_sha256
from curation.embeddings.ml.map_projection import pca_every_row
from curation.embeddings.models import EmbeddingMap
from curation.embeddings.selectors import embedding_set_arrays
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MapParams, map_params_validate
from curation.ml.projection import pca_2d
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.curation.embeddings.conftest import embed, media_path


def run_map(params: MapParams):
    return job_execute(job_create(kind=EMBEDDING_MAP_JOB_KIND, params=params.as_job_params(), requested_by=None).pk)


def stored_points(embedding_map):
    with default_storage.open(embedding_map.points_key, "rb") as handle, np.load(io.BytesIO(handle.read())) as f:
        return f["sample_ids"], f["xy"]


def test_a_pca_map_places_every_row_and_a_tsne_map_a_sample(make_version, encoder_name, settings):
    embedding_set = embed(make_version(12), encoder_name)
    row_ids = embedding_set_arrays(embedding_set).row_ids

    pca = run_map(MapParams(embedding_set_id=embedding_set.pk))
    tsne = run_map(MapParams(embedding_set_id=embedding_set.pk, method="tsne", max_points=10, perplexity=3))

    assert (pca.status, tsne.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
    pca_map, tsne_map = EmbeddingMap.objects.get(job=pca), EmbeddingMap.objects.get(job=tsne)
    ids, xy = stored_points(pca_map)
    assert ids.tolist() == row_ids.tolist() and xy.shape == (12, 2) and xy.dtype == np.float32
    assert pca_map.points_checksum == file_sha256(media_path(settings, pca_map.points_key))
    assert (pca.result["points"], pca.result["rows"], pca.result["method"]) == (12, 12, "pca")
    tsne_ids, tsne_xy = stored_points(tsne_map)
    assert len(tsne_ids) == tsne_map.point_count == 10 and set(tsne_ids.tolist()) <= set(row_ids.tolist())
    assert np.isfinite(tsne_xy).all()


def test_pca_of_every_row_matches_pca_of_the_same_rows():
    vectors = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)

    every = pca_every_row(vectors)
    fitted_on_a_sample = pca_every_row(vectors, fit_points=150)

    np.testing.assert_allclose(every.xy, pca_2d(vectors), atol=1e-4)
    assert every.rows.tolist() == list(range(300)) and fitted_on_a_sample.xy.shape == (300, 2)


def test_a_corrupt_npy_fails_the_map_job_and_stores_nothing(make_version, encoder_name, settings):
    embedding_set = embed(make_version(3), encoder_name)
    path = media_path(settings, embedding_set.embeddings_key)
    path.write_bytes(path.read_bytes()[:-2] + b"\x00\x01")

    job = run_map(MapParams(embedding_set_id=embedding_set.pk))

    assert job.status == JobStatus.FAILED and "is corrupt: its sha256 is" in job.error
    assert EmbeddingMap.objects.count() == 0
    assert not default_storage.exists(f"embeddings/sets/{embedding_set.pk}/maps")


def test_map_parameters_are_checked(make_version, encoder_name):
    embedding_set = embed(make_version(2), encoder_name)

    with pytest.raises(ApplicationError) as method:
        map_params_validate(embedding_set_id=embedding_set.pk, method="umap")
    with pytest.raises(ApplicationError) as points:
        map_params_validate(embedding_set_id=embedding_set.pk, max_points=3)

    assert method.value.message == "method must be pca or tsne, got 'umap'"
    assert points.value.message == "max_points must lie between 10 and 1000000, got 3"
