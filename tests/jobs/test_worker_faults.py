"""Jobs on a real Celery worker process, and the faults it must survive (docs/ARCHITECTURE.md §3).

Workers run with fast recovery settings (tests/worker.py): lost after 6 s without a heartbeat,
reaper every second, queued messages re-sent after 3 s.
"""

import re
import socket
import time

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_cancel_request, job_submit
from tests.jobs.job_kinds_for_tests import COUNT, RAISE, batch_groups
from tests.worker import broker_client, redis_restart, wait_for_job, worker_of

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def expected_groups(job_id: int, batches: int) -> list[str]:
    return sorted(f"job-{job_id}-batch-{index}" for index in range(batches))


def is_running_past(fraction: float):
    return lambda job: job.status == JobStatus.RUNNING and job.progress >= fraction


def is_finished(job: Job) -> bool:
    return job.is_finished


def test_a_job_runs_on_the_worker_to_success(celery_worker, curator):
    celery_worker()

    job = job_submit(kind=COUNT, params={"batches": 3}, requested_by=curator)
    job = wait_for_job(job.pk, is_finished)

    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 1.0
    assert job.result == {"batches": 3, "groups": 3}
    assert job.message == "Done"
    assert job.attempts == 1
    assert job.worker.startswith(f"{socket.gethostname()}:")
    assert job.log_tail.splitlines() == [f"batch {index} written" for index in range(3)]
    assert batch_groups(job.pk) == expected_groups(job.pk, 3)


def test_cancel_during_a_run_stops_it_between_batches_and_cleans_up(celery_worker, curator):
    celery_worker()
    job = job_submit(kind=COUNT, params={"batches": 60, "delay": 0.2}, requested_by=curator)
    wait_for_job(job.pk, is_running_past(0.05))

    job_cancel_request(job=job, user=curator)
    job = wait_for_job(job.pk, is_finished)

    assert job.status == JobStatus.CANCELLED
    assert job.message == "Cancelled"
    assert job.error == ""
    assert 0.05 <= job.progress < 0.5
    assert batch_groups(job.pk) == []
    time.sleep(1.0)  # the worker has stopped: nothing more is written afterwards
    assert batch_groups(job.pk) == []
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED


def test_a_job_whose_worker_is_killed_is_retried_to_success_on_a_new_worker(celery_worker, curator):
    first = celery_worker()
    job = job_submit(kind=COUNT, params={"batches": 12, "delay": 0.25}, requested_by=curator)
    wait_for_job(job.pk, is_running_past(0.25))

    first.kill()
    celery_worker()
    job = wait_for_job(job.pk, is_finished)

    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert job.result == {"batches": 12, "groups": 12}
    assert batch_groups(job.pk) == expected_groups(job.pk, 12)
    assert "worker lost" in job.log_tail


def test_a_worker_frozen_past_its_heartbeat_timeout_stops_when_it_wakes_and_the_job_finishes_once(
    celery_worker, curator
):
    # given a job running on one of two workers
    workers = [celery_worker(), celery_worker()]
    job = job_submit(kind=COUNT, params={"batches": 16, "delay": 0.25}, requested_by=curator)
    job = wait_for_job(job.pk, is_running_past(0.1))
    frozen = worker_of(job, workers)
    survivor = next(worker for worker in workers if worker is not frozen)
    # when its worker is frozen (a starved CPU) until the job is taken over by the other, then wakes up
    frozen.freeze()
    wait_for_job(job.pk, lambda job: job.status == JobStatus.RUNNING and job.attempts == 2)
    frozen.thaw()
    job = wait_for_job(job.pk, is_finished)
    # then the woken attempt stops without writing its outcome, and the job finishes once, on the other worker
    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 2, {"batches": 16, "groups": 16})
    assert worker_of(job, workers) is survivor
    assert batch_groups(job.pk) == expected_groups(job.pk, 16)
    assert job.log_tail.count("worker lost") == 1
    assert f"job {job.pk}: attempt 1 was superseded" in frozen.log()
    assert frozen.is_running()


def test_a_job_whose_worker_is_killed_on_its_last_attempt_fails_with_the_reason(celery_worker, curator):
    first = celery_worker(WINNOW_JOB_MAX_ATTEMPTS="1")
    job = job_submit(kind=COUNT, params={"batches": 12, "delay": 0.25}, requested_by=curator)
    wait_for_job(job.pk, is_running_past(0.25))

    first.kill()
    celery_worker(WINNOW_JOB_MAX_ATTEMPTS="1")
    job = wait_for_job(job.pk, is_finished)

    assert job.status == JobStatus.FAILED
    # Either the redelivered message or the reaper finds the dead attempt first; both say why.
    assert re.fullmatch(r"worker lost(: no heartbeat for \d+ s| during attempt 1)", job.error)
    assert job.message == job.error
    assert job.attempts == 1
    assert batch_groups(job.pk) == []


def test_jobs_queued_while_the_broker_restarts_are_still_delivered(celery_worker, curator):
    queued = [job_submit(kind=COUNT, params={"batches": 2}, requested_by=curator) for _ in range(2)]
    assert broker_client().llen("default") == 2

    redis_restart()
    assert broker_client().llen("default") == 0  # no persistence: the messages are gone
    after_restart = job_submit(kind=COUNT, params={"batches": 2}, requested_by=curator)
    celery_worker()
    jobs = [wait_for_job(job.pk, is_finished) for job in [*queued, after_restart]]

    assert [(job.status, job.attempts, job.result) for job in jobs] == [
        (JobStatus.SUCCEEDED, 1, {"batches": 2, "groups": 2})
    ] * 3
    resent = "message re-sent: the broker may have lost it"
    assert [job.log_tail.splitlines()[0] == resent for job in jobs] == [True, True, False]


def test_a_job_that_raises_on_the_worker_fails_with_the_error_and_leaves_nothing(celery_worker, curator):
    celery_worker()

    job = job_submit(kind=RAISE, params={"batches": 2}, requested_by=curator)
    job = wait_for_job(job.pk, is_finished)

    assert job.status == JobStatus.FAILED
    assert job.error == "ValueError: boom after 2 batches"
    assert job.message == "ValueError: boom after 2 batches"
    assert job.result == {}
    assert "Traceback (most recent call last)" in job.log_tail
    assert job.log_tail.splitlines()[-1] == "ValueError: boom after 2 batches"
    assert batch_groups(job.pk) == []
