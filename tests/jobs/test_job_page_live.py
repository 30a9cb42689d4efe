"""The job page in a real browser, following a job that a real worker runs (htmx polling end to end)."""

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_submit
from tests.e2e.conftest import log_in
from tests.jobs.job_kinds_for_tests import COUNT, batch_groups
from tests.worker import wait_for_job

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BAR_MOVING = "() => { const v = +document.querySelector('#job-progress-bar').value; return v > 0 && v < 100; }"


def job_page_requests(page, job: Job) -> list[str]:
    """Start recording the requests the page makes for the job's URL (the polls)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if f"/jobs/{job.pk}/" in request.url else None)
    return seen


def test_the_job_page_follows_a_running_job_and_stops_polling_when_it_ends(celery_worker, live_server, page, curator):
    celery_worker()
    job = job_submit(kind=COUNT, params={"batches": 12, "delay": 0.25}, requested_by=curator)

    log_in(page, live_server.url, curator.username, next_path=f"/jobs/{job.pk}/")
    page.wait_for_function(BAR_MOVING)  # the bar moves while the page stays loaded
    page.locator(".job-status", has_text="Succeeded").wait_for()
    polls = job_page_requests(page, job)
    page.wait_for_timeout(2000)  # two polling periods

    assert polls == []
    assert page.locator("#job-progress-bar").get_attribute("value") == "100"
    assert '"groups": 12' in page.locator(".job-result").inner_text()
    assert page.get_by_role("button", name="Cancel job").count() == 0


def test_cancelling_from_the_job_page_stops_the_job_and_the_polling(celery_worker, live_server, page, curator):
    celery_worker()
    job = job_submit(kind=COUNT, params={"batches": 80, "delay": 0.2}, requested_by=curator)

    log_in(page, live_server.url, curator.username, next_path=f"/jobs/{job.pk}/")
    page.wait_for_function(BAR_MOVING)
    page.get_by_role("button", name="Cancel job").click()
    page.locator(".job-status", has_text="Cancelled").wait_for()
    polls = job_page_requests(page, job)
    page.wait_for_timeout(2000)  # two polling periods

    job = wait_for_job(job.pk, lambda j: j.is_finished, timeout=1)
    assert (job.status, job.message) == (JobStatus.CANCELLED, "Cancelled")
    assert batch_groups(job.pk) == []
    assert polls == []
