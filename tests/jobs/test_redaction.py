"""Params, log tails and errors of admins' and system jobs are hidden from users without `manage`.

Jobs started by admins and by the system (commands, requested_by None) can name server paths and carry
tracebacks; the API (list, detail, cancel), the job page and the job list show them only to admins and
to whoever started the job. Curators' jobs stay shared with the team as before.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.roles import Role
from jobs.models import Job, JobStatus
from jobs.selectors import DETAILS_HIDDEN
from tests.factories import JobFactory
from tests.jobs.job_kinds_for_tests import COUNT

pytestmark = pytest.mark.django_db
SECRET_PATH = "/srv/private/imports/cats"
TRACEBACK = f'Traceback (most recent call last):\n  File "/srv/app/run.py", line 3\nFileNotFoundError: {SECRET_PATH}'


def failed_job(requested_by) -> Job:
    return JobFactory(
        kind=COUNT,
        requested_by=requested_by,
        status=JobStatus.FAILED,
        params={"source": SECRET_PATH, "batches": 2},
        log_tail=TRACEBACK,
        message=f"FileNotFoundError: {SECRET_PATH}",
        error=f"FileNotFoundError: {SECRET_PATH}",
        result={"dataset": 7, "imported": 2, "report": [{"path": SECRET_PATH}], "report_key": "reports/1.jsonl"},
        attempts=1,
    )


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden_fields(body: dict) -> tuple:
    return body["params"], body["log_tail"], body["error"], body["message"]


@pytest.mark.parametrize("started_by_admin", [True, False], ids=["admin", "system"])
def test_a_viewer_gets_an_admins_or_a_system_job_without_its_details(viewer, admin_user, started_by_admin):
    # given a failed job naming a server path, started by an admin or by the system
    job = failed_job(admin_user if started_by_admin else None)
    # when a viewer reads it through the API (detail and list)
    detail = api_as(viewer).get(f"/api/jobs/{job.pk}/").json()
    listed = api_as(viewer).get("/api/jobs/").json()["results"]
    # then params, log tail, error and failure message are hidden; status and the rest are there
    assert hidden_fields(detail) == ({}, "", DETAILS_HIDDEN, DETAILS_HIDDEN)
    assert [hidden_fields(row) for row in listed] == [({}, "", DETAILS_HIDDEN, DETAILS_HIDDEN)]
    assert (detail["status"], detail["kind"], detail["attempts"]) == ("failed", COUNT, 1)
    assert detail["result"] == {"dataset": 7, "imported": 2}  # numbers (links, counts) stay, text goes
    assert SECRET_PATH not in str(detail) + str(listed)
    # and nothing was changed on the row
    job.refresh_from_db()
    assert (job.params["source"], job.log_tail) == (SECRET_PATH, TRACEBACK)
    assert job.error == f"FileNotFoundError: {SECRET_PATH}"


def test_admins_and_the_requester_see_every_detail(admin_user, user_with_role):
    # given an admin's failed job and another admin
    job = failed_job(admin_user)
    other_admin = user_with_role(Role.ADMIN)
    # when both read it
    bodies = [api_as(user).get(f"/api/jobs/{job.pk}/").json() for user in (admin_user, other_admin)]
    # then both get the whole job
    expected = ({"source": SECRET_PATH, "batches": 2}, TRACEBACK, job.error, job.message)
    assert [hidden_fields(body) for body in bodies] == [expected, expected]


def test_a_curators_job_stays_visible_to_the_team(viewer, curator):
    # given a curator's failed job
    job = failed_job(curator)
    # when a viewer reads it
    body = api_as(viewer).get(f"/api/jobs/{job.pk}/").json()
    # then nothing is hidden
    assert hidden_fields(body) == ({"source": SECRET_PATH, "batches": 2}, TRACEBACK, job.error, job.message)


def test_the_job_page_and_list_hide_an_admins_job_details_from_a_viewer(viewer, admin_user):
    # given an admin's failed job
    job = failed_job(admin_user)
    client = page_as(viewer)
    # when a viewer opens its page, its live partial and the job list
    pages = [
        client.get(f"/jobs/{job.pk}/").content.decode(),
        client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode(),
        client.get("/jobs/").content.decode(),
    ]
    # then the server path and the traceback appear on none of them, and the failure says why
    assert [SECRET_PATH in page or "Traceback" in page for page in pages] == [False, False, False]
    assert all(DETAILS_HIDDEN[:40] in page for page in pages)


def test_the_job_page_shows_an_admin_the_details(admin_user):
    # given an admin's failed job
    job = failed_job(admin_user)
    # when the admin opens its page
    page = page_as(admin_user).get(f"/jobs/{job.pk}/").content.decode()
    # then the params and the log tail are there
    assert SECRET_PATH in page
    assert "Traceback (most recent call last)" in page
