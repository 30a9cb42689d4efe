"""Reads of synthetic batches and images (pages and API)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from curation.synthetic.models import ReviewStatus, SyntheticBatch, SyntheticImage


def synthetic_batch_get(batch_id: int) -> SyntheticBatch | None:
    return (
        SyntheticBatch.objects.select_related("version__dataset", "job", "applied_version", "created_by")
        .filter(pk=batch_id)
        .first()
    )


def synthetic_batch_list(*, version_id: int | None = None) -> QuerySet[SyntheticBatch]:
    """Batches newest first, with their image counts per review status."""
    batches = SyntheticBatch.objects.select_related("version__dataset", "job", "applied_version")
    if version_id is not None:
        batches = batches.filter(version_id=version_id)
    return batches.annotate(
        image_count=Count("images"),
        approved_count=Count("images", filter=Q(images__status=ReviewStatus.APPROVED)),
        rejected_count=Count("images", filter=Q(images__status=ReviewStatus.REJECTED)),
        flagged_count=Count("images", filter=Q(images__flagged=True)),
    ).order_by("-id")


def synthetic_batch_counts(batch: SyntheticBatch) -> dict[str, Any]:
    """Images per review status, flagged images, planned and skipped items."""
    rows = dict(batch.images.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    counts = {status: rows.get(status, 0) for status in ReviewStatus.values}
    counts.update(
        images=sum(rows.values()),
        flagged=batch.images.filter(flagged=True).count(),
        planned=len(batch.plan),
        skipped=len(batch.skipped),
    )
    return counts


def synthetic_images_of_batch(
    batch: SyntheticBatch, *, status: str | None = None, flagged: bool | None = None
) -> QuerySet[SyntheticImage]:
    images = batch.images.select_related("sample", "parent_sample")
    if status:
        images = images.filter(status=status)
    if flagged is not None:
        images = images.filter(flagged=flagged)
    return images.order_by("position")


def synthetic_image_get(image_id: int) -> SyntheticImage | None:
    return (
        SyntheticImage.objects.select_related("batch__version__dataset", "sample", "parent_sample")
        .filter(pk=image_id)
        .first()
    )


def synthetic_review_next(batch: SyntheticBatch, *, after_position: int = -1) -> SyntheticImage | None:
    """The next pending image after `after_position` (wrapping to the first pending one)."""
    pending = synthetic_images_of_batch(batch, status=ReviewStatus.PENDING)
    return pending.filter(position__gt=after_position).first() or pending.first()
