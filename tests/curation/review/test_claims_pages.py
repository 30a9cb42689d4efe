"""A review page's release beacon against a newer page of the same reviewer (issue #19 item 4, claims).

On a reload (or a link to the next review page in the same tab) the browser asks for the new page before the
old one fires `pagehide`, so the old page's beacon reaches the server after the new page was served, often
after the new page's first next-item request too. Each rendering of the review page draws a token; the claims
it shows and is served become that page's, and a beacon frees only the claims its own page still holds.
Replayed here in the order the browser makes the requests, on one connection."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from curation.review.models import AssignmentState, ReviewAssignment, ReviewItem, ReviewQueue
from curation.review.services.claims import CLAIM_TTL, PREFETCH, review_claim_page_take, review_claims_release
from curation.review.services.votes import review_item_next, review_vote_cast
from tests.curation.review import test_claims
from tests.curation.review.test_claims import positions

claim_queue = test_claims.claim_queue  # the fixture: make(n_items, n_reviewers=4, reviewers_per_item=1)

pytestmark = pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked, reason="batch claims need SKIP LOCKED"
)


def holders(queue: ReviewQueue) -> dict[int, int]:
    """Per item position: how many reviewers hold it (claimed or submitted)."""
    held: dict[int, int] = {}
    for position in ReviewAssignment.objects.filter(item__queue=queue).values_list("item__position", flat=True):
        held[position] = held.get(position, 0) + 1
    return held


def page_of(item: ReviewItem, reviewer) -> uuid.UUID | None:
    return ReviewAssignment.objects.get(item=item, reviewer=reviewer).page


def test_a_late_release_of_the_page_left_leaves_the_claims_the_next_page_shows_and_serves(claim_queue):
    # given page A: it shows the reviewer's first item and prefetched the second
    queue, (first, second, *_) = claim_queue(40)
    page_a, page_b = uuid.uuid4(), uuid.uuid4()
    shown = review_item_next(queue=queue, reviewer=first)  # the queue's "work" page: a batch of PREFETCH claims
    assert review_claim_page_take(item=shown, reviewer=first, page=page_a)
    prefetched_a = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(shown.pk,), page=page_a)
    # when the reviewer reloads: page B is rendered with the same item and is served the same claim
    assert review_claim_page_take(item=shown, reviewer=first, page=page_b)
    prefetched_b = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(shown.pk,), page=page_b)
    # ... and only then does A's beacon arrive
    released = review_claims_release(queue=queue, reviewer=first, page=page_a)

    # then the two items page B holds stay the reviewer's; the rest of the first batch (no page's: the "work"
    # link claimed it) goes back
    assert prefetched_b.pk == prefetched_a.pk
    assert (shown.position, prefetched_b.position) == (1, 2)
    assert (page_of(shown, first), page_of(prefetched_b, first)) == (page_b, page_b)
    assert released == PREFETCH - 2 and positions(queue, first) == [1, 2]
    # ... another reviewer gets the first item A released, never one B holds; B's own beacon frees B's two
    assert review_item_next(queue=queue, reviewer=second).position == 3
    assert max(holders(queue).values()) == queue.reviewers_per_item == 1
    assert review_claims_release(queue=queue, reviewer=first, page=page_b) == 2
    assert positions(queue, first) == []


def test_a_batch_claimed_by_a_page_is_that_pages_and_goes_with_its_beacon(claim_queue):
    queue, (first, *_) = claim_queue(40)
    page = uuid.uuid4()

    shown = review_item_next(queue=queue, reviewer=first, page=page)  # the batch: PREFETCH claims, this page's
    prefetched = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(shown.pk,), page=page)
    other_page = review_claims_release(queue=queue, reviewer=first, page=uuid.uuid4())
    released = review_claims_release(queue=queue, reviewer=first, page=page)

    assert (shown.position, prefetched.position) == (1, 2)
    assert other_page == 0 and released == PREFETCH and positions(queue, first) == []


def test_a_beacon_that_frees_the_claims_before_the_next_page_serves_them_serves_fresh_ones(claim_queue):
    # given page A holding the batch, and its beacon processed before page B's first next-item request
    queue, (first, second, *_) = claim_queue(40)
    page_a, page_b = uuid.uuid4(), uuid.uuid4()
    review_item_next(queue=queue, reviewer=first, page=page_a)
    assert review_claims_release(queue=queue, reviewer=first, page=page_a) == PREFETCH

    # when page B asks for an item: it claims a new batch, its own
    served = review_item_next(queue=queue, reviewer=first, page=page_b)

    # then B holds what it was served; A's beacon again (a duplicate) frees none of it
    assert served.position == 1 and page_of(served, first) == page_b
    assert review_claims_release(queue=queue, reviewer=first, page=page_a) == 0
    assert positions(queue, first) == [1, 2, 3, 4, 5]
    assert review_item_next(queue=queue, reviewer=second).position == 6


def test_a_page_claims_its_item_again_when_a_release_freed_it_and_the_item_has_room(claim_queue):
    # given the reviewer's claim on item 1 freed (a beacon), and item 2 claimed by another reviewer
    queue, (first, second, *_) = claim_queue(40)
    item_1, item_2 = queue.items.order_by("position")[:2]
    review_item_next(queue=queue, reviewer=first)
    review_claims_release(queue=queue, reviewer=first)
    assert review_item_next(queue=queue, reviewer=second).pk == item_1.pk  # second's batch: items 1-5
    review_claims_release(queue=queue, reviewer=second)
    review_item_next(queue=queue, reviewer=second, exclude_item_ids=(item_1.pk,))  # second holds 2-6 now
    assert positions(queue, second) == [2, 3, 4, 5, 6]
    page = uuid.uuid4()

    # when the reviewer's page is rendered on item 1 (free) and on item 2 (held by the other, one per item)
    took_free = review_claim_page_take(item=item_1, reviewer=first, page=page)
    took_full = review_claim_page_take(item=item_2, reviewer=first, page=page)

    # then it holds item 1 again, for that page, and never item 2
    assert (took_free, took_full) == (True, False)
    assert positions(queue, first) == [1] and page_of(item_1, first) == page
    assert max(holders(queue).values()) == 1


def test_a_page_renews_its_own_stale_claim_under_the_lock_only_when_the_item_has_room(claim_queue):
    queue, (first, second, *_) = claim_queue(40)
    shown = review_item_next(queue=queue, reviewer=first)
    stale = timezone.now() - CLAIM_TTL - timedelta(seconds=30)
    ReviewAssignment.objects.filter(item__queue=queue, reviewer=first).update(claimed_at=stale)
    taken_by_other = review_item_next(queue=queue, reviewer=second)  # the stale claims hold nothing
    assert taken_by_other.pk == shown.pk

    refused = review_claim_page_take(item=shown, reviewer=first, page=uuid.uuid4())

    assert not refused
    assert ReviewAssignment.objects.get(item=shown, reviewer=first).claimed_at == stale
    assert holders(queue)[shown.position] == 2  # the stale claim row and the other's fresh claim
    review_claims_release(queue=queue, reviewer=second)
    assert review_claim_page_take(item=shown, reviewer=first, page=uuid.uuid4())
    assert ReviewAssignment.objects.get(item=shown, reviewer=first).claimed_at > stale


def test_a_claim_with_a_vote_stays_when_its_page_is_released(claim_queue):
    queue, (first, *_) = claim_queue(40)
    page = uuid.uuid4()
    shown = review_item_next(queue=queue, reviewer=first, page=page)
    review_vote_cast(item_id=shown.pk, reviewer=first, label="dog", value="yes")

    released = review_claims_release(queue=queue, reviewer=first, page=page)

    assert released == PREFETCH - 1 and positions(queue, first) == [1]


def page_token(html: str) -> str:
    found = re.search(r'data-page="([0-9a-f-]{36})"', html)
    assert found, "the review page carries no data-page token"
    return found.group(1)


def test_through_the_pages_and_the_api_a_reload_keeps_the_claims_the_new_page_holds(claim_queue):
    # given a reviewer on the review page (the queue's "work" link), which prefetched the next item
    queue, (first, second, *_) = claim_queue(40)
    browser = Client()
    browser.force_login(first)
    page_a = browser.get(f"/review/queues/{queue.pk}/work/", follow=True)
    token_a = page_token(page_a.content.decode())
    shown = page_a.context["item"]
    next_url = f"/api/review-queues/{queue.pk}/next/"
    prefetched = browser.get(next_url, {"exclude": shown.pk, "page": token_a}).json()["item"]

    # when they reload: page B is served and prefetches; then A's beacon arrives
    page_b = browser.get(f"/review/items/{shown.pk}/")
    token_b = page_token(page_b.content.decode())
    served_b = browser.get(next_url, {"exclude": shown.pk, "page": token_b}).json()["item"]
    beacon = browser.post(f"/api/review-queues/{queue.pk}/release/", {"page": token_a})

    # then B's two items stay the reviewer's (the rest of the batch the "work" link claimed, no page's, goes back),
    # and another reviewer is served neither
    assert token_a != token_b and served_b["id"] == prefetched["id"]
    assert beacon.status_code == 200 and beacon.json() == {"released": PREFETCH - 2}
    assert positions(queue, first) == [1, 2]
    assert review_item_next(queue=queue, reviewer=second).position == 3
    # ... and B's own beacon, later, frees them
    own_beacon = browser.post(f"/api/review-queues/{queue.pk}/release/", {"page": token_b})
    assert own_beacon.json() == {"released": 2} and positions(queue, first) == []


def test_a_release_without_a_page_frees_every_claim_without_a_vote_and_a_bad_token_is_refused(claim_queue):
    queue, (first, *_) = claim_queue(40)
    browser = Client()
    browser.force_login(first)
    browser.get(f"/review/queues/{queue.pk}/work/", follow=True)

    invalid = browser.post(f"/api/review-queues/{queue.pk}/release/", {"page": "yesterday"})
    answer = browser.post(f"/api/review-queues/{queue.pk}/release/")

    assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "validation_error")
    assert answer.json() == {"released": PREFETCH} and positions(queue, first) == []
    assert ReviewAssignment.objects.filter(state=AssignmentState.CLAIMED).count() == 0
