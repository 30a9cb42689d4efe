"""Selecting samples in the grid and acting on the selection, in a real browser.

The fixture's v2 has 15 members (5 per class, sample-id order cat, dog, bird, ...); one grid page
holds them all.
"""

import pytest
from playwright.sync_api import Page, expect

from curation.models import DatasetVersion, VersionOperation, VersionSample
from curation.review.models import ReviewItem, ReviewQueue
from frontend.pages import datasets as dataset_pages
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import all_images_loaded, keep_screenshot, watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _grid_path(browse_dataset: BrowseDataset) -> str:
    return f"/datasets/{browse_dataset.dataset.pk}/v/{browse_dataset.version.number}/samples/"


def _member_ids(version: DatasetVersion) -> list[int]:
    return list(VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True))


def test_click_and_shift_click_select_a_range_that_survives_a_reload(
    live_server, page: Page, browse_dataset: BrowseDataset, curator, tmp_path
):
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=_grid_path(browse_dataset))
    all_images_loaded(page)
    ids = _member_ids(browse_dataset.version)
    boxes = page.locator(".thumb-select")
    count = page.locator("#selection-count")
    expect(count).to_have_text("0 selected")
    expect(page.locator("#selection-actions")).to_be_hidden()

    # when the second box is ticked and the fifth shift-clicked
    boxes.nth(1).click()
    boxes.nth(4).click(modifiers=["Shift"])

    # then the four boxes between are selected, and the bar offers the bulk actions
    expect(count).to_have_text("4 selected")
    selected = page.locator(".thumb.is-selected")
    expect(selected).to_have_count(4)
    assert [int(v) for v in selected.evaluate_all("els => els.map(e => e.dataset.sampleId)")] == ids[1:5]
    expect(page.locator("#selection-actions")).to_be_visible()
    page.screenshot(path=tmp_path / "grid-selection.png", full_page=True)
    keep_screenshot(tmp_path / "grid-selection.png")

    # and the selection is kept on reload; unticking one removes just that one
    page.reload()
    all_images_loaded(page)
    expect(count).to_have_text("4 selected")
    expect(page.locator(".thumb.is-selected")).to_have_count(4)
    boxes.nth(2).click()
    expect(count).to_have_text("3 selected")

    # select page selects all 15; clear empties it
    page.get_by_role("button", name="Select page").click()
    expect(count).to_have_text("15 selected")
    page.get_by_role("button", name="Clear selection").click()
    expect(count).to_have_text("0 selected")
    expect(page.locator(".thumb.is-selected")).to_have_count(0)
    assert errors == []


def test_a_new_version_from_ticked_samples(live_server, page: Page, browse_dataset: BrowseDataset, curator):
    version = browse_dataset.version
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=_grid_path(browse_dataset))
    all_images_loaded(page)
    ids = _member_ids(version)

    page.locator(".thumb-select").nth(0).click()
    page.locator(".thumb-select").nth(3).click()
    page.get_by_role("button", name="New version from selection").click()

    # then the new version v3 holds exactly those two, records its parent and operation, and its grid opens
    page.wait_for_url(f"**/datasets/{browse_dataset.dataset.pk}/v/3/samples/")
    child = DatasetVersion.objects.get(dataset=browse_dataset.dataset, number=3)
    assert (child.parent_id, child.operation, child.sample_count) == (version.pk, VersionOperation.MANUAL, 2)
    assert child.operation_params == {"selection": "kept", "selected": 2, "kept": 2, "removed": 13, "filters": "ids"}
    assert _member_ids(child) == [ids[0], ids[3]]
    expect(page.locator(".thumb")).to_have_count(2)
    expect(page.locator("#selection-count")).to_have_text("0 selected")
    assert _member_ids(version) == ids  # the parent is unchanged
    assert errors == []


def test_a_new_version_without_all_samples_matching_a_filter(
    live_server, page: Page, browse_dataset: BrowseDataset, curator
):
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=_grid_path(browse_dataset) + "?label=cat")
    all_images_loaded(page)

    # when every cat is selected by the filter (not ticked one by one) and removed
    page.get_by_role("button", name="Select all 5 matching").click()
    expect(page.locator("#selection-count")).to_have_text("5 selected (all matching label=cat)")
    expect(page.locator(".thumb.is-selected")).to_have_count(5)
    page.get_by_role("button", name="New version without selection").click()

    # then v3 keeps the 10 dogs and birds
    page.wait_for_url(f"**/datasets/{browse_dataset.dataset.pk}/v/3/samples/")
    child = DatasetVersion.objects.get(dataset=browse_dataset.dataset, number=3)
    kept = browse_dataset.samples_by_label["dog"] + browse_dataset.samples_by_label["bird"]
    assert _member_ids(child) == sorted(kept)
    assert child.operation_params == {
        "selection": "removed",
        "selected": 5,
        "kept": 10,
        "removed": 5,
        "filters": "label=cat",
    }
    expect(page.locator(".grid-summary")).to_contain_text("10 samples")
    assert errors == []


def test_a_selection_is_sent_to_a_review_queue(live_server, page: Page, browse_dataset: BrowseDataset, reviewer):
    version = browse_dataset.version
    queue = ReviewQueue.objects.create(version=version, name="fix the dogs", item_count=0)
    queue.reviewers.add(reviewer)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, reviewer.username, next_path=_grid_path(browse_dataset) + "?label=dog")
    all_images_loaded(page)
    dogs = browse_dataset.samples_by_label["dog"]

    # a reviewer cannot make versions, but can label the selection in their queue
    expect(page.get_by_role("button", name="New version from selection")).to_have_count(0)
    page.locator(".thumb-select").nth(0).click()
    page.locator(".thumb-select").nth(1).click(modifiers=["Shift"])
    page.locator("#selection-label-form select[name=label]").select_option("cat")
    page.get_by_role("button", name="Send to review queue").click()

    page.wait_for_url(f"**/review/queues/{queue.pk}/")
    items = ReviewItem.objects.filter(queue=queue).order_by("sample_id")
    assert list(items.values_list("sample_id", flat=True)) == dogs[:2]
    votes = [(v.label, v.value) for item in items for v in item.votes.filter(origin="bulk_grid")]
    assert votes == [("cat", "yes"), ("cat", "yes")]
    # the queue page asks for no pasted ids: it sends the reviewer to the grid to select
    expect(page.locator("textarea, input[name=sample_ids]")).to_have_count(0)
    page.get_by_role("link", name="the version's sample grid").click()
    page.wait_for_url(f"**{_grid_path(browse_dataset)}")
    assert errors == []


def test_a_range_spans_load_more_and_the_selection_follows_to_the_next_page(
    live_server, page: Page, browse_dataset: BrowseDataset, viewer, monkeypatch
):
    monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", 6)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=_grid_path(browse_dataset))
    all_images_loaded(page)
    ids = _member_ids(browse_dataset.version)
    boxes = page.locator(".thumb-select")
    expect(boxes).to_have_count(6)

    # when the first card is ticked, the next page loaded in place and the ninth shift-clicked
    boxes.nth(0).click()
    page.get_by_role("link", name="Load more").click()
    expect(boxes).to_have_count(12)
    expect(page.locator(".thumb.is-selected")).to_have_count(1)
    boxes.nth(8).click(modifiers=["Shift"])

    # then nine are selected, a viewer sees the count but no bulk action, and the next page shows its ticks
    expect(page.locator("#selection-count")).to_have_text("9 selected")
    expect(page.locator("#selection-version-form")).to_have_count(0)
    page.goto(f"{live_server.url}{_grid_path(browse_dataset)}?after={ids[5]}")
    ticked = page.locator(".thumb.is-selected").evaluate_all("els => els.map(e => Number(e.dataset.sampleId))")
    assert ticked == ids[6:9]
    expect(page.locator("#selection-count")).to_have_text("9 selected")
    assert errors == []
