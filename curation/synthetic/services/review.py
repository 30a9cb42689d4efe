"""Reviewing generated images: approve, reject, or put back to pending; one at a time or in bulk.

Only curators review (the caller checks the capability). A batch that was applied takes no more
decisions: its approved set is what the new version holds.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.synthetic.models import ReviewStatus, SyntheticBatch, SyntheticImage


def _open_batch_check(batch: SyntheticBatch) -> None:
    if batch.applied_version_id is not None:
        raise ApplicationError(
            f"Synthetic batch {batch.pk} was applied as version {batch.applied_version_id}; it takes no more reviews.",
            code="batch_applied",
            status_code=409,
        )


def _decision_check(decision: str) -> None:
    if decision not in ReviewStatus.values:
        raise ApplicationError(f"decision must be one of {', '.join(ReviewStatus.values)}.", code="invalid_decision")


@transaction.atomic
def synthetic_image_review(*, image: SyntheticImage, decision: str, user: User) -> SyntheticImage:
    """Set one image's status (approved, rejected, or pending to undo). Raises invalid_decision, batch_applied."""
    _decision_check(decision)
    image = SyntheticImage.objects.select_for_update().select_related("batch").get(pk=image.pk)
    _open_batch_check(image.batch)
    image.status = decision
    image.reviewed_by = None if decision == ReviewStatus.PENDING else user
    image.reviewed_at = None if decision == ReviewStatus.PENDING else timezone.now()
    image.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return image


@transaction.atomic
def synthetic_images_review_bulk(
    *,
    batch: SyntheticBatch,
    decision: str,
    user: User,
    image_ids: Iterable[int] | None = None,
    only_pending: bool = True,
    flagged: bool | None = None,
) -> int:
    """Set the status of many images of `batch` at once; returns how many changed.

    image_ids: these images (ids of another batch are an error); None: every image of the batch.
    only_pending: leave images that were already decided alone (default). flagged: True/False restricts
    to flagged / unflagged images ("approve every unflagged image").
    """
    _decision_check(decision)
    batch = SyntheticBatch.objects.select_for_update().get(pk=batch.pk)
    _open_batch_check(batch)
    images = SyntheticImage.objects.filter(batch=batch)
    if image_ids is not None:
        wanted = {int(i) for i in image_ids}
        found = set(images.filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - found:
            missing = ", ".join(str(i) for i in sorted(wanted - found)[:10])
            raise ApplicationError(f"Images not in batch {batch.pk}: {missing}.", code="invalid_images")
        images = images.filter(pk__in=wanted)
    if only_pending:
        images = images.filter(status=ReviewStatus.PENDING)
    if flagged is not None:
        images = images.filter(flagged=flagged)
    reviewed = None if decision == ReviewStatus.PENDING else user
    when = None if decision == ReviewStatus.PENDING else timezone.now()
    return images.update(status=decision, reviewed_by=reviewed, reviewed_at=when)
