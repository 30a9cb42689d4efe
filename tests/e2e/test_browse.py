"""Browsing in a real browser: log in, filter the grid, open a sample, toggle its mask with `m`."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from frontend.pages import datasets as dataset_pages
from tests.e2e.conftest import BrowseDataset, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def watch_for_errors(page: Page) -> list[str]:
    """Collect console errors, uncaught page errors and failed responses (a missing static file, a 500, a 403 on
    media), each with the page it happened on."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"{message.text} (on {page.url})")

    def on_page_error(error) -> None:
        errors.append(f"page error: {error} (on {page.url})")

    def on_response(response) -> None:
        if response.status >= 400:
            errors.append(f"{response.status} {response.url} (on {page.url})")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    return errors


def all_images_loaded(page: Page) -> None:
    """Scroll lazy images into view and wait until every image on the page has loaded."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)")
    page.evaluate("window.scrollTo(0, 0)")


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot to $WINNOW_SHOTS_DIR when set (to look at them after a run)."""
    target = os.environ.get("WINNOW_SHOTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def test_viewer_filters_the_grid_by_label_and_toggles_the_mask_with_m(
    live_server, page: Page, browse_dataset: BrowseDataset, viewer, tmp_path: Path
):
    # given a viewer and a dataset whose v2 has 5 dogs among 15 samples
    dataset, version = browse_dataset.dataset, browse_dataset.version
    dogs = browse_dataset.samples_by_label["dog"]
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    errors = watch_for_errors(page)

    # when they log in through the form and open the grid
    log_in(page, live_server.url, viewer.username, next_path=grid_path)

    # then all 15 thumbnails are shown
    expect(page.locator("li.thumb")).to_have_count(15)

    # when they pick the label "dog"
    page.get_by_label("Label").select_option("dog")

    # then htmx swaps in only the dogs, in id order, and the URL says so
    page.wait_for_url(f"{live_server.url}{grid_path}?q=&label=dog&split=&source=&review_state=&sort=")
    expect(page.locator("li.thumb")).to_have_count(len(dogs))
    shown_ids = page.locator("li.thumb").evaluate_all("items => items.map(item => Number(item.dataset.sampleId))")
    shown_labels = page.locator("li.thumb .thumb-label").all_inner_texts()
    assert shown_ids == dogs
    assert shown_labels == ["dog"] * len(dogs)
    expect(page.locator("#grid-title")).to_have_text("5 of 15 samples match")
    all_images_loaded(page)
    page.screenshot(path=tmp_path / "grid_dogs.png", full_page=True)

    # when they open the first dog
    page.locator("li.thumb a").first.click()
    page.wait_for_url(f"{live_server.url}{grid_path}{dogs[0]}/?label=dog")
    overlay = page.locator("#mask-overlay")

    # then the mask is hidden until they press m, and shown after it
    expect(overlay).to_be_hidden()
    page.keyboard.press("m")
    expect(overlay).to_be_visible()
    expect(page.locator("#mask-toggle")).to_be_checked()
    assert overlay.evaluate("img => img.complete && img.naturalWidth") == 96 + 12 * 1  # sample index 1
    page.screenshot(path=tmp_path / "sample_mask.png", full_page=True)

    # and pressing m again hides it; j moves to the next dog (the filter is kept)
    page.keyboard.press("m")
    expect(overlay).to_be_hidden()
    page.keyboard.press("j")
    page.wait_for_url(f"{live_server.url}{grid_path}{dogs[1]}/?label=dog")
    assert (tmp_path / "sample_mask.png").stat().st_size > 10_000
    assert errors == []
    keep_screenshot(tmp_path / "grid_dogs.png")
    keep_screenshot(tmp_path / "sample_mask.png")


@pytest.mark.parametrize("width", [1280, 800])
def test_every_page_renders_without_errors_at_laptop_and_narrow_width(
    live_server, page: Page, browse_dataset: BrowseDataset, curator, tmp_path: Path, width: int
):
    # given a curator on a window of the given width
    dataset, version = browse_dataset.dataset, browse_dataset.version
    first_cat = browse_dataset.samples_by_label["cat"][0]
    page.set_viewport_size({"width": width, "height": 900})
    errors = watch_for_errors(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=tmp_path / f"login_{width}.png")
    log_in(page, live_server.url, curator.username)
    pages = {
        "datasets": "/",
        "dataset": f"/datasets/{dataset.pk}/",
        "grid": f"/datasets/{dataset.pk}/v/{version.number}/samples/",
        "sample": f"/datasets/{dataset.pk}/v/{version.number}/samples/{first_cat}/",
    }

    # when they visit every browsing page
    scroll_widths = {}
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        if name == "dataset":
            expect(page.locator(".chart.js-plotly-plot")).to_have_count(2)
        if name == "sample":
            page.get_by_label("Show mask").check()
        all_images_loaded(page)
        page.screenshot(path=tmp_path / f"{name}_{width}.png", full_page=True)
        scroll_widths[name] = page.evaluate("document.documentElement.scrollWidth")

    # then nothing failed to load, and every page fits the window (no horizontal scrolling)
    assert errors == []
    assert scroll_widths == dict.fromkeys(pages, width)
    expect(page.get_by_role("link", name="Import")).to_be_visible()
    for shot in tmp_path.glob("*.png"):
        keep_screenshot(shot)


def test_load_more_appends_the_next_page_in_place(
    live_server, page: Page, browse_dataset: BrowseDataset, viewer, monkeypatch
):
    # given pages of 6 thumbnails (the live server runs in this process) and a grid of 15 samples
    monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", 6)
    dataset, version = browse_dataset.dataset, browse_dataset.version
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    everything = sorted(sample_id for ids in browse_dataset.samples_by_label.values() for sample_id in ids)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=grid_path)
    expect(page.locator("li.thumb")).to_have_count(6)

    # when "Load more" is pressed twice
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("li.thumb")).to_have_count(12)
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("li.thumb")).to_have_count(15)

    # then all 15 are shown once each in id order, with no "Load more" left and the URL unchanged
    shown = page.locator("li.thumb").evaluate_all("items => items.map(item => Number(item.dataset.sampleId))")
    assert shown == everything
    expect(page.locator("#grid-more")).to_have_count(0)
    assert page.url == f"{live_server.url}{grid_path}"
    assert errors == []


def test_empty_datasets_list_tells_how_to_start(live_server, page: Page, curator, tmp_path: Path):
    # given no datasets, when a curator logs in
    log_in(page, live_server.url, curator.username)

    # then the empty state names the demo command and links the import page
    expect(page.locator(".empty-state code")).to_have_text("python manage.py build_demo_dataset")
    expect(page.get_by_role("link", name="import your own images")).to_have_attribute("href", "/datasets/import/")
    page.screenshot(path=tmp_path / "datasets_empty.png")
    keep_screenshot(tmp_path / "datasets_empty.png")
