"""The `train` job on a real Celery worker: resume after the worker is killed, cancel between batches.

Workers run with fast recovery (tests/worker.py): lost after 2 s without a heartbeat, reaper every second.
The test-only `test-slow-cnn` sleeps 0.3 s per training batch (3 batches an epoch), so the tests act mid-epoch.
"""

import time

import pytest

from jobs.models import JobStatus
from jobs.services import job_cancel_request
from robustness.models import TrainedModel, TrainingRun
from robustness.services.checkpoints import checkpoint_keys_of_run
from robustness.services.training import training_run_start
from tests.robustness.models_for_tests import SLOW
from tests.worker import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # two shared cores: see tests/robustness/conftest.py


def wait_for_epochs(run: TrainingRun, count: int, timeout: float = 60.0) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if len(run.epoch_metrics) >= count or run.job.is_finished:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run.pk} recorded {len(run.epoch_metrics)} epochs in {timeout} s")


def start_slow_run(version, admin_user, epochs: int) -> TrainingRun:
    return training_run_start(
        version=version, arch=SLOW, requested_by=admin_user, epochs=epochs, batch_size=8, img_size=16, device="cpu"
    )


def test_a_killed_worker_is_replaced_and_the_run_resumes_from_its_last_checkpoint(
    celery_worker, labelled_version, admin_user
):
    version = labelled_version(train={"cat": 12, "dog": 12}, val={"cat": 2, "dog": 2})
    first = celery_worker(**ONE_THREAD)
    run = start_slow_run(version, admin_user, epochs=4)
    run = wait_for_epochs(run, 1)

    first.kill()  # during epoch 2: epoch 1 is checkpointed and recorded
    run.refresh_from_db()
    assert [row["epoch"] for row in run.epoch_metrics] == [1]
    epoch_1 = run.epoch_metrics[0]
    celery_worker(**ONE_THREAD)
    job = wait_for_job(run.job.pk, lambda job: job.is_finished, timeout=90)

    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert [row["epoch"] for row in run.epoch_metrics] == [1, 2, 3, 4]
    assert [row["attempt"] for row in run.epoch_metrics] == [1, 2, 2, 2]  # epoch 1 was not computed again
    assert run.epoch_metrics[0] == epoch_1
    assert "worker lost" in job.log_tail
    resumed = f"resumed from the checkpoint of epoch 1 (checkpoints/training-runs/{run.pk}/last-epoch001.pt)"
    assert resumed in job.log_tail
    assert checkpoint_keys_of_run(run.pk) == sorted({run.checkpoint_best_key, run.checkpoint_last_key})
    assert TrainedModel.objects.get(run=run).metrics["epochs"] == 4


def test_cancel_stops_training_between_batches_and_keeps_only_the_recorded_checkpoints(
    celery_worker, labelled_version, admin_user
):
    version = labelled_version(train={"cat": 12, "dog": 12}, val={"cat": 2, "dog": 2})
    celery_worker(**ONE_THREAD)
    run = start_slow_run(version, admin_user, epochs=20)
    run = wait_for_epochs(run, 1)

    job_cancel_request(job=run.job, user=admin_user)
    job = wait_for_job(run.job.pk, lambda job: job.is_finished, timeout=20)

    run.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.CANCELLED, "Cancelled")
    assert 1 <= len(run.epoch_metrics) < 20
    assert run.checkpoint_last_key.endswith(f"last-epoch{len(run.epoch_metrics):03d}.pt")
    assert checkpoint_keys_of_run(run.pk) == sorted({run.checkpoint_best_key, run.checkpoint_last_key})
    assert not TrainedModel.objects.exists()
