"""The hot review requests build their bodies without serializers (curation/review/apis/bodies.py): each body is
the one its serializer gives, and a vote body the fast check would let through is one the serializer accepts."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.exceptions import ValidationError

from curation.review.apis import bodies
from curation.review.apis import serializers as s
from curation.review.selectors import item_view
from curation.review.services.votes import review_item_next, review_item_submit, review_vote_cast


def test_vote_item_and_state_bodies_are_the_serializers(small_queue, reviewers):
    # given an item with a vote that another replaced, a vote undone, and the item submitted by two reviewers
    queue = small_queue(n_items=1, reviewers_per_item=2)
    first, second = reviewers[:2]
    served = review_item_next(queue=queue, reviewer=first)
    review_vote_cast(item_id=served.pk, reviewer=first, label="dog", value="yes", request_id="a")
    changed = review_vote_cast(item_id=served.pk, reviewer=first, label="dog", value="maybe", request_id="b").vote
    replaced = changed.__class__.objects.select_related("reviewer").get(superseded_by=changed)
    replaced.undone_at = datetime(2026, 12, 7, 13, 1, 2, 345678, tzinfo=UTC) + timedelta(hours=1)
    review_item_submit(item_id=served.pk, reviewer=first)
    closed = review_item_submit(item_id=served.pk, reviewer=second)
    served.refresh_from_db()
    view = item_view(served, first, page_extras=False)

    # then each fast body is its serializer's data, exactly
    for vote in (changed, replaced):
        assert bodies.vote_output(vote) == s.VoteOutputSerializer(vote).data
    assert bodies.item_state_output(closed) == s.ItemStateOutputSerializer(closed).data
    assert bodies.item_output(view) == s.ItemOutputSerializer(view).data
    assert bodies.item_output(view)["candidates"][1]["my_vote"] == "maybe" and closed.consensus


@pytest.mark.parametrize(
    "body",
    [
        {"label": " dog ", "vote": "yes"},
        {"label": "dog", "vote": "no", "request_id": " r-1 ", "other": 1},
        {"label": "chien é", "vote": "maybe", "request_id": ""},
        {"label": "dog", "vote": "yes", "request_id": "x" * 64},
    ],
)
def test_a_vote_body_the_fast_check_takes_is_what_the_serializer_validates(body):
    serializer = s.VoteInputSerializer(data=body)

    assert serializer.is_valid()
    assert bodies.vote_input(body) == dict(serializer.validated_data)


@pytest.mark.parametrize(
    "body",
    [
        {"label": "dog", "vote": "sure"},
        {"label": "  ", "vote": "yes"},
        {"label": "d" * 201, "vote": "yes"},
        {"label": "dog\x00", "vote": "yes"},
        {"label": "dog\ud800", "vote": "yes"},
        {"label": "dog", "vote": "yes", "request_id": "x" * 65},
        {"label": "dog", "vote": "yes", "request_id": None},
        {"label": True, "vote": "yes"},
        {"vote": "yes"},
        ["dog", "yes"],
    ],
)
def test_a_vote_body_the_serializer_refuses_is_refused_with_its_errors(body):
    serializer = s.VoteInputSerializer(data=body)
    assert not serializer.is_valid()

    with pytest.raises(ValidationError) as refused:
        bodies.vote_input(body)

    assert refused.value.detail == serializer.errors
