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
A claim is refreshed when it is served after CLAIM_TTL / 3 (so it holds while the page shows it), and
when a review page that opened after it was last stamped serves it (`page_opened_at`) or shows it
(review_claim_page_stamp, on rendering the page): its claimed_at is then later than the moment the
previous page was left. Serving or stamping only claims younger than CLAIM_TTL - SERVE_MARGIN is what
makes that refresh, made without the item's lock, safe: no claimer counts such a claim as stale.

Released: a reviewer's claims on which they cast no vote, when they close the queue
(review_claims_release), and other reviewers' such claims on an item that closes (consensus reached).
A review page's beacon releases only the claims stamped no later than the moment that page was left
(`left_at`: the page's server-side opening time plus its own elapsed time, clamped to now): a beacon that
arrives after the next page (a reload) was served cannot free the claims that page shows or serves.
Other databases (SQLite: no SKIP LOCKED, and its write transactions are serialised) claim one item at a
time, scanning the first NEXT_SCAN free ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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

# The reviewer's own claim of lowest position, refreshed when older than `refresh_before`; with its item.
# `mine` first (MATERIALIZED): a reviewer holds a handful of claims, a queue may have thousands of open items.
# A claim whose refresh found no row (released meanwhile by a concurrent beacon) is not served.
_SERVE_SQL = f"""
WITH mine AS MATERIALIZED (
    SELECT a.id, a.item_id, a.claimed_at FROM {ASSIGNMENTS} a
    WHERE a.reviewer_id = %(reviewer)s AND a.state = 'claimed' AND a.claimed_at >= %(servable)s
), own AS (
    SELECT mine.id, mine.item_id, mine.claimed_at FROM mine JOIN {ITEMS} i ON i.id = mine.item_id
    WHERE i.queue_id = %(queue)s AND i.state = 'open' AND NOT (i.id = ANY(%(exclude)s))
      AND EXISTS (SELECT 1 FROM {QUEUE_REVIEWERS} r WHERE r.reviewqueue_id = %(queue)s AND r.user_id = %(reviewer)s)
    ORDER BY i.position
    LIMIT 1
), refreshed AS (
    UPDATE {ASSIGNMENTS} a SET claimed_at = %(now)s FROM own
    WHERE a.id = own.id AND own.claimed_at < %(refresh_before)s
    RETURNING a.id
)
SELECT i.* FROM {ITEMS} i JOIN own ON own.item_id = i.id
WHERE own.claimed_at >= %(refresh_before)s OR EXISTS (SELECT 1 FROM refreshed)
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

# Statement 2: the claims, on the locked items still open and not full (counted now, under the lock); a
# stale claim of the reviewer's own is refreshed. Returns the claimed items.
_INSERT_SQL = f"""
WITH claimed AS (
    INSERT INTO {ASSIGNMENTS} (item_id, reviewer_id, state, claimed_at, finished_at)
    SELECT i.id, %(reviewer)s, 'claimed', %(now)s, NULL FROM {ITEMS} i
    WHERE i.id = ANY(%(locked)s) AND i.state = 'open' AND {_HELD_BY_OTHERS} < %(per_item)s
    ON CONFLICT (item_id, reviewer_id) DO UPDATE SET claimed_at = EXCLUDED.claimed_at
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
    page_opened_at: datetime | None = None,
) -> ReviewItem | None:
    """The item this reviewer should review next (claimed for them), or None when nothing is left.

    Their own fresh claims come first, in position order; then new claims (see the module comment).
    ``exclude_item_ids``: items the page already shows (prefetching the one after). ``page_opened_at``: when
    the asking review page was rendered (server time): an own claim last stamped before it (by an earlier
    page) is stamped now, in the same statement, so that the earlier page's late release leaves it. The
    item's queue is ``queue``. Raises ApplicationError not_assigned (403).
    """
    if queue.status != QueueStatus.OPEN:
        _require_assigned(queue, reviewer)
        return None
    exclude = sorted({int(i) for i in exclude_item_ids})
    if claims_batched():
        item = _serve_own(queue, reviewer, exclude, page_opened_at) or _claim_batch(queue, reviewer, exclude)
    else:
        _require_assigned(queue, reviewer)
        item = _serve_own_one(queue, reviewer, exclude) or _claim_one_by_one(queue, reviewer, exclude)
    if item is not None:
        item.queue = queue
    return item


def _params(
    queue: ReviewQueue, reviewer: User, exclude: list[int], page_opened_at: datetime | None = None
) -> dict[str, Any]:
    now = timezone.now()
    refresh_before = now - CLAIM_TTL / 3
    if page_opened_at is not None:  # a page's own serves need no refresh; its predecessor's claims do
        refresh_before = max(refresh_before, min(page_opened_at, now))
    return {
        "queue": queue.pk, "reviewer": reviewer.pk, "exclude": exclude, "per_item": queue.reviewers_per_item,
        "now": now, "fresh": now - CLAIM_TTL, "servable": now - CLAIM_TTL + SERVE_MARGIN,
        "refresh_before": refresh_before,
    }  # fmt: skip


def _serve_own(
    queue: ReviewQueue, reviewer: User, exclude: list[int], page_opened_at: datetime | None = None
) -> ReviewItem | None:
    params = _params(queue, reviewer, exclude, page_opened_at)
    return next(iter(ReviewItem.objects.raw(_SERVE_SQL, params)), None)


def _claim_batch(queue: ReviewQueue, reviewer: User, exclude: list[int]) -> ReviewItem | None:
    # Statement 1 finds nothing for a reviewer who is not assigned: only then is that asked (403).
    params = {**_params(queue, reviewer, exclude), "prefetch": PREFETCH}
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


def _serve_own_one(queue: ReviewQueue, reviewer: User, exclude: list[int]) -> ReviewItem | None:
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
    ReviewAssignment.objects.filter(pk=own.pk).update(claimed_at=timezone.now())
    return ReviewItem.objects.get(pk=own.item_id)


def _claim_one_by_one(queue: ReviewQueue, reviewer: User, exclude: list[int]) -> ReviewItem | None:
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
        claimed = _claim_one(item_id, queue, reviewer)
        if claimed is not None:
            return claimed
    return None


@transaction.atomic
def _claim_one(item_id: int, queue: ReviewQueue, reviewer: User) -> ReviewItem | None:
    item = ReviewItem.objects.select_for_update().filter(pk=item_id, state=ItemState.OPEN).first()
    if item is None:
        return None
    holding = ReviewItem.objects.filter(pk=item_id).annotate(holding=_holding()).values_list("holding", flat=True)[0]
    if holding >= queue.reviewers_per_item:
        return None
    _, created = ReviewAssignment.objects.get_or_create(
        item=item, reviewer=reviewer, defaults={"claimed_at": timezone.now()}
    )
    return item if created else None


def _unvoted_claims() -> Q:
    voted = ReviewVote.objects.filter(item=OuterRef("item_id"), reviewer=OuterRef("reviewer_id"))
    return Q(state=AssignmentState.CLAIMED) & ~Q(Exists(voted))


def review_claim_page_stamp(*, item: ReviewItem, reviewer: User, opened_at: datetime) -> bool:
    """A review page showing ``item`` is rendered at ``opened_at`` (server time, which the page carries): the
    reviewer's fresh claim on it is stamped with that time, later than the moment any earlier page of theirs
    was left, so that page's release (often a beacon arriving after this page was served) leaves it.
    Only a claim younger than CLAIM_TTL - SERVE_MARGIN is stamped (see the module comment). Returns whether
    the reviewer holds such a claim (the page then knows their assignment state without reading it)."""
    servable = opened_at - CLAIM_TTL + SERVE_MARGIN
    stamped = ReviewAssignment.objects.filter(
        item=item, reviewer=reviewer, state=AssignmentState.CLAIMED, claimed_at__gte=servable
    ).update(claimed_at=opened_at)
    return stamped > 0


def page_left_at(*, opened_at: datetime, elapsed: timedelta) -> datetime:
    """When a review page was left, in server time: its server-side opening time (which the page carries)
    plus the time the page itself measured from receiving its response to leaving (no client clock is
    compared with the server's); never later than now."""
    now = timezone.now()
    return min(min(opened_at, now) + max(elapsed, timedelta(0)), now)


def review_claims_release(*, queue: ReviewQueue, reviewer: User, left_at: datetime | None = None) -> int:
    """The reviewer closes the queue: their claims on which they cast no vote go back (their prefetch, and
    the items their page showed). Claims with votes stay theirs until they expire. ``left_at`` (a review
    page's beacon, see page_left_at): only the claims stamped no later than it go back; the ones a newer
    page of theirs has served or shown since (stamped later) stay. Returns claims released."""
    _require_assigned(queue, reviewer)
    claims = ReviewAssignment.objects.filter(item__queue=queue, reviewer=reviewer).filter(_unvoted_claims())
    if left_at is not None:
        claims = claims.filter(claimed_at__lte=min(left_at, timezone.now()))
    deleted, _ = claims.delete()
    return deleted


def item_claims_release(item: ReviewItem) -> int:
    """An item closed (the caller holds its lock): the claims on it without votes are released."""
    deleted, _ = ReviewAssignment.objects.filter(item=item).filter(_unvoted_claims()).delete()
    return deleted
