"""Votes and submits take vote_sql's statements on PostgreSQL and the ORM elsewhere: both keep the same rules.

One reviewer's whole life on an item (repeats, a reused request_id, a change, a new class, skip, submit, votes after
submit and after consensus) runs on each path and must leave the same answers and the same rows."""

import pytest

from core.api_errors import ApplicationError
from curation.review.models import AssignmentState, ItemState, ReviewAssignment
from curation.review.services import vote_sql
from curation.review.services.votes import review_item_skip, review_item_submit, review_vote_cast
from tests.curation.review.conftest import vote_rows

# The statements' half exists on PostgreSQL only (make test's database); on SQLite only the ORM half applies.
STATEMENTS = pytest.param(
    "statements", marks=pytest.mark.skipif(not vote_sql.supported(), reason="vote_sql's statements need PostgreSQL")
)


@pytest.fixture(params=[STATEMENTS, "orm"])
def path(request, monkeypatch) -> str:
    if request.param == "orm":
        monkeypatch.setattr(vote_sql, "supported", lambda: False)
    return request.param


def outcome(call) -> tuple:
    try:
        result = call()
    except ApplicationError as refused:
        return ("refused", refused.code, refused.status_code)
    if hasattr(result, "created"):
        return ("vote", result.vote.label, result.vote.value, result.created, result.vote.is_current)
    return ("item", result.state, result.submitted_count)


def test_a_reviewers_votes_and_submits_answer_and_write_the_same_on_both_paths(path, small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=2)
    item = queue.items.get()
    first, second = reviewers[:2]

    def vote(label, value, request_id="", reviewer=first):
        return outcome(
            lambda: review_vote_cast(
                item_id=item.pk, reviewer=reviewer, label=label, value=value, request_id=request_id
            )
        )

    answers = [
        vote("dog", "yes", "r1"),
        vote("dog", "yes", "r1"),  # the same request again
        vote("cat", "no", "r1"),  # its id for another vote
        vote("dog", "yes"),  # the same vote again
        vote("dog", "maybe", "r2"),  # a change
        vote("bird", "yes"),  # a class that was no candidate
        vote("zebra", "yes", "r3"),  # outside the taxonomy
        vote("dog", "sure"),
        outcome(lambda: review_item_skip(item_id=item.pk, reviewer=first)),
        vote("cat", "no", "r4"),  # claims the skipped item again
        outcome(lambda: review_item_submit(item_id=item.pk, reviewer=first)),
        outcome(lambda: review_item_submit(item_id=item.pk, reviewer=first)),
        vote("cat", "yes"),  # after submitting
        vote("dog", "yes", reviewer=reviewers[3]),  # outside the item's assignments: assigned to the queue
        outcome(lambda: review_item_submit(item_id=item.pk, reviewer=second)),
        vote("cat", "yes", reviewer=second),  # after consensus
        vote("cat", "no", "r4"),  # a repeat is answered after consensus too
    ]

    assert answers == [
        ("vote", "dog", "yes", True, True),
        ("vote", "dog", "yes", False, True),
        ("refused", "request_id_reused", 400),
        ("vote", "dog", "yes", False, True),
        ("vote", "dog", "maybe", True, True),
        ("vote", "bird", "yes", True, True),
        ("refused", "label_not_in_taxonomy", 400),
        ("refused", "invalid_vote", 400),
        ("item", ItemState.OPEN, 0),
        ("vote", "cat", "no", True, True),
        ("item", ItemState.OPEN, 1),
        ("item", ItemState.OPEN, 1),
        ("refused", "already_submitted", 409),
        ("vote", "dog", "yes", True, True),
        ("item", ItemState.DISPUTED, 2),
        ("refused", "consensus_reached", 409),
        ("vote", "cat", "no", False, True),
    ]
    assert vote_rows(queue) == [
        ("rev0", "dog", "yes", "review", False, False),
        ("rev0", "dog", "maybe", "review", True, False),
        ("rev0", "bird", "yes", "review", True, False),
        ("rev0", "cat", "no", "review", True, False),
        ("rev3", "dog", "yes", "review", True, False),
        ("rev1", "cat", "no", "implicit", True, False),
        ("rev1", "dog", "no", "implicit", True, False),
        ("rev1", "bird", "no", "implicit", True, False),
    ]
    item.refresh_from_db()
    assert [c["label"] for c in item.candidates] == ["cat", "dog", "bird"]
    states = dict(ReviewAssignment.objects.filter(item=item).values_list("reviewer__username", "state"))
    assert states == {"rev0": AssignmentState.SUBMITTED, "rev1": AssignmentState.SUBMITTED, "rev3": "claimed"}
