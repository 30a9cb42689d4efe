"""A reviewer who leaves the review page gives their claims back at once (issue #19 item 4): the page sends
a beacon to the queue's release endpoint on `pagehide`, so the items it showed and prefetched go to the
other reviewers now instead of when the claims expire (15 minutes later)."""

import time

import pytest
from playwright.sync_api import Page

from core.roles import Role
from curation.review.models import AssignmentState, ReviewAssignment
from curation.review.services.claims import review_item_next
from curation.review.services.queues import review_queue_create
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
