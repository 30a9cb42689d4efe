"""Page forms in a real browser: a form posted from an address with a fragment (`#start-title`, where the loop's
links land) opens the job page without it. (A click during the prune form's method reload:
tests/curation/pruning/test_prune_form_browser.py.)"""

import re

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.browser import log_in
from tests.curation.pruning.factories import version_with_samples
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JOB_PAGE = re.compile(r".*/jobs/\d+/$")


def test_a_form_posted_from_an_address_with_a_fragment_opens_the_job_page_without_it(live_server, page: Page, curator):
    # given the embeddings page opened by the loop's link, which scrolls to the form (#start-title)
    version = version_with_samples(4)
    errors = watch_for_errors(page)
    embeddings_page = f"/datasets/{version.dataset_id}/v/1/embeddings/"
    log_in(page, live_server.url, curator.username, next_path=embeddings_page)
    page.goto(f"{live_server.url}{embeddings_page}#start-title")
    expect(page.locator("#start-title")).to_be_in_viewport()

    # when the curator starts the embedding
    page.get_by_role("button", name="Embed v1").click()

    # then the job page opens at its own address, with no fragment carried over from the form's page
    page.wait_for_url(JOB_PAGE)
    job = Job.objects.get(kind="embed")
    assert page.url == f"{live_server.url}/jobs/{job.pk}/"
    assert page.evaluate("window.location.hash") == ""
    assert errors == []
