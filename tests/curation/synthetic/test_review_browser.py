"""A curator reviews generated images in a real browser with the keyboard only: a approves, r rejects,
u undoes the last decision (the image comes back and waits again), and the page ends when none is pending."""

import pytest
from playwright.sync_api import Page, expect

from curation.synthetic.models import SyntheticImage
from curation.synthetic.services.plans import plan_params_validate, synthetic_batch_create
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.browser import log_in
from tests.curation.synthetic.conftest import small_version

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def statuses(batch) -> list[str]:
    return list(SyntheticImage.objects.filter(batch=batch).order_by("position").values_list("status", flat=True))


def test_a_curator_approves_rejects_and_undoes_with_the_keyboard(live_server, page: Page, curator):
    # Given a generated composite batch of two images
    version = small_version(masked=True, per_class=1).version
    batch = synthetic_batch_create(
        params=plan_params_validate(version_id=version.pk, mode="composite", per_class=1), user=curator
    )
    job = job_execute(job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=curator).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, live_server.url, curator.username)
    image = page.locator("#synthetic-image")

    # When the curator opens the review page and presses a (approve) on the first image
    page.goto(f"{live_server.url}/synthetic/{batch.pk}/review/")
    expect(image).to_have_attribute("data-position", "0")
    expect(page.locator("#synthetic-intended")).to_have_text("cat")
    page.keyboard.press("a")

    # Then the second image is shown; r rejects it, u puts it back to pending and shows it again
    expect(image).to_have_attribute("data-position", "1")
    page.keyboard.press("r")
    expect(image).to_have_attribute("data-done", "1")
    assert statuses(batch) == ["approved", "rejected"]
    page.keyboard.press("u")
    expect(image).to_have_attribute("data-position", "1")
    expect(page.locator("#review-status")).to_have_text("Image 1 back to pending.")
    assert statuses(batch) == ["approved", "pending"]
    page.keyboard.press("a")
    expect(image).to_have_attribute("data-done", "1")
    assert statuses(batch) == ["approved", "approved"]
    assert errors == []
