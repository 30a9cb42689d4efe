"""The sample grid's thumbnail size slider in a real browser: bigger thumbnails, kept across pages."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import all_images_loaded, watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_size_slider_enlarges_thumbnails_and_is_remembered(
    live_server, page: Page, browse_dataset: BrowseDataset, viewer
):
    dataset, version = browse_dataset.dataset, browse_dataset.version
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=grid_path)
    all_images_loaded(page)
    first = page.locator(".thumb-frame").first
    before = first.bounding_box()["width"]

    page.locator("#thumb-size").fill("260")

    expect(page.locator("#thumb-size-value")).to_have_text("260 px")
    page.wait_for_function(f"document.querySelector('.thumb-frame').getBoundingClientRect().width > {before + 60}")
    page.reload()
    all_images_loaded(page)
    assert page.locator("#thumb-size").input_value() == "260"
    assert first.bounding_box()["width"] > before + 60
    assert errors == []
