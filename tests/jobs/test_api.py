"""Contract of the jobs API: exact bodies, filters, cursor pages, cancel rules, structured errors."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.models import Job, JobStatus
from tests.factories import JobFactory
from tests.jobs.job_kinds_for_tests import COUNT


def iso(moment: datetime | None) -> str | None:
    """A datetime as DRF renders it (UTC with a Z)."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def job_body(job: Job) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "params": job.params,
        "result": job.result,
        "log_tail": job.log_tail,
        "queue": job.queue,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "is_finished": job.is_finished,
        "requested_by": job.requested_by.username if job.requested_by else None,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "heartbeat_at": iso(job.heartbeat_at),
    }


@pytest.fixture
def finished_job(curator) -> Job:
    finished_at = timezone.now()
    return JobFactory(
        kind=COUNT,
        params={"batches": 2},
        requested_by=curator,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        message="Done",
        result={"batches": 2, "groups": 2},
        log_tail="batch 0 written\nbatch 1 written",
        attempts=1,
        started_at=finished_at - timedelta(seconds=3),
        finished_at=finished_at,
        heartbeat_at=finished_at,
    )


def test_every_role_lists_every_job_newest_first(viewer, curator, finished_job):
    queued = JobFactory(kind=COUNT, params={"batches": 1}, requested_by=curator)  # a system job's params are hidden

    response = api_as(viewer).get("/api/jobs/")

    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": [job_body(queued), job_body(finished_job)]}
    assert response.json()["results"][1]["requested_by"] == curator.username


def test_the_list_filters_by_kind_and_status(viewer, finished_job):
    JobFactory(kind=COUNT, status=JobStatus.QUEUED)
    JobFactory(kind="other_kind", status=JobStatus.SUCCEEDED)

    response = api_as(viewer).get("/api/jobs/", {"kind": COUNT, "status": "succeeded"})

    assert [job["id"] for job in response.json()["results"]] == [finished_job.pk]


def test_the_list_is_paged_by_cursor(viewer):
    jobs = [JobFactory(kind=COUNT) for _ in range(3)]
    client = api_as(viewer)

    first = client.get("/api/jobs/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [job["id"] for job in first["results"]] == [jobs[2].pk, jobs[1].pk]
    assert [job["id"] for job in second["results"]] == [jobs[0].pk]
    assert second["next"] is None


def test_an_unknown_status_filter_is_a_validation_error(viewer):
    response = api_as(viewer).get("/api/jobs/", {"status": "exploded"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["details"]) == ["status"]


def test_detail_returns_the_job(viewer, finished_job):
    response = api_as(viewer).get(f"/api/jobs/{finished_job.pk}/")

    assert response.status_code == 200
    assert response.json() == job_body(finished_job)


def test_detail_of_a_missing_job_is_a_structured_404(viewer):
    response = api_as(viewer).get("/api/jobs/987654/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Job 987654 does not exist.", "details": None}}


def test_the_requester_cancels_their_queued_job(curator):
    job = JobFactory(kind=COUNT, requested_by=curator)

    response = api_as(curator).post(f"/api/jobs/{job.pk}/cancel/")

    assert response.status_code == 200
    job.refresh_from_db()
    assert response.json() == job_body(job)
    assert (job.status, job.message) == (JobStatus.CANCELLED, "Cancelled before it started")


def test_cancelling_a_running_job_asks_its_worker_to_stop(curator):
    job = JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.RUNNING, attempts=1)

    response = api_as(curator).post(f"/api/jobs/{job.pk}/cancel/")

    body = response.json()
    assert (response.status_code, body["status"], body["cancel_requested"]) == (200, "running", True)


def test_a_viewer_cannot_cancel_another_users_job(viewer, curator):
    job = JobFactory(kind=COUNT, requested_by=curator)

    response = api_as(viewer).post(f"/api/jobs/{job.pk}/cancel/")

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Only the user who started a job, or an admin, can cancel it.",
            "details": None,
        }
    }
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (JobStatus.QUEUED, False)


def test_an_admin_cancels_anyones_job(admin_user, curator):
    job = JobFactory(kind=COUNT, requested_by=curator)

    response = api_as(admin_user).post(f"/api/jobs/{job.pk}/cancel/")

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


def test_cancelling_a_finished_job_is_a_409(curator, finished_job):
    response = api_as(curator).post(f"/api/jobs/{finished_job.pk}/cancel/")

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "job_finished", "message": f"Job {finished_job.pk} has already succeeded.", "details": None}
    }
    assert Job.objects.get(pk=finished_job.pk).status == JobStatus.SUCCEEDED


def test_cancelling_a_missing_job_is_a_404(admin_user):
    response = api_as(admin_user).post("/api/jobs/987654/cancel/")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


@pytest.mark.django_db
def test_anonymous_callers_are_refused():
    response = APIClient().get("/api/jobs/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
