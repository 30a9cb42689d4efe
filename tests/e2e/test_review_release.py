"""A reviewer who leaves the review page gives their claims back at once (issue #19 item 4): the page sends
a beacon to the queue's release endpoint on `pagehide`, so the items it showed and prefetched go to the
other reviewers now instead of when the claims expire (15 minutes later). On a reload the beacon reaches the
server after the new page was served: it names its page (a token), so it frees only what that page held, not
what the new page shows (the beacon is held at the server until the new page has loaded, so the late order is
certain). Back from the browser's back-forward cache, the page's claims were given back: it loads again and
claims its item anew."""

import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from core.roles import Role
from curation.review.apis.views import ReviewQueueReleaseApi
from curation.review.models import AssignmentState, ReviewAssignment
from curation.review.services.claims import review_item_next
from curation.review.services.queues import review_queue_create
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.curation.review.conftest import proposals_add
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def claimed_by(user) -> set[int]:
    return set(
        ReviewAssignment.objects.filter(reviewer=user, state=AssignmentState.CLAIMED).values_list("item_id", flat=True)
    )


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_leaving_the_review_page_frees_the_claimed_items_for_another_reviewer(
    live_server, page: Page, browse_dataset: BrowseDataset, reviewer, user_with_role
):
    # given a queue of two items, one reviewer per item, two reviewers assigned
    other = user_with_role(Role.REVIEWER, username="other-reviewer")
    version = browse_dataset.version
    cats = browse_dataset.samples_by_label["cat"][:2]
    proposals_add(version, [(sample_id, "dog", 0.8, 0.7) for sample_id in cats])
    queue = review_queue_create(version=version, name="leaving", reviewer_ids=[reviewer.pk, other.pk])
    first, second = queue.items.order_by("position")
    errors = watch_for_errors(page)

    # when the first reviewer opens the queue: the item shown and the one prefetched are claimed for them
    log_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/review/queues/{queue.pk}/work/")
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/")
    page.wait_for_function(
        f"performance.getEntriesByType('resource').some(e => e.name.includes('/review/items/{second.pk}/?partial=1'))"
    )
    assert claimed_by(reviewer) == {first.pk, second.pk}
    assert review_item_next(queue=queue, reviewer=other) is None  # nothing free for the other reviewer

    # and leaves the page without voting (opens another page)
    page.goto(f"{live_server.url}/review/")

    # then their claims go back at once, and the other reviewer gets the first item
    assert wait_until(lambda: not claimed_by(reviewer)), claimed_by(reviewer)
    found = review_item_next(queue=queue, reviewer=other)
    assert found is not None and found.pk == first.pk
    assert errors == []


def test_a_reload_keeps_the_items_of_the_new_page_when_the_old_pages_beacon_arrives_late(
    live_server, page: Page, browse_dataset: BrowseDataset, reviewer, user_with_role, monkeypatch
):
    # given a queue of five items, one reviewer per item, two reviewers: a first claim takes a fair share of 3
    other = user_with_role(Role.REVIEWER, username="other-reviewer")
    version = browse_dataset.version
    cats = browse_dataset.samples_by_label["cat"][:5]
    proposals_add(version, [(sample_id, "dog", 0.8, 0.7) for sample_id in cats])
    queue = review_queue_create(version=version, name="reloading", reviewer_ids=[reviewer.pk, other.pk])
    first, second, third, *_ = queue.items.order_by("position")
    prefetched = (
        f"performance.getEntriesByType('resource').some(e => e.name.includes('/review/items/{second.pk}/?partial=1'))"
    )
    errors = watch_for_errors(page)
    log_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/review/queues/{queue.pk}/work/")
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/")
    page.wait_for_function(prefetched)
    assert claimed_by(reviewer) == {first.pk, second.pk, third.pk}

    # when the reviewer reloads, and the old page's beacon is held at the server until the new page has loaded and
    # prefetched (the live server answers each request on its own thread)
    arrived, go = threading.Event(), threading.Event()
    release = ReviewQueueReleaseApi.post

    def held(view, request, queue_id):
        arrived.set()
        go.wait(30)
        return release(view, request, queue_id)

    monkeypatch.setattr(ReviewQueueReleaseApi, "post", held)
    page.reload()
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/")
    page.wait_for_function(prefetched)
    assert arrived.wait(10)
    assert claimed_by(reviewer) == {first.pk, second.pk, third.pk}
    go.set()

    # then the beacon frees only the claim the new page does not hold; the other reviewer gets that item
    assert wait_until(lambda: third.pk not in claimed_by(reviewer)), claimed_by(reviewer)
    assert claimed_by(reviewer) == {first.pk, second.pk}
    found = review_item_next(queue=queue, reviewer=other)
    assert found is not None and found.pk == third.pk
    assert errors == []


@pytest.fixture
def cached_page(browser: Browser) -> Iterator[Page]:
    """A page of a Chromium that keeps pages in its back-forward cache (Playwright's launch turns the cache off)."""
    with_cache = browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, ignore_default_args=["--disable-back-forward-cache"]
    )
    context = with_cache.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    with_cache.close()


# Records, across the reload the page then makes, that a review page came back from the back-forward cache.
RESTORED_FROM_CACHE = """
window.addEventListener("pageshow", function (event) {
  if (event.persisted) sessionStorage.setItem("restored-from-cache", window.location.pathname);
});
"""


def test_back_from_the_cache_the_review_page_claims_its_item_again(
    live_server, cached_page: Page, browse_dataset: BrowseDataset, reviewer, user_with_role
):
    # given a queue of five items, one reviewer per item, two reviewers; the first opens it and leaves the page,
    # which gives their claims back
    other = user_with_role(Role.REVIEWER, username="other-reviewer")
    page = cached_page
    version = browse_dataset.version
    cats = browse_dataset.samples_by_label["cat"][:5]
    proposals_add(version, [(sample_id, "dog", 0.8, 0.7) for sample_id in cats])
    queue = review_queue_create(version=version, name="cached", reviewer_ids=[reviewer.pk, other.pk])
    first, second, *_ = queue.items.order_by("position")
    errors = watch_for_errors(page)
    page.add_init_script(RESTORED_FROM_CACHE)
    log_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/review/queues/{queue.pk}/work/")
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/")
    page.wait_for_function(
        f"performance.getEntriesByType('resource').some(e => e.name.includes('/review/items/{second.pk}/?partial=1'))"
    )
    page.goto(f"{live_server.url}/review/")
    assert wait_until(lambda: not claimed_by(reviewer)), claimed_by(reviewer)

    # when they go back: the browser shows the page from its back-forward cache
    page.go_back(wait_until="commit")  # a page restored from the cache fires no load event
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/", wait_until="commit")

    # then the page came from the cache and loaded again: the item it shows is claimed for the reviewer again
    page.wait_for_function("sessionStorage.getItem('restored-from-cache') !== null")
    assert page.evaluate("sessionStorage.getItem('restored-from-cache')") == f"/review/items/{first.pk}/"
    assert wait_until(lambda: {first.pk, second.pk} <= claimed_by(reviewer)), claimed_by(reviewer)
    assert errors == []
