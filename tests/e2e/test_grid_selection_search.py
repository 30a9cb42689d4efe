"""Searching the sample grid by file name and caption, and selecting what the search found.

The fixture's samples are named "<label>/<label>_<index>.png" with the caption "a drawn <label> on a
gradient"; v2 holds indexes 0-14.
"""

import pytest
from playwright.sync_api import Page, expect

from curation.models import DatasetVersion, VersionSample
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import all_images_loaded, watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_search_by_file_name_and_caption_then_keep_what_it_found(
    live_server, page: Page, browse_dataset: BrowseDataset, curator
):
    dataset, version = browse_dataset.dataset, browse_dataset.version
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/datasets/{dataset.pk}/v/{version.number}/samples/")
    all_images_loaded(page)
    search = page.get_by_label("Search")

    # a caption search finds the five birds
    search.fill("DRAWN BIRD")
    search.press("Enter")
    expect(page.locator(".grid-summary")).to_contain_text("5 of 15 samples match")
    expect(page.locator(".thumb")).to_have_count(5)
    assert page.locator(".thumb").evaluate_all("els => els.map(e => e.dataset.label)") == ["bird"] * 5

    # a file-name search finds dog_001, dog_004 and dog_007 (not dog_010 or dog_013), and stays in the URL
    search.fill("dog_00")
    search.press("Enter")
    expect(page.locator(".thumb")).to_have_count(3)
    expect(page.locator(".grid-summary")).to_contain_text("3 of 15 samples match")
    assert "q=dog_00" in page.url
    dogs = browse_dataset.samples_by_label["dog"][:3]
    ids = page.locator(".thumb").evaluate_all("els => els.map(e => Number(e.dataset.sampleId))")
    assert ids == dogs

    # selecting all that the search matched makes a version of exactly those
    page.get_by_role("button", name="Select all 3 matching").click()
    expect(page.locator("#selection-count")).to_have_text("3 selected (all matching q=dog_00)")
    page.get_by_role("button", name="New version from selection").click()
    page.wait_for_url(f"**/datasets/{dataset.pk}/v/3/samples/")
    child = DatasetVersion.objects.get(dataset=dataset, number=3)
    assert sorted(VersionSample.objects.filter(version=child).values_list("sample_id", flat=True)) == dogs
    assert child.operation_params["filters"] == "q=dog_00"
    assert errors == []


def test_sorting_the_grid_by_label_and_newest_first(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    dataset, version = browse_dataset.dataset, browse_dataset.version
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=f"/datasets/{dataset.pk}/v/{version.number}/samples/")
    all_images_loaded(page)
    thumbs = page.locator(".thumb")

    page.get_by_label("Sort").select_option(label="Label")
    page.wait_for_url("**sort=label**")
    expect(thumbs.first).to_have_attribute("data-label", "bird")
    assert thumbs.evaluate_all("els => els.map(e => e.dataset.label)") == ["bird"] * 5 + ["cat"] * 5 + ["dog"] * 5

    page.get_by_label("Sort").select_option(label="Id (newest first)")
    page.wait_for_url("**sort=-id**")
    ids = sorted((i for ids in browse_dataset.samples_by_label.values() for i in ids), reverse=True)
    expect(thumbs.first).to_have_attribute("data-sample-id", str(ids[0]))
    assert thumbs.evaluate_all("els => els.map(e => Number(e.dataset.sampleId))") == ids
    assert errors == []


def test_filter_by_review_state_then_drop_those_samples(
    live_server, page: Page, browse_dataset: BrowseDataset, curator
):
    from curation.review.models import ReviewItem, ReviewQueue

    dataset, version = browse_dataset.dataset, browse_dataset.version
    disputed = browse_dataset.samples_by_label["cat"][:2]
    queue = ReviewQueue.objects.create(version=version, name="cats", item_count=2)
    for position, sample_id in enumerate(disputed):
        ReviewItem.objects.create(queue=queue, sample_id=sample_id, position=position, state="disputed")
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/datasets/{dataset.pk}/v/{version.number}/samples/")
    all_images_loaded(page)

    page.get_by_label("Review state").select_option("disputed")
    page.wait_for_url("**review_state=disputed**")
    expect(page.locator(".thumb")).to_have_count(2)
    expect(page.locator(".grid-summary")).to_contain_text("2 of 15 samples match")
    page.get_by_role("button", name="Select all 2 matching").click()
    page.get_by_role("button", name="New version without selection").click()

    page.wait_for_url(f"**/datasets/{dataset.pk}/v/3/samples/")
    child = DatasetVersion.objects.get(dataset=dataset, number=3)
    kept = sorted(VersionSample.objects.filter(version=child).values_list("sample_id", flat=True))
    all_ids = sorted(VersionSample.objects.filter(version=version).values_list("sample_id", flat=True))
    assert kept == [i for i in all_ids if i not in disputed]
    assert child.operation_params["filters"] == "review_state=disputed"
    assert errors == []
