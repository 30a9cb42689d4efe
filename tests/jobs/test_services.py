"""The job services in this process: create and routing, sending, running, cancel."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from core.api_errors import ApplicationError
from jobs.models import Job, JobStatus
from jobs.services import NO_GPU_MESSAGE, job_cancel_request, job_create, job_execute, job_submit
from tests.factories import JobFactory
from tests.jobs.job_kinds_for_tests import (
    CANCELS_ITSELF,
    CHATTY,
    COUNT,
    FAIL_CLEARLY,
    GPU,
    PROGRESS_STORM,
    RAISE,
    RETURNS_LIST,
    SUPERSEDED,
    SUPERSEDED_THEN_FAILS,
    batch_groups,
)

pytestmark = pytest.mark.django_db


def queued_task_ids(broker, queue: str) -> list[str]:
    """Ids of the task messages waiting in a queue of the real Redis broker, oldest first."""
    return [json.loads(raw)["headers"]["id"] for raw in reversed(broker.lrange(queue, 0, -1))]


# --- create and routing -------------------------------------------------------------------------


def test_create_queues_a_job_on_its_kinds_queue(curator):
    job = job_create(kind=COUNT, params={"batches": 2}, requested_by=curator)

    assert (job.kind, job.status, job.queue, job.params) == (COUNT, JobStatus.QUEUED, "default", {"batches": 2})
    assert (job.requested_by, job.message, job.celery_task_id, job.attempts) == (curator, "", "", 0)


def test_a_gpu_kind_without_gpu_workers_runs_on_the_cpu_queue_and_says_so(settings, admin_user):
    settings.WINNOW_GPU_WORKERS = False

    job = job_create(kind=GPU, params={}, requested_by=admin_user)

    assert (job.queue, job.message, job.log_tail) == ("default", NO_GPU_MESSAGE, NO_GPU_MESSAGE)
    assert NO_GPU_MESSAGE == "No GPU worker configured: running on CPU"


def test_a_gpu_kind_with_gpu_workers_goes_to_the_gpu_queue(settings, admin_user):
    settings.WINNOW_GPU_WORKERS = True

    job = job_create(kind=GPU, params={}, requested_by=admin_user)

    assert (job.queue, job.message) == ("gpu", "")


@pytest.mark.parametrize(
    ("kind", "params", "code", "status_code"),
    [
        ("no_such_kind", {}, "unknown_job_kind", 400),
        (COUNT, {"folder": Path("/data")}, "invalid_params", 400),
        (COUNT, {"ratio": float("nan")}, "invalid_params", 400),
        (COUNT, ["not", "an", "object"], "invalid_params", 400),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(curator, kind, params, code, status_code):
    with pytest.raises(ApplicationError) as refused:
        job_create(kind=kind, params=params, requested_by=curator)

    assert (refused.value.code, refused.value.status_code) == (code, status_code)
    assert Job.objects.count() == 0


def test_create_refuses_a_role_without_the_kinds_capability(viewer, curator):
    for user, kind in [(viewer, COUNT), (curator, GPU)]:
        with pytest.raises(ApplicationError) as refused:
            job_create(kind=kind, params={}, requested_by=user)

        assert (refused.value.code, refused.value.status_code) == ("permission_denied", 403)
    assert Job.objects.count() == 0


# --- submit: the message is sent once the transaction commits -----------------------------------


def test_submit_sends_one_message_after_commit_with_the_recorded_task_id(
    broker, curator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_submit(kind=COUNT, params={"batches": 1}, requested_by=curator)
        assert queued_task_ids(broker, "default") == []  # nothing is sent before the commit

    job.refresh_from_db()
    assert queued_task_ids(broker, "default") == [job.celery_task_id]
    assert job.heartbeat_at is not None  # while queued: when the message was sent
    assert job.status == JobStatus.QUEUED


def test_submit_of_a_gpu_kind_without_gpu_workers_sends_to_the_default_queue(
    broker, settings, admin_user, django_capture_on_commit_callbacks
):
    settings.WINNOW_GPU_WORKERS = False

    with django_capture_on_commit_callbacks(execute=True):
        job = job_submit(kind=GPU, params={}, requested_by=admin_user)

    assert queued_task_ids(broker, "default") == [job.celery_task_id]
    assert queued_task_ids(broker, "gpu") == []


def test_submit_that_fails_validation_sends_nothing(broker, curator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError):
        job_submit(kind="no_such_kind", params={}, requested_by=curator)

    assert (Job.objects.count(), broker.llen("default")) == (0, 0)


# --- execute ------------------------------------------------------------------------------------


def test_execute_runs_the_kind_to_success(curator):
    job = job_create(kind=COUNT, params={"batches": 3}, requested_by=curator)
    reports = []

    job = job_execute(job.pk, progress_callback=lambda done, total, message: reports.append((done, total, message)))

    assert (job.status, job.progress, job.message, job.error) == (JobStatus.SUCCEEDED, 1.0, "Done", "")
    assert (job.result, job.attempts) == ({"batches": 3, "groups": 3}, 1)
    assert job.started_at <= job.finished_at
    assert job.log_tail.splitlines() == ["batch 0 written", "batch 1 written", "batch 2 written"]
    assert reports == [(1, 3, "batch 1 of 3"), (2, 3, "batch 2 of 3"), (3, 3, "batch 3 of 3")]
    assert batch_groups(job.pk) == [f"job-{job.pk}-batch-{index}" for index in range(3)]


def test_a_clear_failure_fails_the_job_with_its_reason_and_cleans_up(curator):
    job = job_create(kind=FAIL_CLEARLY, params={}, requested_by=curator)

    job = job_execute(job.pk)

    assert (job.status, job.error, job.message) == (JobStatus.FAILED, "the source folder is empty", job.error)
    assert job.result == {}
    assert batch_groups(job.pk) == []


def test_an_unexpected_exception_fails_with_a_one_line_summary_and_the_traceback_in_the_log(curator):
    job = job_create(kind=RAISE, params={"batches": 2}, requested_by=curator)

    job = job_execute(job.pk)

    assert (job.status, job.error, job.message) == (JobStatus.FAILED, "ValueError: boom after 2 batches", job.error)
    log = job.log_tail.splitlines()
    assert log[:3] == ["batch 0 written", "batch 1 written", "Traceback (most recent call last):"]
    assert log[-1] == "ValueError: boom after 2 batches"
    assert batch_groups(job.pk) == []


def test_a_cancel_request_stops_the_job_at_its_next_progress_report_and_cleans_up(curator):
    job = job_create(kind=CANCELS_ITSELF, params={}, requested_by=curator)

    job = job_execute(job.pk)

    assert (job.status, job.message, job.error, job.result) == (JobStatus.CANCELLED, "Cancelled", "", {})
    assert batch_groups(job.pk) == []


def test_a_result_that_is_not_a_dict_fails_the_job(curator):
    job = job_create(kind=RETURNS_LIST, params={}, requested_by=curator)

    job = job_execute(job.pk)

    assert job.status == JobStatus.FAILED
    assert job.error == f"TypeError: job kind '{RETURNS_LIST}' returned list, not a dict"


def test_a_kind_this_process_does_not_know_fails_with_a_hint():
    job = JobFactory(kind="made_up_kind")

    job = job_execute(job.pk)

    assert job.status == JobStatus.FAILED
    assert job.error.startswith("unknown job kind 'made_up_kind'; known: ")
    assert job.error.endswith("(is the module that registers it imported by this worker?)")


def test_progress_writes_are_throttled(curator, django_assert_max_num_queries):
    job = job_create(kind=PROGRESS_STORM, params={}, requested_by=curator)

    with django_assert_max_num_queries(12):  # claim, the first report, the last report, the end
        job = job_execute(job.pk)

    assert (job.status, job.result, job.progress) == (JobStatus.SUCCEEDED, {"steps": 1000}, 1.0)


def test_the_log_tail_keeps_the_last_200_lines(curator):
    job = job_create(kind=CHATTY, params={}, requested_by=curator)

    job = job_execute(job.pk)

    assert job.log_tail.splitlines() == [f"line {index}" for index in range(50, 250)]


def test_an_attempt_that_was_handed_to_another_attempt_stops_and_writes_nothing(curator):
    job = job_create(kind=SUPERSEDED, params={}, requested_by=curator)

    job = job_execute(job.pk)

    assert (job.status, job.message, job.result, job.finished_at) == (
        JobStatus.QUEUED,
        "worker lost; retrying (attempt 2 of 2)",
        {},
        None,
    )


@pytest.mark.parametrize("clear_reason", [False, True], ids=["error", "job-failed"])
def test_an_attempt_that_fails_after_another_took_over_leaves_the_other_attempts_work_and_row_alone(
    curator, clear_reason
):
    job = job_create(kind=SUPERSEDED_THEN_FAILS, params={"clear_reason": clear_reason}, requested_by=curator)

    job = job_execute(job.pk)

    # The kind's cleanup is the live attempt's business now: this one neither deletes its batch nor ends the job.
    assert batch_groups(job.pk) == [f"job-{job.pk}-batch-0"]
    assert (job.status, job.attempts, job.message, job.error, job.finished_at) == (
        JobStatus.RUNNING,
        2,
        "Running (attempt 2 of 2)",
        "",
        None,
    )


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_message_for_a_finished_job_does_nothing(status):
    job = JobFactory(kind=COUNT, params={"batches": 1}, status=status, attempts=1, result={"kept": True})

    job = job_execute(job.pk)

    assert (job.status, job.attempts, job.result) == (status, 1, {"kept": True})
    assert batch_groups(job.pk) == []


def test_a_message_for_a_job_a_live_worker_is_running_does_nothing():
    beat = timezone.now() - timedelta(seconds=5)
    job = JobFactory(kind=COUNT, params={"batches": 1}, status=JobStatus.RUNNING, attempts=1, heartbeat_at=beat)

    job = job_execute(job.pk)

    assert (job.status, job.attempts, job.heartbeat_at) == (JobStatus.RUNNING, 1, beat)
    assert batch_groups(job.pk) == []


def test_a_redelivered_job_whose_worker_died_runs_again(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    stale = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 1)
    job = JobFactory(kind=COUNT, params={"batches": 2}, status=JobStatus.RUNNING, attempts=1, heartbeat_at=stale)

    job = job_execute(job.pk)

    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 2, {"batches": 2, "groups": 2})
    assert job.log_tail.splitlines()[0] == "worker lost during attempt 1; running again"


def test_a_redelivered_job_whose_worker_died_on_its_last_attempt_fails_without_running(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    stale = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 1)
    job = JobFactory(kind=COUNT, params={"batches": 2}, status=JobStatus.RUNNING, attempts=2, heartbeat_at=stale)
    Group.objects.create(name=f"job-{job.pk}-batch-0")  # what the dead attempt had written

    job = job_execute(job.pk)

    assert (job.status, job.attempts, job.error) == (JobStatus.FAILED, 2, "worker lost during attempt 2")
    assert batch_groups(job.pk) == []


# --- cancel -------------------------------------------------------------------------------------


def test_cancelling_a_queued_job_cancels_it_at_once(curator):
    job = job_create(kind=COUNT, params={"batches": 1}, requested_by=curator)

    job = job_cancel_request(job=job, user=curator)

    assert (job.status, job.message, job.cancel_requested) == (JobStatus.CANCELLED, "Cancelled before it started", True)
    assert job.finished_at is not None
    assert job_execute(job.pk).status == JobStatus.CANCELLED  # its message, when it comes, does nothing
    assert batch_groups(job.pk) == []


def test_cancelling_a_running_job_asks_its_worker_to_stop(curator):
    beat = timezone.now()
    job = JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.RUNNING, attempts=1, heartbeat_at=beat)

    job = job_cancel_request(job=job, user=curator)

    assert (job.status, job.cancel_requested, job.finished_at) == (JobStatus.RUNNING, True, None)


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_cancelling_a_finished_job_is_refused_and_changes_nothing(curator, status):
    job = JobFactory(kind=COUNT, requested_by=curator, status=status, message="as it was")

    with pytest.raises(ApplicationError) as refused:
        job_cancel_request(job=job, user=curator)

    assert (refused.value.code, refused.value.status_code) == ("job_finished", 409)
    assert refused.value.message == f"Job {job.pk} has already {status}."
    job.refresh_from_db()
    assert (job.status, job.message, job.cancel_requested) == (status, "as it was", False)


def test_only_the_requester_or_an_admin_may_cancel(curator, user_with_role, admin_user):
    from core.roles import Role

    other_curator = user_with_role(Role.CURATOR)
    job = job_create(kind=COUNT, params={"batches": 1}, requested_by=curator)

    with pytest.raises(ApplicationError) as refused:
        job_cancel_request(job=job, user=other_curator)

    assert (refused.value.code, refused.value.status_code) == ("permission_denied", 403)
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert job_cancel_request(job=job, user=admin_user).status == JobStatus.CANCELLED
