"""The `embed` job on real Celery workers: a worker killed mid-run, a new one finishes the job.

The encoder is the tiny open_clip saved to disk, wrapped by the test-only `test_slow` family so each
chunk takes a moment (tests/curation/embeddings/encoders_for_tests.py); the worker imports that
module through WINNOW_EXTRA_JOB_MODULES.
"""

import time

import numpy as np
import pytest

from curation.embeddings.models import ChunkStatus, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.services.embedding_jobs import embed_params_validate, embedding_set_submit
from jobs.models import JobStatus
from tests.curation.embeddings.conftest import media_path
from tests.curation.embeddings.encoders_for_tests import slow_encoder_name
from tests.worker import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for_chunks_done(job_id: int, at_least: int, timeout: float = 60.0) -> EmbeddingSet:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        embedding_set = EmbeddingSet.objects.filter(job_id=job_id).first()
        if embedding_set is not None and embedding_set.chunks_done >= at_least:
            return embedding_set
        time.sleep(0.05)
    raise AssertionError(f"job {job_id}: fewer than {at_least} chunks done after {timeout} s")


def test_a_worker_killed_mid_run_is_replaced_and_the_job_finishes_without_redoing_done_chunks(
    celery_worker, make_version, encoder_name, curator, settings
):
    version = make_version(8)
    sample_ids = sorted(version.members.values_list("sample_id", flat=True))
    name = slow_encoder_name(0.5, encoder_name)
    params = embed_params_validate(version_id=version.pk, encoder=name, chunk_size=2, batch_size=2)
    first = celery_worker()
    job = embedding_set_submit(params=params, requested_by=curator)
    embedding_set = wait_for_chunks_done(job.pk, at_least=1)

    first.kill()
    done_before = {chunk.number: chunk.finished_at for chunk in embedding_set.chunks.filter(status=ChunkStatus.DONE)}
    celery_worker()
    job = wait_for_job(job.pk, lambda j: j.is_finished, timeout=90)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert 1 <= len(done_before) < 4
    embedding_set.refresh_from_db()
    assert (embedding_set.status, embedding_set.rows, embedding_set.chunks_done) == (EmbeddingSetStatus.READY, 8, 4)
    chunks = {chunk.number: chunk for chunk in embedding_set.chunks.all()}
    assert {number: chunks[number].finished_at for number in done_before} == done_before  # not recomputed
    assert all(chunks[number].attempts == 1 for number in done_before)
    assert job.result["chunks_reused"] >= len(done_before)
    row_ids = np.load(media_path(settings, embedding_set.row_ids_key))
    assert row_ids.tolist() == sample_ids  # every sample once: no duplicate rows
    embeddings = np.load(media_path(settings, embedding_set.embeddings_key))
    assert embeddings.shape == (8, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings.astype(np.float32), axis=1), 1.0, atol=2e-3)
