"""Reviewers at work: the next item, votes, submit, skip and undo — safe under parallel clients.

Every write locks the item row first (SELECT ... FOR UPDATE), so two reviewers on one item, or one
reviewer's double submit, are serialised; the partial unique index "one current vote per
(item, reviewer, label)" and the unique (reviewer, request_id) are the backstop, so a vote can never
count twice. A repeated request (same request_id) answers with the vote it made the first time; the
same vote again (same value) is a no-op. Votes on a closed item (consensus reached) are refused with
409 consensus_reached and change nothing: that is what a stale page gets.

Claims: serving an item to a reviewer records a claimed ReviewAssignment, so that no more than
`reviewers_per_item` reviewers hold an item at once; a claim older than CLAIM_TTL is given up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.review.models import (
    AssignmentState,
    ItemState,
    QueueStatus,
    ReviewAssignment,
    ReviewItem,
    ReviewQueue,
    ReviewVote,
    VoteOrigin,
    VoteValue,
)
from curation.review.services.consensus import item_consensus_close

CLAIM_TTL = timedelta(minutes=15)
NEXT_SCAN = 20


def _not_assigned(queue: ReviewQueue) -> ApplicationError:
    return ApplicationError(f"You are not assigned to review queue {queue.pk}.", code="not_assigned", status_code=403)


def _require_assigned(queue: ReviewQueue, reviewer: User) -> None:
    if not queue.reviewers.filter(pk=reviewer.pk).exists():
        raise _not_assigned(queue)


def _require_open(item: ReviewItem) -> None:
    if item.queue.status != QueueStatus.OPEN:
        raise ApplicationError(
            f"Queue {item.queue_id} was applied; it takes no more votes.", code="queue_closed", status_code=409
        )
    if item.is_closed:
        raise ApplicationError(
            f"Item {item.pk} already reached consensus ({item.state}); your page is out of date and this vote "
            "was not recorded.",
            code="consensus_reached",
            status_code=409,
            details={"state": item.state, "consensus_labels": item.consensus_labels},
        )


def _locked_item(item_id: int) -> ReviewItem:
    item = (
        ReviewItem.objects.select_for_update(of=("self",))
        .select_related("queue__version__dataset")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise ApplicationError(f"Review item {item_id} does not exist.", code="not_found", status_code=404)
    return item


def _assignment(item: ReviewItem, reviewer: User) -> ReviewAssignment:
    assignment, _ = ReviewAssignment.objects.get_or_create(
        item=item, reviewer=reviewer, defaults={"claimed_at": timezone.now()}
    )
    return assignment


def _submitted_count(item: ReviewItem) -> int:
    return item.assignments.filter(state=AssignmentState.SUBMITTED).count()


def review_item_next(
    *, queue: ReviewQueue, reviewer: User, exclude_item_ids: tuple[int, ...] = ()
) -> ReviewItem | None:
    """The item this reviewer should review next (claimed for them), or None when nothing is left.

    Their own unfinished claim comes first; then the open item of lowest position that they have not
    seen and that fewer than reviewers_per_item reviewers hold. ``exclude_item_ids``: items the page
    already shows (prefetching the one after).
    """
    _require_assigned(queue, reviewer)
    if queue.status != QueueStatus.OPEN:
        return None
    own = (
        ReviewAssignment.objects.filter(
            item__queue=queue, reviewer=reviewer, state=AssignmentState.CLAIMED, item__state=ItemState.OPEN
        )
        .exclude(item_id__in=exclude_item_ids)
        .order_by("item__position")
        .first()
    )
    if own is not None:
        ReviewAssignment.objects.filter(pk=own.pk).update(claimed_at=timezone.now())
        return ReviewItem.objects.select_related("queue").get(pk=own.item_id)
    for item_id in _free_item_ids(queue, reviewer, exclude_item_ids):
        claimed = _claim(item_id, queue, reviewer)
        if claimed is not None:
            return claimed
    return None


def _holding() -> Coalesce:
    """Per item (a correlated subquery): reviewers who submitted it or hold a fresh claim on it."""
    fresh = timezone.now() - CLAIM_TTL
    counted = (
        ReviewAssignment.objects.filter(item=OuterRef("pk"))
        .filter(Q(state=AssignmentState.SUBMITTED) | Q(state=AssignmentState.CLAIMED, claimed_at__gte=fresh))
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def _free_item_ids(queue: ReviewQueue, reviewer: User, exclude_item_ids: tuple[int, ...]) -> list[int]:
    # Correlated subqueries (not a GROUP BY over the queue): PostgreSQL walks the open items in position
    # order on the (queue, state, position) index and stops after NEXT_SCAN free ones.
    seen = ReviewAssignment.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    free = (
        ReviewItem.objects.filter(queue=queue, state=ItemState.OPEN)
        .exclude(pk__in=exclude_item_ids)
        .filter(~Exists(seen))
        .annotate(holding=_holding())
        .filter(holding__lt=queue.reviewers_per_item)
        .order_by("position")
    )
    return list(free.values_list("pk", flat=True)[:NEXT_SCAN])


@transaction.atomic
def _claim(item_id: int, queue: ReviewQueue, reviewer: User) -> ReviewItem | None:
    # skip_locked: under many parallel reviewers, each takes the next item nobody is claiming right now.
    item = ReviewItem.objects.select_for_update(skip_locked=True).filter(pk=item_id, state=ItemState.OPEN).first()
    if item is None:
        return None
    holding = ReviewItem.objects.filter(pk=item_id).annotate(holding=_holding()).values_list("holding", flat=True)[0]
    if holding >= queue.reviewers_per_item:
        return None
    _, created = ReviewAssignment.objects.get_or_create(
        item=item, reviewer=reviewer, defaults={"claimed_at": timezone.now()}
    )
    item.queue = queue
    return item if created else None


@dataclass(frozen=True)
class VoteOutcome:
    vote: ReviewVote
    created: bool  # False: the same vote was already recorded (a repeat), nothing changed
    item: ReviewItem


def _taxonomy_check(item: ReviewItem, label: str) -> None:
    if label in item.queue.version.dataset.classes or label in item.candidate_labels:
        return
    raise ApplicationError(
        f"{label!r} is not a class of dataset {item.queue.version.dataset.name!r}; a curator can add it.",
        code="label_not_in_taxonomy",
        details={"classes": item.queue.version.dataset.classes},
    )


@transaction.atomic
def review_vote_cast(
    *,
    item_id: int,
    reviewer: User,
    label: str,
    value: str,
    request_id: str = "",
    origin: str = VoteOrigin.REVIEW,
) -> VoteOutcome:
    """Record ``reviewer``'s vote yes / maybe / no on ``label`` of an item (see the module comment).

    A label that is not yet a candidate becomes one (source "reviewer"); it must be a class of the
    dataset. Raises ApplicationError: not_found (404), not_assigned (403), invalid_vote,
    label_not_in_taxonomy, request_id_reused (400), consensus_reached, queue_closed, already_submitted (409).
    """
    item = _locked_item(item_id)
    _require_assigned(item.queue, reviewer)
    if request_id:
        repeat = ReviewVote.objects.filter(reviewer=reviewer, request_id=request_id).first()
        if repeat is not None:
            if (repeat.item_id, repeat.label, repeat.value) != (item.pk, label.strip(), value):
                raise ApplicationError("This request_id was used for another vote.", code="request_id_reused")
            return VoteOutcome(repeat, False, item)
    _require_open(item)
    if value not in VoteValue.values:
        raise ApplicationError(f"vote must be one of {', '.join(VoteValue.values)}.", code="invalid_vote")
    label = label.strip()
    _taxonomy_check(item, label)
    assignment = _assignment(item, reviewer)
    if assignment.state == AssignmentState.SUBMITTED:
        raise ApplicationError(
            "You already submitted this item; undo (u) to change your votes.", code="already_submitted", status_code=409
        )
    if assignment.state == AssignmentState.SKIPPED:
        ReviewAssignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.CLAIMED, finished_at=None)
    return vote_record(item, reviewer, label, value, request_id, origin)


def vote_record(item: ReviewItem, reviewer: User, label: str, value: str, request_id: str, origin: str) -> VoteOutcome:
    current = ReviewVote.objects.filter(item=item, reviewer=reviewer, label=label, is_current=True).first()
    if current is not None and current.value == value:
        return VoteOutcome(current, False, item)
    if current is not None:
        ReviewVote.objects.filter(pk=current.pk).update(is_current=False)
    try:
        with transaction.atomic():
            vote = ReviewVote.objects.create(
                item=item, reviewer=reviewer, label=label, value=value, origin=origin, request_id=request_id
            )
    except IntegrityError:
        raise ApplicationError("This vote was recorded by a parallel request.", code="conflict", status_code=409)
    if current is not None:
        ReviewVote.objects.filter(pk=current.pk).update(superseded_by=vote)
    if label not in item.candidate_labels:
        item.candidates = [*item.candidates, {"label": label, "current": False, "sources": [{"source": "reviewer"}]}]
        item.save(update_fields=["candidates"])
    return VoteOutcome(vote, True, item)


@transaction.atomic
def review_item_submit(*, item_id: int, reviewer: User) -> ReviewItem:
    """The reviewer is done with the item: candidates they left unset are recorded as implicit "no".

    Submitting twice is a no-op. When the item reaches the queue's quorum, its consensus is computed
    and it closes. Raises ApplicationError not_found, not_assigned, consensus_reached, queue_closed.
    """
    item = _locked_item(item_id)
    _require_assigned(item.queue, reviewer)
    return item_submit_locked(item, reviewer)


def item_submit_locked(item: ReviewItem, reviewer: User) -> ReviewItem:
    """Submit for a caller that holds the item's lock and checked the assignment."""
    assignment = _assignment(item, reviewer)
    if assignment.state == AssignmentState.SUBMITTED:
        return item
    _require_open(item)
    voted = set(
        ReviewVote.objects.filter(item=item, reviewer=reviewer, is_current=True).values_list("label", flat=True)
    )
    ReviewVote.objects.bulk_create(
        [
            ReviewVote(item=item, reviewer=reviewer, label=label, value=VoteValue.NO, origin=VoteOrigin.IMPLICIT)
            for label in item.candidate_labels
            if label not in voted
        ]
    )
    ReviewAssignment.objects.filter(pk=assignment.pk).update(
        state=AssignmentState.SUBMITTED, finished_at=timezone.now()
    )
    item.submitted_count = _submitted_count(item)
    item.save(update_fields=["submitted_count"])
    if item.submitted_count >= item.queue.quorum:
        item_consensus_close(item)
    return item


@transaction.atomic
def review_item_skip(*, item_id: int, reviewer: User) -> ReviewItem:
    """Pass on an item (it is not served to this reviewer again; votes already cast do not count)."""
    item = _locked_item(item_id)
    _require_assigned(item.queue, reviewer)
    assignment = _assignment(item, reviewer)
    if assignment.state == AssignmentState.SUBMITTED:
        raise ApplicationError("You already submitted this item.", code="already_submitted", status_code=409)
    _require_open(item)
    if assignment.state != AssignmentState.SKIPPED:
        ReviewAssignment.objects.filter(pk=assignment.pk).update(
            state=AssignmentState.SKIPPED, finished_at=timezone.now()
        )
    return item


@dataclass(frozen=True)
class UndoOutcome:
    item: ReviewItem
    undone: str  # "vote", "submit" or "skip"
    vote: ReviewVote | None = None


def _last_action(queue: ReviewQueue, reviewer: User) -> tuple[str, Any] | None:
    vote = (
        ReviewVote.objects.filter(item__queue=queue, reviewer=reviewer, is_current=True)
        .exclude(origin=VoteOrigin.IMPLICIT)
        .order_by("-created_at", "-id")
        .first()
    )
    finished = (
        ReviewAssignment.objects.filter(
            item__queue=queue, reviewer=reviewer, state__in=[AssignmentState.SUBMITTED, AssignmentState.SKIPPED]
        )
        .order_by("-finished_at", "-id")
        .first()
    )
    if (
        finished is not None
        and finished.finished_at is not None
        and (vote is None or finished.finished_at >= vote.created_at)
    ):
        return "finish", finished
    return ("vote", vote) if vote is not None else None


@transaction.atomic
def review_undo(*, queue: ReviewQueue, reviewer: User) -> UndoOutcome | None:
    """Undo this reviewer's last action in the queue: a vote (the vote it replaced counts again), a
    submit (its implicit "no" votes are undone too) or a skip. None when there is nothing to undo.

    Nothing is deleted: an undone vote keeps its row with `undone_at` set. Raises consensus_reached
    (409) when the item has closed since.
    """
    _require_assigned(queue, reviewer)
    for _ in range(3):  # the last action is found before the item is locked; look again if it changed meanwhile
        action = _last_action(queue, reviewer)
        if action is None:
            return None
        kind, row = action
        item = _locked_item(row.item_id)
        if _last_action(queue, reviewer) != action:
            continue
        _require_open(item)
        if kind == "vote":
            return UndoOutcome(item, "vote", _vote_undo(row))
        return _finish_undo(item, row)
    raise ApplicationError("Your actions changed while undoing; try again.", code="conflict", status_code=409)


def _vote_undo(vote: ReviewVote) -> ReviewVote:
    now = timezone.now()
    ReviewVote.objects.filter(pk=vote.pk).update(is_current=False, undone_at=now)
    ReviewVote.objects.filter(superseded_by=vote, undone_at__isnull=True).update(is_current=True)
    vote.refresh_from_db()
    return vote


def _finish_undo(item: ReviewItem, assignment: ReviewAssignment) -> UndoOutcome:
    was = assignment.state
    ReviewAssignment.objects.filter(pk=assignment.pk).update(
        state=AssignmentState.CLAIMED, finished_at=None, claimed_at=timezone.now()
    )
    if was == AssignmentState.SUBMITTED:
        ReviewVote.objects.filter(
            item=item, reviewer_id=assignment.reviewer_id, origin=VoteOrigin.IMPLICIT, is_current=True
        ).update(is_current=False, undone_at=timezone.now())
        item.submitted_count = _submitted_count(item)
        item.save(update_fields=["submitted_count"])
    return UndoOutcome(item, "submit" if was == AssignmentState.SUBMITTED else "skip")
