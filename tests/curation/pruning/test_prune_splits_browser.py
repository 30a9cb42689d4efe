"""The prune page in a real browser: only the train split is checked by default, and the run stores it."""

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.browser import log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_train_split_is_checked_by_default_and_the_run_stores_it(live_server, page: Page, small_version, curator):
    version, _, _ = small_version
    errors = watch_for_errors(page)
    prune_path = f"/datasets/{version.dataset_id}/v/1/prune/"
    log_in(page, live_server.url, curator.username, next_path=prune_path)

    with page.expect_response(lambda response: "method=random" in response.url):
        page.get_by_label("Method").select_option("random")

    expect(page.locator("#prune-splits input[value='train']")).to_be_checked()
    for other in ("val", "test", "unassigned"):
        expect(page.locator(f"#prune-splits input[value='{other}']")).not_to_be_checked()
    page.get_by_role("button", name="Compute the prune run").click()
    page.wait_for_url(f"{live_server.url}/jobs/**")
    job = Job.objects.get(kind="prune")
    assert (job.params["method"], job.params["splits"]) == ("random", ["train"])
    assert errors == []
