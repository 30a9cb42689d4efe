"""A review page's release beacon against a newer page of the same reviewer (issue #19 item 4, claims).

On a reload (or a link to the next review page in the same tab) the browser asks for the new page before the
old one fires `pagehide`, so the old page's beacon reaches the server after the new page was served, often
after the new page's first next-item request too. The beacon says when its page was left (opened_at from the
page plus the page's elapsed time); the new page stamps the claims it shows and serves with later times, and
the release leaves those. Replayed here in the order the browser makes the requests, on one connection."""

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from curation.review.models import AssignmentState, ReviewAssignment, ReviewItem, ReviewQueue
from curation.review.services.claims import (
    CLAIM_TTL,
    PREFETCH,
    page_left_at,
    review_claim_page_stamp,
    review_claims_release,
)
from curation.review.services.votes import review_item_next
from tests.curation.review import test_claims
from tests.curation.review.test_claims import positions

claim_queue = test_claims.claim_queue  # the fixture: make(n_items, n_reviewers=4, reviewers_per_item=1)

pytestmark = pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked, reason="batch claims need SKIP LOCKED"
)


def later_than(moment: datetime) -> datetime:
    """Now, once the clock has passed `moment` (a request after another one is served at a later time)."""
    while (now := timezone.now()) <= moment:
        pass
    return now


def holders(queue: ReviewQueue) -> dict[int, int]:
    """Per item position: how many reviewers hold it (claimed or submitted)."""
    held: dict[int, int] = {}
    for position in ReviewAssignment.objects.filter(item__queue=queue).values_list("item__position", flat=True):
        held[position] = held.get(position, 0) + 1
    return held


def test_a_late_release_of_the_page_left_leaves_the_claims_the_next_page_shows_and_serves(claim_queue):
    # given page A: it shows the reviewer's first item (stamped on rendering) and prefetched the second
    queue, (first, second, *_) = claim_queue(40)
    shown = review_item_next(queue=queue, reviewer=first)  # the queue's "work" page: a batch of PREFETCH claims
    opened_a = timezone.now()
    review_claim_page_stamp(item=shown, reviewer=first, opened_at=opened_a)
    prefetched_a = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(shown.pk,), page_opened_at=opened_a)
    # when the reviewer reloads: A is left, then page B is rendered with the same item and serves the same claim
    prefetched_at = claimed_at(prefetched_a, first)
    left_a = later_than(prefetched_at)
    opened_b = later_than(left_a)
    assert review_claim_page_stamp(item=shown, reviewer=first, opened_at=opened_b)
    prefetched_b = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(shown.pk,), page_opened_at=opened_b)
    # ... and only then does A's beacon arrive
    released = review_claims_release(
        queue=queue, reviewer=first, left_at=page_left_at(opened_at=opened_a, elapsed=left_a - opened_a)
    )

    # then the two items page B holds stay the reviewer's; the rest of A's batch goes back
    assert prefetched_b.pk == prefetched_a.pk and prefetched_at <= left_a
    assert (shown.position, prefetched_b.position) == (1, 2)
    assert released == PREFETCH - 2 and positions(queue, first) == [1, 2]
    # ... and another reviewer gets the first item A released, never one B holds
    assert review_item_next(queue=queue, reviewer=second).position == 3
    assert max(holders(queue).values()) == queue.reviewers_per_item == 1


def claimed_at(item: ReviewItem, reviewer) -> datetime:
    return ReviewAssignment.objects.get(item=item, reviewer=reviewer).claimed_at


def test_the_release_of_a_page_left_without_a_newer_page_frees_all_its_claims_without_votes(claim_queue):
    queue, (first, *_) = claim_queue(40)
    shown = review_item_next(queue=queue, reviewer=first)
    opened = timezone.now()
    review_claim_page_stamp(item=shown, reviewer=first, opened_at=opened)
    prefetched = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(shown.pk,), page_opened_at=opened)
    left = later_than(claimed_at(prefetched, first))

    released = review_claims_release(
        queue=queue, reviewer=first, left_at=page_left_at(opened_at=opened, elapsed=left - opened)
    )

    assert released == PREFETCH and positions(queue, first) == []


def test_the_moment_a_page_was_left_is_never_later_than_now():
    now, second = timezone.now(), timedelta(seconds=1)

    assert page_left_at(opened_at=now - 10 * second, elapsed=4 * second) == now - 6 * second
    assert page_left_at(opened_at=now - second, elapsed=-5 * second) == now - second  # no time before the opening
    assert page_left_at(opened_at=now, elapsed=timedelta(days=400)) <= timezone.now()
    assert page_left_at(opened_at=now + timedelta(days=1), elapsed=timedelta(0)) <= timezone.now()


def test_a_page_stamps_only_a_claim_no_claimer_counts_as_stale(claim_queue):
    queue, (first, *_) = claim_queue(40)
    shown = review_item_next(queue=queue, reviewer=first)
    stale = timezone.now() - CLAIM_TTL + timedelta(seconds=30)  # past the serving margin
    ReviewAssignment.objects.filter(item=shown, reviewer=first).update(claimed_at=stale)

    stamped = review_claim_page_stamp(item=shown, reviewer=first, opened_at=timezone.now())

    assert not stamped and claimed_at(shown, first) == stale


def page_opened_at(html: str) -> str:
    found = re.search(r'data-opened-at="([^"]+)"', html)
    assert found, "the review page carries no data-opened-at"
    return found.group(1)


def test_through_the_pages_and_the_api_a_reload_keeps_the_claims_the_new_page_holds(claim_queue):
    # given a reviewer on the review page (the queue's "work" link), which prefetched the next item
    queue, (first, second, *_) = claim_queue(40)
    browser = Client()
    browser.force_login(first)
    page_a = browser.get(f"/review/queues/{queue.pk}/work/", follow=True)
    opened_a = page_opened_at(page_a.content.decode())
    shown = page_a.context["item"]
    next_url = f"/api/review-queues/{queue.pk}/next/"
    prefetched = browser.get(next_url, {"exclude": shown.pk, "opened_at": opened_a}).json()["item"]

    # when they reload: A is left (its beforeunload), page B is served and prefetches; then A's beacon arrives
    left_a = later_than(timezone.now())
    elapsed_ms = (left_a - parse_datetime(opened_a)).total_seconds() * 1000
    later_than(left_a)
    page_b = browser.get(f"/review/items/{shown.pk}/")
    opened_b = page_opened_at(page_b.content.decode())
    served_b = browser.get(next_url, {"exclude": shown.pk, "opened_at": opened_b}).json()["item"]
    beacon = browser.post(f"/api/review-queues/{queue.pk}/release/", {"opened_at": opened_a, "elapsed_ms": elapsed_ms})

    # then B's two items stay the reviewer's, and another reviewer is served neither
    assert served_b["id"] == prefetched["id"] and parse_datetime(opened_b) > left_a
    assert beacon.status_code == 200 and beacon.json() == {"released": PREFETCH - 2}
    assert positions(queue, first) == [1, 2]
    assert review_item_next(queue=queue, reviewer=second).position == 3
    # ... and B's own beacon, later, frees them
    left_b = later_than(timezone.now())
    elapsed_b = (left_b - parse_datetime(opened_b)).total_seconds() * 1000
    own_beacon = browser.post(
        f"/api/review-queues/{queue.pk}/release/", {"opened_at": opened_b, "elapsed_ms": elapsed_b}
    )
    assert own_beacon.json() == {"released": 2} and positions(queue, first) == []


def test_a_release_without_the_page_fields_frees_every_claim_without_a_vote_as_before(claim_queue):
    queue, (first, *_) = claim_queue(40)
    browser = Client()
    browser.force_login(first)
    browser.get(f"/review/queues/{queue.pk}/work/", follow=True)

    answer = browser.post(f"/api/review-queues/{queue.pk}/release/")
    invalid = browser.post(f"/api/review-queues/{queue.pk}/release/", {"opened_at": "yesterday"})

    assert answer.json() == {"released": PREFETCH} and positions(queue, first) == []
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "validation_error")
    assert ReviewAssignment.objects.filter(state=AssignmentState.CLAIMED).count() == 0
