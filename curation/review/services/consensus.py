"""Consensus of an item's votes: majority with a quorum, or Dawid–Skene with three or more reviewers.

Only the current votes of reviewers who submitted the item count (a vote left unset at submit was
recorded as an implicit "no"). Per candidate label:
- majority (curation.review.ml.aggregation.majority_response): the value given by more than half of
  the votes; none, and the item is disputed, when no value has a majority.
- Dawid–Skene (queue aggregation "auto", item with ≥ 3 submitted reviewers): each reviewer's
  confusion over yes/maybe/no is estimated from every closed item of the queue (and this one), and
  the label takes the value of highest posterior when that posterior reaches DS_MIN_POSTERIOR.
An item whose every label has a value is agreed; otherwise disputed. Consensus labels are the labels
whose value is yes. `queue_consensus_refresh` refits Dawid–Skene on all closed items (done when a
queue is applied, when the estimates rest on the most votes).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from curation.review.ml.aggregation import dawid_skene, majority_response
from curation.review.models import (
    Aggregation,
    AssignmentState,
    ItemState,
    ReviewAssignment,
    ReviewItem,
    ReviewQueue,
    ReviewVote,
)

VALUES = ("yes", "maybe", "no")
VALUE_INDEX = {value: i for i, value in enumerate(VALUES)}
DS_MIN_REVIEWERS = 3
DS_MIN_POSTERIOR = 0.5
# Closing an item refits Dawid–Skene on the queue's most recently closed items, at most this many (a fit
# costs one pass over their votes); applying the queue refits on all of them.
DS_FIT_ITEMS = 2000


@dataclass(frozen=True)
class CountedVote:
    item_id: int
    label: str
    reviewer_id: int
    value: str


_VOTES, _ASSIGNMENTS, _ITEMS = ReviewVote._meta.db_table, ReviewAssignment._meta.db_table, ReviewItem._meta.db_table
# Fixed text (closing an item runs it under the item's lock: no per-call compile); in the votes' model order.
_COUNTED_VOTES_SQL = f"""
SELECT v."item_id", v."label", v."reviewer_id", v."value" FROM "{_VOTES}" v JOIN "{_ITEMS}" i ON i."id" = v."item_id"
WHERE v."item_id" IN ({{items}}) AND v."is_current" AND EXISTS (
    SELECT 1 FROM "{_ASSIGNMENTS}" a WHERE a."item_id" = v."item_id" AND a."reviewer_id" = v."reviewer_id"
      AND a."state" = %s
)
ORDER BY i."queue_id" DESC, i."position", v."id"
"""  # noqa: S608


def counted_votes(item_ids: list[int]) -> list[CountedVote]:
    """Current votes of reviewers who submitted the items (one statement: each vote's assignment is one index probe)."""
    if not item_ids:
        return []
    with connection.cursor() as cursor:
        sql = _COUNTED_VOTES_SQL.format(items=", ".join(["%s"] * len(item_ids)))
        cursor.execute(sql, [*item_ids, AssignmentState.SUBMITTED.value])
        return [CountedVote(*row) for row in cursor.fetchall()]


def _counts(votes: list[CountedVote]) -> dict[str, np.ndarray]:
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(VALUES), dtype=np.int64))
    for vote in votes:
        counts[vote.label][VALUE_INDEX[vote.value]] += 1
    return counts


def _majority_consensus(item: ReviewItem, votes: list[CountedVote], quorum: int) -> dict[str, Any]:
    consensus = {}
    for label, counts in _counts(votes).items():
        winner = majority_response(counts, quorum=quorum)
        total = int(counts.sum())
        consensus[label] = {
            "value": VALUES[winner] if winner is not None else None,
            "confidence": round(float(counts[winner]) / total, 4) if winner is not None else None,
            "votes": dict(zip(VALUES, counts.tolist(), strict=True)),
        }
    return consensus


def _dawid_skene_posteriors(votes: list[CountedVote]) -> dict[tuple[int, str], np.ndarray]:
    """Posterior over yes/maybe/no of every (item, label) task in ``votes``, one EM fit over all of them."""
    tasks = sorted({(v.item_id, v.label) for v in votes})
    task_index = {task: i for i, task in enumerate(tasks)}
    reviewers = sorted({v.reviewer_id for v in votes})
    reviewer_index = {r: i for i, r in enumerate(reviewers)}
    result = dawid_skene(
        np.array([task_index[(v.item_id, v.label)] for v in votes]),
        np.array([reviewer_index[v.reviewer_id] for v in votes]),
        np.array([VALUE_INDEX[v.value] for v in votes]),
        n_tasks=len(tasks),
        n_annotators=len(reviewers),
        n_classes=len(VALUES),
    )
    return {task: result.posteriors[i] for i, task in enumerate(tasks)}


def _ds_consensus(votes: list[CountedVote], posteriors: dict[tuple[int, str], np.ndarray]) -> dict[str, Any]:
    consensus = {}
    for label, counts in _counts(votes).items():
        posterior = posteriors[(votes[0].item_id, label)]
        best = int(np.argmax(posterior))
        confident = float(posterior[best]) >= DS_MIN_POSTERIOR
        consensus[label] = {
            "value": VALUES[best] if confident else None,
            "confidence": round(float(posterior[best]), 4),
            "votes": dict(zip(VALUES, counts.tolist(), strict=True)),
        }
    return consensus


def _uses_dawid_skene(queue: ReviewQueue, votes: list[CountedVote]) -> bool:
    return queue.aggregation == Aggregation.AUTO and len({v.reviewer_id for v in votes}) >= DS_MIN_REVIEWERS


def _store(item: ReviewItem, consensus: dict[str, Any], method: str) -> None:
    for label in item.candidate_labels:  # a candidate nobody who submitted voted on has no consensus
        consensus.setdefault(label, {"value": None, "confidence": None, "votes": dict.fromkeys(VALUES, 0)})
    item.consensus = consensus
    item.consensus_labels = [label for label in item.candidate_labels if consensus[label]["value"] == "yes"]
    item.consensus_method = method
    item.state = ItemState.AGREED if all(entry["value"] for entry in consensus.values()) else ItemState.DISPUTED
    item.consensus_at = item.consensus_at or timezone.now()


_CONSENSUS_NAMES = ("consensus", "consensus_labels", "consensus_method", "state", "consensus_at")
_CONSENSUS_FIELDS = [cast(Field, ReviewItem._meta.get_field(name)) for name in _CONSENSUS_NAMES]
_CONSENSUS_STORE_SQL = f"""
UPDATE "{_ITEMS}" SET {", ".join(f'"{field.column}" = %s' for field in _CONSENSUS_FIELDS)} WHERE "id" = %s
"""  # noqa: S608


def item_consensus_close(item: ReviewItem) -> None:
    """Compute and store the consensus of an item that reached its quorum (caller holds the item's lock)."""
    queue = item.queue
    votes = counted_votes([item.pk])
    if _uses_dawid_skene(queue, votes):
        closed_items = queue.items.exclude(state=ItemState.OPEN).order_by("-consensus_at", "-pk")
        closed = list(closed_items.values_list("pk", flat=True)[:DS_FIT_ITEMS])
        posteriors = _dawid_skene_posteriors(counted_votes([*closed, item.pk]))
        _store(item, _ds_consensus(votes, posteriors), "dawid_skene")
    else:
        _store(item, _majority_consensus(item, votes, queue.quorum), "majority")
    stored = [
        field.get_db_prep_save(getattr(item, field.attname), connection) for field in _CONSENSUS_FIELDS
    ]  # as item.save(update_fields=...) prepares them, in fixed text
    with connection.cursor() as cursor:
        cursor.execute(_CONSENSUS_STORE_SQL, [*stored, item.pk])


@transaction.atomic
def queue_consensus_refresh(queue: ReviewQueue) -> int:
    """Recompute every closed item's consensus with one Dawid–Skene fit over all of them; returns items changed."""
    items = list(queue.items.select_for_update().exclude(state=ItemState.OPEN).order_by("pk"))
    if not items:
        return 0
    votes = counted_votes([item.pk for item in items])
    by_item: dict[int, list[CountedVote]] = defaultdict(list)
    for vote in votes:
        by_item[vote.item_id].append(vote)
    posteriors = _dawid_skene_posteriors(votes) if votes else {}
    changed = 0
    for item in items:
        item.queue = queue
        before = (item.state, list(item.consensus_labels))
        item_votes = by_item.get(item.pk, [])
        if _uses_dawid_skene(queue, item_votes):
            _store(item, _ds_consensus(item_votes, posteriors), "dawid_skene")
        else:
            _store(item, _majority_consensus(item, item_votes, queue.quorum), "majority")
        changed += before != (item.state, item.consensus_labels)
    ReviewItem.objects.bulk_update(items, ["consensus", "consensus_labels", "consensus_method", "state"])
    return changed
