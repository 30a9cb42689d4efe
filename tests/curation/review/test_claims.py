"""Claims (issue 19, item 4): batch claims with a per-reviewer prefetch, fair shares, stale claims, releases,
the one-by-one path of databases without SKIP LOCKED, and the statements each request runs."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core.roles import Role
from curation.models import VersionSample
from curation.review.models import AssignmentState, ItemState, ReviewAssignment, ReviewItem, ReviewQueue
from curation.review.services.claims import CLAIM_TTL, PREFETCH, review_claims_release
from curation.review.services.queues import review_queue_create
from curation.review.services.votes import review_item_next, review_item_submit, review_vote_cast
from tests.curation.pruning.factories import version_with_samples
from tests.curation.review.conftest import CLASSES, proposals_add
from tests.factories import UserFactory

ClaimQueue = Callable[..., tuple[ReviewQueue, list]]
# Batch claims need SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL); the one-by-one test below emulates the others.
pytestmark = pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked, reason="batch claims need SKIP LOCKED"
)


@pytest.fixture
def claim_queue(db) -> ClaimQueue:
    """make(n_items, n_reviewers=4, reviewers_per_item=1, quorum=None) -> (queue, reviewers): items in sample order,
    each with the current label and one proposal (the next class)."""

    def make(
        n_items: int, n_reviewers: int = 4, reviewers_per_item: int = 1, quorum: int | None = None
    ) -> tuple[ReviewQueue, list]:
        reviewers = [UserFactory(role=Role.REVIEWER) for _ in range(n_reviewers)]
        version = version_with_samples(n_items, labels=CLASSES)
        version.dataset.classes = CLASSES
        version.dataset.save(update_fields=["classes"])
        members = VersionSample.objects.filter(version=version).order_by("sample_id")
        proposals_add(version, [(m.sample_id, CLASSES[(CLASSES.index(m.label) + 1) % 3], 0.8, 0.5) for m in members])
        queue = review_queue_create(
            version=version, name="claims", reviewers_per_item=reviewers_per_item, quorum=quorum,
            reviewer_ids=[r.pk for r in reviewers],
        )  # fmt: skip
        return queue, reviewers

    return make


def positions(queue: ReviewQueue, reviewer, state: str = AssignmentState.CLAIMED) -> list[int]:
    mine = ReviewAssignment.objects.filter(item__queue=queue, reviewer=reviewer, state=state)
    return sorted(mine.values_list("item__position", flat=True))


def make_stale(queue: ReviewQueue, reviewer, age: timedelta = CLAIM_TTL + timedelta(seconds=1)) -> None:
    ReviewAssignment.objects.filter(item__queue=queue, reviewer=reviewer).update(claimed_at=timezone.now() - age)


def test_next_claims_a_batch_and_hands_it_out_one_item_at_a_time(claim_queue):
    queue, (first, second, *_) = claim_queue(40)

    served = [review_item_next(queue=queue, reviewer=first).position]
    claimed_after_first = positions(queue, first)
    for _ in range(PREFETCH - 1):
        shown = tuple(ReviewItem.objects.filter(queue=queue, position__in=served).values_list("pk", flat=True))
        served.append(review_item_next(queue=queue, reviewer=first, exclude_item_ids=shown).position)
    other = review_item_next(queue=queue, reviewer=second)

    assert PREFETCH == 5
    assert claimed_after_first == [1, 2, 3, 4, 5]  # one batch, then served from it
    assert served == [1, 2, 3, 4, 5] and positions(queue, first) == [1, 2, 3, 4, 5]
    assert other.position == 6 and positions(queue, second) == [6, 7, 8, 9, 10]


def test_the_same_request_again_serves_the_same_item(claim_queue):
    queue, (first, *_) = claim_queue(40)

    items = [review_item_next(queue=queue, reviewer=first) for _ in range(3)]

    assert [item.position for item in items] == [1, 1, 1]
    assert all(item.queue is queue for item in items)
    assert positions(queue, first) == [1, 2, 3, 4, 5]


def test_the_end_of_a_queue_is_shared_fairly(claim_queue):
    # given 6 free items and 4 reviewers: a fair share is ceil(6 / 4) = 2 items, then ceil(4 / 4) = 1
    queue, reviewers = claim_queue(6)

    served = [review_item_next(queue=queue, reviewer=r).position for r in reviewers]

    assert served == [1, 3, 4, 5]
    assert [positions(queue, r) for r in reviewers] == [[1, 2], [3], [4], [5]]


def test_reviewers_meet_on_items_up_to_reviewers_per_item(claim_queue):
    queue, (first, second, third, _) = claim_queue(40, reviewers_per_item=2)

    served = [review_item_next(queue=queue, reviewer=r).position for r in (first, second, third)]

    assert served == [1, 1, 6]
    assert positions(queue, first) == positions(queue, second) == [1, 2, 3, 4, 5]
    assert positions(queue, third) == [6, 7, 8, 9, 10]


def test_a_database_without_skip_locked_claims_one_item_at_a_time(claim_queue, monkeypatch):
    queue, (first, second, *_) = claim_queue(40)
    monkeypatch.setattr(connection.features, "has_select_for_update_skip_locked", False)

    one = review_item_next(queue=queue, reviewer=first)
    again = review_item_next(queue=queue, reviewer=first)
    after = review_item_next(queue=queue, reviewer=first, exclude_item_ids=(one.pk,))
    other = review_item_next(queue=queue, reviewer=second)

    assert [one.position, again.position, after.position, other.position] == [1, 1, 2, 3]
    assert positions(queue, first) == [1, 2] and positions(queue, second) == [3]


def test_a_stale_claim_holds_nothing_and_another_reviewer_takes_the_item(claim_queue):
    queue, (first, second, *_) = claim_queue(3)
    assert review_item_next(queue=queue, reviewer=first).position == 1  # a share of ceil(3 / 4) = 1
    make_stale(queue, first)

    taken = review_item_next(queue=queue, reviewer=second)
    owner_next = review_item_next(queue=queue, reviewer=first)

    assert taken.position == 1  # the stale claim did not hold it
    assert owner_next.position == 2  # the owner's stale claim is not served: item 1 is held by the other now
    assert ReviewAssignment.objects.filter(item__position=1, item__queue=queue).count() == 2


def test_a_stale_claim_nobody_took_is_claimed_again_by_its_owner(claim_queue):
    queue, (first, *_) = claim_queue(3)
    item = review_item_next(queue=queue, reviewer=first)
    make_stale(queue, first)

    again = review_item_next(queue=queue, reviewer=first)

    claim = ReviewAssignment.objects.get(item=item, reviewer=first)
    assert again.pk == item.pk
    assert timezone.now() - claim.claimed_at < timedelta(seconds=30)  # refreshed, the same row
    assert ReviewAssignment.objects.filter(item__queue=queue).count() == 1


def test_serving_refreshes_a_claim_only_once_it_is_a_third_of_its_life_old(claim_queue):
    queue, (first, *_) = claim_queue(40)
    review_item_next(queue=queue, reviewer=first)
    young = timezone.now() - CLAIM_TTL / 4
    old = timezone.now() - CLAIM_TTL / 2
    ReviewAssignment.objects.filter(item__position=1, reviewer=first).update(claimed_at=young)
    ReviewAssignment.objects.filter(item__position=2, reviewer=first).update(claimed_at=old)
    first_item = ReviewItem.objects.get(queue=queue, position=1)

    review_item_next(queue=queue, reviewer=first)
    review_item_next(queue=queue, reviewer=first, exclude_item_ids=(first_item.pk,))

    claimed = dict(ReviewAssignment.objects.filter(item__queue=queue).values_list("item__position", "claimed_at"))
    assert claimed[1] == young
    assert timezone.now() - claimed[2] < timedelta(seconds=30)


def test_closing_the_queue_releases_the_claims_without_votes(claim_queue):
    queue, (first, second, *_) = claim_queue(40)
    item = review_item_next(queue=queue, reviewer=first)
    review_vote_cast(item_id=item.pk, reviewer=first, label="dog", value="yes")

    released = review_claims_release(queue=queue, reviewer=first)
    taken = review_item_next(queue=queue, reviewer=second)

    assert released == PREFETCH - 1
    assert positions(queue, first) == [1]  # the item with a vote stays theirs
    assert taken.position == 2 and positions(queue, second) == [2, 3, 4, 5, 6]


def test_an_item_that_closes_releases_the_other_reviewers_prefetched_claims(claim_queue):
    # given two reviewers per item but a quorum of one: both prefetch items 1-5
    queue, (first, second, *_) = claim_queue(40, reviewers_per_item=2, quorum=1)
    item = review_item_next(queue=queue, reviewer=first)
    review_item_next(queue=queue, reviewer=second)

    review_item_submit(item_id=item.pk, reviewer=first)

    item.refresh_from_db()
    assert item.state == ItemState.AGREED
    assert list(ReviewAssignment.objects.filter(item=item).values_list("reviewer_id", "state")) == [
        (first.pk, AssignmentState.SUBMITTED)
    ]
    assert positions(queue, second) == [2, 3, 4, 5]
    assert review_item_next(queue=queue, reviewer=second).position == 2


def test_the_release_api_answers_the_count_and_refuses_outsiders(claim_queue):
    queue, (first, *_) = claim_queue(40)
    review_item_next(queue=queue, reviewer=first)
    url = f"/api/review-queues/{queue.pk}/release/"

    answer = api_for(first).post(url)
    refused = api_for(UserFactory(role=Role.REVIEWER)).post(url)

    assert (answer.status_code, answer.json()) == (200, {"released": PREFETCH})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_assigned")
    assert positions(queue, first) == []


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def statements(call: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code < 300, response.content
    return [query["sql"].lstrip("( \n").split()[0] for query in queries.captured_queries]


def test_next_vote_and_submit_run_a_fixed_small_number_of_statements(claim_queue):
    # given two reviewers per item and an API client whose role is already known (authentication is not counted)
    queue, (first, second, *_) = claim_queue(40, reviewers_per_item=2)
    api, other = api_for(first), api_for(second)
    next_url = f"/api/review-queues/{queue.pk}/next/"
    api.get(f"/api/review-queues/{queue.pk}/")
    other.get(f"/api/review-queues/{queue.pk}/")

    claim = statements(lambda: api.get(next_url))
    item = api.get(next_url).json()["item"]
    serve = statements(lambda: api.get(next_url, {"exclude": item["id"]}))
    vote_url = f"/api/review-items/{item['id']}/votes/"
    vote = statements(lambda: api.post(vote_url, {"label": "dog", "vote": "yes", "request_id": "r1"}, format="json"))
    submit = statements(lambda: api.post(f"/api/review-items/{item['id']}/submit/"))
    other.get(next_url)
    closing = statements(lambda: other.post(f"/api/review-items/{item['id']}/submit/"))

    # then: queue, own claims (none), [candidates locked (the assignment checked in it), claims inserted], the
    # sample's labels with my votes (one statement since the hot requests' reads were merged; was 8 statements)
    assert claim == ["SELECT", "WITH", "SAVEPOINT", "WITH", "WITH", "RELEASE", "SELECT"]
    # queue, own claim served (with its item), the sample's labels with my votes (was 4)
    assert serve == ["SELECT", "WITH", "SELECT"]
    # item locked (+ assigned?), then one statement: repeat, current vote and assignment read, the vote written
    # (vote_sql; was 6: the reads and the write one statement each)
    assert vote == ["SAVEPOINT", "SELECT", "WITH", "RELEASE"]
    # item locked (+ assigned?), then one statement: assignment submitted, implicit no for the rest, count stored
    # (vote_sql; was 7)
    assert submit == ["SAVEPOINT", "SELECT", "WITH", "RELEASE"]
    # ... and at the quorum: the submitted reviewers' votes (one read; was two), the consensus, the claims released
    assert closing == ["SAVEPOINT", "SELECT", "WITH", "SELECT", "UPDATE", "DELETE", "RELEASE"]
