"""The whole loop in a real browser, by clicks only (issue #20): import -> embed -> duplicates -> prune -> review
-> train -> evaluate -> explain -> export, on a real Celery worker.

The admin opens one URL (the login page, which leads to the datasets list) and from there only clicks links and
buttons, fills form fields (a dataset name, a keep fraction, epochs) and uploads the zip; no id and no URL is
typed. The encoder is the tiny random-init open_clip saved to disk (tests/curation/ml/tiny_clip.py), which the
embed form offers first (see `offered_tiny_encoder`); the classifier is the small CNN at 32 px for 2 epochs.
Every page visited is checked for console errors, page errors and 4xx/5xx responses.
"""

import hashlib
import io
import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from curation.models import DatasetVersion
from curation.review.models import ReviewQueue
from tests.browser import log_in
from tests.e2e.conftest import LOOP_ZIP_COUNTS, loop_zip
from tests.e2e.test_browse import all_images_loaded, keep_screenshot, watch_for_errors

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # a dozen jobs one after the other on the shared 2-core machine
    pytest.mark.django_db(transaction=True),
]

JOB_WAIT_MS = 240_000  # a job on the shared 2-core machine: generous, never a timing assertion
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # two shared cores: no intra-op oversubscription


def job_summary(page: Page) -> str:
    """Wait for the job page's one-line summary (the job has succeeded) and return it."""
    summary = page.locator("#job-summary")
    expect(summary).to_be_visible(timeout=JOB_WAIT_MS)
    return summary.inner_text()


def next_step(page: Page, label: str) -> None:
    page.locator("[data-next-step]", has_text=label).click()


def test_an_admin_runs_the_whole_loop_by_clicking_only(
    live_server, page: Page, admin_user, celery_worker, offered_tiny_encoder, tiny_clip, tmp_path
):
    celery_worker(WINNOW_WEIGHTS_ROOTS=str(tiny_clip.local_dir), **ONE_THREAD)
    page.set_default_timeout(60_000)
    errors = watch_for_errors(page)
    archive = tmp_path / "shapes.zip"
    archive.write_bytes(loop_zip())
    total = sum(count for counts in LOOP_ZIP_COUNTS.values() for count in counts.values())
    log_in(page, live_server.url, admin_user.username)

    # Import: the nav's Import page, a name typed, the zip uploaded
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_label("Zip archive").set_input_files(archive)
    page.get_by_label("Dataset name").fill("shapes-loop")
    page.get_by_role("button", name="Import").click()
    assert job_summary(page) == f"Imported {total} images (0 rejected, 0 duplicates) into shapes-loop v1."

    # Embed v1 with the encoder the form offers first
    next_step(page, "Embed this version")
    expect(page.get_by_label("Encoder")).to_have_value(offered_tiny_encoder)
    page.get_by_role("button", name="Embed v1").click()
    assert job_summary(page) == f"Embedded {total} images with {offered_tiny_encoder} (16-d)."

    # Duplicates of the set (calibrated thresholds), then on to pruning
    next_step(page, "Find duplicates")
    page.get_by_role("button", name="Find duplicates").click()
    assert re.fullmatch(r"\d+ exact groups? and \d+ near-duplicate groups? \(\d+ samples?\) at .*", job_summary(page))
    next_step(page, "Prune")

    # Prune: the random control keeps half of the train split (the default splits); the others are kept
    page.get_by_label("Method").select_option(label="Random (control)")
    expect(page.get_by_label("Temperature τ")).to_be_hidden()  # the form shows the random method's fields only
    page.get_by_label("Keep fraction").fill("0.5")
    page.get_by_role("button", name="Compute the prune run").click()
    train = sum(LOOP_ZIP_COUNTS["train"].values())
    kept = total - (train - train // 2)
    assert job_summary(page).startswith(
        f"Random (control) proposes keeping {kept} of {total} candidates and removing {train - train // 2};"
    )
    next_step(page, "Review and apply the pruning")
    page.get_by_role("button", name=re.compile("^Apply")).click()
    expect(page.locator("main")).to_contain_text(f"Version 2 holds the {kept} kept samples.")

    # v2 has no embeddings of its own: its dataset page says embedding it is next
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="shapes-loop").click()
    expect(page.locator("#loop-title")).to_contain_text("Loop of v2")
    page.locator("#loop-next", has_text="Embed this version").click()
    page.get_by_role("button", name="Embed v2").click()
    assert job_summary(page) == f"Embedded {kept} images with {offered_tiny_encoder} (16-d)."

    # Review: label proposals (confident learning) of v2, a queue of them, every item voted by clicks
    page.get_by_role("link", name="shapes-loop v2").first.click()
    page.locator("[data-stage='review'] a.button", has_text="Create a review queue").click()
    page.get_by_role("button", name="Propose labels").click()
    assert re.fullmatch(r"[\d,]+ label proposals? for [\d,]+ samples? from Confident learning.*", job_summary(page))
    next_step(page, "Review these proposals")
    page.get_by_label("Name").fill("loop check")
    page.get_by_role("button", name="Create queue").click()
    queue = ReviewQueue.objects.get(name="loop check")
    assert queue.item_count > 0
    page.get_by_role("link", name="Start reviewing").click()
    for _ in range(queue.item_count):  # yes to each item's current label, then submit (the next item swaps in)
        item = page.locator("#review-item").get_attribute("data-item")
        yes = page.locator("#candidates .vote-yes").first
        yes.click()
        expect(yes).to_have_attribute("aria-pressed", "true")
        page.get_by_role("button", name="Submit and next").click()
        expect(page.locator(f"#review-item[data-item='{item}']")).to_have_count(0)
    expect(page.get_by_role("heading", name="Nothing left for you in loop check")).to_be_visible()
    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_role("button", name="Apply consensus as a new version").click()
    expect(page.locator(".messages")).to_have_text("Consensus applied: version v3 created.")
    shot = tmp_path / "loop-review-queue.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)

    # Train on v3 from its dataset page: the small CNN, 2 epochs at 32 px (typed into the form)
    page.get_by_role("link", name="v3", exact=True).click()
    page.locator("[data-stage='models'] a.button", has_text="Train a model").click()
    expect(page.get_by_label("Version")).to_have_value(str(DatasetVersion.objects.get(number=3).pk))
    page.get_by_label("Architecture").select_option("small-cnn")
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("Image size").fill("32")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#training-live .job-status")).to_have_text("Succeeded", timeout=JOB_WAIT_MS)
    expect(page.locator("#epoch-table tbody tr")).to_have_count(2)

    # Evaluate (clean) from the training run's page; the report reloads itself when the job is done
    next_step(page, "Evaluate this model")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#evaluation-summary")).to_be_visible(timeout=JOB_WAIT_MS)
    tested = sum(LOOP_ZIP_COUNTS["test"].values())
    expect(page.locator(".lead")).to_contain_text(f"on {tested} samples of the test split at 32 px")

    # Explain from the evaluation report; the gallery shows every explained sample's maps
    next_step(page, "Explain")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#explanation-summary")).to_be_visible(timeout=JOB_WAIT_MS)
    page.get_by_role("link", name="Gallery").first.click()
    all_images_loaded(page)
    shot = tmp_path / "loop-gradcam-gallery.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)

    # Export v3 from its dataset page (the newest version) and download the zip with its checksum file
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.get_by_role("link", name="shapes-loop").click()
    page.get_by_role("link", name="Export v3").first.click()  # the page head's button
    page.get_by_role("button", name="Export").click()
    row = page.locator("#exports-table tbody tr", has_text="shapes-loop v3")
    expect(row.get_by_role("link", name="Succeeded")).to_be_visible(timeout=JOB_WAIT_MS)
    with page.expect_download() as zipped:
        row.get_by_role("link", name="imagefolder.zip").click()
    with page.expect_download() as sums:
        row.get_by_role("link", name="SHA256SUMS").click()
    body = zipped.value.path().read_bytes()
    listed = dict(reversed(line.split("  ")) for line in sums.value.path().read_text().splitlines())
    assert listed[zipped.value.suggested_filename] == hashlib.sha256(body).hexdigest()
    images = [name for name in zipfile.ZipFile(io.BytesIO(body)).namelist() if name.endswith(".png")]
    assert len(images) == kept
    assert errors == []
