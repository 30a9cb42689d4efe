"""Workers with no shared disk: the loop through a web process and two Celery workers, files only on S3.

Three processes besides pytest, each with its own WINNOW_VAR_DIR (its own scratch and cache of stored
files) and nothing else in common but PostgreSQL, Redis (the broker) and the S3 test server's bucket:
`manage.py runserver` (the web process, driven over HTTP with an API token) and two workers
(tests/worker.py). The loop runs through the API (training through its service: the API offers only
production architectures): import an uploaded zip -> embed (chunks claimed by whichever worker is free)
-> cluster -> prune -> apply -> train -> evaluate -> explain (Grad-CAM maps) -> export, and each file a step
needs comes out of the bucket, whichever worker wrote it; the export is downloaded through the web process.

The training run is long enough to kill mid-job: once its first epoch is checkpointed (on S3), the worker
running it is SIGKILLed; the other worker takes the job over when its heartbeat stops (6 s, fast recovery)
and resumes from that checkpoint, which it can only read from the bucket.
"""

import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from PIL import Image

from core.roles import Role
from curation.embeddings.models import EmbeddingSet
from curation.models import DatasetVersion
from explain.models import ExplanationRun
from jobs.models import Job, JobStatus
from robustness.models import TrainedModel, TrainingRun
from robustness.services.training import training_run_start
from tests.factories import UserFactory
from tests.robustness.models_for_tests import SLOW
from tests.s3.conftest import s3_client
from tests.worker import WorkerProcess, worker_database_url, worker_of

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"  # UserFactory's password
CLASS_COLOURS = {"cat": (200, 40, 40), "dog": (40, 200, 40)}
SPLIT_SIZES = {"train": 10, "val": 3, "test": 3}
JOB_TIMEOUT_S = 180.0
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # two shared cores: no intra-op oversubscription


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.curation.embeddings.encoders_for_tests,tests.robustness.models_for_tests"


def coloured_png(colour: tuple[int, int, int], index: int, size: int = 20) -> bytes:
    pixels = np.full((size, size, 3), colour, dtype=np.int16)
    pixels += np.random.default_rng(index).integers(-30, 30, pixels.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def dataset_zip() -> bytes:
    """train/val/test folders of two classes of coloured noise (each image distinct)."""
    buffer = io.BytesIO()
    index = 0
    with zipfile.ZipFile(buffer, "w") as archive:
        for split, count in SPLIT_SIZES.items():
            for label, colour in CLASS_COLOURS.items():
                for _ in range(count):
                    index += 1
                    archive.writestr(f"{split}/{label}/{label}_{index:03d}.png", coloured_png(colour, index))
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def web_process(s3_storage, tmp_path, worker_job_modules, tiny_clip):
    """`manage.py runserver` on the test database, broker and bucket, with a private var dir; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "WINNOW_VAR_DIR": str(tmp_path / "web-var"),
        "WINNOW_MEDIA_ROOT": str(tmp_path / "web-media"),
        "WINNOW_EXTRA_JOB_MODULES": worker_job_modules,
        "WINNOW_WEIGHTS_ROOTS": str(tiny_clip.local_dir),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "web.log"
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    web = WorkerProcess(name="web", process=process, log_path=log_path)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            requests.get(f"{base}/api/jobs/", timeout=30)
            break
        except requests.RequestException:  # not listening yet, or still importing the app
            if not web.is_running() or time.monotonic() > deadline:
                web.stop()
                raise RuntimeError(f"the web process did not start; its log:\n{web.log()[-4000:]}")
            time.sleep(0.2)
    yield base
    web.stop()
    print(f"--- log of the web process (last 4000 characters) ---\n{web.log()[-4000:]}")


class Api:
    """The web process's API over HTTP, signed in with a token."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.session = requests.Session()
        token = self.session.post(f"{base}/api/auth/token/", json={"username": username, "password": PASSWORD})
        assert token.status_code == 200, token.text
        self.session.headers["Authorization"] = f"Token {token.json()['token']}"

    def post(self, path: str, expected: int = 202, **kwargs) -> dict:
        response = self.session.post(self.base + path, timeout=60, **kwargs)
        assert response.status_code == expected, (path, response.status_code, response.text[:2000])
        return response.json()

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.session.get(self.base + path, timeout=60, **kwargs)
        assert response.status_code in (200, 206), (path, response.status_code, response.text[:2000])
        return response

    def job_done(self, job_id: int, timeout: float = JOB_TIMEOUT_S) -> dict:
        """Poll the job over the API until it ends; fail unless it succeeded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/api/jobs/{job_id}/").json()
            if job["status"] in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
                assert job["status"] == JobStatus.SUCCEEDED, job
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s: {Job.objects.get(pk=job_id).__dict__}")


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(message)


def bucket_keys(bucket: str, prefix: str) -> list[str]:
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))


def test_the_loop_runs_on_two_workers_without_a_shared_disk_and_survives_a_killed_worker(
    s3_storage, s3_bucket, web_process, celery_worker, encoder_name, tiny_clip, tmp_path
):
    UserFactory(username="loop-admin", role=Role.ADMIN)
    api = Api(web_process, "loop-admin")
    extra = {"WINNOW_WEIGHTS_ROOTS": str(tiny_clip.local_dir), **ONE_THREAD}
    workers = [celery_worker(**extra), celery_worker(**extra)]

    # Import: the upload lands in the bucket through the web process; a worker reads it from there.
    files = {"file": ("pets.zip", dataset_zip(), "application/zip")}
    accepted = api.post("/api/datasets/imports/", files=files, data={"name": "pets-s3"})
    imported = api.job_done(accepted["job"])["result"]
    version_id = imported["version"]
    assert imported["imported"] == 2 * sum(SPLIT_SIZES.values())

    # Embed in chunks of 4 (claimed by whichever worker is free); the set is assembled and indexed on one of them.
    job_id = api.post(f"/api/versions/{version_id}/embeddings/", json={"encoder": encoder_name, "chunk_size": 4})["job"]
    api.job_done(job_id)
    embedding_set = EmbeddingSet.objects.get(job_id=job_id)
    assert embedding_set.rows == 32
    chunk_workers = set(embedding_set.chunks.values_list("worker", flat=True))

    # Cluster, prune (random, half of train) and apply: the embeddings are read back from the bucket.
    cluster = {"version": version_id, "embedding_set": embedding_set.pk, "n_clusters": 2}
    api.job_done(api.post("/api/cluster-runs/", json=cluster)["job"])
    prune = {"version": version_id, "method": "random", "keep_fraction": 0.8, "embedding_set": embedding_set.pk}
    prune_job = api.job_done(api.post("/api/prune-runs/", json=prune)["job"])
    prune_run_id = prune_job["result"]["prune_run"]
    applied = api.post(f"/api/prune-runs/{prune_run_id}/apply/", expected=201)
    child_id = applied["version"]

    # Train (slow batches, 4 epochs) and kill the worker running it once epoch 1 is checkpointed. The run is
    # started through the service (the API offers only the production architectures, not the test's slow one).
    admin = User.objects.get(username="loop-admin")
    run = training_run_start(
        version=DatasetVersion.objects.get(pk=child_id), arch=SLOW, requested_by=admin, epochs=4, batch_size=8,
        img_size=16, device="cpu",
    )  # fmt: skip
    run_id = run.pk

    def epoch_recorded() -> bool:
        current = TrainingRun.objects.select_related("job").get(pk=run_id)
        assert not current.job.is_finished, (current.job.status, current.job.error)
        return len(current.epoch_metrics) >= 1

    wait_for(epoch_recorded, 120, "epoch 1 was not recorded")
    killed = worker_of(Job.objects.get(pk=run.job_id), workers)
    killed.kill()
    survivor = next(worker for worker in workers if worker is not killed)
    train_job = api.job_done(run.job_id)
    run.refresh_from_db()
    assert train_job["attempts"] == 2
    assert [row["attempt"] for row in run.epoch_metrics][:1] == [1] and len(run.epoch_metrics) == 4
    assert worker_of(Job.objects.get(pk=run.job_id), workers) is survivor
    trained = TrainedModel.objects.get(run=run)

    # Evaluate and explain on the survivor: the checkpoint comes from the bucket.
    evaluation = {"trained_model": trained.pk, "version": child_id, "suites": ["clean"], "params": {"device": "cpu"}}
    api.job_done(api.post("/api/evaluations/start/", json=evaluation)["job"])
    explanation = {"trained_model": trained.pk, "version": child_id, "method": "gradcam",
                   "params": {"max_samples": 4, "device": "cpu"}}  # fmt: skip
    explain_job = api.post("/api/explanations/start/", json=explanation)
    api.job_done(explain_job["job"])
    explanation_run = ExplanationRun.objects.get(pk=explain_job["explanation_run"])
    raw_files = api.get(f"/api/explanations/{explanation_run.pk}/").json()["raw_files"]
    raw = api.get(raw_files[0]["url"]).content
    assert np.load(io.BytesIO(raw)).files  # a Grad-CAM .npz, served by the web process from the bucket

    # Export the pruned version and download it through the web process, whole and by range.
    export = api.post(f"/api/versions/{child_id}/exports/", json={"format": "imagefolder-zip"})
    api.job_done(export["job"])
    detail = api.get(f"/api/exports/{export['export']['id']}/").json()
    item = detail["files"][0]
    body = api.get(item["url"]).content
    tail = api.get(item["url"], headers={"Range": "bytes=-64"})
    assert hashlib.sha256(body).hexdigest() == item["sha256"] and tail.content == body[-64:]
    members = [name for name in zipfile.ZipFile(io.BytesIO(body)).namelist() if name.endswith(".png")]
    assert len(members) == applied["sample_count"]

    # Nothing was shared but the bucket: the files are there, and in no process's media root.
    assert bucket_keys(s3_bucket, f"embeddings/sets/{embedding_set.pk}/") != []
    assert bucket_keys(s3_bucket, f"checkpoints/training-runs/{run.pk}/") != []
    assert bucket_keys(s3_bucket, f"exports/{export['export']['id']}/") != []
    media_files = [path for path in Path(tmp_path).rglob("*") if path.is_file() and "media" in path.parts[-3:-1]]
    assert media_files == []
    print(f"embedding chunks claimed by {sorted(chunk_workers)}; training finished on {survivor.name}")
