"""The prune form in a real browser: switching the method keeps what was typed, and the job runs with it."""

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.browser import log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_switching_the_method_keeps_the_typed_keep_fraction(live_server, page: Page, small_version, curator):
    version, _, _ = small_version
    errors = watch_for_errors(page)
    prune_path = f"/datasets/{version.dataset_id}/v/1/prune/"
    log_in(page, live_server.url, curator.username, next_path=prune_path)

    page.locator("#id_keep_fraction").fill("0.8")
    page.locator("#id_tau").fill("0.2")
    with page.expect_response(lambda response: "method=dbp" in response.url):
        page.get_by_label("Method").select_option("dbp")

    expect(page.locator("[data-parameter='eps']")).to_have_count(0)
    expect(page.locator("#id_keep_fraction")).to_have_value("0.8")
    expect(page.locator("#id_tau")).to_have_value("0.2")
    page.get_by_role("button", name="Compute the prune run").click()
    page.wait_for_url(f"{live_server.url}/jobs/**")
    job = Job.objects.get(kind="prune")
    assert (job.params["method"], job.params["keep_fraction"], job.params["tau"]) == ("dbp", 0.8, 0.2)
    assert errors == []
