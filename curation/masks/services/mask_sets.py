"""Estimate and store the foreground masks of a version by one provider: start, the job, its cleanup.

Choices made:
- One MaskSet per (version, provider). Asking again for a ready set returns it (no new job); a failed
  set is started over on the same row; a running one is refused (`mask_set_running`, 409).
- The job walks the version's members in batches of sample ids, skipping samples that already have a
  row, so a batch that runs twice does no harm and a retried attempt goes on where it stopped.
- A mask is an 8-bit PNG at the image's own size, keyed by set and sample (`masks/sets/<set>/<sample>.png`).
- Quality: when members carry the dataset's own masks (the demo), every estimated mask is compared with
  the true one (IoU at the image's size) and the median, mean and count are stored on the set.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from PIL import Image

from core.api_errors import ApplicationError
from core.storage import blob_read, blob_save, blobs_delete, storage_keys
from curation.masks.models import EstimatedMask, MaskSet, MaskSetStatus
from curation.ml.mask_registry import DATASET_MASKS, mask_provider_name_check
from curation.models import DatasetVersion, VersionSample
from curation.services.ingest import sample_image_open
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_create, job_enqueue

ESTIMATE_MASKS_JOB_KIND = "estimate_masks"
MASKS_PREFIX = "masks/sets"
BATCH_SIZE = 32


def mask_key(mask_set_id: int, sample_id: int) -> str:
    return f"{MASKS_PREFIX}/{mask_set_id}/{sample_id}.png"


def mask_png_encode(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def mask_png_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L")) > 127


def mask_set_start(
    *, version: DatasetVersion, provider: str, requested_by: User | None, enqueue: bool = True
) -> MaskSet:
    """The ready set of (version, provider), or a set and its `estimate_masks` job (gpu queue), sent once committed.

    Args:
        version: whose members get masks.
        provider: a mask-provider name other than "dataset" (estimated, clipseg:<weights>).
        requested_by: needs the curate capability; None for system jobs.
        enqueue: False creates the job without sending it (the command runs it in-process).
    Raises ApplicationError: invalid_params (400), mask_set_running (409), permission_denied (403).
    """
    try:
        provider = mask_provider_name_check(provider)
    except ValueError as error:
        raise ApplicationError(str(error), code="invalid_params")
    if provider == DATASET_MASKS:
        raise ApplicationError(
            "The dataset provider reads the masks the dataset brings: there is nothing to estimate. "
            "Pick an estimating provider (estimated, clipseg:<hub id or folder>).",
            code="invalid_params",
        )
    with transaction.atomic():
        mask_set = MaskSet.objects.select_for_update().filter(version=version, provider=provider).first()
        if mask_set is not None and mask_set.status == MaskSetStatus.READY:
            return mask_set
        if mask_set is not None and mask_set.status == MaskSetStatus.RUNNING and mask_set.job_id is not None:
            raise ApplicationError(
                f"Masks of v{version.number} by {provider} are being estimated (job {mask_set.job_id}).",
                code="mask_set_running", status_code=409,
            )  # fmt: skip
        job = job_create(kind=ESTIMATE_MASKS_JOB_KIND, params={}, requested_by=requested_by)
        planned = VersionSample.objects.filter(version=version).count()
        if mask_set is None:
            mask_set = MaskSet.objects.create(version=version, provider=provider, created_by=requested_by)
        mask_set.masks.all().delete()
        fields = {"status": MaskSetStatus.RUNNING, "job": job, "planned": planned, "done": 0, "with_mask": 0}
        MaskSet.objects.filter(pk=mask_set.pk).update(quality=None, finished_at=None, **fields)
        mask_set.refresh_from_db()
        job.params = {"mask_set_id": mask_set.pk}
        job.save(update_fields=["params"])
        if enqueue:
            job_enqueue(job)
    return mask_set


def _decoded(member: VersionSample) -> np.ndarray | None:
    try:
        return np.asarray(sample_image_open(member.sample).convert("RGB"))
    except (OSError, ValueError):  # an unreadable file gets no mask, and the job goes on
        return None


def _store_batch(mask_set: MaskSet, members: list[VersionSample], provider: Any) -> int:
    """Masks of one batch of members, stored and recorded; returns how many got one."""
    images = [_decoded(m) for m in members]
    readable = [i for i, image in enumerate(images) if image is not None]
    masks = provider.masks([images[i] for i in readable], class_names=[members[i].label for i in readable])
    found = dict(zip(readable, masks, strict=True))
    rows = []
    for i, member in enumerate(members):
        mask, key = found.get(i), ""
        if mask is not None:
            key = mask_key(mask_set.pk, member.sample_id)
            # a batch that runs again rewrites its files: one PUT on object storage (no HEAD, no DELETE first)
            blob_save(key=key, data=mask_png_encode(mask), replace=True)
        share = float(mask.mean()) if mask is not None else None
        rows.append(EstimatedMask(mask_set=mask_set, sample_id=member.sample_id, mask_key=key, foreground=share))
    EstimatedMask.objects.bulk_create(rows, ignore_conflicts=True)
    return sum(1 for row in rows if row.mask_key)


def mask_set_quality(mask_set: MaskSet) -> dict[str, Any] | None:
    """IoU of the set's masks against the dataset's own masks where members have both (None when none do)."""
    stored = dict(mask_set.masks.values_list("sample_id", "mask_key"))
    truth = VersionSample.objects.filter(version_id=mask_set.version_id).exclude(sample__mask_key="")
    ious = []
    for sample_id, true_key in truth.values_list("sample_id", "sample__mask_key"):
        true_mask = mask_png_decode(blob_read(true_key))
        key = stored.get(sample_id, "")
        estimated = mask_png_decode(blob_read(key)) if key else np.zeros_like(true_mask)
        union = int((true_mask | estimated).sum())
        ious.append(float((true_mask & estimated).sum()) / union if union else 1.0)
    if not ious:
        return None
    version = mask_set.version
    return {
        "median_iou": float(np.median(ious)), "mean_iou": float(np.mean(ious)), "compared": len(ious),
        "measured_on": f"{version.dataset.name} v{version.number}", "version_id": version.pk,
    }  # fmt: skip


def mask_set_execute(*, mask_set_id: int, ctx: JobContext) -> dict[str, Any]:
    """The `estimate_masks` job's body: masks batch by batch (progress after each), then the quality."""
    from curation.ml.masks import MasksUnavailable, create_mask_provider  # noqa: PLC0415 - OpenCV / torch: the job only

    mask_set = MaskSet.objects.select_related("version__dataset").filter(pk=mask_set_id).first()
    if mask_set is None:
        raise JobFailed(f"mask set {mask_set_id} no longer exists")
    started = time.perf_counter()
    try:
        provider = create_mask_provider(mask_set.provider, device="auto")
    except (MasksUnavailable, ValueError) as error:
        raise JobFailed(str(error))
    MaskSet.objects.filter(pk=mask_set.pk).update(provider_spec=provider.spec.to_dict())
    members = VersionSample.objects.filter(version_id=mask_set.version_id).select_related("sample")
    done_ids = set(mask_set.masks.values_list("sample_id", flat=True))
    todo = [m for m in members.order_by("sample_id") if m.sample_id not in done_ids]
    done, with_mask = len(done_ids), mask_set.masks.exclude(mask_key="").count()
    for start in range(0, len(todo), BATCH_SIZE):
        batch = todo[start : start + BATCH_SIZE]
        with_mask += _store_batch(mask_set, batch, provider)
        done += len(batch)
        MaskSet.objects.filter(pk=mask_set.pk).update(done=done, with_mask=with_mask)
        ctx.progress(done, mask_set.planned + 1, f"masks: {done} of {mask_set.planned}")
    ctx.progress(done, mask_set.planned + 1, "comparing with the dataset's own masks")
    quality = mask_set_quality(mask_set)
    seconds = round(time.perf_counter() - started, 2)
    MaskSet.objects.filter(pk=mask_set.pk).update(
        status=MaskSetStatus.READY, quality=quality, seconds=seconds, finished_at=timezone.now()
    )
    speed = round(len(todo) / seconds, 2) if seconds else None
    return {  # dataset_id and version_id: the job page links the version
        "mask_set": mask_set.pk, "dataset_id": mask_set.version.dataset_id, "version_id": mask_set.version_id,
        "version": mask_set.version_id, "provider": mask_set.provider, "masks": with_mask,
        "without_mask": done - with_mask, "seconds": seconds, "images_per_second": speed, "quality": quality,
    }  # fmt: skip


def mask_set_cleanup(job: Job) -> None:
    """After a failure or cancel: the set's rows and files go, and the set says it failed.

    The files its rows name and those under its folder (a batch stopped between its PUTs and its rows) go in bulk:
    one listing and one request per 1,000 keys on object storage (core.storage.blobs_delete). BlobsNotDeleted names
    any that could not go, once every other one is deleted; the rows then stay, and the next cleanup tries again.
    """
    for mask_set in MaskSet.objects.filter(job=job):
        keys = set(mask_set.masks.exclude(mask_key="").values_list("mask_key", flat=True))
        blobs_delete(sorted(keys.union(storage_keys(f"{MASKS_PREFIX}/{mask_set.pk}"))))
        mask_set.masks.all().delete()
        MaskSet.objects.filter(pk=mask_set.pk).update(status=MaskSetStatus.FAILED, done=0, with_mask=0)
