"""The Celery task bodies, called in this process."""

import logging

import pytest

from jobs.models import JobStatus
from jobs.services import job_create
from jobs.tasks import job_run
from tests.jobs.job_kinds_for_tests import COUNT


def test_the_task_runs_the_job(curator):
    job = job_create(kind=COUNT, params={"batches": 1}, requested_by=curator)

    job_run(job.pk)

    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"batches": 1, "groups": 1})


@pytest.mark.django_db
def test_the_task_for_a_deleted_job_warns_and_returns(caplog):
    with caplog.at_level(logging.WARNING, logger="jobs.tasks"):
        assert job_run(987654) is None

    assert [record.getMessage() for record in caplog.records] == ["job 987654: the row is gone; nothing to run"]
