"""The `explain` job on a real Celery worker: it runs there end to end, and a cancel stops it between batches.

Workers run with fast recovery (tests/worker.py). The test-only `test-slow-cam-cnn` sleeps 0.25 s per
forward pass, so with batches of one sample the cancel test acts mid-run.
"""

import os

import pytest

from explain.models import SampleExplanation
from explain.services import explanation_run_create, explanation_run_files
from jobs.models import JobStatus
from jobs.services import job_cancel_request
from robustness.ml.checkpoints import checkpoint_build, checkpoint_write
from robustness.ml.models import create_model
from robustness.services.checkpoints import checkpoint_store
from tests.explain.models_for_tests import SLOW_CAM
from tests.robustness.factories import TrainedModelFactory
from tests.worker import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # two shared cores: see tests/robustness/conftest.py


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.explain.models_for_tests"


def test_an_explanation_runs_on_a_worker_and_records_every_sample(
    celery_worker, eval_version, stored_model, admin_user
):
    version = eval_version({"cat": 3, "dog": 3}, without_mask=1)
    trained = stored_model(["cat", "dog"])
    celery_worker(**ONE_THREAD)

    run = explanation_run_create(
        trained_model=trained, version=version, requested_by=admin_user,
        params={"device": "cpu", "batch_size": 4, "road_percentiles": [50]},
    )  # fmt: skip
    job = wait_for_job(run.job_id, lambda job: job.is_finished, timeout=120)

    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.worker and not job.worker.endswith(f":{os.getpid()}")  # run by the worker process, not here
    assert SampleExplanation.objects.filter(run=run).count() == 6
    assert len(explanation_run_files(run.pk)) == 2 + 3 * 6
    assert run.summary["overall"]["with_mask"] == 5 and job.result["explanation_run"] == run.pk


def stored_slow_model(tmp_path):
    trained = TrainedModelFactory(run__arch=SLOW_CAM, img_size=16)
    checkpoint = checkpoint_build(
        model=create_model(SLOW_CAM, 2), arch=SLOW_CAM, classes=["cat", "dog"], img_size=16, epoch=1
    )
    checkpoint_write(checkpoint, tmp_path / "slow.pt")
    key = checkpoint_store(run_id=trained.run.pk, name="slow", local_path=tmp_path / "slow.pt")
    trained.checkpoint_best_key = trained.checkpoint_last_key = key
    trained.save(update_fields=["checkpoint_best_key", "checkpoint_last_key"])
    return trained


def test_cancel_on_the_worker_stops_between_batches_and_leaves_nothing(
    celery_worker, eval_version, admin_user, tmp_path
):
    version = eval_version({"cat": 10, "dog": 10})
    trained = stored_slow_model(tmp_path)
    celery_worker(**ONE_THREAD)
    run = explanation_run_create(
        trained_model=trained, version=version, requested_by=admin_user,
        params={"device": "cpu", "batch_size": 1, "road_percentiles": []},
    )  # fmt: skip
    wait_for_job(run.job_id, lambda job: SampleExplanation.objects.filter(run=run).exists(), timeout=90)

    job_cancel_request(job=run.job, user=admin_user)
    job = wait_for_job(run.job_id, lambda job: job.is_finished, timeout=30)

    run.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.CANCELLED, "Cancelled")
    assert 0 < job.progress < 1
    assert SampleExplanation.objects.filter(run=run).count() == 0
    assert explanation_run_files(run.pk) == [] and run.summary == {}
