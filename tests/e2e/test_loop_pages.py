"""Pages that lead somewhere, in a real browser: a job's page leads to what it made and to the next step,
and the dataset page shows the loop of a version with its next action. Every page visited is checked for
console errors and 4xx/5xx responses."""

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from curation.review.models import ReviewQueue
from tests.browser import log_in
from tests.curation.pruning.factories import embedding_set_create, version_with_samples
from tests.e2e.test_browse import keep_screenshot, watch_for_errors
from tests.frontend.loop_rows import finished_job, trained_model_row

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_import_job_page_summarises_and_leads_to_embedding_the_version(live_server, page: Page, curator, tmp_path):
    version = version_with_samples(6)
    job = finished_job(
        "import_dataset",
        {"dataset": version.dataset_id, "version": version.pk, "imported": 6, "rejected": 0, "duplicates": 0},
        curator,
    )
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/jobs/{job.pk}/")

    expect(page.locator("#job-summary")).to_have_text(
        f"Imported 6 images (0 rejected, 0 duplicates) into {version.dataset.name} v1."
    )
    expect(page.locator(".job-result")).not_to_be_visible()  # the JSON waits behind its disclosure
    page.get_by_text("Result as JSON").click()
    expect(page.locator(".job-result")).to_contain_text('"imported": 6')
    shot = tmp_path / "job-import-result.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)

    page.locator("[data-next-step]", has_text="Embed this version").click()
    page.wait_for_url(f"**/datasets/{version.dataset_id}/v/1/embeddings/")
    expect(page.locator("#embed-form")).to_be_visible()
    assert errors == []


def test_a_training_job_page_leads_to_an_evaluation_form_with_the_model_chosen(live_server, page: Page, admin_user):
    version = version_with_samples(4)
    model = trained_model_row(version, admin_user)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, admin_user.username, next_path=f"/jobs/{model.run.job_id}/")

    expect(page.locator("#job-summary")).to_have_text("Trained 2 epochs; best validation accuracy 87.5% at epoch 2.")
    expect(page.locator("[data-next-step]")).to_have_text(["Evaluate this model", "Explain", "Find spurious features"])
    page.locator("[data-next-step]", has_text="Evaluate this model").click()
    page.wait_for_url("**/evaluations/start/**")
    expect(page.get_by_label("Trained model")).to_have_value(str(model.pk))
    expect(page.get_by_label("Dataset version")).to_have_value(str(version.pk))
    page.go_back()
    page.locator("[data-next-step]", has_text="Find spurious features").click()
    page.wait_for_url("**/spurious/start/**")
    expect(page.get_by_label("Trained model")).to_have_value(str(model.pk))
    assert errors == []


def test_a_proposals_job_page_leads_to_a_review_queue_form_for_its_version(live_server, page: Page, curator):
    version = version_with_samples(4)
    job = finished_job(
        "label_proposals",
        {
            "proposal_run": 1,
            "version": version.pk,
            "source": "confident_learning",
            "proposals": 3,
            "flagged_samples": 3,
        },
        curator,
    )
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/jobs/{job.pk}/")

    page.get_by_role("link", name="Review these proposals").click()
    page.wait_for_url("**/review/new/**")
    expect(page.locator("select[name='version']").first).to_have_value(str(version.pk))
    assert errors == []


def test_the_dataset_page_shows_the_loop_of_a_version_and_its_next_step(live_server, page: Page, curator, tmp_path):
    version = version_with_samples(8)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/datasets/{version.dataset_id}/")

    # a fresh import: nothing made yet, the next step is to embed it
    loop = page.locator("#loop")
    expect(loop.locator("[data-stage]")).to_have_count(8)
    expect(page.locator("#loop-next")).to_have_text("Next: Embed this version")
    expect(loop.locator("[data-stage='embeddings'] h3")).to_have_text("Embeddings · 0")

    # once it has embeddings and a review queue, they are listed and the next step is to find duplicates
    embedding_set = embedding_set_create(version=version, vectors=np.eye(8, 4))
    queue = ReviewQueue.objects.create(version=version, name="check the cats", item_count=0)
    page.reload()
    expect(loop.locator("[data-stage='embeddings'] li")).to_have_text(
        [f"Set {embedding_set.pk} · test:pixels 8 rows, ready"]
    )
    expect(loop.locator("[data-stage='review'] a", has_text="check the cats")).to_have_attribute(
        "href", f"/review/queues/{queue.pk}/"
    )
    expect(page.locator("#loop-next")).to_have_text("Next: Find duplicates")
    shot = tmp_path / "dataset-loop.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)

    page.locator("#loop-next").click()
    page.wait_for_url(f"**/datasets/{version.dataset_id}/v/1/embeddings/#start-title")
    page.go_back()
    loop.locator("[data-stage='review'] a", has_text="check the cats").click()
    page.wait_for_url(f"**/review/queues/{queue.pk}/")
    assert errors == []


def test_a_viewer_sees_the_loop_without_actions(live_server, page: Page, viewer):
    version = version_with_samples(3)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=f"/datasets/{version.dataset_id}/")

    expect(page.locator("#loop [data-stage]")).to_have_count(8)
    expect(page.locator("#loop .button")).to_have_count(0)
    expect(page.locator("#loop-next")).to_have_count(0)
    assert errors == []
