"""Tagging a grid selection, filtering the grid by a tag, untagging, and the tags on the sample page."""

import pytest
from playwright.sync_api import Page, expect

from curation.models import SampleTag
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_tag_a_selection_filter_by_the_tag_then_untag(live_server, page: Page, browse_dataset: BrowseDataset, curator):
    # given the grid of v2 (15 samples, in id order)
    dataset, version = browse_dataset.dataset, browse_dataset.version
    ids = sorted(i for ids in browse_dataset.samples_by_label.values() for i in ids)
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=grid_path)
    boxes = page.locator(".thumb-select")

    # when they select samples 2-4 with a shift-click range and tag them "blurry"
    boxes.nth(1).click()
    boxes.nth(3).click(modifiers=["Shift"])
    expect(page.locator("#selection-count")).to_have_text("3 selected")
    page.get_by_label("Tag name").fill("blurry")
    page.get_by_role("button", name="Tag selection", exact=True).click()

    # then the three samples carry the tag, and the grid offers it as a filter
    expect(page.get_by_text("3 of 3 selected samples tagged “blurry”.")).to_be_visible()
    tag = SampleTag.objects.get(dataset=dataset, name="blurry")
    assert sorted(tag.samples.values_list("pk", flat=True)) == ids[1:4]
    page.locator("#filter-tag").select_option("blurry")
    page.wait_for_url("**tag=blurry**")
    expect(page.locator("li.thumb")).to_have_count(3)
    expect(page.locator(".grid-summary")).to_contain_text("3 of 15 samples match")

    # and the sample page lists the tag
    page.locator("li.thumb a").first.click()
    page.wait_for_url(f"**{grid_path}{ids[1]}/?tag=blurry")
    expect(page.locator("#sample-tags")).to_have_text("blurry")

    # when they open the grid filtered by the tag, select all it matches and untag them
    page.goto(f"{live_server.url}{grid_path}?tag=blurry")
    page.get_by_role("button", name="Select all 3 matching").click()
    page.get_by_label("Tag name").fill("blurry")
    page.get_by_role("button", name="Untag selection").click()
    expect(page.get_by_text("3 of 3 selected samples untagged “blurry”.")).to_be_visible()
    assert tag.samples.count() == 0
    assert errors == []
