"""The main navigation in a real browser: one line at 1440 px for an admin, groups that open and lead on."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.roles import Role
from tests.browser import log_in
from tests.e2e.test_browse import keep_screenshot, watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_admins_navigation_fits_one_line_and_its_groups_lead_to_their_pages(
    live_server, page: Page, user_with_role, tmp_path: Path
):
    # (a staff admin: the widest navigation, with the Admin link)
    admin_user = user_with_role(Role.ADMIN, is_staff=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    errors = watch_for_errors(page)
    log_in(page, live_server.url, admin_user.username, next_path="/jobs/")
    nav = page.locator("nav.mainnav")
    first_link = nav.get_by_role("link", name="Datasets")

    # then every top-level entry sits on the first link's line
    top = first_link.bounding_box()["y"]
    entries = nav.locator(":scope > a, :scope > details > summary")
    assert entries.count() >= 8
    assert {round(entries.nth(i).bounding_box()["y"] - top) for i in range(entries.count())} == {0}

    # when the Models group is opened and Grad-CAM chosen
    nav.locator("summary", has_text="Models").click()
    expect(nav.get_by_role("link", name="Grad-CAM")).to_be_visible()
    shot = tmp_path / "navigation-open.png"
    page.screenshot(path=str(shot))
    keep_screenshot(shot)
    nav.get_by_role("link", name="Grad-CAM").click()

    # then the page opens, its group is marked current, and the menu is closed again
    page.wait_for_url(f"{live_server.url}/explanations/")
    expect(nav.locator("details.navgroup[data-current] > summary")).to_have_text("Models")
    expect(nav.get_by_role("link", name="Grad-CAM")).to_be_hidden()
    page.keyboard.press("Escape")
    assert errors == []
