"""PostgreSQL statements of the review API's hot writes: lock an item, cast a vote, submit an item.

votes.py keeps the rules and calls these on PostgreSQL (other databases take its ORM path, same rules). Each is
fixed SQL text (no per-call compile) and does in one statement what took several:
  1. item_lock: the item row locked (FOR UPDATE), with its queue, version and dataset and whether the reviewer
     is assigned to the queue, as `_locked_item` read them.
  2. vote_write: after the lock, so its snapshot sees every write committed before the lock was granted (each
     writer of an item's votes or assignments holds its lock): the vote this request_id already made, the
     reviewer's current vote on the label and their assignment; and, when the caller's checks passed
     (`write`) and the request_id made no vote yet, what review_vote_cast writes: the assignment when there
     is none, a skipped one claimed again, the vote when the assignment is not submitted and no vote on the
     label is current. A vote that replaces a current one is left to the caller (it supersedes that one).
  3. submit_write: the assignment submitted (made when there is none), an implicit "no" on each candidate
     without a current vote of the reviewer, and the item's submitted count recounted and stored; nothing
     when it was submitted already. The recount adds the assignments this statement submitted to the ones
     its snapshot sees submitted (a statement does not see its own writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from core.sql_rows import ModelColumns
from curation.models import Dataset, DatasetVersion
from curation.review.models import (
    ReviewAssignment,
    ReviewItem,
    ReviewQueue,
    ReviewVote,
    VoteOrigin,
    VoteValue,
)

ITEMS, QUEUES = ReviewItem._meta.db_table, ReviewQueue._meta.db_table
VERSIONS, DATASETS = DatasetVersion._meta.db_table, Dataset._meta.db_table
ASSIGNMENTS, VOTES = ReviewAssignment._meta.db_table, ReviewVote._meta.db_table
QUEUE_REVIEWERS = ReviewQueue.reviewers.through._meta.db_table

ITEM, QUEUE = ModelColumns(ReviewItem, "i"), ModelColumns(ReviewQueue, "q")
VERSION, DATASET = ModelColumns(DatasetVersion, "v"), ModelColumns(Dataset, "d")
VOTE = ModelColumns(ReviewVote, "v")
# Columns of a new vote row, in the order of the values the statements give them.
_VOTE_INSERT = (
    "(item_id, reviewer_id, label, value, origin, is_current, superseded_by_id, undone_at, request_id, created_at)"
)

_VERSION_AT = ITEM.width + QUEUE.width
_DATASET_AT = _VERSION_AT + VERSION.width
_ASSIGNED_AT = _DATASET_AT + DATASET.width
_LOCK_SQL = f"""
SELECT {ITEM.select}, {QUEUE.select}, {VERSION.select}, {DATASET.select},
    EXISTS (SELECT 1 FROM {QUEUE_REVIEWERS} r WHERE r.reviewqueue_id = i.queue_id AND r.user_id = %(reviewer)s)
FROM {ITEMS} i JOIN {QUEUES} q ON q.id = i.queue_id JOIN {VERSIONS} v ON v.id = q.version_id
    JOIN {DATASETS} d ON d.id = v.dataset_id
WHERE i.id = %(item)s
FOR UPDATE OF i
"""  # noqa: S608

_VOTE_SQL = f"""
WITH repeated AS (
    SELECT {VOTE.select} FROM {VOTES} v
    WHERE %(request_id)s <> '' AND v.reviewer_id = %(reviewer)s AND v.request_id = %(request_id)s
), current_vote AS (
    SELECT {VOTE.select} FROM {VOTES} v
    WHERE v.item_id = %(item)s AND v.reviewer_id = %(reviewer)s AND v.label = %(label)s AND v.is_current
), assignment AS (
    SELECT a.id, a.state FROM {ASSIGNMENTS} a WHERE a.item_id = %(item)s AND a.reviewer_id = %(reviewer)s
), go AS (
    SELECT 1 WHERE %(write)s AND NOT EXISTS (SELECT 1 FROM repeated)
), claimed AS (
    INSERT INTO {ASSIGNMENTS} (item_id, reviewer_id, state, claimed_at, finished_at)
    SELECT %(item)s, %(reviewer)s, 'claimed', %(now)s, NULL FROM go WHERE NOT EXISTS (SELECT 1 FROM assignment)
    RETURNING id
), unskipped AS (
    UPDATE {ASSIGNMENTS} a SET state = 'claimed', finished_at = NULL FROM go, assignment s
    WHERE a.id = s.id AND s.state = 'skipped'
    RETURNING a.id
), inserted AS (
    INSERT INTO {VOTES} AS v {_VOTE_INSERT}
    SELECT %(item)s, %(reviewer)s, %(label)s, %(value)s, %(origin)s, true, NULL, NULL, %(request_id)s, %(now)s FROM go
    WHERE NOT EXISTS (SELECT 1 FROM current_vote) AND NOT EXISTS (SELECT 1 FROM assignment WHERE state = 'submitted')
    RETURNING {VOTE.select}
)
SELECT (SELECT state FROM assignment), repeated.*, current_vote.*, inserted.*
FROM (SELECT 1) one LEFT JOIN repeated ON true LEFT JOIN current_vote ON true LEFT JOIN inserted ON true
"""  # noqa: S608

_SUBMIT_SQL = f"""
WITH mine AS (
    SELECT a.id, a.state FROM {ASSIGNMENTS} a WHERE a.item_id = %(item)s AND a.reviewer_id = %(reviewer)s
), finished AS (
    UPDATE {ASSIGNMENTS} a SET state = 'submitted', finished_at = %(now)s FROM mine
    WHERE a.id = mine.id AND mine.state <> 'submitted'
    RETURNING a.id
), created AS (
    INSERT INTO {ASSIGNMENTS} (item_id, reviewer_id, state, claimed_at, finished_at)
    SELECT %(item)s, %(reviewer)s, 'submitted', %(now)s, %(now)s WHERE NOT EXISTS (SELECT 1 FROM mine)
    RETURNING id
), acted AS (
    SELECT id FROM finished UNION ALL SELECT id FROM created
), implicit AS (
    INSERT INTO {VOTES} {_VOTE_INSERT}
    SELECT %(item)s, %(reviewer)s, c.label, %(no)s, %(implicit)s, true, NULL, NULL, '', %(now)s
    FROM unnest(%(labels)s::varchar[]) WITH ORDINALITY AS c(label, n)
    WHERE EXISTS (SELECT 1 FROM acted) AND NOT EXISTS (
        SELECT 1 FROM {VOTES} v
        WHERE v.item_id = %(item)s AND v.reviewer_id = %(reviewer)s AND v.label = c.label AND v.is_current
    )
    ORDER BY c.n
    RETURNING id
), counted AS (
    UPDATE {ITEMS} i SET submitted_count = (SELECT count(*) FROM acted) + (
        SELECT count(*) FROM {ASSIGNMENTS} a WHERE a.item_id = %(item)s AND a.state = 'submitted'
    )
    WHERE i.id = %(item)s AND EXISTS (SELECT 1 FROM acted)
    RETURNING i.submitted_count
)
SELECT (SELECT count(*) FROM acted), (SELECT submitted_count FROM counted), (SELECT count(*) FROM implicit)
"""  # noqa: S608


def supported() -> bool:
    """Whether this database runs these statements (PostgreSQL: data-modifying WITH, FOR UPDATE OF)."""
    return connection.vendor == "postgresql"


def item_lock(item_id: int, reviewer_id: int) -> tuple[ReviewItem, bool] | None:
    """The item locked, with its queue, version and dataset attached, and whether the reviewer is assigned to the
    queue; None when there is no such item."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, {"item": item_id, "reviewer": reviewer_id})
        row = cursor.fetchone()
    if row is None:
        return None
    item, queue = ITEM.build(row[: ITEM.width]), QUEUE.build(row[ITEM.width : _VERSION_AT])
    version, dataset = VERSION.build(row[_VERSION_AT:_DATASET_AT]), DATASET.build(row[_DATASET_AT:_ASSIGNED_AT])
    version.dataset = dataset
    queue.version = version
    item.queue = queue
    return item, bool(row[_ASSIGNED_AT])


@dataclass(frozen=True)
class VoteWrite:
    assignment_state: str | None  # before this statement; None: the reviewer had no assignment
    repeat: ReviewVote | None  # the vote this request_id made before
    current: ReviewVote | None  # the reviewer's current vote on the label before this statement
    inserted: ReviewVote | None  # the vote this statement recorded


def vote_write(
    *, item: ReviewItem, reviewer: User, label: str, value: str, request_id: str, origin: str, write: bool
) -> VoteWrite:
    """Statement 2 of a vote (module comment); the caller holds the item's lock. Votes come with their reviewer."""
    params: dict[str, Any] = {
        "item": item.pk, "reviewer": reviewer.pk, "label": label, "value": value, "request_id": request_id,
        "origin": origin, "write": write, "now": timezone.now(),
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_VOTE_SQL, params)
        row = cursor.fetchone()
    width = VOTE.width
    votes = [_vote_or_none(row[1 + k * width : 1 + (k + 1) * width], reviewer) for k in range(3)]
    return VoteWrite(row[0], *votes)


def submit_write(*, item: ReviewItem, reviewer: User) -> tuple[bool, int]:
    """Statement 2 of a submit (module comment); the caller holds the item's lock. Returns (whether the reviewer's
    assignment was submitted now, the stored submitted count when it was; 0 otherwise)."""
    params: dict[str, Any] = {
        "item": item.pk, "reviewer": reviewer.pk, "labels": item.candidate_labels, "now": timezone.now(),
        "no": VoteValue.NO.value, "implicit": VoteOrigin.IMPLICIT.value,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_SUBMIT_SQL, params)
        acted, submitted_count, _ = cursor.fetchone()
    return acted > 0, submitted_count or 0


def _vote_or_none(values: tuple, reviewer: User) -> ReviewVote | None:
    if values[0] is None:
        return None
    vote = VOTE.build(values)
    vote.reviewer = reviewer  # the reviewer's own vote: its username needs no query
    return vote
