"""Job pages in a real browser: what a worker writes to the job row shows up without a reload."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from jobs.models import Job, JobStatus
from tests.browser import log_in
from tests.e2e.test_browse import keep_screenshot, watch_for_errors
from tests.factories import JobFactory
from tests.jobs.job_kinds_for_tests import COUNT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_job_page_shows_start_worker_and_finish_as_they_happen(live_server, page: Page, curator):
    job = JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.QUEUED)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/jobs/{job.pk}/")
    expect(page.locator("[data-fact='worker']")).to_have_text("—")

    # when a worker picks the job up, then finishes it
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), worker="celery@host-a", progress=0.4, attempts=1
    )
    expect(page.locator("[data-fact='worker']")).to_have_text("celery@host-a")
    expect(page.locator("#job-progress-bar + label")).to_have_text("40%")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, finished_at=timezone.now(), progress=1.0)

    # then the page shows when it started and finished, and stops polling
    expect(page.locator("[data-fact='finished']")).not_to_have_text("—")
    expect(page.locator("[data-fact='started']")).not_to_have_text("—")
    expect(page.locator("#job-progress[hx-trigger]")).to_have_count(0)
    assert errors == []


def test_job_list_shows_progress_and_refreshes_while_jobs_run(live_server, page: Page, curator, tmp_path: Path):
    running = JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.RUNNING, progress=0.25, attempts=1)
    JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.SUCCEEDED, progress=1.0)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path="/jobs/")
    row = page.locator(f"tr[data-job='{running.pk}']")
    expect(row.locator(".progress-text")).to_have_text("25%")
    shot = tmp_path / "job-list.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)

    # when the running job advances and finishes, the list follows without a reload
    Job.objects.filter(pk=running.pk).update(progress=0.75, message="batch 3 of 4")
    expect(row.locator(".progress-text")).to_have_text("75%")
    Job.objects.filter(pk=running.pk).update(status=JobStatus.SUCCEEDED, progress=1.0, finished_at=timezone.now())
    expect(row.locator(".job-status")).to_have_text("Succeeded")
    expect(page.locator("#job-table[hx-trigger]")).to_have_count(0)
    assert errors == []
