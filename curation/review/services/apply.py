"""Applying a queue's consensus: a new immutable version with the reviewed multi-label sets.

The new version's parent is the base version (the queue's version, or a later version of the same
dataset chosen by the curator), its operation "relabel". Every member of the base is copied by one
INSERT ... SELECT; then the members of agreed items get their consensus label set, each label with
origin "consensus" (labels renamed or merged in the taxonomy since are mapped to their new names).
The primary label stays when the consensus keeps it; otherwise it becomes the consensus label with
the most yes votes; an empty consensus leaves the sample unlabeled (ReaL excludes it). Disputed and
open items change nothing. An agreed item whose sample is no longer in the base version (removed by a
later prune) is skipped and listed. Dawid–Skene is refitted on all closed items first. Applying is
idempotent: the queue row is locked, and a queue that has a version returns it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.models import Dataset, DatasetVersion, LabelOrigin, VersionOperation, VersionSample
from curation.review.models import ItemState, QueueStatus, ReviewItem, ReviewQueue
from curation.review.services.consensus import queue_consensus_refresh
from curation.review.services.taxonomy import taxonomy_label_map


@transaction.atomic
def review_queue_apply(
    *, queue: ReviewQueue, user: User | None = None, base: DatasetVersion | None = None
) -> DatasetVersion:
    """The version made from the queue's consensus (created on the first call, returned afterwards).

    base: the version to start from (default the queue's version; another version of the same dataset,
    e.g. a later prune). Raises ApplicationError: dataset_mismatch, nothing_agreed.
    """
    queue = ReviewQueue.objects.select_for_update().select_related("version__dataset").get(pk=queue.pk)
    if queue.applied_version_id is not None:
        return DatasetVersion.objects.get(pk=queue.applied_version_id)
    base = base or queue.version
    if base.dataset_id != queue.version.dataset_id:
        raise ApplicationError(f"Version {base.pk} belongs to another dataset.", code="dataset_mismatch")
    refitted = queue_consensus_refresh(queue)
    agreed = list(queue.items.filter(state=ItemState.AGREED).order_by("position"))
    if not agreed:
        raise ApplicationError(f"Queue {queue.pk} has no item with a consensus yet.", code="nothing_agreed")
    Dataset.objects.select_for_update().filter(pk=base.dataset_id).first()  # serialises version numbers
    number = (DatasetVersion.objects.filter(dataset_id=base.dataset_id).aggregate(n=Max("number"))["n"] or 0) + 1
    version = DatasetVersion.objects.create(
        dataset_id=base.dataset_id, number=number, parent=base, operation=VersionOperation.RELABEL,
        sample_count=base.sample_count, created_by=user,
    )  # fmt: skip
    _members_copy(base, version)
    counts = _consensus_write(version, agreed, taxonomy_label_map(queue.version.dataset))
    counts["dawid_skene_refit_changed"] = refitted
    counts["disputed"] = queue.items.filter(state=ItemState.DISPUTED).count()
    counts["open"] = queue.items.filter(state=ItemState.OPEN).count()
    version.operation_params = {"review_queue": queue.pk, "base_version": base.pk, **counts}
    version.note = (
        f"Review queue {queue.pk} ({queue.name}): {counts['changed']} label sets changed, "
        f"{counts['confirmed']} confirmed, {len(counts['skipped_not_in_base'])} skipped"
    )
    version.save(update_fields=["operation_params", "note"])
    queue.applied_version, queue.applied_at, queue.status = version, timezone.now(), QueueStatus.APPLIED
    queue.save(update_fields=["applied_version", "applied_at", "status"])
    return version


def _members_copy(base: DatasetVersion, version: DatasetVersion) -> None:
    members = VersionSample._meta.db_table
    sql = (
        f"INSERT INTO {members} (version_id, sample_id, split, label, label_origin, labels) "  # noqa: S608
        f"SELECT %s, sample_id, split, label, label_origin, labels FROM {members} WHERE version_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [version.pk, base.pk])


def _primary(member: VersionSample, labels: list[str], item: ReviewItem) -> str:
    if member.label in labels:
        return member.label
    yes_votes = {label: item.consensus.get(label, {}).get("votes", {}).get("yes", 0) for label in labels}
    return max(labels, key=lambda label: (yes_votes.get(label, 0), -labels.index(label))) if labels else ""


def _consensus_write(version: DatasetVersion, agreed: list[ReviewItem], label_map: dict[str, str]) -> dict[str, Any]:
    members = {
        m.sample_id: m
        for m in VersionSample.objects.filter(version=version, sample_id__in=[i.sample_id for i in agreed])
    }
    changed, confirmed, skipped = [], 0, []
    for item in agreed:
        member = members.get(item.sample_id)
        if member is None:
            skipped.append(item.sample_id)
            continue
        labels = list(dict.fromkeys(label_map.get(label, label) for label in item.consensus_labels))
        if set(labels) == set(member.label_names):
            confirmed += 1
        member.label = _primary(member, labels, item)
        member.label_origin = LabelOrigin.CONSENSUS
        member.labels = [{"label": label, "origin": LabelOrigin.CONSENSUS} for label in labels]
        changed.append(member)
    VersionSample.objects.bulk_update(changed, ["label", "label_origin", "labels"], batch_size=2000)
    return {
        "reviewed": len(changed),
        "changed": len(changed) - confirmed,
        "confirmed": confirmed,
        "emptied": sum(1 for m in changed if not m.labels),
        "skipped_not_in_base": skipped,
    }
