"""JobCommand: inline runs with a progress bar, --enqueue, --user, and one-line failures."""

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from jobs.cli import JobCommand
from jobs.models import Job, JobStatus
from tests.factories import UserFactory
from tests.jobs.job_kinds_for_tests import COUNT, RAISE, batch_groups


class CountCommand(JobCommand):
    help = "Count in batches (a test command)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--batches", type=int, default=3)
        parser.add_argument("--kind", default=COUNT)

    def run(self, **options: Any) -> dict[str, Any]:
        return self.run_job(kind=options["kind"], params={"batches": options["batches"]}, enqueue=options["enqueue"])


def run_command(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(CountCommand(), *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_superuser=True, is_staff=True)


def test_inline_run_prints_the_job_and_its_result_as_the_last_line(superuser):
    stdout, stderr = run_command("--batches", "3")

    job = Job.objects.get()
    assert json.loads(stdout.splitlines()[-1]) == {"job": job.pk, "batches": 3, "groups": 3}
    assert (job.status, job.requested_by, job.celery_task_id) == (JobStatus.SUCCEEDED, superuser, "")
    assert f"job {job.pk} {COUNT}" in stderr
    assert "3/3" in stderr
    assert batch_groups(job.pk) == [f"job-{job.pk}-batch-{index}" for index in range(3)]


def test_user_option_runs_as_that_user(superuser, curator):
    run_command("--batches", "1", "--user", curator.username)

    assert Job.objects.get().requested_by == curator


def test_an_unknown_user_exits_1_with_the_reason(superuser):
    stderr = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command(CountCommand(), "--user", "nobody", stdout=io.StringIO(), stderr=stderr)

    assert (exited.value.code, stderr.getvalue()) == (1, "error: no active user named 'nobody'\n")
    assert Job.objects.count() == 0


def test_a_failing_job_exits_1_with_one_line_and_leaves_nothing(superuser):
    stderr = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command(CountCommand(), "--kind", RAISE, "--batches", "2", stdout=io.StringIO(), stderr=stderr)

    job = Job.objects.get()
    assert exited.value.code == 1
    assert stderr.getvalue().splitlines()[-1] == f"error: job {job.pk} failed: ValueError: boom after 2 batches"
    assert batch_groups(job.pk) == []


def test_enqueue_submits_the_job_and_returns_at_once(superuser, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stdout, _ = run_command("--batches", "5", "--enqueue")

    job = Job.objects.get()
    assert json.loads(stdout.splitlines()[-1]) == {"job": job.pk, "status": "queued", "queue": "default"}
    assert (job.status, job.attempts, job.params) == (JobStatus.QUEUED, 0, {"batches": 5})
    assert [json.loads(raw)["headers"]["id"] for raw in broker.lrange("default", 0, -1)] == [job.celery_task_id]


def test_without_an_admin_user_the_command_says_how_to_make_one(db):
    stderr = io.StringIO()

    with pytest.raises(SystemExit):
        call_command(CountCommand(), stdout=io.StringIO(), stderr=stderr)

    expected = "error: no admin user: run `.venv/bin/python manage.py ensure_admin` or pass --user NAME\n"
    assert stderr.getvalue() == expected
    assert Job.objects.count() == 0
