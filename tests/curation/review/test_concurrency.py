"""Parallel clients (issue part 4): real threads, each with its own database connection, on PostgreSQL.

Two reviewers on one item, a double submit, a vote from a stale page after consensus, undo. After each
race: no vote lost (every accepted vote is a row), none counted twice (one current vote per reviewer and
label; consensus counts equal the submitted reviewers' votes).
"""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from core.api_errors import ApplicationError
from curation.review.models import AssignmentState, ItemState, ReviewAssignment, ReviewVote
from curation.review.services.votes import review_item_submit, review_undo, review_vote_cast
from tests.curation.review.conftest import vote_rows

pytestmark = pytest.mark.django_db(transaction=True)


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once (a barrier releases them together); each result is a value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def codes(results: list[Any]) -> list[str]:
    return sorted(r.code if isinstance(r, ApplicationError) else "ok" for r in results)


def test_two_reviewers_vote_and_submit_one_item_at_once(small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=2)
    item = queue.items.get()

    def review(reviewer, value):
        return lambda: (
            review_vote_cast(item_id=item.pk, reviewer=reviewer, label="dog", value=value),
            review_item_submit(item_id=item.pk, reviewer=reviewer),
        )

    results = in_parallel(review(reviewers[0], "yes"), review(reviewers[1], "yes"))

    assert codes(results) == ["ok", "ok"]
    item.refresh_from_db()
    assert (item.state, item.submitted_count, item.consensus_labels) == (ItemState.AGREED, 2, ["dog"])
    assert item.consensus["dog"]["votes"] == {"yes": 2, "maybe": 0, "no": 0}
    assert item.consensus["cat"]["votes"] == {"yes": 0, "maybe": 0, "no": 2}
    assert sorted(vote_rows(queue)) == [
        ("rev0", "cat", "no", "implicit", True, False), ("rev0", "dog", "yes", "review", True, False),
        ("rev1", "cat", "no", "implicit", True, False), ("rev1", "dog", "yes", "review", True, False),
    ]  # fmt: skip


@pytest.mark.parametrize("request_id", ["", "click-42"])
def test_a_double_submit_of_the_same_vote_counts_once(small_queue, reviewers, request_id):
    queue = small_queue(n_items=1)
    item = queue.items.get()

    def vote():
        return review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes", request_id=request_id)

    results = in_parallel(vote, vote, vote, vote)

    assert codes(results) == ["ok"] * 4
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.vote.pk for r in results}) == 1
    assert vote_rows(queue) == [("rev0", "dog", "yes", "review", True, False)]


def test_a_double_submit_of_the_item_counts_one_review(small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=2)
    item = queue.items.get()

    results = in_parallel(*[lambda: review_item_submit(item_id=item.pk, reviewer=reviewers[0])] * 3)

    assert codes(results) == ["ok"] * 3
    item.refresh_from_db()
    assert (item.submitted_count, item.state) == (1, ItemState.OPEN)
    assert vote_rows(queue) == [
        ("rev0", "cat", "no", "implicit", True, False),
        ("rev0", "dog", "no", "implicit", True, False),
    ]


def test_votes_from_stale_pages_racing_the_closing_submit_are_either_recorded_or_refused(small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=1)
    item = queue.items.get()
    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes")

    def stale_vote(reviewer):
        return lambda: review_vote_cast(item_id=item.pk, reviewer=reviewer, label="cat", value="no")

    results = in_parallel(
        lambda: review_item_submit(item_id=item.pk, reviewer=reviewers[0]),
        stale_vote(reviewers[1]), stale_vote(reviewers[2]), stale_vote(reviewers[3]),
    )  # fmt: skip

    item.refresh_from_db()
    assert item.state == ItemState.AGREED
    accepted = [r for r in results[1:] if not isinstance(r, Exception)]
    refused = [r for r in results[1:] if isinstance(r, Exception)]
    assert {r.code for r in refused} <= {"consensus_reached"}
    assert len(accepted) + len(refused) == 3
    # Every accepted stale vote is a row, none of the refused ones is, and none of them counted.
    late_rows = ReviewVote.objects.filter(item=item).exclude(reviewer=reviewers[0])
    assert sorted(v.pk for v in late_rows) == sorted(r.vote.pk for r in accepted)
    assert item.consensus["cat"]["votes"] == {"yes": 0, "maybe": 0, "no": 1}
    assert item.submitted_count == 1


def test_a_stale_vote_after_consensus_is_refused_and_changes_nothing(small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=2)
    item = queue.items.get()
    in_parallel(*[lambda r=r: review_item_submit(item_id=item.pk, reviewer=r) for r in reviewers[:2]])
    before = (vote_rows(queue), list(ReviewAssignment.objects.filter(item=item).values_list("reviewer_id", "state")))

    results = in_parallel(
        *[lambda r=r: review_vote_cast(item_id=item.pk, reviewer=r, label="dog", value="yes") for r in reviewers]
    )

    assert codes(results) == ["consensus_reached"] * 4
    assert all(r.status_code == 409 for r in results)
    assert (
        vote_rows(queue),
        list(ReviewAssignment.objects.filter(item=item).values_list("reviewer_id", "state")),
    ) == before


def test_parallel_undos_each_undo_a_different_vote(small_queue, reviewers):
    queue = small_queue(n_items=1)
    item = queue.items.get()
    for value in ("yes", "no", "maybe"):
        review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value=value)

    results = in_parallel(*[lambda: review_undo(queue=queue, reviewer=reviewers[0])] * 2)

    assert codes(results) == ["ok", "ok"]
    assert sorted(r.vote.value for r in results) == ["maybe", "no"]
    assert vote_rows(queue) == [
        ("rev0", "dog", "yes", "review", True, False), ("rev0", "dog", "no", "review", False, True),
        ("rev0", "dog", "maybe", "review", False, True),
    ]  # fmt: skip


def test_many_clients_voting_at_once_lose_nothing_and_count_nothing_twice(small_queue, reviewers):
    queue = small_queue(n_items=2, reviewers_per_item=4)
    items = list(queue.items.order_by("position"))
    plan = [
        (r, item, label, value)
        for r in reviewers
        for item in items
        for label, value in (("dog", "yes"), ("bird", "maybe"))
    ]

    results = in_parallel(
        *[lambda p=p: review_vote_cast(item_id=p[1].pk, reviewer=p[0], label=p[2], value=p[3]) for p in plan * 2]
    )

    assert codes(results) == ["ok"] * len(plan) * 2
    created = [r.vote.pk for r in results if r.created]
    assert sorted(created) == sorted(ReviewVote.objects.filter(item__queue=queue).values_list("pk", flat=True))
    assert len(created) == len(plan)
    current = Counter(
        ReviewVote.objects.filter(item__queue=queue, is_current=True).values_list("item_id", "reviewer_id", "label")
    )
    assert set(current.values()) == {1}
    in_parallel(*[lambda r=r, i=i: review_item_submit(item_id=i.pk, reviewer=r) for r in reviewers for i in items])
    for item in items:
        item.refresh_from_db()
        assert (item.state, item.submitted_count) == (ItemState.AGREED, 4)
        assert item.consensus["dog"]["votes"] == {"yes": 4, "maybe": 0, "no": 0}
        assert item.consensus["bird"]["votes"] == {"yes": 0, "maybe": 4, "no": 0}
    assert ReviewAssignment.objects.filter(item__queue=queue, state=AssignmentState.SUBMITTED).count() == 8
