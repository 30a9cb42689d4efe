"""The duplicates page's similarity slider regroups in place (htmx), in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.browser import log_in
from tests.curation.embeddings.test_duplicates_threshold_slider import run_with_pairs  # noqa: F401  (fixture)
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_moving_the_slider_splits_the_chain_without_a_reload_or_a_job(live_server, page: Page, viewer, run_with_pairs):  # noqa: F811
    # given the page of a run whose group 1 is a chain a-b 0.99, b-c 0.93, c-d 0.985 and group 2 e-f 0.95
    run, _ids = run_with_pairs
    path = f"/embeddings/duplicates/{run.pk}/"
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=path)
    headings = page.locator("#groups h3")
    expect(headings).to_have_count(2)
    page.evaluate("window.notReloaded = true")

    # when the slider is set to 0.96
    page.locator("#min-similarity").fill("0.96")
    page.locator("#min-similarity").dispatch_event("change")

    # then the chain is two parts, group 2 (0.95) is gone, the page was not reloaded and no job was started
    # (the old page also has two headings: wait for the swapped ones before reading them)
    expect(headings.first).to_contain_text("part 1")
    expect(headings).to_have_count(2)
    assert [text.split("·")[0].strip() for text in headings.all_inner_texts()] == [
        "Group 1, part 1",
        "Group 1, part 2",
    ]
    expect(page.locator("output[for=min-similarity]")).to_have_text("0.960")
    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith("min_similarity=0.96")
    assert Job.objects.count() == 0
    # (these samples have no stored thumbnails: their 404s are expected; nothing else failed)
    assert [e for e in errors if "/thumbnail" not in e and "404 (Not Found)" not in e] == []
