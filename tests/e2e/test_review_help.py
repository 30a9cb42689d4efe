"""Review page safeguards in a real browser: the key list on `?`, a second Enter to close an item with no
label, and the queue page a curator reads (thumbnails, agreement shown as n/a with one reviewer)."""

import pytest
from playwright.sync_api import Page, expect

from curation.review.models import AssignmentState, ReviewAssignment
from curation.review.services.queues import review_queue_create
from tests.curation.review.conftest import proposals_add
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import all_images_loaded, watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_help_overlay_and_a_second_enter_before_closing_an_item_without_labels(
    live_server, page: Page, browse_dataset: BrowseDataset, reviewer, curator
):
    version = browse_dataset.version
    cats = browse_dataset.samples_by_label["cat"][:2]
    proposals_add(version, [(sample_id, "dog", 0.8, 0.7) for sample_id in cats])
    queue = review_queue_create(version=version, name="safeguards", reviewer_ids=[reviewer.pk])
    first, second = queue.items.order_by("position")
    errors = watch_for_errors(page)
    log_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/review/queues/{queue.pk}/work/")
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/")
    help_dialog = page.locator("#review-help")

    # ? opens the list of every key, Esc closes it
    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Undo your last vote, submit or skip")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # Enter with no label marked yes asks first and submits nothing
    page.keyboard.press("Enter")
    expect(page.locator("#review-status")).to_contain_text("No label is marked yes")
    assert not ReviewAssignment.objects.filter(item=first, state=AssignmentState.SUBMITTED).exists()
    assert page.url == f"{live_server.url}/review/items/{first.pk}/"

    # a second Enter submits it and shows the next item
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/review/items/{second.pk}/")
    assert ReviewAssignment.objects.get(item=first).state == AssignmentState.SUBMITTED

    # the curator's queue page: a thumbnail per item, agreement n/a with a single reviewer
    page.context.clear_cookies()
    log_in(page, live_server.url, curator.username, next_path=f"/review/queues/{queue.pk}/")
    all_images_loaded(page)
    expect(page.locator("#item-table img.item-thumb")).to_have_count(2)
    expect(page.locator("#fleiss")).to_contain_text("n/a")
    assert errors == []
