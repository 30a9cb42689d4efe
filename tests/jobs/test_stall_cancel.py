"""A job stuck in a blocking call on a real worker: a cancel still stops it, and the reaper fails it
once it has made no progress for longer than its kind's stall timeout. Either way its worker is freed.

The job kind (tests/jobs/job_kinds_for_tests.py: BLOCKS) writes one batch, then blocks in open() of a
FIFO that no one writes to, so it never reaches a progress call again; only its heartbeat thread runs.
"""

import os
from datetime import timedelta

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_cancel_request, job_submit, jobs_reap_orphaned
from tests.jobs.job_kinds_for_tests import BLOCKS, BLOCKS_UNINTERRUPTIBLY, COUNT, batch_groups
from tests.worker import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "cat" / "pipe.jpg"
    path.parent.mkdir()
    os.mkfifo(path)
    return path


def blocked_in_the_fifo(job: Job) -> bool:
    return job.status == JobStatus.RUNNING and job.message == "batch 1 of 1"


def assert_the_worker_runs_the_next_job(user) -> None:
    following = job_submit(kind=COUNT, params={"batches": 2}, requested_by=user)
    following = wait_for_job(following.pk, lambda job: job.is_finished)
    assert (following.status, following.result) == (JobStatus.SUCCEEDED, {"batches": 2, "groups": 2})


def test_a_cancel_interrupts_a_job_blocked_in_open_and_cleans_up(celery_worker, curator, fifo):
    # given a job blocked in open() of a FIFO after writing one batch, on a one-process worker
    worker = celery_worker()
    job = job_submit(kind=BLOCKS, params={"fifo": str(fifo)}, requested_by=curator)
    wait_for_job(job.pk, blocked_in_the_fifo)
    assert batch_groups(job.pk) == [f"job-{job.pk}-batch-0"]
    # when its owner cancels it
    job_cancel_request(job=job, user=curator)
    # then the heartbeat interrupts it: cancelled, its batch cleaned up, nothing written after the FIFO
    job = wait_for_job(job.pk, lambda job: job.is_finished)
    assert (job.status, job.message, job.error) == (JobStatus.CANCELLED, "Cancelled (interrupted)", "")
    assert batch_groups(job.pk) == []
    assert f"job {job.pk}: interrupting attempt 1 (cancel)" in worker.log()
    # and the worker's only process is free for the next job
    assert_the_worker_runs_the_next_job(curator)
    assert batch_groups(job.pk) == []


def test_the_reaper_fails_a_stalled_job_and_its_worker_is_freed(celery_worker, curator, fifo):
    # given a job blocked in open() of a FIFO whose heartbeat is fresh (its thread keeps beating)
    worker = celery_worker()
    job = job_submit(kind=BLOCKS, params={"fifo": str(fifo)}, requested_by=curator)
    job = wait_for_job(job.pk, blocked_in_the_fifo)
    # when the reaper runs 2 s after its last progress (the kind's stall timeout is 1 s)
    acted = jobs_reap_orphaned(now=job.progress_at + timedelta(seconds=2))
    # then it is failed as stalled, with its batch cleaned up
    job.refresh_from_db()
    assert acted == [job.pk]
    reason = f"stalled: no progress for 2 s (the limit for {BLOCKS} jobs is 1 s)"
    assert (job.status, job.message, job.error) == (JobStatus.FAILED, reason, reason)
    assert job.log_tail.splitlines()[-1] == reason
    assert batch_groups(job.pk) == []
    # and the worker's heartbeat sees the attempt is over and interrupts the function, which frees the worker
    assert_the_worker_runs_the_next_job(curator)
    assert f"job {job.pk}: interrupting attempt 1 (superseded)" in worker.log()
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    assert batch_groups(job.pk) == []


def test_the_reaper_leaves_a_job_that_reports_progress_within_its_limit(celery_worker, curator, fifo, settings):
    # given the same blocked job, and its kind's stall timeout raised to 60 s by the setting
    settings.JOB_STALL_TIMEOUTS = {BLOCKS: 60}
    celery_worker()
    job = job_submit(kind=BLOCKS, params={"fifo": str(fifo)}, requested_by=curator)
    job = wait_for_job(job.pk, blocked_in_the_fifo)
    # when the reaper runs 59 s after its last progress, then 61 s after
    before = jobs_reap_orphaned(now=job.progress_at + timedelta(seconds=59))
    after = jobs_reap_orphaned(now=job.progress_at + timedelta(seconds=61))
    # then only the second run fails it
    assert (before, after) == ([], [job.pk])
    assert Job.objects.get(pk=job.pk).error == f"stalled: no progress for 61 s (the limit for {BLOCKS} jobs is 60 s)"


def test_a_cancelled_job_that_cannot_be_interrupted_is_ended_by_its_heartbeat(celery_worker, curator, fifo):
    # given a job blocked in open() with the interrupt signal masked (it can neither see nor be stopped)
    worker = celery_worker()
    job = job_submit(kind=BLOCKS_UNINTERRUPTIBLY, params={"fifo": str(fifo)}, requested_by=curator)
    wait_for_job(job.pk, blocked_in_the_fifo)
    # when its owner cancels it
    job_cancel_request(job=job, user=curator)
    # then its heartbeat thread cleans up and records it as cancelled, though the function is still stuck
    job = wait_for_job(job.pk, lambda job: job.is_finished)
    reason = "Cancelled (the job did not stop; ended by its heartbeat)"
    assert (job.status, job.message, job.error) == (JobStatus.CANCELLED, reason, "")
    assert job.log_tail.splitlines()[-1] == reason
    assert batch_groups(job.pk) == []
    assert f"job {job.pk}: interrupting attempt 1 (cancel)" in worker.log()
