"""The `embed` job in this process: chunks, files and checksums, skipped images, bad input, the command."""

import io
import json
import time

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from core.api_errors import ApplicationError
from curation.embeddings.files import file_sha256
from curation.embeddings.models import ChunkStatus, EmbeddingChunk, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.services.chunks import chunk_claim
from curation.embeddings.services.embedding_jobs import (
    EMBED_JOB_KIND,
    EmbedParams,
    embed_params_validate,
    embedding_chunk_work,
    embedding_set_plan,
)
from curation.embeddings.services.finalize import embedding_set_finalize, embedding_set_finalize_claim
from curation.ml.encoders import create_encoder
from curation.ml.similarity import FaissIndex
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute
from tests.curation.embeddings.conftest import media_path, noise_png
from tests.factories import DatasetVersionFactory


def run_embed(version, encoder_name, user=None, **options):
    params = EmbedParams(version_id=version.pk, encoder=encoder_name, dispatch=False, **options).as_job_params()
    progress = []
    job = job_create(kind=EMBED_JOB_KIND, params=params, requested_by=user)
    job = job_execute(job.pk, progress_callback=lambda done, total, message: progress.append((done, total)))
    return job, progress


def stored_array(settings, key):
    return np.load(media_path(settings, key))


def direct_embeddings(encoder_name, blobs):
    encoder = create_encoder(encoder_name)
    batch = torch.stack([encoder.preprocess(Image.open(io.BytesIO(blob)).convert("RGB")) for blob in blobs])
    return encoder.encode_images(batch).numpy()


def test_a_version_is_embedded_in_chunks_into_checksummed_files_and_an_index(make_version, encoder_name, settings):
    version = make_version(7)
    sample_ids = sorted(version.members.values_list("sample_id", flat=True))

    job, progress = run_embed(version, encoder_name, chunk_size=3)

    assert job.status == JobStatus.SUCCEEDED, job.error
    embedding_set = EmbeddingSet.objects.get(job=job)
    assert (embedding_set.status, embedding_set.rows, embedding_set.skipped) == (EmbeddingSetStatus.READY, 7, 0)
    assert (embedding_set.planned_rows, embedding_set.chunk_count, embedding_set.chunks_done) == (7, 3, 3)
    assert (embedding_set.dim, embedding_set.dtype, embedding_set.index_kind) == (16, "float16", "flat")
    assert embedding_set.encoder_name == encoder_name
    assert embedding_set.encoder_spec["dim"] == 16 and embedding_set.encoder_spec["has_text_tower"] is True
    assert [c.planned for c in embedding_set.chunks.all()] == [3, 3, 1]
    assert list(embedding_set.chunks.values_list("status", "attempts")) == [(ChunkStatus.DONE, 1)] * 3
    embeddings = stored_array(settings, embedding_set.embeddings_key)
    row_ids = stored_array(settings, embedding_set.row_ids_key)
    assert embeddings.dtype == np.float16 and embeddings.shape == (7, 16)
    assert row_ids.tolist() == sample_ids
    np.testing.assert_allclose(np.linalg.norm(embeddings.astype(np.float32), axis=1), 1.0, atol=2e-3)
    expected = direct_embeddings(encoder_name, [noise_png(seed) for seed in range(7)])
    np.testing.assert_allclose(embeddings.astype(np.float32), expected, atol=3e-3)
    assert embedding_set.checksum == file_sha256(media_path(settings, embedding_set.embeddings_key))
    assert embedding_set.row_ids_checksum == file_sha256(media_path(settings, embedding_set.row_ids_key))
    index = FaissIndex.load(media_path(settings, embedding_set.index_key))
    _, found = index.search(embeddings[2:3].astype(np.float32), 1)
    assert found[0, 0] == sample_ids[2]
    fractions = [done / total for done, total in progress]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    folders, files = default_storage.listdir(f"embeddings/sets/{embedding_set.pk}")
    assert (folders, sorted(files)) == ([], ["embeddings.npy", "index.faiss", "row_ids.npy"])  # parts are gone
    assert job.result == {
        "embedding_set": embedding_set.pk,
        "dataset": version.dataset_id,
        "version": version.pk,
        "encoder": encoder_name,
        "dim": 16,
        "rows": 7,
        "skipped": 0,
        "skipped_samples": [],
        "chunks": 3,
        "chunks_reused": 0,
        "index_kind": "flat",
    }


def test_progress_moves_within_a_chunk_batch_by_batch(make_version, encoder_name):
    # given one chunk of 6 images embedded 2 at a time
    version = make_version(6)

    job, progress = run_embed(version, encoder_name, chunk_size=6, batch_size=2)

    # then the job reports a third and two thirds of the chunk before the chunk is done
    assert job.status == JobStatus.SUCCEEDED, job.error
    fractions = [round(done / total, 3) for done, total in progress]
    assert fractions[:3] == [0.333, 0.667, 1.0]


def test_an_image_missing_from_storage_is_skipped_and_reported(make_version, encoder_name, settings):
    version = make_version(4)
    missing = version.members.order_by("sample_id")[1].sample
    default_storage.delete(missing.image_key)

    job, _ = run_embed(version, encoder_name, chunk_size=2)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["rows"], job.result["skipped"]) == (3, 1)
    assert job.result["skipped_samples"] == [{"sample_id": missing.pk, "reason": "missing from storage"}]
    row_ids = stored_array(settings, EmbeddingSet.objects.get(job=job).row_ids_key)
    assert missing.pk not in row_ids.tolist() and len(row_ids) == 3


def test_a_version_whose_images_are_all_missing_fails_and_leaves_nothing(
    make_version, encoder_name, django_capture_on_commit_callbacks
):
    version = make_version(2)
    for member in version.members.select_related("sample"):
        default_storage.delete(member.sample.image_key)

    with django_capture_on_commit_callbacks(execute=True):
        job, _ = run_embed(version, encoder_name)

    assert job.status == JobStatus.FAILED
    assert job.error == "none of the 2 images could be embedded (see the chunk failures)"
    assert EmbeddingSet.objects.count() == 0 and EmbeddingChunk.objects.count() == 0
    assert default_storage.listdir("embeddings/sets") == ([], [])  # the chunk parts went with the set


def test_an_unknown_encoder_name_is_refused_before_a_job_and_fails_a_job_at_once(make_version):
    version = make_version(1)

    with pytest.raises(ApplicationError) as refused:
        embed_params_validate(version_id=version.pk, encoder="nosuchfamily:whatever")
    job, _ = run_embed(version, "open_clip:no-such-arch:laion2b_s34b_b79k")

    assert refused.value.code == "unknown_encoder"
    assert refused.value.message.startswith("unknown encoder 'nosuchfamily:whatever'; known families: ")
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("unknown open_clip arch 'no-such-arch'")
    assert EmbeddingSet.objects.count() == 0


def test_absent_weights_fail_the_job_within_seconds_saying_how_to_provide_them(make_version, tmp_path, monkeypatch):
    version = make_version(1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))

    started = time.monotonic()
    by_tag, _ = run_embed(version, "open_clip:ViT-B-32:laion2b_s34b_b79k")
    by_path, _ = run_embed(version, f"open_clip:ViT-B-32:{tmp_path / 'absent.safetensors'}")
    elapsed = time.monotonic() - started

    assert elapsed < 10
    assert (by_tag.status, by_path.status) == (JobStatus.FAILED, JobStatus.FAILED)
    assert "are not in the hub cache" in by_tag.error and "the hub is offline (HF_HUB_OFFLINE is set)" in by_tag.error
    assert "download them on a connected machine" in by_tag.error
    assert by_path.error.startswith(f"open_clip weights path '{tmp_path / 'absent.safetensors'}' for ViT-B-32 does not")
    assert EmbeddingSet.objects.count() == 0


def test_a_version_with_zero_images_is_refused_and_its_job_fails(db, encoder_name):
    version = DatasetVersionFactory(number=1)

    with pytest.raises(ApplicationError) as refused:
        embed_params_validate(version_id=version.pk, encoder=encoder_name)
    job, _ = run_embed(version, encoder_name)

    assert refused.value.code == "empty_version"
    assert refused.value.message == f"{version} has no images to embed"
    assert (job.status, job.error) == (JobStatus.FAILED, f"{version} has no images to embed")
    assert EmbeddingSet.objects.count() == 0


def test_chunk_tasks_share_the_work_and_the_last_one_finalizes(make_version, encoder_name):
    version = make_version(5)
    params = EmbedParams(version_id=version.pk, encoder=encoder_name, chunk_size=2, dispatch=False)
    # requested by no one (as from the command line): a curator's job may not load local weights
    job = job_create(kind=EMBED_JOB_KIND, params=params.as_job_params(), requested_by=None)
    embedding_set, _ = embedding_set_plan(job=job, version=version, encoder=create_encoder(encoder_name), params=params)
    chunk_ids = list(embedding_set.chunks.order_by("number").values_list("pk", flat=True))

    outcomes = [embedding_chunk_work(chunk_id=chunk_id) for chunk_id in chunk_ids]
    again = embedding_chunk_work(chunk_id=chunk_ids[0])
    finalized = embedding_set_finalize(embedding_set_id=embedding_set.pk)
    finalized_twice = embedding_set_finalize(embedding_set_id=embedding_set.pk)
    job = job_execute(job.pk)

    assert outcomes == ["done", "done", "done, last"]
    assert again == "not claimable"
    assert (finalized, finalized_twice) == (True, False)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["rows"], job.result["chunks"], job.result["chunks_reused"]) == (5, 3, 3)
    assert list(embedding_set.chunks.values_list("attempts", flat=True)) == [1, 1, 1]


def test_a_chunk_held_by_a_dead_worker_is_claimed_again_and_a_live_one_is_not(make_version, encoder_name, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    version = make_version(4)
    params = EmbedParams(version_id=version.pk, encoder=encoder_name, chunk_size=2, dispatch=False)
    job = job_create(kind=EMBED_JOB_KIND, params=params.as_job_params(), requested_by=None)
    embedding_set, _ = embedding_set_plan(job=job, version=version, encoder=create_encoder(encoder_name), params=params)
    held = chunk_claim(embedding_set_id=embedding_set.pk)
    live = chunk_claim(embedding_set_id=embedding_set.pk)

    nothing = chunk_claim(embedding_set_id=embedding_set.pk)
    EmbeddingChunk.objects.filter(pk=held.pk).update(heartbeat_at=held.heartbeat_at.replace(year=2000))
    reclaimed = chunk_claim(embedding_set_id=embedding_set.pk)

    assert (held.number, live.number, nothing) == (0, 1, None)
    assert (reclaimed.pk, reclaimed.attempts) == (held.pk, 2)
    assert reclaimed.claim_token != held.claim_token


def test_the_embed_command_prints_a_json_summary(make_version, encoder_name, admin_user, capsys):
    admin_user.is_superuser = True
    admin_user.save()
    version = make_version(3)

    call_command("embed", str(version.pk), "--encoder", encoder_name, "--chunk-size", "2")

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    embedding_set = EmbeddingSet.objects.get()
    assert summary == {
        "job": Job.objects.get(kind=EMBED_JOB_KIND).pk,
        "embedding_set": embedding_set.pk,
        "version": version.pk,
        "encoder": encoder_name,
        "rows": 3,
        "skipped": 0,
        "chunks": 2,
        "chunks_reused": 0,
        "index_kind": "flat",
    }


def test_the_embed_command_fails_with_one_line_for_an_unknown_encoder(make_version, admin_user, capsys):
    version = make_version(1)

    with pytest.raises(SystemExit) as exited:
        call_command("embed", str(version.pk), "--encoder", "bogus")

    assert exited.value.code == 1
    assert capsys.readouterr().err.strip().startswith("error: unknown encoder 'bogus'; known families: ")
    assert Job.objects.count() == 0


def test_a_finalize_step_whose_claimer_died_is_taken_over_by_the_job(make_version, encoder_name, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 1
    version = make_version(3)
    params = EmbedParams(version_id=version.pk, encoder=encoder_name, chunk_size=2, dispatch=False)
    job = job_create(kind=EMBED_JOB_KIND, params=params.as_job_params(), requested_by=None)
    embedding_set, _ = embedding_set_plan(job=job, version=version, encoder=create_encoder(encoder_name), params=params)
    for chunk_id in embedding_set.chunks.values_list("pk", flat=True):
        embedding_chunk_work(chunk_id=chunk_id)
    dead_claim = embedding_set_finalize_claim(embedding_set_id=embedding_set.pk)  # then its process dies

    job = job_execute(job.pk)

    embedding_set.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert dead_claim is not None and embedding_set.finalize_token not in ("", dead_claim)
    assert (embedding_set.status, embedding_set.rows) == (EmbeddingSetStatus.READY, 3)
