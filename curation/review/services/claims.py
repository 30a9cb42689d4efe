# Over 300 lines: the claim protocol (the SQL statements and the functions that run them) keeps the invariants its
# docstring states (fresh, servable, refreshed, released); split apart, a statement would sit away from its rule.
"""Claiming review items: which item a reviewer gets next, safe under many reviewers asking at once.

A claim is a ReviewAssignment in state "claimed". It holds its item for CLAIM_TTL from when it was made
(or last refreshed); an item is held by the reviewers who submitted it or hold a fresh claim on it, and
no more than `reviewers_per_item` reviewers hold an item at once. A stale claim holds nothing: the item
can be claimed again, by anyone (its owner included).

PostgreSQL (SELECT ... FOR UPDATE SKIP LOCKED) claims in batches. A reviewer asking for the next item
is first served from their own fresh claims (one statement, in position order); when none is left they
claim a batch, their prefetch: up to PREFETCH items, no more than their fair share of the free items
(so that the end of a queue is not hoarded by one reviewer), in one transaction of two statements:
  1. lock the open items of lowest position that they have not seen and that fewer than
     reviewers_per_item reviewers hold, skipping the rows other transactions hold: parallel claimers
     take different items instead of queueing behind each other;
  2. insert the claims on those locked items that are still not full, counted again now. Every writer
     of an item's assignments (claim, vote, submit, skip, undo, bulk) locks the item row first, so a
     count made after the lock sees all of them; the count in 1 (its snapshot is older) only pre-filters.
A claim is refreshed when it is served after CLAIM_TTL / 3 (so it holds while the page shows it). Serving or
refreshing only claims younger than CLAIM_TTL - SERVE_MARGIN is what makes that refresh, made without the
item's lock, safe: no claimer counts such a claim as stale.

A claim names the review page that holds it (`page`, a token each rendering of the review page draws): the
page takes the claim on the item it shows (review_claim_page_take) and each claim it is served or claims
(`page` of review_item_next), in the statement that serves it. Released: a reviewer's claims on which they
cast no vote, when they close the queue (review_claims_release), and other reviewers' such claims on an item
that closes (consensus reached). A review page's beacon names its page and releases only the claims that page
still holds, and those no page holds (the batch the queue's "work" link claimed before the page existed): a
beacon that arrives after the next page (a reload) took its claims cannot free them, whatever the order (the
release's DELETE and the taking UPDATE lock the row; the loser finds it changed or gone, and a page is never
served a claim its update found gone).
Other databases (SQLite: no SKIP LOCKED, and its write transactions are serialised) claim one item at a
time, scanning the first NEXT_SCAN free ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import connection, transaction
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
)

CLAIM_TTL = timedelta(minutes=15)
SERVE_MARGIN = timedelta(minutes=1)
PREFETCH = 5
NEXT_SCAN = 20
CLAIM_TRIES = 3

ITEMS = ReviewItem._meta.db_table
ASSIGNMENTS = ReviewAssignment._meta.db_table
QUEUE_REVIEWERS = ReviewQueue.reviewers.through._meta.db_table

# Held by others: submitted, or a claim younger than CLAIM_TTL (`fresh`).
_HELD_BY_OTHERS = f"""(
    SELECT count(*) FROM {ASSIGNMENTS} a WHERE a.item_id = i.id AND a.reviewer_id <> %(reviewer)s
      AND (a.state = 'submitted' OR (a.state = 'claimed' AND a.claimed_at >= %(fresh)s))
)"""  # noqa: S608

# The reviewer's own claim of lowest position, refreshed when older than `refresh_before` and taken by the asking
# page (`page`) when another page held it; with its item. `mine` first (MATERIALIZED): a reviewer holds a handful
# of claims, a queue may have thousands of open items. A claim whose update found no row (released meanwhile by
# a concurrent beacon) is not served.
_SERVE_SQL = f"""
WITH mine AS MATERIALIZED (
    SELECT a.id, a.item_id, a.claimed_at, a.page FROM {ASSIGNMENTS} a
    WHERE a.reviewer_id = %(reviewer)s AND a.state = 'claimed' AND a.claimed_at >= %(servable)s
), own AS (
    SELECT mine.id, mine.item_id, mine.claimed_at, mine.page FROM mine JOIN {ITEMS} i ON i.id = mine.item_id
    WHERE i.queue_id = %(queue)s AND i.state = 'open' AND NOT (i.id = ANY(%(exclude)s))
      AND EXISTS (SELECT 1 FROM {QUEUE_REVIEWERS} r WHERE r.reviewqueue_id = %(queue)s AND r.user_id = %(reviewer)s)
    ORDER BY i.position
    LIMIT 1
), refreshed AS (
    UPDATE {ASSIGNMENTS} a
    SET claimed_at = CASE WHEN own.claimed_at < %(refresh_before)s THEN %(now)s ELSE a.claimed_at END,
        page = %(page)s::uuid
    FROM own
    WHERE a.id = own.id AND a.state = 'claimed'
      AND (own.claimed_at < %(refresh_before)s OR own.page IS DISTINCT FROM %(page)s::uuid)
    RETURNING a.id
)
SELECT i.* FROM {ITEMS} i JOIN own ON own.item_id = i.id
WHERE (own.claimed_at >= %(refresh_before)s AND own.page IS NOT DISTINCT FROM %(page)s::uuid)
   OR EXISTS (SELECT 1 FROM refreshed)
"""  # noqa: S608

# Statement 1 of a batch claim (nothing for a reviewer not assigned to the queue): free items in position order (a
# window of PREFETCH x reviewers, enough to tell the fair share), the first `share` of them that no other
# transaction holds, locked.
_CANDIDATES_SQL = f"""
WITH reviewers AS (
    SELECT GREATEST(1, count(*)) AS n FROM {QUEUE_REVIEWERS} WHERE reviewqueue_id = %(queue)s
), free AS (
    SELECT i.id FROM {ITEMS} i
    WHERE i.queue_id = %(queue)s AND i.state = 'open' AND NOT (i.id = ANY(%(exclude)s))
      AND EXISTS (SELECT 1 FROM {QUEUE_REVIEWERS} r WHERE r.reviewqueue_id = %(queue)s AND r.user_id = %(reviewer)s)
      AND NOT EXISTS (
          SELECT 1 FROM {ASSIGNMENTS} a WHERE a.item_id = i.id AND a.reviewer_id = %(reviewer)s
            AND (a.state <> 'claimed' OR a.claimed_at >= %(servable)s)
      )
      AND {_HELD_BY_OTHERS} < %(per_item)s
    ORDER BY i.position
    LIMIT %(prefetch)s * (SELECT n FROM reviewers)
)
SELECT i.id FROM {ITEMS} i
WHERE i.id IN (SELECT id FROM free)
ORDER BY i.position
LIMIT (SELECT LEAST(%(prefetch)s, ceil(count(*)::float / (SELECT n FROM reviewers)))::int FROM free)
FOR UPDATE OF i {{wait}}
"""  # noqa: S608

# Statement 2: the claims, held by the asking page, on the locked items still open and not full (counted now,
# under the lock); a stale claim of the reviewer's own is refreshed. Returns the claimed items.
_INSERT_SQL = f"""
WITH claimed AS (
    INSERT INTO {ASSIGNMENTS} (item_id, reviewer_id, state, claimed_at, finished_at, page)
    SELECT i.id, %(reviewer)s, 'claimed', %(now)s, NULL, %(page)s::uuid FROM {ITEMS} i
    WHERE i.id = ANY(%(locked)s) AND i.state = 'open' AND {_HELD_BY_OTHERS} < %(per_item)s
    ON CONFLICT (item_id, reviewer_id) DO UPDATE SET claimed_at = EXCLUDED.claimed_at, page = EXCLUDED.page
        WHERE {ASSIGNMENTS}.state = 'claimed'
    RETURNING item_id
)
SELECT i.* FROM {ITEMS} i JOIN claimed ON claimed.item_id = i.id ORDER BY i.position
"""  # noqa: S608


def _not_assigned(queue: ReviewQueue) -> ApplicationError:
    return ApplicationError(f"You are not assigned to review queue {queue.pk}.", code="not_assigned", status_code=403)


def _require_assigned(queue: ReviewQueue, reviewer: User) -> None:
    if not queue.reviewers.filter(pk=reviewer.pk).exists():
        raise _not_assigned(queue)


def claims_batched() -> bool:
    """Whether this database claims in batches (it has SELECT ... FOR UPDATE SKIP LOCKED)."""
    return bool(connection.features.has_select_for_update_skip_locked)


def review_item_next(
    *,
    queue: ReviewQueue,
    reviewer: User,
    exclude_item_ids: tuple[int, ...] = (),
    page: UUID | None = None,
) -> ReviewItem | None:
    """The item this reviewer should review next (claimed for them), or None when nothing is left.

    Their own fresh claims come first, in position order; then new claims (see the module comment).
    ``exclude_item_ids``: items the page already shows (prefetching the one after). ``page``: the asking review
    page's token: the claim served and the batch claimed are that page's (an earlier page's late release
    leaves them); None (an API client): they are no page's. The item's queue is ``queue``. Raises
    ApplicationError not_assigned (403).
    """
    if queue.status != QueueStatus.OPEN:
        _require_assigned(queue, reviewer)
        return None
    exclude = sorted({int(i) for i in exclude_item_ids})
    if claims_batched():
        item = _serve_own(queue, reviewer, exclude, page) or _claim_batch(queue, reviewer, exclude, page)
    else:
        _require_assigned(queue, reviewer)
        item = _serve_own_one(queue, reviewer, exclude, page) or _claim_one_by_one(queue, reviewer, exclude, page)
    if item is not None:
        item.queue = queue
    return item


def _params(queue: ReviewQueue, reviewer: User, exclude: list[int], page: UUID | None) -> dict[str, Any]:
    now = timezone.now()
    return {
        "queue": queue.pk, "reviewer": reviewer.pk, "exclude": exclude, "per_item": queue.reviewers_per_item,
        "now": now, "fresh": now - CLAIM_TTL, "servable": now - CLAIM_TTL + SERVE_MARGIN,
        "refresh_before": now - CLAIM_TTL / 3, "page": page,
    }  # fmt: skip


def _serve_own(queue: ReviewQueue, reviewer: User, exclude: list[int], page: UUID | None) -> ReviewItem | None:
    return next(iter(ReviewItem.objects.raw(_SERVE_SQL, _params(queue, reviewer, exclude, page))), None)


def _claim_batch(queue: ReviewQueue, reviewer: User, exclude: list[int], page: UUID | None) -> ReviewItem | None:
    # Statement 1 finds nothing for a reviewer who is not assigned: only then is that asked (403).
    params = {**_params(queue, reviewer, exclude, page), "prefetch": PREFETCH}
    for _ in range(CLAIM_TRIES):
        locked, claimed = _claim_locked(params, "SKIP LOCKED")
        if not locked:
            _require_assigned(queue, reviewer)
            # Nothing free, or every free item is locked by someone right now (the end of a queue): wait
            # for one item (one lock held while waiting, so no deadlock with item-locking writers).
            locked, claimed = _claim_locked({**params, "prefetch": 1}, "")
            if not locked:
                return None
        if claimed:
            return claimed[0]
        # Every locked item filled up meanwhile: look again.
    return None


@transaction.atomic
def _claim_locked(params: dict[str, Any], wait: str) -> tuple[list[int], list[ReviewItem]]:
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL.format(wait=wait), params)
        locked = [row[0] for row in cursor.fetchall()]
    if not locked:
        return [], []
    return locked, list(ReviewItem.objects.raw(_INSERT_SQL, {**params, "locked": locked}))


def _holding(other_than: User | None = None) -> Coalesce:
    """Per item (a correlated subquery): reviewers (other than `other_than`) who submitted it or hold a fresh claim
    on it."""
    fresh = timezone.now() - CLAIM_TTL
    assignments = ReviewAssignment.objects.filter(item=OuterRef("pk"))
    if other_than is not None:
        assignments = assignments.exclude(reviewer=other_than)
    counted = (
        assignments.filter(Q(state=AssignmentState.SUBMITTED) | Q(state=AssignmentState.CLAIMED, claimed_at__gte=fresh))
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def _serve_own_one(queue: ReviewQueue, reviewer: User, exclude: list[int], page: UUID | None) -> ReviewItem | None:
    own = (
        ReviewAssignment.objects.filter(
            item__queue=queue, reviewer=reviewer, state=AssignmentState.CLAIMED, item__state=ItemState.OPEN
        )
        .exclude(item_id__in=exclude)
        .order_by("item__position")
        .first()
    )
    if own is None:
        return None
    ReviewAssignment.objects.filter(pk=own.pk).update(claimed_at=timezone.now(), page=page)
    return ReviewItem.objects.get(pk=own.item_id)


def _claim_one_by_one(queue: ReviewQueue, reviewer: User, exclude: list[int], page: UUID | None) -> ReviewItem | None:
    # Correlated subqueries (not a GROUP BY over the queue): the database walks the open items in position
    # order on the (queue, state, position) index and stops after NEXT_SCAN free ones.
    seen = ReviewAssignment.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    free = (
        ReviewItem.objects.filter(queue=queue, state=ItemState.OPEN)
        .exclude(pk__in=exclude)
        .filter(~Exists(seen))
        .annotate(holding=_holding())
        .filter(holding__lt=queue.reviewers_per_item)
        .order_by("position")
    )
    for item_id in free.values_list("pk", flat=True)[:NEXT_SCAN]:
        claimed = _claim_one(item_id, queue, reviewer, page)
        if claimed is not None:
            return claimed
    return None


@transaction.atomic
def _claim_one(item_id: int, queue: ReviewQueue, reviewer: User, page: UUID | None) -> ReviewItem | None:
    """Claim one item under its lock if it is open and other reviewers leave room; a claim of the reviewer's own
    is renewed. None when it is closed or full, or when the reviewer has finished it (submitted or skipped)."""
    item = ReviewItem.objects.select_for_update().filter(pk=item_id, state=ItemState.OPEN).first()
    if item is None:
        return None
    others = _holding(other_than=reviewer)
    holding = ReviewItem.objects.filter(pk=item_id).annotate(holding=others).values_list("holding", flat=True)[0]
    if holding >= queue.reviewers_per_item:
        return None
    assignment, created = ReviewAssignment.objects.get_or_create(
        item=item, reviewer=reviewer, defaults={"claimed_at": timezone.now(), "page": page}
    )
    if created:
        return item
    renewed = ReviewAssignment.objects.filter(pk=assignment.pk, state=AssignmentState.CLAIMED).update(
        claimed_at=timezone.now(), page=page
    )
    return item if renewed else None


def _unvoted_claims() -> Q:
    voted = ReviewVote.objects.filter(item=OuterRef("item_id"), reviewer=OuterRef("reviewer_id"))
    return Q(state=AssignmentState.CLAIMED) & ~Q(Exists(voted))


def review_claim_page_take(*, item: ReviewItem, reviewer: User, page: UUID) -> bool:
    """A review page (token ``page``) is rendered showing ``item``: the reviewer's fresh claim on it becomes that
    page's (refreshed), so an earlier page's release (often a beacon arriving after this page was served) leaves
    it. Without one (a release freed it first, or the page was opened by its address) the item is claimed for the
    page if it is open and not full. Only a claim younger than CLAIM_TTL - SERVE_MARGIN is taken without the
    item's lock (see the module comment). Returns whether the page holds a claim on the item (the page then knows
    the reviewer's assignment state without reading it)."""
    now = timezone.now()
    taken = ReviewAssignment.objects.filter(
        item=item, reviewer=reviewer, state=AssignmentState.CLAIMED, claimed_at__gte=now - CLAIM_TTL + SERVE_MARGIN
    ).update(claimed_at=now, page=page)
    if taken:
        return True
    if not item.queue.reviewers.filter(pk=reviewer.pk).exists() or item.queue.status != QueueStatus.OPEN:
        return False
    return _claim_one(item.pk, item.queue, reviewer, page) is not None


def review_claims_release(*, queue: ReviewQueue, reviewer: User, page: UUID | None = None) -> int:
    """The reviewer closes the queue: their claims on which they cast no vote go back (their prefetch, and
    the items their page showed). Claims with votes stay theirs until they expire. ``page`` (a review page's
    beacon): only the claims that page holds go back, and those no page holds (the batch the queue's "work" link
    claimed before the page was rendered); those a newer page of theirs has taken since stay. Returns claims
    released."""
    _require_assigned(queue, reviewer)
    claims = ReviewAssignment.objects.filter(item__queue=queue, reviewer=reviewer).filter(_unvoted_claims())
    if page is not None:
        claims = claims.filter(Q(page=page) | Q(page__isnull=True))
    deleted, _ = claims.delete()
    return deleted


# Fixed text: every closing submit runs it under the item's lock.
_ITEM_CLAIMS_RELEASE_SQL = f"""
DELETE FROM {ASSIGNMENTS} WHERE item_id = %s AND state = 'claimed' AND NOT EXISTS (
    SELECT 1 FROM {ReviewVote._meta.db_table} v
    WHERE v.item_id = {ASSIGNMENTS}.item_id AND v.reviewer_id = {ASSIGNMENTS}.reviewer_id
)
"""  # noqa: S608


def item_claims_release(item: ReviewItem) -> int:
    """An item closed (the caller holds its lock): the claims on it without votes are released."""
    with connection.cursor() as cursor:
        cursor.execute(_ITEM_CLAIMS_RELEASE_SQL, [item.pk])
        return cursor.rowcount
