"""Bulk labeling: one vote on many samples at once (a grid selection, a lasso on the embedding map).

Each selected sample's item in the queue (added at the end of the queue when missing) gets the
reviewer's vote, recorded with its origin (bulk_grid or bulk_map), and the reviewer's submit, so the
votes count towards consensus like any other. Items already closed are left alone and counted.
Everything is checked before anything is written: samples outside the queue's version, a label
outside the taxonomy, or a reviewer not assigned refuse the whole selection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from core.api_errors import ApplicationError
from curation.models import VersionSample
from curation.review.models import AssignmentState, ReviewItem, ReviewQueue, VoteOrigin, VoteValue
from curation.review.services.queues import item_candidates
from curation.review.services.votes import _assignment, _require_assigned, item_submit_locked, vote_record

MAX_BULK = 5000
BULK_ORIGINS = (VoteOrigin.BULK_GRID, VoteOrigin.BULK_MAP)


def _checked(queue: ReviewQueue, reviewer: User, sample_ids: list[int], label: str, value: str, origin: str) -> None:
    _require_assigned(queue, reviewer)
    if origin not in BULK_ORIGINS:
        raise ApplicationError(f"origin must be one of {', '.join(BULK_ORIGINS)}.", code="invalid_parameter")
    if value not in VoteValue.values:
        raise ApplicationError(f"vote must be one of {', '.join(VoteValue.values)}.", code="invalid_vote")
    if not 1 <= len(sample_ids) <= MAX_BULK:
        raise ApplicationError(f"Select 1 to {MAX_BULK} samples.", code="invalid_selection")
    if label not in queue.version.dataset.classes:
        raise ApplicationError(f"{label!r} is not a class of this dataset.", code="label_not_in_taxonomy")
    members = set(
        VersionSample.objects.filter(version=queue.version, sample_id__in=sample_ids).values_list(
            "sample_id", flat=True
        )
    )
    outside = sorted(set(sample_ids) - members)
    if outside:
        raise ApplicationError(
            f"{len(outside)} selected samples are not in version {queue.version_id}.",
            code="not_in_version",
            details={"sample_ids": outside[:100]},
        )


@transaction.atomic
def review_bulk_label(
    *,
    queue: ReviewQueue,
    reviewer: User,
    sample_ids: Iterable[int],
    label: str,
    value: str = VoteValue.YES,
    origin: str = VoteOrigin.BULK_GRID,
) -> dict[str, Any]:
    """Vote ``value`` on ``label`` for every selected sample; returns counts (voted, items_added, closed)."""
    ids = sorted({int(s) for s in sample_ids})
    label = label.strip()
    _checked(queue, reviewer, ids, label, value, origin)
    ReviewQueue.objects.select_for_update().filter(pk=queue.pk).first()  # serialises item positions
    existing = set(queue.items.filter(sample_id__in=ids).values_list("sample_id", flat=True))
    missing = [s for s in ids if s not in existing]
    if missing:
        labels_of = dict(
            VersionSample.objects.filter(version=queue.version, sample_id__in=missing).values_list(
                "sample_id", "labels"
            )
        )
        start = (queue.items.aggregate(n=Max("position"))["n"] or 0) + 1
        ReviewItem.objects.bulk_create(
            [
                ReviewItem(queue=queue, sample_id=s, position=start + i, candidates=item_candidates(labels_of[s], []))
                for i, s in enumerate(missing)
            ]
        )
        ReviewQueue.objects.filter(pk=queue.pk).update(item_count=queue.items.count())
    voted, closed = 0, 0
    for item in (
        queue.items.select_for_update(of=("self",))
        .select_related("queue__version__dataset")
        .filter(sample_id__in=ids)
        .order_by("pk")
    ):
        if item.is_closed or _assignment(item, reviewer).state == AssignmentState.SUBMITTED:
            closed += 1
            continue
        vote_record(item, reviewer, label, value, "", origin)
        item_submit_locked(item, reviewer)
        voted += 1
    return {"selected": len(ids), "voted": voted, "items_added": len(missing), "closed_or_done": closed}
