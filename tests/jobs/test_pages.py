"""Job pages: the list, the live job page and its self-stopping progress partial, cancel with htmx."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from frontend.pages.jobs import JOB_PAGE_SIZE
from jobs.models import Job, JobStatus
from tests.factories import DatasetVersionFactory, JobFactory
from tests.jobs.job_kinds_for_tests import COUNT

HTMX = {"HTTP_HX_REQUEST": "true"}
POLLING = 'hx-trigger="every 1s"'


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def running_job(curator) -> Job:
    return JobFactory(
        kind=COUNT,
        requested_by=curator,
        status=JobStatus.RUNNING,
        attempts=1,
        progress=0.25,
        message="batch 1 of 4",
        log_tail="batch 0 written",
    )


def test_the_job_page_polls_its_progress_while_the_job_runs(curator, running_job):
    response = client_as(curator).get(f"/jobs/{running_job.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert f'hx-get="/jobs/{running_job.pk}/" {POLLING} hx-swap="outerHTML"' in page
    assert '<progress id="job-progress-bar" max="100" value="25">25%</progress>' in page
    assert "batch 1 of 4" in page
    assert '<pre class="job-log">batch 0 written</pre>' in page
    assert "Cancel job" in page


def test_an_htmx_request_gets_only_the_progress_partial(curator, running_job):
    response = client_as(curator).get(f"/jobs/{running_job.pk}/", **HTMX)

    partial = response.content.decode()
    assert "<html" not in partial
    assert partial.lstrip().startswith('<section id="job-progress"')
    assert POLLING in partial


def test_the_partial_of_a_finished_job_stops_polling_and_shows_the_result_with_links(curator):
    # given a dataset whose second version's id is not its number (another dataset's versions come first)
    DatasetVersionFactory.create_batch(3)
    first = DatasetVersionFactory(number=1)
    second = DatasetVersionFactory(dataset=first.dataset, number=2, parent=first)
    dataset_id = first.dataset_id
    job = JobFactory(
        kind="import_dataset",
        requested_by=curator,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        message="Done",
        result={"dataset_id": dataset_id, "version_id": second.pk, "imported": 40},
    )

    partial = client_as(curator).get(f"/jobs/{job.pk}/", **HTMX).content.decode()
    version_page = client_as(curator).get(f"/datasets/{dataset_id}/?version=2")

    assert second.pk != 2
    assert "hx-trigger" not in partial
    assert "hx-get" not in partial
    assert f'href="/datasets/{dataset_id}/?version=2"' in partial
    assert f">{first.dataset.name} v2</a>" in partial
    assert version_page.status_code == 200
    assert "&quot;imported&quot;: 40" in partial
    assert "Cancel job" not in partial


def test_a_failed_job_shows_its_error(curator):
    job = JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.FAILED, error="ValueError: boom")

    partial = client_as(curator).get(f"/jobs/{job.pk}/", **HTMX).content.decode()

    assert '<p class="alert alert-error">ValueError: boom</p>' in partial
    assert "hx-trigger" not in partial


def test_cancel_with_htmx_returns_the_refreshed_partial(curator):
    job = JobFactory(kind=COUNT, requested_by=curator)

    response = client_as(curator).post(f"/jobs/{job.pk}/cancel/", **HTMX)

    partial = response.content.decode()
    assert response.status_code == 200
    assert "Cancelled before it started" in partial
    assert "hx-trigger" not in partial
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED


def test_cancel_of_a_running_job_shows_that_it_is_cancelling_and_keeps_polling(curator, running_job):
    partial = client_as(curator).post(f"/jobs/{running_job.pk}/cancel/", **HTMX).content.decode()

    assert "Cancelling at the next batch…" in partial
    assert POLLING in partial
    assert "Cancel job" not in partial


def test_cancel_without_htmx_redirects_to_the_job_page(curator):
    job = JobFactory(kind=COUNT, requested_by=curator)

    response = client_as(curator).post(f"/jobs/{job.pk}/cancel/")

    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.pk}/")


def test_cancel_of_a_finished_job_says_why_in_the_partial(curator):
    job = JobFactory(kind=COUNT, requested_by=curator, status=JobStatus.SUCCEEDED)

    partial = client_as(curator).post(f"/jobs/{job.pk}/cancel/", **HTMX).content.decode()

    assert f'<p class="alert alert-error" role="alert">Job {job.pk} has already succeeded.</p>' in partial


def test_another_users_job_has_no_cancel_button_and_cannot_be_cancelled(viewer, running_job):
    client = client_as(viewer)

    page = client.get(f"/jobs/{running_job.pk}/").content.decode()
    response = client.post(f"/jobs/{running_job.pk}/cancel/", **HTMX)

    assert "Cancel job" not in page
    assert response.status_code == 403
    assert Job.objects.get(pk=running_job.pk).cancel_requested is False


def test_a_missing_job_is_a_404(viewer):
    assert client_as(viewer).get("/jobs/987654/").status_code == 404


def test_the_job_list_shows_jobs_newest_first_and_filters_by_status(viewer, running_job):
    done = JobFactory(kind=COUNT, status=JobStatus.SUCCEEDED, message="Done")
    client = client_as(viewer)

    everything = client.get("/jobs/").content.decode()
    only_done = client.get("/jobs/", {"status": "succeeded"}).content.decode()

    assert everything.index(f'href="/jobs/{done.pk}/"') < everything.index(f'href="/jobs/{running_job.pk}/"')
    assert f'href="/jobs/{done.pk}/"' in only_done
    assert f'href="/jobs/{running_job.pk}/"' not in only_done


def test_the_job_list_pages_by_keyset(viewer):
    jobs = Job.objects.bulk_create([Job(kind=COUNT) for _ in range(JOB_PAGE_SIZE + 1)])
    oldest, oldest_on_first_page = jobs[0], jobs[1]
    client = client_as(viewer)

    first = client.get("/jobs/").content.decode()
    second = client.get("/jobs/", {"before": oldest_on_first_page.pk}).content.decode()

    assert f"before={oldest_on_first_page.pk}" in first
    assert f'href="/jobs/{oldest.pk}/"' not in first
    assert f'href="/jobs/{oldest.pk}/"' in second
    assert f'href="/jobs/{oldest_on_first_page.pk}/"' not in second
    assert "Older jobs" not in second


def test_a_running_jobs_page_says_how_long_it_ran_and_about_how_long_is_left(curator):
    # given a job that started 60 s ago and is a quarter done
    job = JobFactory(
        kind=COUNT,
        requested_by=curator,
        status=JobStatus.RUNNING,
        progress=0.25,
        started_at=timezone.now() - timedelta(seconds=60),
    )

    partial = client_as(curator).get(f"/jobs/{job.pk}/", **HTMX).content.decode()

    # then at that pace the remaining three quarters take about 3 minutes
    assert '<span class="muted" id="job-timing">· 60 s running · about 3 min left</span>' in partial
