"""Votes, submit, skip, undo and consensus through the services (single client; parallel ones in test_concurrency)."""

import pytest

from core.api_errors import ApplicationError
from core.roles import Role
from curation.review.models import AssignmentState, ItemState, ReviewAssignment, ReviewItem, ReviewVote
from curation.review.services.votes import (
    review_item_next,
    review_item_skip,
    review_item_submit,
    review_undo,
    review_vote_cast,
)
from tests.curation.review.conftest import vote_rows
from tests.factories import UserFactory


def first_item(queue) -> ReviewItem:
    return queue.items.order_by("position").first()


def test_next_serves_items_in_order_and_claims_them(small_queue, reviewers):
    queue = small_queue(n_items=3)
    items = list(queue.items.order_by("position"))

    first = review_item_next(queue=queue, reviewer=reviewers[0])
    again = review_item_next(queue=queue, reviewer=reviewers[0])
    prefetched = review_item_next(queue=queue, reviewer=reviewers[0], exclude_item_ids=(first.pk,))
    other = review_item_next(queue=queue, reviewer=reviewers[1])

    assert [first.pk, again.pk, prefetched.pk] == [items[0].pk, items[0].pk, items[1].pk]
    assert other.pk == items[2].pk  # one reviewer per item: the first two are held
    assert ReviewAssignment.objects.filter(item__queue=queue, state=AssignmentState.CLAIMED).count() == 3


def test_a_vote_then_the_same_vote_again_counts_once_and_a_change_supersedes(small_queue, reviewers):
    queue = small_queue()
    item = first_item(queue)
    label = item.candidates[1]["label"]

    first = review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label=label, value="yes")
    repeat = review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label=label, value="yes")
    change = review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label=label, value="maybe")

    assert (first.created, repeat.created, change.created) == (True, False, True)
    assert repeat.vote.pk == first.vote.pk
    assert vote_rows(queue) == [
        ("rev0", label, "yes", "review", False, False),
        ("rev0", label, "maybe", "review", True, False),
    ]
    assert ReviewVote.objects.get(pk=first.vote.pk).superseded_by_id == change.vote.pk


def test_a_repeated_request_id_returns_the_first_vote(small_queue, reviewers):
    queue = small_queue()
    item = first_item(queue)

    first = review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes", request_id="r-1")
    repeat = review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes", request_id="r-1")

    assert (repeat.created, repeat.vote.pk) == (False, first.vote.pk)
    with pytest.raises(ApplicationError) as reused:
        review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="cat", value="no", request_id="r-1")
    assert reused.value.code == "request_id_reused"
    assert len(vote_rows(queue)) == 1


def test_adding_a_label_of_the_taxonomy_makes_it_a_candidate(small_queue, reviewers):
    queue = small_queue()
    item = first_item(queue)
    assert "bird" not in item.candidate_labels

    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="bird", value="yes")

    item.refresh_from_db()
    assert item.candidates[-1] == {"label": "bird", "current": False, "sources": [{"source": "reviewer"}]}


def test_bad_votes_are_refused_and_write_nothing(small_queue, reviewers):
    queue = small_queue()
    item = first_item(queue)
    outsider = UserFactory(role=Role.REVIEWER)
    cases = [
        ({"reviewer": reviewers[0], "label": "zebra", "value": "yes"}, "label_not_in_taxonomy", 400),
        ({"reviewer": reviewers[0], "label": "cat", "value": "perhaps"}, "invalid_vote", 400),
        ({"reviewer": outsider, "label": "cat", "value": "yes"}, "not_assigned", 403),
    ]
    for kwargs, code, status in cases:
        with pytest.raises(ApplicationError) as refused:
            review_vote_cast(item_id=item.pk, **kwargs)
        assert (refused.value.code, refused.value.status_code) == (code, status)
    with pytest.raises(ApplicationError) as missing:
        review_vote_cast(item_id=10**9, reviewer=reviewers[0], label="cat", value="yes")

    assert missing.value.code == "not_found"
    assert vote_rows(queue) == []
    assert ReviewAssignment.objects.filter(item__queue=queue).count() == 0


def test_submit_records_unset_candidates_as_implicit_no_and_closes_at_quorum(small_queue, reviewers):
    queue = small_queue(reviewers_per_item=1)
    item = first_item(queue)
    current, proposed = item.candidate_labels

    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label=proposed, value="yes")
    review_item_submit(item_id=item.pk, reviewer=reviewers[0])
    again = review_item_submit(item_id=item.pk, reviewer=reviewers[0])

    item.refresh_from_db()
    assert again.pk == item.pk
    assert vote_rows(queue) == [
        ("rev0", proposed, "yes", "review", True, False),
        ("rev0", current, "no", "implicit", True, False),
    ]
    assert (item.state, item.submitted_count, item.consensus_labels, item.consensus_method) == (
        ItemState.AGREED, 1, [proposed], "majority",
    )  # fmt: skip
    assert item.consensus[current] == {"value": "no", "confidence": 1.0, "votes": {"yes": 0, "maybe": 0, "no": 1}}


def test_a_vote_on_a_closed_item_is_refused_with_409_and_changes_nothing(small_queue, reviewers):
    queue = small_queue(reviewers_per_item=1)
    item = first_item(queue)
    review_item_submit(item_id=item.pk, reviewer=reviewers[0])
    before = vote_rows(queue)

    with pytest.raises(ApplicationError) as stale:
        review_vote_cast(item_id=item.pk, reviewer=reviewers[1], label="cat", value="yes")

    assert (stale.value.code, stale.value.status_code) == ("consensus_reached", 409)
    assert vote_rows(queue) == before
    assert not ReviewAssignment.objects.filter(item=item, reviewer=reviewers[1]).exists()


def test_majority_with_quorum_two_agrees_or_disputes(small_queue, reviewers):
    queue = small_queue(n_items=2, reviewers_per_item=2)
    agreed_item, disputed_item = queue.items.order_by("position")
    for reviewer, value in ((reviewers[0], "yes"), (reviewers[1], "yes")):
        review_vote_cast(item_id=agreed_item.pk, reviewer=reviewer, label="dog", value=value)
        review_item_submit(item_id=agreed_item.pk, reviewer=reviewer)
    for reviewer, value in ((reviewers[0], "yes"), (reviewers[1], "no")):
        review_vote_cast(item_id=disputed_item.pk, reviewer=reviewer, label="cat", value=value)
        review_item_submit(item_id=disputed_item.pk, reviewer=reviewer)

    agreed_item.refresh_from_db()
    disputed_item.refresh_from_db()
    assert (agreed_item.state, agreed_item.consensus_labels) == (ItemState.AGREED, ["dog"])
    assert agreed_item.consensus["cat"]["value"] == "no"  # both left the current label unset
    assert disputed_item.state == ItemState.DISPUTED
    assert disputed_item.consensus["cat"] == {
        "value": None,
        "confidence": None,
        "votes": {"yes": 1, "maybe": 0, "no": 1},
    }


def test_an_item_with_three_reviewers_uses_dawid_skene(small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=3)
    item = first_item(queue)
    for reviewer, value in zip(reviewers[:3], ("yes", "yes", "no"), strict=True):
        review_vote_cast(item_id=item.pk, reviewer=reviewer, label="dog", value=value)
        review_vote_cast(item_id=item.pk, reviewer=reviewer, label="cat", value="yes")
        review_item_submit(item_id=item.pk, reviewer=reviewer)

    item.refresh_from_db()
    assert (item.state, item.consensus_method, item.consensus_labels) == (
        ItemState.AGREED,
        "dawid_skene",
        ["cat", "dog"],
    )
    assert item.consensus["dog"]["votes"] == {"yes": 2, "maybe": 0, "no": 1}
    assert 0.5 <= item.consensus["dog"]["confidence"] <= 1.0


def test_majority_only_queues_keep_majority_with_three_reviewers(small_queue, reviewers):
    queue = small_queue(n_items=1, reviewers_per_item=3, aggregation="majority")
    item = first_item(queue)
    for reviewer in reviewers[:3]:
        review_item_submit(item_id=item.pk, reviewer=reviewer)

    item.refresh_from_db()
    assert (item.consensus_method, item.consensus_labels) == ("majority", [])


def test_undo_a_vote_restores_the_vote_it_replaced_and_keeps_every_row(small_queue, reviewers):
    queue = small_queue()
    item = first_item(queue)
    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes")
    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="no")

    outcome = review_undo(queue=queue, reviewer=reviewers[0])

    assert (outcome.undone, outcome.item.pk) == ("vote", item.pk)
    assert vote_rows(queue) == [
        ("rev0", "dog", "yes", "review", True, False),
        ("rev0", "dog", "no", "review", False, True),
    ]
    second = review_undo(queue=queue, reviewer=reviewers[0])
    assert second.undone == "vote"
    assert vote_rows(queue) == [
        ("rev0", "dog", "yes", "review", False, True),
        ("rev0", "dog", "no", "review", False, True),
    ]
    assert review_undo(queue=queue, reviewer=reviewers[0]) is None


def test_undo_a_submit_reopens_the_item_for_that_reviewer(small_queue, reviewers):
    queue = small_queue(reviewers_per_item=2)
    item = first_item(queue)
    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes")
    review_item_submit(item_id=item.pk, reviewer=reviewers[0])

    outcome = review_undo(queue=queue, reviewer=reviewers[0])

    item.refresh_from_db()
    assert outcome.undone == "submit"
    assert item.submitted_count == 0
    assert ReviewAssignment.objects.get(item=item, reviewer=reviewers[0]).state == AssignmentState.CLAIMED
    assert vote_rows(queue) == [
        ("rev0", "dog", "yes", "review", True, False),
        ("rev0", "cat", "no", "implicit", False, True),
    ]


def test_undo_after_consensus_is_refused(small_queue, reviewers):
    queue = small_queue(reviewers_per_item=1)
    item = first_item(queue)
    review_item_submit(item_id=item.pk, reviewer=reviewers[0])

    with pytest.raises(ApplicationError) as refused:
        review_undo(queue=queue, reviewer=reviewers[0])

    assert refused.value.code == "consensus_reached"
    item.refresh_from_db()
    assert (item.state, item.submitted_count) == (ItemState.AGREED, 1)


def test_skip_hands_the_item_to_the_next_reviewer_and_undo_takes_it_back(small_queue, reviewers):
    queue = small_queue(n_items=2)
    first, second = queue.items.order_by("position")
    assert review_item_next(queue=queue, reviewer=reviewers[0]).pk == first.pk

    review_item_skip(item_id=first.pk, reviewer=reviewers[0])

    assert review_item_next(queue=queue, reviewer=reviewers[0]).pk == second.pk
    assert review_item_next(queue=queue, reviewer=reviewers[1]).pk == first.pk  # a skip frees the item
    assert review_undo(queue=queue, reviewer=reviewers[0]).undone == "skip"
