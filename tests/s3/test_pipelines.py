"""Work that stores large files, on object storage: embedding, clustering and pruning, checkpoints, exports.

Each test runs the production services in this process with default storage on a bucket of the S3 test
server (tests/s3/conftest.py): nothing is written to local disk but the worker-local cache and scratch.
"""

import hashlib
import zipfile
from io import BytesIO

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from core.storage import storage_keys
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors.sets import embedding_set_arrays, sample_similar
from curation.embeddings.services.embedding_jobs import EMBED_JOB_KIND, EmbedParams
from curation.exports.services.outputs import export_files_delete
from curation.models import Dataset
from curation.pruning.blobs import arrays_load
from curation.pruning.services.apply import prune_run_apply
from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate, prune_params_validate
from curation.pruning.services.pruning import prune_run_create
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute
from robustness.ml.checkpoints import checkpoint_build, checkpoint_write
from robustness.ml.models import create_model
from robustness.services import load_trained_model
from robustness.services.checkpoints import checkpoint_delete_unreferenced, checkpoint_keys_of_run, checkpoint_store
from tests.curation.exports.builders import pets_version, run_export
from tests.curation.test_import_helpers import jpeg, zip_bytes
from tests.robustness.factories import TrainedModelFactory
from tests.s3.conftest import s3_client

pytestmark = pytest.mark.django_db


def bucket_keys(bucket: str, prefix: str = "") -> list[str]:
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))


def object_sha256(bucket: str, key: str) -> str:
    return s3_client().head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"]


def test_an_uploaded_zip_is_stored_in_the_bucket_imported_from_it_and_removed(s3_storage, s3_bucket, curator):
    # given a zip of three images in class folders, uploaded through the API
    files = {f"{label}/{index}.jpg": jpeg(index) for index, label in enumerate(["cat", "cat", "dog"])}
    upload = SimpleUploadedFile("pets.zip", zip_bytes(files), content_type="application/zip")
    api = APIClient()
    api.force_authenticate(curator)
    response = api.post("/api/datasets/imports/", {"file": upload, "name": "pets-s3"}, format="multipart")
    job = Job.objects.get(pk=response.json()["job"])
    uploaded = bucket_keys(s3_bucket, "uploads/")
    # when a worker runs the import (reading the archive from the bucket with ranged reads)
    job = job_execute(job.pk)
    # then the samples' blobs are in the bucket and the upload is gone
    assert response.status_code == 202 and uploaded == [job.params["source"]]
    assert job.status == JobStatus.SUCCEEDED, job.error
    version = Dataset.objects.get(name="pets-s3").versions.get()
    keys = set(bucket_keys(s3_bucket))
    assert version.sample_count == 3 and all(m.sample.image_key in keys for m in version.members.all())
    assert job.params["source"] not in keys


def test_an_embedded_version_is_clustered_pruned_and_applied_from_object_storage(
    s3_storage, s3_bucket, make_version, encoder_name, curator
):
    # given a version of 9 images stored in the bucket
    version = make_version(9)
    # when it is embedded in chunks of 4, then clustered, pruned and the prune applied
    params = EmbedParams(version_id=version.pk, encoder=encoder_name, dispatch=False, chunk_size=4).as_job_params()
    job = job_execute(job_create(kind=EMBED_JOB_KIND, params=params, requested_by=None).pk)  # as the command line
    assert job.status == JobStatus.SUCCEEDED, job.error
    embedding_set = EmbeddingSet.objects.get(job=job)
    cluster_run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=2)
    )
    prune_params = prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5, splits=["train"])
    prune_run = prune_run_create(params=prune_params)
    child = prune_run_apply(prune_run=prune_run, user=curator)
    # then the set's files are in the bucket with their checksums, the chunk parts are gone,
    assert embedding_set.status == EmbeddingSetStatus.READY and embedding_set.rows == 9
    folder = f"embeddings/sets/{embedding_set.pk}"
    names = ("embeddings.npy", "index.faiss", "row_ids.npy")
    assert bucket_keys(s3_bucket, folder) == [f"{folder}/{name}" for name in names]
    assert object_sha256(s3_bucket, embedding_set.embeddings_key) == embedding_set.checksum
    assert object_sha256(s3_bucket, embedding_set.index_key) == embedding_set.index_checksum
    # and the readers get them (memory map, FAISS index) through the local cache
    arrays = embedding_set_arrays(embedding_set)
    members = sorted(version.members.values_list("sample_id", flat=True))
    assert arrays.row_ids.tolist() == members and arrays.embeddings.shape == (9, 16)
    assert [n.sample_id for n in sample_similar(embedding_set=embedding_set, sample_id=members[0], k=8)] != []
    stored = arrays_load(cluster_run.assignment_key)
    assert stored["sample_ids"].tolist() == members and set(stored["cluster"].tolist()) == {0, 1}
    assert (child.parent_id, child.sample_count) == (version.pk, prune_run.n_kept)


def stored_checkpoint(tmp_path, model, *, run_id: int, name: str) -> str:
    path = tmp_path / f"{name}.pt"
    checkpoint_write(checkpoint_build(model=model, arch="small-cnn", classes=["a", "b"], img_size=16, epoch=1), path)
    return checkpoint_store(run_id=run_id, name=name, local_path=path)


def test_checkpoints_are_stored_listed_loaded_and_pruned_in_the_bucket(s3_storage, s3_bucket, tmp_path):
    torch.manual_seed(0)
    original = create_model("small-cnn", 2, width=16).eval()
    trained = TrainedModelFactory(classes=["a", "b"], img_size=16)
    run_id = trained.run.pk

    keys = [stored_checkpoint(tmp_path, original, run_id=run_id, name=name) for name in ("last-001", "best-001")]
    again = stored_checkpoint(tmp_path, original, run_id=run_id, name="best-001")  # a killed attempt's leftover
    trained.checkpoint_best_key = keys[1]
    trained.save()
    model, classes, _ = load_trained_model(trained)
    deleted = checkpoint_delete_unreferenced(run_id=run_id, keep={keys[1]})

    pixels = torch.rand(2, 3, 16, 16)
    assert again not in keys and again.startswith(f"checkpoints/training-runs/{run_id}/best-001")
    assert classes == ["a", "b"] and torch.equal(model(pixels), original(pixels))
    assert sorted(deleted) == sorted([keys[0], again])
    assert checkpoint_keys_of_run(run_id) == [keys[1]] == bucket_keys(s3_bucket, "checkpoints/")


def test_an_export_is_stored_in_the_bucket_and_downloaded_whole_or_by_range(s3_storage, s3_bucket, curator):
    # given an image-folder export (a zip) of a version stored in the bucket
    version = pets_version(created_by=curator)
    export, job = run_export(version, "imagefolder-zip", user=curator)
    assert job.status == JobStatus.SUCCEEDED, job.error
    item = export.files[0]
    api = APIClient()
    api.force_authenticate(curator)
    url = f"/api/exports/{export.pk}/download/{item['name']}"
    # when it is downloaded whole, and its last 100 bytes by range
    whole = api.get(url)
    tail = api.get(url, headers={"Range": "bytes=-100"})
    body = b"".join(whole.streaming_content)
    # then both answer from the bucket: the file matches its checksum and is a zip of every member
    assert object_sha256(s3_bucket, item["key"]) == item["sha256"] == hashlib.sha256(body).hexdigest()
    assert whole.status_code == 200 and len(body) == item["size"]
    images = [name for name in zipfile.ZipFile(BytesIO(body)).namelist() if name.endswith(".png")]
    assert len([name for name in images if not name.startswith("masks/")]) == 8
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == body[-100:]
    assert tail["Content-Range"] == f"bytes {item['size'] - 100}-{item['size'] - 1}/{item['size']}"
    # and deleting the export's files empties its folder
    assert export_files_delete(export.pk) == 2
    assert storage_keys(f"exports/{export.pk}") == []
