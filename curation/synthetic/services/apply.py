"""Applying a batch: a new immutable version with the base version's members plus the approved images.

The new version's parent is the base (the batch's version, or a later version of the same dataset),
its operation "synthetic", its params name the batch, the generator and the counts. Approved images
join with the split asked for (default train) and their intended class as label (origin "manual": a
curator approved it); their samples keep source "synthetic", so evaluation can leave them out. An
approved image whose bytes are already a member of the base is counted, not added twice. Applying is
idempotent: the batch row is locked, and an applied batch returns its version.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.models import Dataset, DatasetVersion, LabelOrigin, Split, VersionOperation, VersionSample
from curation.synthetic.models import ReviewStatus, SyntheticBatch


def _members_copy(base: DatasetVersion, version: DatasetVersion) -> None:
    members = VersionSample._meta.db_table
    sql = (
        f"INSERT INTO {members} (version_id, sample_id, split, label, label_origin, labels) "  # noqa: S608
        f"SELECT %s, sample_id, split, label, label_origin, labels FROM {members} WHERE version_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [version.pk, base.pk])


@transaction.atomic
def synthetic_batch_apply(
    *, batch: SyntheticBatch, user: User | None = None, base: DatasetVersion | None = None, split: str = Split.TRAIN
) -> DatasetVersion:
    """The version with the batch's approved images (created on the first call, returned afterwards).

    Raises ApplicationError: dataset_mismatch, invalid_split, nothing_approved.
    """
    batch = SyntheticBatch.objects.select_for_update().select_related("version__dataset").get(pk=batch.pk)
    if batch.applied_version_id is not None:
        return DatasetVersion.objects.get(pk=batch.applied_version_id)
    base = base or batch.version
    if base.dataset_id != batch.version.dataset_id:
        raise ApplicationError(f"Version {base.pk} belongs to another dataset.", code="dataset_mismatch")
    if split not in Split.values:
        raise ApplicationError(f"Unknown split {split!r}.", code="invalid_split")
    approved = list(batch.images.filter(status=ReviewStatus.APPROVED).order_by("position"))
    if not approved:
        raise ApplicationError(f"Synthetic batch {batch.pk} has no approved image.", code="nothing_approved")
    Dataset.objects.select_for_update().filter(pk=base.dataset_id).first()  # serialises version numbers
    number = (DatasetVersion.objects.filter(dataset_id=base.dataset_id).aggregate(n=Max("number"))["n"] or 0) + 1
    version = DatasetVersion.objects.create(
        dataset_id=base.dataset_id, number=number, parent=base, operation=VersionOperation.SYNTHETIC, created_by=user
    )
    _members_copy(base, version)
    present = set(VersionSample.objects.filter(version=version).values_list("sample_id", flat=True))
    added: dict[int, VersionSample] = {}
    for image in approved:
        if image.sample_id in present or image.sample_id in added:
            continue
        labels = [{"label": image.intended_class, "origin": LabelOrigin.MANUAL}]
        added[image.sample_id] = VersionSample(
            version=version, sample_id=image.sample_id, split=split, label=image.intended_class,
            label_origin=LabelOrigin.MANUAL, labels=labels,
        )  # fmt: skip
    VersionSample.objects.bulk_create(list(added.values()), batch_size=2000)
    version.sample_count = base.sample_count + len(added)
    version.operation_params = {
        "synthetic_batch": batch.pk,
        "base_version": base.pk,
        "generator": batch.generator,
        "mode": batch.mode,
        "split": split,
        "approved": len(approved),
        "added": len(added),
        "already_members": len(approved) - len(added),
        "rejected": batch.images.filter(status=ReviewStatus.REJECTED).count(),
        "pending": batch.images.filter(status=ReviewStatus.PENDING).count(),
    }
    version.note = f"Synthetic batch {batch.pk} ({batch.mode}): {len(added)} approved images added to {split}"
    version.save(update_fields=["sample_count", "operation_params", "note"])
    batch.applied_version, batch.applied_at = version, timezone.now()
    batch.save(update_fields=["applied_version", "applied_at"])
    return version
