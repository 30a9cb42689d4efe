"""The find_spurious job on a real Celery worker (the gpu queue falls back to default without GPU workers)."""

import pytest

from explain.spurious.models import SpuriousReport
from explain.spurious.services import spurious_report_create
from jobs.models import JobStatus
from tests.worker import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # two shared cores: see tests/explain/spurious/conftest.py


def test_a_worker_runs_the_report_and_stores_rankings_and_examples(celery_worker, eval_version, stored_model,
                                                                   admin_user):  # fmt: skip
    version = eval_version({"cat": 3, "dog": 3}, split="train", without_mask=1)
    trained = stored_model(["cat", "dog"])
    celery_worker(**ONE_THREAD)

    report = spurious_report_create(
        trained_model=trained, version=version, params={"device": "cpu", "min_support": 2}, requested_by=admin_user
    )
    job = wait_for_job(report.job_id, lambda j: j.is_finished, timeout=120)

    report = SpuriousReport.objects.get(pk=report.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["spurious_report"] == report.pk and job.result["with_masks"] == 5
    assert report.results["left_out"]["count"] == 1 and set(report.results["rankings"]) <= {"cat", "dog"}
    assert report.finished_at is not None and report.examples
    assert job.progress == 1.0 and job.message == "Done"
