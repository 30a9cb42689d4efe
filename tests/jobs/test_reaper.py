"""The reaper's rules, on a fake clock (`now` is passed in), with the real broker receiving re-sends."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services import jobs_reap_orphaned
from jobs.tasks import reap_orphaned_jobs
from tests.factories import JobFactory
from tests.jobs.job_kinds_for_tests import COUNT, batch_groups

NOW = timezone.now().replace(microsecond=0) + timedelta(days=1)


@pytest.fixture(autouse=True)
def recovery_settings(settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 120
    settings.JOB_MAX_ATTEMPTS = 2
    settings.JOB_QUEUED_RESEND_AFTER = 600


def running_job(*, silent_for: int, attempts: int = 1, celery_task_id: str = "first-task", **fields) -> Job:
    """A running job whose worker last beat `silent_for` seconds before NOW, with one batch written."""
    job = JobFactory(
        kind=COUNT,
        status=JobStatus.RUNNING,
        attempts=attempts,
        celery_task_id=celery_task_id,
        heartbeat_at=NOW - timedelta(seconds=silent_for),
        started_at=NOW - timedelta(seconds=silent_for + 10),
        **fields,
    )
    Group.objects.create(name=f"job-{job.pk}-batch-0")
    return job


def sent_task_ids(broker) -> list[str]:
    return [json.loads(raw)["headers"]["id"] for raw in reversed(broker.lrange("default", 0, -1))]


def reap(django_capture_on_commit_callbacks) -> list[int]:
    with django_capture_on_commit_callbacks(execute=True):
        return jobs_reap_orphaned(now=NOW)


def test_a_silent_job_with_attempts_left_is_queued_again_and_re_sent(broker, django_capture_on_commit_callbacks):
    job = running_job(silent_for=121)

    acted = reap(django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert acted == [job.pk]
    assert (job.status, job.message, job.attempts) == (JobStatus.QUEUED, "worker lost; retrying (attempt 2 of 2)", 1)
    assert job.log_tail == "worker lost; retrying (attempt 2 of 2)"
    assert job.celery_task_id != "first-task"
    assert job.heartbeat_at == NOW
    assert sent_task_ids(broker) == [job.celery_task_id]
    assert batch_groups(job.pk) == [f"job-{job.pk}-batch-0"]  # kept: the retry resumes, batches are idempotent


def test_a_silent_job_on_its_last_attempt_fails_with_the_reason_after_cleanup(
    broker, django_capture_on_commit_callbacks
):
    job = running_job(silent_for=300, attempts=2)

    acted = reap(django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert acted == [job.pk]
    assert (job.status, job.error, job.message) == (JobStatus.FAILED, "worker lost: no heartbeat for 300 s", job.error)
    assert job.finished_at == NOW
    assert batch_groups(job.pk) == []
    assert broker.llen("default") == 0


def test_a_silent_job_whose_cancel_was_requested_is_cancelled_after_cleanup(broker, django_capture_on_commit_callbacks):
    job = running_job(silent_for=200, cancel_requested=True)

    acted = reap(django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert acted == [job.pk]
    assert (job.status, job.message, job.error) == (JobStatus.CANCELLED, "Cancelled (its worker was lost)", "")
    assert batch_groups(job.pk) == []
    assert broker.llen("default") == 0


def test_a_silent_job_that_ran_inline_in_a_command_fails_rather_than_moving_to_the_workers(
    broker, django_capture_on_commit_callbacks
):
    job = running_job(silent_for=130, celery_task_id="")

    acted = reap(django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert acted == [job.pk]
    assert (job.status, job.error) == (JobStatus.FAILED, "worker lost: no heartbeat for 130 s")
    assert broker.llen("default") == 0


def test_a_job_whose_worker_still_beats_is_left_alone(broker, django_capture_on_commit_callbacks):
    job = running_job(silent_for=119)

    acted = reap(django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert acted == []
    beat = NOW - timedelta(seconds=119)
    assert (job.status, job.celery_task_id, job.heartbeat_at) == (JobStatus.RUNNING, "first-task", beat)
    assert broker.llen("default") == 0


def test_a_queued_job_whose_message_may_be_lost_is_sent_again(broker, django_capture_on_commit_callbacks):
    sent_long_ago = JobFactory(kind=COUNT, celery_task_id="old", heartbeat_at=NOW - timedelta(seconds=601))
    sent_recently = JobFactory(kind=COUNT, celery_task_id="recent", heartbeat_at=NOW - timedelta(seconds=599))
    never_sent = JobFactory(kind=COUNT)  # created (for an inline run) but never sent

    acted = reap(django_capture_on_commit_callbacks)

    sent_long_ago.refresh_from_db()
    assert acted == [sent_long_ago.pk]
    assert (sent_long_ago.status, sent_long_ago.heartbeat_at) == (JobStatus.QUEUED, NOW)
    assert sent_long_ago.log_tail == "message re-sent: the broker may have lost it"
    assert sent_task_ids(broker) == [sent_long_ago.celery_task_id]
    assert sent_long_ago.celery_task_id != "old"
    assert Job.objects.get(pk=sent_recently.pk).celery_task_id == "recent"
    assert Job.objects.get(pk=never_sent.pk).status == JobStatus.QUEUED  # queued jobs are never failed for waiting


def test_finished_jobs_are_never_touched(broker, django_capture_on_commit_callbacks):
    long_ago = NOW - timedelta(days=1)
    for status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        JobFactory(kind=COUNT, status=status, attempts=1, celery_task_id="t", heartbeat_at=long_ago)

    assert reap(django_capture_on_commit_callbacks) == []
    assert broker.llen("default") == 0


def test_the_celery_task_runs_the_reaper(db):
    job = JobFactory(
        kind=COUNT, status=JobStatus.RUNNING, attempts=2, heartbeat_at=timezone.now() - timedelta(seconds=500)
    )

    assert reap_orphaned_jobs() == [job.pk]
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
