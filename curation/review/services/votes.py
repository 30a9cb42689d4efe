# Over 300 lines: every reviewer write (vote, submit, skip, undo) takes the same item lock and assignment checks:
# together they are the concurrency contract.
"""Reviewers at work: the next item, votes, submit, skip and undo — safe under parallel clients.

Every write locks the item row first (SELECT ... FOR UPDATE), so two reviewers on one item, or one
reviewer's double submit, are serialised; the partial unique index "one current vote per
(item, reviewer, label)" and the unique (reviewer, request_id) are the backstop, so a vote can never
count twice. A repeated request (same request_id) answers with the vote it made the first time; the
same vote again (same value) is a no-op. Votes on a closed item (consensus reached) are refused with
409 consensus_reached and change nothing: that is what a stale page gets.

Claims (which item a reviewer gets next, in batches on PostgreSQL) are in claims.py; an item that closes
releases the other reviewers' claims on it that carry no vote.

Statements per request are few on purpose (20 reviewers share two cores in bench/review_load.py): the
item's lock and the assignment check are one statement; on PostgreSQL a vote's reads and writes are one more
(vote_sql.py), and so are a submit's; elsewhere (and to replace a current vote) the ORM writes them one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.review.models import (
    AssignmentState,
    QueueStatus,
    ReviewAssignment,
    ReviewItem,
    ReviewQueue,
    ReviewVote,
    VoteOrigin,
    VoteValue,
)
from curation.review.services import vote_sql
from curation.review.services.claims import (
    _not_assigned,
    _require_assigned,
    item_claims_release,
)
from curation.review.services.claims import review_item_next as review_item_next  # its callers import it from here
from curation.review.services.consensus import item_consensus_close


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


def _locked_item(item_id: int, reviewer: User | None = None) -> ReviewItem:
    """The item, locked, with its queue, version and dataset; with ``reviewer``, checked in the same statement
    that they are assigned to its queue."""
    if vote_sql.supported():
        locked = vote_sql.item_lock(item_id, reviewer.pk if reviewer is not None else 0)
        item, assigned = locked if locked is not None else (None, False)
    else:
        items = ReviewItem.objects.select_for_update(of=("self",)).select_related("queue__version__dataset")
        if reviewer is not None:
            through = ReviewQueue.reviewers.through.objects
            items = items.annotate(assigned=Exists(through.filter(reviewqueue_id=OuterRef("queue_id"), user=reviewer)))
        item = items.filter(pk=item_id).first()
        assigned = getattr(item, "assigned", False)
    if item is None:
        raise ApplicationError(f"Review item {item_id} does not exist.", code="not_found", status_code=404)
    if reviewer is not None and not assigned:
        raise _not_assigned(item.queue)
    return item


def _assignment(item: ReviewItem, reviewer: User) -> ReviewAssignment:
    assignment, _ = ReviewAssignment.objects.get_or_create(
        item=item, reviewer=reviewer, defaults={"claimed_at": timezone.now()}
    )
    return assignment


def _submitted_count_store(item: ReviewItem) -> None:
    """Recount the item's submitted reviews and store the count (one statement; the caller holds the lock)."""
    items, assignments = ReviewItem._meta.db_table, ReviewAssignment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {items} SET submitted_count = (SELECT count(*) FROM {assignments} "  # noqa: S608
            "WHERE item_id = %s AND state = %s) WHERE id = %s RETURNING submitted_count",
            [item.pk, AssignmentState.SUBMITTED, item.pk],
        )
        item.submitted_count = cursor.fetchone()[0]


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
    item = _locked_item(item_id, reviewer)
    label = label.strip()
    if not vote_sql.supported():
        return _vote_cast_orm(item, reviewer, label, value, request_id, origin)
    refusal = _vote_refusal(item, label, value)
    if refusal is not None and not request_id:
        raise refusal
    try:
        written = vote_sql.vote_write(
            item=item, reviewer=reviewer, label=label, value=value, request_id=request_id, origin=origin,
            write=refusal is None,
        )  # fmt: skip
    except IntegrityError:  # a request_id reused at once on another item (see vote_record)
        raise ApplicationError("This vote was recorded by a parallel request.", code="conflict", status_code=409)
    if written.repeat is not None:
        return _repeat_outcome(written.repeat, item, label, value)
    if refusal is not None:
        raise refusal
    if written.assignment_state == AssignmentState.SUBMITTED:
        raise _already_submitted_vote()
    if written.inserted is not None:
        _candidate_add(item, label)
        return VoteOutcome(written.inserted, True, item)
    # The reviewer's current vote on the label: the same one (a no-op), or one this vote replaces.
    return vote_record(item, reviewer, label, value, request_id, origin, current=(written.current,))


def _vote_cast_orm(
    item: ReviewItem, reviewer: User, label: str, value: str, request_id: str, origin: str
) -> VoteOutcome:
    """review_vote_cast on databases without vote_sql's statements: the same rules, one ORM statement each."""
    repeat, current = _own_votes(item, reviewer, label, request_id)
    if repeat is not None:
        return _repeat_outcome(repeat, item, label, value)
    refusal = _vote_refusal(item, label, value)
    if refusal is not None:
        raise refusal
    assignment = _assignment(item, reviewer)
    if assignment.state == AssignmentState.SUBMITTED:
        raise _already_submitted_vote()
    if assignment.state == AssignmentState.SKIPPED:
        ReviewAssignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.CLAIMED, finished_at=None)
    return vote_record(item, reviewer, label, value, request_id, origin, current=(current,))


def _vote_refusal(item: ReviewItem, label: str, value: str) -> ApplicationError | None:
    """Why the item refuses this vote (closed item or queue, unknown value, label outside the taxonomy), or None."""
    try:
        _require_open(item)
        if value not in VoteValue.values:
            raise ApplicationError(f"vote must be one of {', '.join(VoteValue.values)}.", code="invalid_vote")
        _taxonomy_check(item, label)
    except ApplicationError as refusal:
        return refusal
    return None


def _repeat_outcome(repeat: ReviewVote, item: ReviewItem, label: str, value: str) -> VoteOutcome:
    if (repeat.item_id, repeat.label, repeat.value) != (item.pk, label, value):
        raise ApplicationError("This request_id was used for another vote.", code="request_id_reused")
    return VoteOutcome(repeat, False, item)


def _already_submitted_vote() -> ApplicationError:
    return ApplicationError(
        "You already submitted this item; undo (u) to change your votes.", code="already_submitted", status_code=409
    )


def _candidate_add(item: ReviewItem, label: str) -> None:
    if label not in item.candidate_labels:
        item.candidates = [*item.candidates, {"label": label, "current": False, "sources": [{"source": "reviewer"}]}]
        item.save(update_fields=["candidates"])


def _own_votes(
    item: ReviewItem, reviewer: User, label: str, request_id: str
) -> tuple[ReviewVote | None, ReviewVote | None]:
    """(the vote this request_id already made, the reviewer's current vote on the label), in one query."""
    current = ReviewVote.objects.filter(item=item, reviewer=reviewer, label=label, is_current=True).order_by()
    if not request_id:
        return None, current.first()
    rows = list(current.union(ReviewVote.objects.filter(reviewer=reviewer, request_id=request_id).order_by()))
    repeat = next((v for v in rows if v.request_id == request_id), None)
    mine = next((v for v in rows if v.is_current and (v.item_id, v.label) == (item.pk, label)), None)
    return repeat, mine


def vote_record(
    item: ReviewItem,
    reviewer: User,
    label: str,
    value: str,
    request_id: str,
    origin: str,
    current: tuple[ReviewVote | None] | None = None,
) -> VoteOutcome:
    """Record a vote on a locked item; ``current``: the reviewer's current vote on the label when already read."""
    vote_now = current[0] if current is not None else None
    if current is None:
        vote_now = ReviewVote.objects.filter(item=item, reviewer=reviewer, label=label, is_current=True).first()
    if vote_now is not None and vote_now.value == value:
        return VoteOutcome(vote_now, False, item)
    if vote_now is not None:
        ReviewVote.objects.filter(pk=vote_now.pk).update(is_current=False)
    try:
        # No savepoint: the item's lock serialises votes on it, so only a request_id reused at once on
        # another item can collide, and that refuses the whole request (the transaction rolls back).
        vote = ReviewVote.objects.create(
            item=item, reviewer=reviewer, label=label, value=value, origin=origin, request_id=request_id
        )
    except IntegrityError:
        raise ApplicationError("This vote was recorded by a parallel request.", code="conflict", status_code=409)
    if vote_now is not None:
        ReviewVote.objects.filter(pk=vote_now.pk).update(superseded_by=vote)
    _candidate_add(item, label)
    return VoteOutcome(vote, True, item)


@transaction.atomic
def review_item_submit(*, item_id: int, reviewer: User) -> ReviewItem:
    """The reviewer is done with the item: candidates they left unset are recorded as implicit "no".

    Submitting twice is a no-op. When the item reaches the queue's quorum, its consensus is computed
    and it closes. Raises ApplicationError not_found, not_assigned, consensus_reached, queue_closed.
    """
    item = _locked_item(item_id, reviewer)
    return item_submit_locked(item, reviewer)


def item_submit_locked(item: ReviewItem, reviewer: User) -> ReviewItem:
    """Submit for a caller that holds the item's lock and checked the assignment."""
    mine = ReviewAssignment.objects.filter(item=item, reviewer=reviewer)
    if item.is_closed or item.queue.status != QueueStatus.OPEN:
        if mine.filter(state=AssignmentState.SUBMITTED).exists():
            return item
        _require_open(item)
    if vote_sql.supported():
        submitted_now, count = vote_sql.submit_write(item=item, reviewer=reviewer)
        if not submitted_now:  # submitted already: a no-op
            return item
        item.submitted_count = count
    elif not _submit_orm(item, reviewer, mine):
        return item
    if item.submitted_count >= item.queue.quorum:
        item_consensus_close(item)
        item_claims_release(item)
    return item


def _submit_orm(item: ReviewItem, reviewer: User, mine: QuerySet[ReviewAssignment]) -> bool:
    """item_submit_locked's writes on databases without vote_sql's statements; False: submitted already."""
    now = timezone.now()
    if not mine.exclude(state=AssignmentState.SUBMITTED).update(state=AssignmentState.SUBMITTED, finished_at=now):
        if mine.exists():
            return False
        ReviewAssignment.objects.create(
            item=item, reviewer=reviewer, state=AssignmentState.SUBMITTED, claimed_at=now, finished_at=now
        )
    current = ReviewVote.objects.filter(item=item, reviewer=reviewer, is_current=True).order_by()  # no ordering joins
    voted = set(current.values_list("label", flat=True))
    ReviewVote.objects.bulk_create(
        [
            ReviewVote(item=item, reviewer=reviewer, label=label, value=VoteValue.NO, origin=VoteOrigin.IMPLICIT)
            for label in item.candidate_labels
            if label not in voted
        ]
    )
    _submitted_count_store(item)
    return True


@transaction.atomic
def review_item_skip(*, item_id: int, reviewer: User) -> ReviewItem:
    """Pass on an item (it is not served to this reviewer again; votes already cast do not count)."""
    item = _locked_item(item_id, reviewer)
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
        _submitted_count_store(item)
    return UndoOutcome(item, "submit" if was == AssignmentState.SUBMITTED else "skip")
