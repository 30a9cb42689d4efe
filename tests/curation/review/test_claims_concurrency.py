"""Batch claims under real parallel clients (issue 19, item 4): threads, each with its own PostgreSQL connection.

No item is held by more reviewers than the queue asks for, whatever the interleaving; a stale claim goes to
one claimer; 20 reviewers working a queue to its end lose no accepted vote, count none twice, review every
item exactly reviewers_per_item times, and leave no claim behind once they close the queue.
"""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from core.api_errors import ApplicationError
from curation.review.models import AssignmentState, ItemState, ReviewAssignment, ReviewVote, VoteOrigin
from curation.review.services.claims import CLAIM_TTL, review_claims_release
from curation.review.services.votes import review_item_next, review_item_submit, review_vote_cast
from tests.curation.review import test_claims
from tests.curation.review.test_claims import make_stale

pytestmark = [pytest.mark.django_db(transaction=True), test_claims.pytestmark]
claim_queue = test_claims.claim_queue  # the fixture, shared


def in_parallel(calls: list[Callable[[], Any]], rounds: int = 1) -> list[Any]:
    """Run the calls at once (a barrier releases them together), `rounds` times; each result is a value or the
    exception. Each thread closes its database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [[] for _ in calls]

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            for _ in range(rounds):
                barrier.wait()
                try:
                    results[index].append(call())
                except Exception as exc:
                    results[index].append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def held_per_item(queue) -> Counter:
    held = ReviewAssignment.objects.filter(
        item__queue=queue, state__in=[AssignmentState.CLAIMED, AssignmentState.SUBMITTED]
    )
    return Counter(dict(held.values_list("item_id").annotate(n=Count("pk")).order_by()))


@pytest.mark.parametrize("reviewers_per_item", [1, 2])
def test_parallel_claimers_never_hold_an_item_beyond_reviewers_per_item(claim_queue, reviewers_per_item):
    # given 20 reviewers and fewer items than their prefetches would take
    queue, reviewers = claim_queue(60, n_reviewers=20, reviewers_per_item=reviewers_per_item)
    served: dict[int, list[int]] = {r.pk: [] for r in reviewers}

    def next_item(reviewer) -> Callable[[], Any]:
        def call() -> Any:
            item = review_item_next(queue=queue, reviewer=reviewer, exclude_item_ids=tuple(served[reviewer.pk]))
            if item is not None:
                served[reviewer.pk].append(item.pk)
            return item

        return call

    # when all of them ask for an item at once, three times (each time showing what they were served)
    results = in_parallel([next_item(r) for r in reviewers], rounds=3)

    # then nothing failed, nobody was served an item twice, every served item is the server's claim for them,
    # and no item is held by more than reviewers_per_item reviewers
    assert not [r for rs in results for r in rs if isinstance(r, Exception)]
    assert all(len(items) == len(set(items)) for items in served.values())
    claims = set(ReviewAssignment.objects.filter(item__queue=queue).values_list("reviewer_id", "item_id"))
    assert {(r, i) for r, items in served.items() for i in items} <= claims
    held = held_per_item(queue)
    assert max(held.values()) <= reviewers_per_item
    if reviewers_per_item == 1:
        assert sum(held.values()) == 60  # every reviewer was served 3 distinct items, or none was left
    else:
        assert all(served.values())  # 120 places: everyone got items


def test_a_stale_claim_goes_to_one_of_many_parallel_claimers(claim_queue):
    queue, reviewers = claim_queue(1, n_reviewers=10)
    owner, others = reviewers[0], reviewers[1:]
    item = review_item_next(queue=queue, reviewer=owner)
    make_stale(queue, owner)

    results = [rs[0] for rs in in_parallel([lambda r=r: review_item_next(queue=queue, reviewer=r) for r in others])]

    taken = [r for r in results if r is not None]
    assert [r.pk for r in taken] == [item.pk] and len(results) == 9
    assert review_item_next(queue=queue, reviewer=owner) is None  # held by the new claimer now
    fresh = ReviewAssignment.objects.filter(item=item, state=AssignmentState.CLAIMED).exclude(reviewer=owner)
    assert fresh.count() == 1 and CLAIM_TTL.total_seconds() == 900


@pytest.mark.slow
def test_twenty_reviewers_work_a_queue_to_its_end(claim_queue):
    # given 30 items that two of 20 reviewers each review (quorum 2)
    queue, reviewers = claim_queue(30, n_reviewers=20, reviewers_per_item=2)
    accepted: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()

    def work(reviewer) -> Callable[[], int]:
        def call() -> int:
            done = 0
            while (item := review_item_next(queue=queue, reviewer=reviewer)) is not None:
                for candidate in item.candidates:
                    value = "no" if candidate["current"] else "yes"
                    try:
                        outcome = review_vote_cast(
                            item_id=item.pk, reviewer=reviewer, label=candidate["label"], value=value
                        )
                    except ApplicationError as exc:
                        with lock:
                            refused.append(exc.code)
                        continue
                    with lock:
                        accepted.extend([outcome.vote.pk] if outcome.created else [])
                review_item_submit(item_id=item.pk, reviewer=reviewer)
                done += 1
            review_claims_release(queue=queue, reviewer=reviewer)  # the reviewer closes the queue
            return done

        return call

    # when they all work at once until nothing is left for them
    results = [rs[0] for rs in in_parallel([work(r) for r in reviewers])]

    # then nothing failed, every item was reviewed by exactly two reviewers and closed
    assert not [r for r in results if isinstance(r, Exception)] and refused == []
    assert sum(results) == 60
    items = list(queue.items.all())
    assert all(item.state != ItemState.OPEN and item.submitted_count == 2 for item in items)
    assert set(held_per_item(queue).values()) == {2}
    # every accepted vote is stored once, none counted twice, and no claim is left behind
    review_votes = ReviewVote.objects.filter(item__queue=queue, origin=VoteOrigin.REVIEW)
    assert sorted(accepted) == sorted(review_votes.values_list("pk", flat=True)) and len(accepted) == 120
    current = ReviewVote.objects.filter(item__queue=queue, is_current=True)
    assert set(Counter(current.values_list("item_id", "reviewer_id", "label")).values()) == {1}
    assert not ReviewAssignment.objects.filter(item__queue=queue, state=AssignmentState.CLAIMED).exists()
