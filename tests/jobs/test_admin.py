"""Django admin for jobs: read-only rows and the "request cancel" action, which calls the service."""

import pytest
from django.test import Client

from jobs.models import Job, JobStatus
from tests.factories import JobFactory, UserFactory
from tests.jobs.job_kinds_for_tests import COUNT


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_request_cancel_action_cancels_what_it_can_and_says_what_it_could_not(staff_client):
    queued = JobFactory(kind=COUNT)
    running = JobFactory(kind=COUNT, status=JobStatus.RUNNING, attempts=1)
    done = JobFactory(kind=COUNT, status=JobStatus.SUCCEEDED)

    response = staff_client.post(
        "/admin/jobs/job/",
        {"action": "request_cancel", "_selected_action": [queued.pk, running.pk, done.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "Cancel requested for 2 job(s)." in page
    assert f"Not cancelled: {done.pk}: Job {done.pk} has already succeeded." in page
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {queued.pk: JobStatus.CANCELLED, running.pk: JobStatus.RUNNING, done.pk: JobStatus.SUCCEEDED}
    assert Job.objects.get(pk=running.pk).cancel_requested is True


def test_the_job_change_page_is_read_only_and_jobs_cannot_be_added(staff_client):
    job = JobFactory(kind=COUNT, message="hello")

    change = staff_client.get(f"/admin/jobs/job/{job.pk}/change/")
    add = staff_client.get("/admin/jobs/job/add/")

    assert change.status_code == 200
    assert 'name="message"' not in change.content.decode()
    assert add.status_code == 403
