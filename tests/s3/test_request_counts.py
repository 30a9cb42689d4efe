"""How many requests each storage operation costs on a real S3-protocol server (every request the client sends).

Round trips dominate object storage: a whole-object read that sent a HEAD before its GET made a WebDataset export
on S3 two requests per image. Each test records what the storage's boto3 client sends (its `before-send` event,
after signing, one per HTTP request, retries included) while the operation runs.
"""

import hashlib
import io
import os
import re
import tarfile
import zipfile
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from core.api_errors import ApplicationError
from core.storage import blob_key, blob_read, blob_save, blob_size, blobs_delete, sha256_bytes
from curation.demo.plan import DemoConfig
from curation.embeddings.services.maps import embedding_map_cleanup, map_key
from curation.masks.models import EstimatedMask, MaskSet, MaskSetStatus
from curation.masks.services import mask_set_cleanup, mask_set_start
from curation.masks.services.mask_sets import mask_key
from curation.pruning.blobs import blobs_delete as run_blobs_delete
from curation.pruning.blobs import job_blobs_delete
from curation.services.archives import ArchiveLimits
from curation.services.blob_claims import blobs_collect
from curation.services.demo import demo_dataset_build, demo_truth_key
from curation.services.imports.submit import import_upload_store
from curation.services.manifests import SourceRejected, import_layout_open
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from robustness.evaluation.services.corruptions import CorruptionCacheKey, corrupted_set, sample_digest
from robustness.evaluation.services.dataset import EvaluationSet, demo_truth_records
from robustness.services.checkpoints import checkpoint_delete_unreferenced
from tests.curation.exports.builders import export_file_bytes, pets_version, run_export
from tests.factories import DatasetVersionFactory, ExportFactory, JobFactory, SampleFactory, VersionSampleFactory
from tests.s3.conftest import PART_BYTES, s3_client


class Requests(list):
    """(method, key, headers) of each request sent."""

    def methods(self) -> list[str]:
        return [method for method, _, _ in self]

    def to(self, key: str) -> list[str]:
        return [method for method, sent_key, _ in self if sent_key == key]


@pytest.fixture
def sent(s3_storage, s3_bucket) -> Iterator[Requests]:
    requests = Requests()
    prefix = f"/{s3_bucket}/"

    def record(request, **_):
        path = unquote(urlsplit(request.url).path)
        headers = {name: _text(value) for name, value in request.headers.items()}
        requests.append((request.method, path.removeprefix(prefix), headers))

    events = s3_storage.connection.meta.client.meta.events
    events.register("before-send.s3", record)
    yield requests
    events.unregister("before-send.s3", record)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def put(bucket: str, key: str, data: bytes) -> None:
    s3_client().put_object(Bucket=bucket, Key=key, Body=data)


def test_a_whole_object_read_is_one_get_without_a_range(s3_bucket, sent):
    data = os.urandom(300_000)
    put(s3_bucket, "images/aa/one.jpg", data)

    assert blob_read("images/aa/one.jpg") == data

    assert sent.methods() == ["GET"]
    assert "Range" not in sent[0][2]


def test_the_size_of_an_open_object_and_measuring_it_by_seeking_cost_no_request(s3_bucket, sent):
    data = os.urandom(200_000)
    put(s3_bucket, "thumbnails/bb/two.jpg", data)

    with default_storage.open("thumbnails/bb/two.jpg", "rb") as handle:
        size = handle.size
        start = handle.tell()
        handle.seek(0, io.SEEK_END)  # as FileResponse measures a file for its Content-Length
        end = handle.tell()
        handle.seek(start)
        read = handle.read()

    assert (size, end, read) == (len(data), len(data), data)
    assert sent.methods() == ["GET"]


@pytest.mark.django_db
def test_a_served_thumbnail_is_one_get(sent, client, viewer):
    sample = SampleFactory()
    client.force_login(viewer)
    sent.clear()

    response = client.get(reverse("frontend:sample_thumbnail", args=[sample.pk]))
    body = b"".join(response.streaming_content)
    served = list(sent)

    assert response.status_code == 200 and response["Content-Length"] == str(len(body))
    assert body == blob_read(sample.thumbnail_key)
    assert [(method, key) for method, key, _ in served] == [("GET", sample.thumbnail_key)]


def test_a_short_seek_ahead_reads_on_and_a_long_one_sends_one_ranged_get(s3_bucket, sent):
    data = os.urandom(4 * 1024 * 1024)
    put(s3_bucket, "exports/1/data.tar", data)

    with default_storage.open("exports/1/data.tar", "rb") as handle:
        handle.seek(10)
        near = handle.read(20)
        handle.seek(3_000_000)
        far = handle.read(20)

    assert (near, far) == (data[10:30], data[3_000_000:3_000_020])
    assert sent.methods() == ["GET", "GET"]
    assert "Range" not in sent[0][2] and sent[1][2]["Range"] == "bytes=3000000-"
    assert sent[1][2]["If-Match"] == s3_client().head_object(Bucket=s3_bucket, Key="exports/1/data.tar")["ETag"]


def test_opening_a_missing_object_is_one_request(sent):
    with pytest.raises(FileNotFoundError):
        default_storage.open("images/dd/none.jpg", "rb")

    assert sent.methods() == ["GET"]


def test_a_save_is_one_conditional_put_and_onto_a_taken_name_a_second_under_the_next_name(s3_storage, sent):
    # given a checkpoint saved under a new name
    name = "checkpoints/training-runs/3/last-epoch001.pt"
    first = s3_storage.save(name, ContentFile(b"attempt 1"))
    new_name = list(sent)
    sent.clear()
    # when another attempt saves its checkpoint under the same name
    second = s3_storage.save(name, ContentFile(b"attempt 2"))
    # then each save was one PUT on condition that nothing stands under the key (no HEAD first): the second's
    # first PUT was refused and the next went under Django's next name; the first checkpoint is unchanged
    assert [(method, key, headers.get("If-None-Match")) for method, key, headers in new_name] == [("PUT", name, "*")]
    assert [(method, key, headers.get("If-None-Match")) for method, key, headers in sent] == [
        ("PUT", name, "*"),
        ("PUT", second, "*"),
    ]
    assert first == name and re.fullmatch(r"checkpoints/training-runs/3/last-epoch001_[A-Za-z0-9]{7}\.pt", second)
    assert (blob_read(first), blob_read(second)) == (b"attempt 1", b"attempt 2")
    assert s3_storage.stored_sha256(second) == hashlib.sha256(b"attempt 2").hexdigest()


def test_a_large_file_onto_a_taken_name_is_refused_at_completion_aborted_and_stored_under_the_next(
    s3_storage, s3_bucket, sent
):
    # given an object under the name
    name = "exports/3/big.tar"
    put(s3_bucket, name, b"kept")
    data = os.urandom(2 * PART_BYTES + 100)
    sent.clear()
    # when a file of three parts is saved under it
    key = s3_storage.save(name, File(io.BytesIO(data), name="big.tar"))
    # then the upload's completion (the conditional request) was refused, the upload aborted, and the file went up
    # again under the next name; the object that stood there is unchanged and no upload is left open
    conditions = [headers.get("If-None-Match") for method, _, headers in sent if method == "POST"]
    parts = [("PUT", name)] * 3
    assert [(method, sent_key) for method, sent_key, _ in sent] == [
        ("POST", name), *parts, ("POST", name), ("DELETE", name),
        ("POST", key), *[("PUT", key)] * 3, ("POST", key),
    ]  # fmt: skip
    assert conditions == [None, "*", None, "*"]  # created without, completed with If-None-Match
    assert key != name and key.startswith("exports/3/big_") and key.endswith(".tar")
    assert (blob_read(name), blob_read(key)) == (b"kept", data)
    assert s3_storage.stored_sha256(key) == hashlib.sha256(data).hexdigest()
    assert s3_storage.incomplete_uploads() == []


def test_a_new_blob_is_one_head_and_one_put_and_a_stored_one_one_head(sent):
    data = os.urandom(120_000)
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")

    written = blob_save(key=key, data=data)
    first = sent.methods()
    sent.clear()
    again = blob_save(key=key, data=data)
    second = sent.methods()
    sent.clear()
    size = blob_size(key)

    assert (written, again, size) == (True, False, len(data))
    assert (first, second, sent.methods()) == (["HEAD", "PUT"], ["HEAD"], ["HEAD"])


def test_a_stored_blob_whose_recorded_checksum_differs_is_replaced(s3_bucket, sent):
    data = os.urandom(120_000)
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")
    damaged = bytes(reversed(data))  # the same size, other bytes
    s3_client().put_object(Bucket=s3_bucket, Key=key, Body=damaged, Metadata={"sha256": sha256_bytes(damaged)})

    assert blob_save(key=key, data=data) is True

    assert sent.methods() == ["HEAD", "PUT"]
    assert blob_read(key) == data


@pytest.mark.django_db
def test_a_webdataset_export_reads_each_image_with_one_get_and_stores_each_file_with_one_put(s3_storage, sent, curator):
    version = pets_version(created_by=curator)
    image_keys = sorted({member.sample.image_key for member in version.members.select_related("sample")})
    sent.clear()

    export, job = run_export(version, "webdataset", user=curator, shard_size=3)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert {key: sent.to(key) for key in image_keys} == {key: ["GET"] for key in image_keys}
    outputs = [item["key"] for item in export.files] + [export.checksum_key]
    assert {key: sent.to(key) for key in outputs} == {key: ["PUT"] for key in outputs}  # no probe before a PUT
    assert "HEAD" not in sent.methods()
    shards = [item["name"] for item in export.files if item["name"].endswith(".tar")]
    names = []
    for shard in shards:
        with tarfile.open(fileobj=io.BytesIO(export_file_bytes(export, shard))) as tar:
            names += tar.getnames()
    assert len([name for name in names if name.endswith(".png")]) == len(image_keys)


def test_deleting_blobs_sends_one_request_per_thousand_keys(s3_bucket, sent):
    # given 2,100 keys to delete, seven of them stored, most with nothing stored, and a stored blob not among them
    stored = [f"images/{n:02x}/stored-{n}.jpg" for n in range(7)]
    kept = "images/ff/kept.jpg"
    for key in [*stored, kept]:
        put(s3_bucket, key, b"bytes")
    missing = [f"images/{n % 256:02x}/missing-{n}.jpg" for n in range(2100 - len(stored))]
    # when they are deleted (a blank key among them)
    blobs_delete([*missing[:1000], *stored, "", *missing[1000:]])
    # then three DeleteObjects requests went (not one per key), the stored ones are gone and the other one stays
    assert sent.methods() == ["POST"] * 3
    listed = s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    assert [entry["Key"] for entry in listed] == [kept]


@pytest.mark.django_db
def test_the_blob_collector_deletes_a_chunk_of_unneeded_blobs_with_one_request(s3_bucket, sent):
    # given three stored blobs, one of them named by a sample row
    keys = [f"images/{n:02x}/collected-{n}.jpg" for n in range(3)]
    for key in keys:
        put(s3_bucket, key, b"bytes")
    SampleFactory(image_key=keys[1])
    sent.clear()
    # when the collector looks at them, then the two unneeded ones go in one DeleteObjects request
    assert sorted(blobs_collect(keys)) == [keys[0], keys[2]]
    assert sent.methods() == ["POST"]
    listed = {entry["Key"] for entry in s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert [key in listed for key in keys] == [False, True, False]


def bucket_keys(bucket: str) -> list[str]:
    return sorted(entry["Key"] for entry in s3_client().list_objects_v2(Bucket=bucket).get("Contents", []))


def test_a_failed_runs_blobs_go_in_one_request_and_a_jobs_prefix_with_one_listing_and_one_request(s3_bucket, sent):
    # given a failed run's two stored arrays, blobs under job 7's prefix, and one under job 70's
    run = ["pruning/runs/abc/assignment.npz", "pruning/runs/abc/centroids.npz"]
    job_seven = [f"pruning/jobs/7/{folder}/arrays.npz" for folder in ("a1", "a2", "b1")]
    other_job = "pruning/jobs/70/a1/arrays.npz"
    for key in [*run, *job_seven, other_job]:
        put(s3_bucket, key, b"arrays")
    # when the run's blobs are deleted (with one it never wrote), then job 7's
    run_blobs_delete([*run, "pruning/runs/abc/budgets.npz"])
    for_the_run = sent.methods()
    sent.clear()
    deleted = job_blobs_delete(Job(pk=7))
    # then one DeleteObjects request for the run; one listing and one DeleteObjects request for the job
    assert (for_the_run, sent.methods(), deleted) == (["POST"], ["GET", "POST"], 3)
    assert bucket_keys(s3_bucket) == [other_job]


def test_unreferenced_checkpoints_go_with_one_listing_and_one_request(s3_bucket, sent):
    # given three checkpoints of run 5, two of them referenced, and one of run 50
    keys = [f"checkpoints/training-runs/5/{name}.pt" for name in ("last-epoch001", "last-epoch002", "best-epoch001")]
    other_run = "checkpoints/training-runs/50/last-epoch001.pt"
    for key in [*keys, other_run]:
        put(s3_bucket, key, b"weights")
    # when the unreferenced ones are deleted
    deleted = checkpoint_delete_unreferenced(run_id=5, keep={keys[1], keys[2]})
    # then the run's folder was listed once and the one unreferenced checkpoint went in one request
    assert (deleted, sent.methods()) == ([keys[0]], ["GET", "POST"])
    assert bucket_keys(s3_bucket) == sorted([keys[1], keys[2], other_run])


def download(api: APIClient, url: str, sent: Requests, **headers: str) -> tuple[int, bytes, list[tuple]]:
    """The status, body and requests (method, key, Range) of one download."""
    sent.clear()
    response = api.get(url, headers=headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, [(method, key, sent_headers.get("Range")) for method, key, sent_headers in sent]


@pytest.mark.django_db
def test_an_export_download_whole_or_by_range_is_one_get(sent, curator):
    # given an export whose manifest (300 kB) and SHA256SUMS are in the bucket
    data = os.urandom(300_000)
    export = ExportFactory(created_by=curator, stored_files=data)
    key, url = export.files[0]["key"], f"/api/exports/{export.pk}/download/manifest.jsonl"
    api = APIClient()
    api.force_authenticate(curator)
    # when it is downloaded whole, by ranges, by a range past its end, and its checksums; then once it is gone
    whole = download(api, url, sent)
    tail = download(api, url, sent, Range="bytes=-100")
    middle = download(api, url, sent, Range="bytes=200000-200099")
    past_the_end = download(api, url, sent, Range="bytes=300000-")
    checksums = download(api, url.replace("manifest.jsonl", "SHA256SUMS"), sent)
    s3_client().delete_object(Bucket=default_storage.bucket_name, Key=key)
    gone = download(api, url, sent)
    # then each read of the file is one GET (no HEAD for its size), ranged from where the range starts
    assert whole == (200, data, [("GET", key, None)])
    assert tail == (206, data[-100:], [("GET", key, "bytes=299900-")])
    assert middle == (206, data[200_000:200_100], [("GET", key, "bytes=200000-")])
    assert (past_the_end[0], past_the_end[2]) == (416, [])  # chosen from the recorded size: no request
    assert (checksums[0], checksums[2]) == (200, [("GET", export.checksum_key, None)])
    assert checksums[1].decode().startswith(hashlib.sha256(data).hexdigest() + "  ")
    assert (gone[0], gone[2]) == (410, [("GET", key, None)])


def evaluation_set(count: int) -> EvaluationSet:
    rng = np.random.default_rng(0)
    return EvaluationSet(
        classes=["a"],
        sample_ids=np.arange(count, dtype=np.int64),
        images=rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8),
        targets=np.zeros(count, dtype=np.int64),
        label_sets=[{0}] * count,
    )


def test_a_corrupted_set_is_read_with_one_get_and_a_cache_miss_costs_one_get(sent):
    # given no corrupted set stored for the key
    images = evaluation_set(3)
    cached = {"corruption": "gaussian_noise", "severity": 2, "seed": 0, "size": 32}
    key = CorruptionCacheKey(version_id=1, sample_digest=sample_digest(images.sample_ids), **cached)
    # when it is asked for twice
    first, hit_first = corrupted_set(images, key)
    missed = sent.to(key.storage_key)
    sent.clear()
    second, hit_second = corrupted_set(images, key)
    # then the miss was one GET before the set was stored (HEAD, PUT), and the hit one GET
    assert (hit_first, hit_second, missed, sent.methods()) == (False, True, ["GET", "HEAD", "PUT"], ["GET"])
    assert np.array_equal(first, second)


@pytest.mark.django_db
def test_reads_that_find_nothing_are_one_get_each_and_a_cleanup_one_delete_request(s3_bucket, sent):
    # given a version naming a truth document that is not stored, an upload key with nothing under it, and a failed
    # map job whose map file is stored
    version = DatasetVersionFactory(operation_params={"truth_key": "demo/truth/none.json"})
    upload = f"uploads/{'0' * 32}.zip"
    job = JobFactory(kind="embedding_map", params={"embedding_set_id": 12})
    put(s3_bucket, map_key(12, job.pk), b"points")
    sent.clear()
    # when the truth is read, the upload opened, and the job cleaned up
    truth = demo_truth_records(version)
    truth_requests = sent.to("demo/truth/none.json")
    with (
        pytest.raises(SourceRejected, match=r"^the uploaded archive is gone$"),
        import_layout_open(source=upload, format="zip", limits=ArchiveLimits.from_settings()),
    ):
        pass
    upload_requests = sent.to(upload)
    sent.clear()
    embedding_map_cleanup(job)
    # then one GET each finds nothing (no HEAD first), and the map file goes in one request
    assert (truth, truth_requests, upload_requests, sent.methods()) == (None, ["GET"], ["GET"], ["POST"])
    assert bucket_keys(s3_bucket) == []


@pytest.mark.django_db
def test_estimated_masks_are_one_put_each_even_over_a_file_a_batch_left(s3_bucket, sent, admin_user):
    # given a version of two members, and a PNG a batch stored under the first one's key before it stopped
    version = DatasetVersionFactory()
    members = [VersionSampleFactory(version=version, label=label) for label in ("cat", "dog")]
    mask_set = mask_set_start(version=version, provider="estimated", requested_by=admin_user, enqueue=False)
    keys = [mask_key(mask_set.pk, member.sample_id) for member in members]
    put(s3_bucket, keys[0], b"a stale mask")
    sent.clear()
    # when the job stores the masks
    job = job_execute(mask_set.job_id)
    # then each mask is one PUT (no HEAD, no DeleteObjects before it), and the stale file was replaced
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert {key: sent.to(key) for key in keys} == {key: ["PUT"] for key in keys}
    assert not {"HEAD", "POST", "DELETE"} & set(sent.methods())
    assert blob_read(keys[0]).startswith(b"\x89PNG")


@pytest.mark.django_db
def test_a_failed_mask_sets_files_go_with_one_listing_and_one_request(s3_bucket, sent):
    # given a failed job's mask set with two rows naming PNGs, a PNG under its folder with no row, and another set's
    job = JobFactory(kind="estimate_masks", status=JobStatus.FAILED)
    mask_set = MaskSet.objects.create(version=DatasetVersionFactory(), provider="estimated", job=job, done=3)
    other = MaskSet.objects.create(version=DatasetVersionFactory(), provider="estimated", job=JobFactory())
    samples = [SampleFactory() for _ in range(3)]
    for sample in samples[:2]:
        EstimatedMask.objects.create(mask_set=mask_set, sample=sample, mask_key=mask_key(mask_set.pk, sample.pk))
    EstimatedMask.objects.create(mask_set=mask_set, sample=samples[2], mask_key="")  # no mask: nothing stored
    unrecorded, others = mask_key(mask_set.pk, samples[2].pk), mask_key(other.pk, samples[0].pk)
    for key in [*(mask_key(mask_set.pk, sample.pk) for sample in samples[:2]), unrecorded, others]:
        put(s3_bucket, key, b"png")
    before = set(bucket_keys(s3_bucket))
    sent.clear()
    # when the job is cleaned up
    mask_set_cleanup(job)
    # then its folder was listed once and its three PNGs went in one DeleteObjects request; the other set's stays
    assert sent.methods() == ["GET", "POST"]
    assert set(bucket_keys(s3_bucket)) == {key for key in before if not key.startswith("masks/")} | {others}
    mask_set.refresh_from_db()
    assert (mask_set.status, mask_set.done, mask_set.masks.count()) == (MaskSetStatus.FAILED, 0, 0)


@pytest.mark.django_db
def test_the_demo_truth_document_is_one_put_over_a_stale_one(s3_bucket, sent):
    # given a truth document a deleted build left under the key the build will use
    key = demo_truth_key("demo-s3")
    put(s3_bucket, key, b'{"stale": true}')
    sent.clear()
    # when the demo dataset is built
    result = demo_dataset_build(config=DemoConfig(seed=0, size=42), name="demo-s3")
    # then the document is stored with one PUT (no HEAD, no DELETE before it) and it is the new one
    assert (result.truth_key, sent.to(key)) == (key, ["PUT"])
    assert demo_truth_records(result.version) is not None and b"stale" not in blob_read(key)


def test_an_upload_cut_at_the_cap_is_deleted_with_one_request_and_no_probe(s3_bucket, sent, settings):
    # given a cap of 256 kB and a stream with no declared size that starts like a zip and goes past it
    settings.IMPORT_UPLOAD_MAX_BYTES = 256 * 1024
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.bin", b"\0")
    stream = io.BytesIO(archive.getvalue() + os.urandom(1024 * 1024))
    # when it is stored
    with pytest.raises(ApplicationError) as refused:
        import_upload_store(upload=stream)
    # then 413, nothing stored: no request before the save's first pass (the sha256) found the cap passed, then the
    # cleanup's one DeleteObjects request (was a HEAD of exists(), then a DELETE had the upload left a part)
    assert (refused.value.code, refused.value.status_code) == ("upload_too_large", 413)
    assert sent.methods() == ["POST"]
    assert bucket_keys(s3_bucket) == []
