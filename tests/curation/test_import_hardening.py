"""Import robustness: damaged blobs under a key, a worker killed mid-write, blobs shared with a concurrent
import that fails, and rows that one hostile line or file must not turn into a failed import."""

import csv
import io
import json
import os
import threading
import time
from concurrent.futures import wait as futures_wait
from pathlib import Path

import pytest
from django.db import connection
from PIL import Image

import curation.services.imports.run as import_run
from core.storage import blob_key, blob_read, blob_save, sha256_bytes
from curation.models import BlobClaim, Sample
from curation.services.blob_claims import blob_claims_take
from curation.services.ingest import sample_image_open
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute, job_submit
from tests.curation.test_import_helpers import (
    NOTHING,
    image_bytes,
    jpeg,
    media_files,
    members_by_name,
    report_statuses,
    row_counts,
    run_import,
    source_folder,
    write_files,
)
from tests.worker import celery_worker  # noqa: F401  (the fixture)

LONG = "x" * 201


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.curation.slow_blob_writes"


def big_bmp(width: int = 1600, height: int = 1200) -> bytes:
    """An uncompressed BMP (5.8 MB): its write takes about 2 s with the worker's slowed writes."""
    pixels = Image.effect_noise((width, height), 60).convert("RGB")
    buffer = io.BytesIO()
    pixels.save(buffer, format="BMP")
    return buffer.getvalue()


def sample_of(job: Job, name: str) -> Sample:
    return Sample.objects.get(dataset_id=job.result["dataset"], original_name=name)


# --- a damaged blob under the key is replaced ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("stored", [b"", "truncated"], ids=["empty", "truncated"])
def test_a_reimport_replaces_a_damaged_original_and_the_sample_decodes(tmp_path: Path, isolated_media: Path, stored):
    # given a 0-byte or truncated file under the key the image's bytes go to (left by a crash)
    data = image_bytes((10, 200, 30), size=(300, 200), format="PNG")
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="png")
    (isolated_media / key).parent.mkdir(parents=True)
    (isolated_media / key).write_bytes(b"" if stored == "" else data[: len(data) // 3])
    folder = write_files(source_folder(tmp_path), {"cat/a.png": data})
    # when the image is imported
    job = run_import({"source": str(folder), "name": "mended"})
    # then the file under the key is the image, whole, and the sample decodes
    assert job.status == JobStatus.SUCCEEDED, job.error
    sample = sample_of(job, "cat/a.png")
    assert (sample.image_key, blob_read(key)) == (key, data)
    assert sample_image_open(sample).size == (300, 200)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_import_killed_mid_write_leaves_no_partial_blob_and_a_reimport_decodes(
    celery_worker,  # noqa: F811
    tmp_path: Path,
    isolated_media: Path,
):
    # given a worker whose disk writes originals slowly, importing a 5.8 MB BMP
    data = big_bmp()
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="bmp")
    folder = write_files(source_folder(tmp_path), {"cat/big.bmp": data})
    worker = celery_worker(WINNOW_TEST_SLOW_BLOB_WRITES="1")
    job = job_submit(kind="import_dataset", params={"source": str(folder), "name": "killed"}, requested_by=None)
    # when the worker is SIGKILLed while the original's bytes are being written
    images = isolated_media / "images" / key.split("/")[1]
    deadline = time.monotonic() + 60
    while not any(0 < p.stat().st_size < len(data) for p in images.glob("*") if p.is_file()):
        assert time.monotonic() < deadline, f"the worker never wrote the original\n{worker.log()[-3000:]}"
        assert Job.objects.get(pk=job.pk).status != JobStatus.SUCCEEDED
        time.sleep(0.005)
    worker.kill()
    # then no part of the bytes stands under the key (at most a hidden temporary file beside it)
    assert not (isolated_media / key).exists()
    # and an import of the same file stores it whole: the sample decodes
    again = run_import({"source": str(folder), "name": "again"})
    assert again.status == JobStatus.SUCCEEDED, again.error
    sample = sample_of(again, "cat/big.bmp")
    assert blob_read(sample.image_key) == data
    assert sample_image_open(sample).size == (1600, 1200)


# --- a failed import never deletes the blobs a concurrent import relies on ------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failed_import_keeps_the_blobs_a_concurrent_import_of_the_same_bytes_was_told_exist(
    tmp_path: Path, monkeypatch
):
    # given two imports of the same files: A stores the blobs, then B is told they exist and stores its
    # rows only at its batch's flush; A fails in between, and its cleanup collects what it wrote
    files = {f"cls/{n}.jpg": jpeg(n) for n in range(6)}
    folder = write_files(source_folder(tmp_path), files)
    a = job_create(kind="import_dataset", params={"source": str(folder), "name": "a"}, requested_by=None)
    b = job_create(kind="import_dataset", params={"source": str(folder), "name": "b"}, requested_by=None)
    a_stored, b_staged, a_done = threading.Event(), threading.Event(), threading.Event()
    version_create, batch_flush = import_run._version_create, import_run._batch_flush

    def a_fails_once_b_has_staged(run, params, format):
        if run.job.pk != a.pk:
            return version_create(run, params, format)
        a_stored.set()
        assert b_staged.wait(30)
        raise RuntimeError("A fails after storing its blobs")

    def b_flushes_after_a_is_gone(run):
        if run.job.pk == b.pk and run.pending_samples:
            futures_wait([first.staged for first, _ in run.pending_samples if first.staged is not None])
            b_staged.set()
            assert a_done.wait(30)
        return batch_flush(run)

    monkeypatch.setattr(import_run, "_version_create", a_fails_once_b_has_staged)
    monkeypatch.setattr(import_run, "_batch_flush", b_flushes_after_a_is_gone)

    def run_a() -> None:
        try:
            job_execute(a.pk)
        finally:
            a_done.set()
            connection.close()

    thread = threading.Thread(target=run_a)
    thread.start()
    assert a_stored.wait(30)
    # when B runs while A fails and is cleaned up
    b_job = job_execute(b.pk)
    thread.join(30)
    # then A failed and left no rows, B succeeded, and every blob of B's samples is there and intact
    a_job = Job.objects.get(pk=a.pk)
    assert (a_job.status, b_job.status) == (JobStatus.FAILED, JobStatus.SUCCEEDED), b_job.error
    assert not Sample.objects.filter(import_job_id=a.pk).exists()
    samples = Sample.objects.filter(dataset_id=b_job.result["dataset"])
    assert sorted(s.original_name for s in samples) == sorted(files)
    for sample in samples:
        assert blob_read(sample.image_key) == files[sample.original_name]
        Image.open(io.BytesIO(blob_read(sample.thumbnail_key))).load()
    assert BlobClaim.objects.count() == 0


@pytest.mark.django_db
def test_the_cleanup_of_a_killed_attempt_deletes_the_blobs_it_stored_before_their_rows(tmp_path: Path):
    # given an attempt killed after storing a blob whose row was never inserted (its claim remains)
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    job = job_create(kind="import_dataset", params={"source": str(folder), "name": "retried"}, requested_by=None)
    orphan = jpeg(99)
    orphan_key = blob_key(sha256=sha256_bytes(orphan), kind="images", extension="jpg")
    blob_claims_take([orphan_key], job_id=job.pk)
    blob_save(key=orphan_key, data=orphan)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1)
    # when the job runs again (its retry first undoes the killed attempt)
    job = job_execute(job.pk)
    # then the orphan blob and the claim are gone, and the import is complete
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert orphan_key not in media_files()
    assert list(BlobClaim.objects.all()) == []
    assert list(members_by_name(job.result["version"])) == ["cat/a.jpg"]


# --- one bad row or file is rejected alone ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_label_longer_than_a_label_column_rejects_its_row_only(tmp_path: Path):
    # given JSONL and CSV manifests with a 10 MB label, a 201-character label in a list, and good rows
    folder = source_folder(tmp_path)
    write_files(folder, {f"img/{n}.jpg": jpeg(n) for n in range(6)})
    jsonl = [
        {"path": "img/0.jpg", "label": "y" * 10_000_000},
        {"path": "img/1.jpg", "label": "cat", "labels": ["dog", LONG]},
        {"path": "img/2.jpg", "label": "x" * 200},
    ]
    (folder / "m.jsonl").write_text("\n".join(json.dumps(row) for row in jsonl))
    job = run_import({"source": str(folder / "m.jsonl"), "name": "long-jsonl"})
    with (folder / "m.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["path", "label"], ["img/3.jpg", LONG], ["img/4.jpg", "dog"]])
    csv_job = run_import({"source": str(folder / "m.csv"), "name": "long-csv"})
    # then the long rows are rejected with the reason and the others imported
    assert job.status == csv_job.status == JobStatus.SUCCEEDED, (job.error, csv_job.error)
    assert report_statuses(job) == {
        "img/0.jpg": ("rejected", "line 1: label too long (10,000,000 characters; the limit is 200)"),
        "img/1.jpg": ("rejected", "line 2: label too long (201 characters; the limit is 200)"),
    }
    assert members_by_name(job.result["version"]) == {"img/2.jpg": ("unassigned", "x" * 200, ["x" * 200])}
    assert report_statuses(csv_job) == {
        "img/3.jpg": ("rejected", "line 2: label too long (201 characters; the limit is 200)")
    }
    assert list(members_by_name(csv_job.result["version"])) == ["img/4.jpg"]


@pytest.mark.django_db
def test_an_imagefolder_class_folder_longer_than_a_label_is_rejected(tmp_path: Path):
    folder = write_files(source_folder(tmp_path), {f"{'k' * 220}/a.jpg": jpeg(1), "cat/b.jpg": jpeg(2)})

    job = run_import({"source": str(folder), "name": "long-folder"})

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert report_statuses(job) == {
        f"{'k' * 220}/a.jpg": ("rejected", "label too long (220 characters; the limit is 200)")
    }
    assert list(members_by_name(job.result["version"])) == ["cat/b.jpg"]


@pytest.mark.django_db
def test_a_csv_field_over_the_csv_size_limit_rejects_its_row_only(tmp_path: Path):
    folder = write_files(source_folder(tmp_path), {"a.jpg": jpeg(1), "b.jpg": jpeg(2)})
    (folder / "m.csv").write_text(f"path,label,caption\na.jpg,cat,{'c' * 200_000}\nb.jpg,dog,short\n")

    job = run_import({"source": str(folder / "m.csv"), "name": "huge-field"})

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert report_statuses(job) == {
        "m.csv:2": ("rejected", "line 2: a field is too long to read (field larger than field limit (131072))")
    }
    assert list(members_by_name(job.result["version"])) == ["b.jpg"]


@pytest.mark.django_db
def test_a_jsonl_line_nested_200k_deep_or_with_a_lone_surrogate_rejects_that_line_only(tmp_path: Path):
    folder = write_files(source_folder(tmp_path), {"a.jpg": jpeg(1), "b.jpg": jpeg(2), "c.jpg": jpeg(3)})
    deep = '{"path": "a.jpg", "label": "cat", "x": ' + "[" * 200_000 + "]" * 200_000 + "}"
    surrogate = '{"path": "b.jpg", "label": "\\ud800cat"}'
    (folder / "m.jsonl").write_text("\n".join([deep, surrogate, '{"path": "c.jpg", "label": "dog"}']))

    job = run_import({"source": str(folder / "m.jsonl"), "name": "deep"})

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert report_statuses(job) == {
        "m.jsonl:1": ("rejected", "JSON nested too deeply to read"),
        "m.jsonl:2": ("rejected", "a string holds a lone UTF-16 surrogate (not Unicode text)"),
    }
    assert list(members_by_name(job.result["version"])) == ["c.jpg"]


@pytest.mark.django_db(transaction=True)
def test_a_fifo_in_the_folder_is_skipped_instead_of_blocking_the_import(tmp_path: Path):
    # given a folder with a FIFO named like an image (opening it for reading would wait for a writer)
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    os.mkfifo(folder / "cat" / "pipe.jpg")
    # when imported (on a thread, so that a blocked open can be released and reported)
    result: dict[str, Job] = {}

    def run() -> None:
        try:
            result["job"] = run_import({"source": str(folder), "name": "fifo"})
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if thread.is_alive():  # the import is stuck in open(): give the FIFO a writer so the thread ends
        os.close(os.open(folder / "cat" / "pipe.jpg", os.O_WRONLY | os.O_NONBLOCK))
        thread.join(30)
        pytest.fail("the import blocked on the FIFO")
    # then the FIFO is reported and the image imported
    job = result["job"]
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert report_statuses(job) == {"cat/pipe.jpg": ("rejected", "not a regular file (a FIFO): skipped")}
    assert list(members_by_name(job.result["version"])) == ["cat/a.jpg"]


@pytest.mark.django_db
def test_a_source_of_only_bad_rows_fails_and_leaves_nothing(tmp_path: Path):
    folder = write_files(source_folder(tmp_path), {"a.jpg": jpeg(1)})
    (folder / "m.jsonl").write_text(json.dumps({"path": "a.jpg", "label": LONG}))

    job = run_import({"source": str(folder / "m.jsonl"), "name": "only-bad"})

    assert job.status == JobStatus.FAILED
    assert row_counts() == NOTHING
