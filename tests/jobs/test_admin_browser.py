"""The jobs admin in a real browser: its table fits the page at 1280 px (it was cut off)."""

from pathlib import Path

import pytest
from playwright.sync_api import Page

from jobs.models import JobStatus
from tests.browser import PASSWORD
from tests.e2e.test_browse import keep_screenshot, watch_for_errors
from tests.factories import JobFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_job_changelist_fits_the_page(live_server, page: Page, tmp_path: Path):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for status in (JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED):
        JobFactory(kind="propose_labels", status=status, requested_by=staff, message="batch 3 of 40 " * 4)
    errors = watch_for_errors(page)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/jobs/job/")
    page.locator("#id_username").fill(staff.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/")

    shot = tmp_path / "admin-jobs.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)
    table = page.locator("#result_list").bounding_box()
    assert table["x"] + table["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert errors == []
