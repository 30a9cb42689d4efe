"""The sample page's previous / next follow the grid it was opened from: its filters and its sort.

The fixture's v2 holds 15 samples imported in the order cat, dog, bird, cat, ...; so in label order the
last bird (the newest sample) is followed by the first cat, while in id order it has no next sample.
"""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_next_and_previous_follow_the_grids_label_sort(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    # given the grid sorted by label (birds, then cats, then dogs)
    dataset, version = browse_dataset.dataset, browse_dataset.version
    birds, cats = browse_dataset.samples_by_label["bird"], browse_dataset.samples_by_label["cat"]
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=f"{grid_path}?sort=label")
    expect(page.locator("li.thumb").first).to_have_attribute("data-label", "bird")

    # when they open the last bird and press j
    page.locator(f'li.thumb[data-sample-id="{birds[-1]}"] a').click()
    page.wait_for_url(f"{live_server.url}{grid_path}{birds[-1]}/?sort=label")
    page.keyboard.press("j")

    # then the next sample is the first cat, as in the grid, and k goes back to the last bird
    page.wait_for_url(f"{live_server.url}{grid_path}{cats[0]}/?sort=label")
    expect(page.locator("#previous-sample")).to_have_attribute("href", f"{grid_path}{birds[-1]}/?sort=label")
    page.keyboard.press("k")
    page.wait_for_url(f"{live_server.url}{grid_path}{birds[-1]}/?sort=label")
    assert errors == []


def test_next_follows_newest_first_and_the_newest_has_no_previous(
    live_server, page: Page, browse_dataset: BrowseDataset, viewer
):
    # given the grid newest first
    dataset, version = browse_dataset.dataset, browse_dataset.version
    ids = sorted((i for ids in browse_dataset.samples_by_label.values() for i in ids), reverse=True)
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    log_in(page, live_server.url, viewer.username, next_path=f"{grid_path}?sort=-id")

    # when they open the first card (the newest sample)
    page.locator("li.thumb a").first.click()
    page.wait_for_url(f"{live_server.url}{grid_path}{ids[0]}/?sort=-id")

    # then there is no previous sample, and next is the second newest
    expect(page.locator("#previous-sample")).to_have_count(0)
    expect(page.locator("#next-sample")).to_have_attribute("href", f"{grid_path}{ids[1]}/?sort=-id")
