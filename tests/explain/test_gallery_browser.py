"""The Grad-CAM gallery in a real browser: every picture loads, and the slider sets the heatmaps' opacity."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from explain.services import explanation_run_create
from jobs.models import JobStatus
from jobs.services import job_execute
from tests.browser import log_in
from tests.e2e.test_browse import all_images_loaded, keep_screenshot, watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_gallery_pictures_load_and_the_slider_sets_the_heatmap_opacity(
    live_server, page: Page, eval_version, stored_model, admin_user, viewer, tmp_path: Path
):
    version = eval_version({"cat": 3, "dog": 3}, without_mask=1)
    run = explanation_run_create(
        trained_model=stored_model(["cat", "dog"]), version=version, requested_by=admin_user, enqueue=False,
        params={"device": "cpu", "batch_size": 4, "road_percentiles": [50]},
    )  # fmt: skip
    assert job_execute(run.job_id).status == JobStatus.SUCCEEDED
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username)

    page.goto(f"{live_server.url}/explanations/{run.pk}/gallery/")
    all_images_loaded(page)
    heatmaps = page.locator(".cam-heat")
    expect(heatmaps).to_have_count(6)
    assert heatmaps.first.evaluate("img => getComputedStyle(img).opacity") == "0.5"
    page.locator("#cam-opacity").fill("100")

    expect(page.locator("#cam-opacity-value")).to_have_text("100%")
    assert heatmaps.first.evaluate("img => getComputedStyle(img).opacity") == "1"
    page.locator("#cam-opacity").fill("0")
    assert heatmaps.last.evaluate("img => getComputedStyle(img).opacity") == "0"
    shot = tmp_path / "explain-gallery.png"
    page.locator("#cam-opacity").fill("60")
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)
    page.goto(f"{live_server.url}/explanations/{run.pk}/")
    expect(page.locator("[data-figure='reliance-figure'] .main-svg").first).to_be_visible()
    report = tmp_path / "explain-report.png"
    page.screenshot(path=str(report), full_page=True)
    keep_screenshot(report)
    assert errors == []
