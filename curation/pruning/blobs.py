"""Arrays of cluster and prune runs in storage (npz/npy through Django's storage API).

Every blob a run writes lives under one prefix: `pruning/jobs/<job id>/...` when a job writes it
(so the job kind's cleanup removes what a lost or failed attempt left), `pruning/runs/<uuid>/...`
when a service is called directly. The arrays are small next to the embeddings (one int64 and
one float32 per sample, k x d centroids), so they are read whole and cached per key: a stored
blob never changes.
"""

from __future__ import annotations

import io
import logging
import uuid
from functools import lru_cache

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core import storage
from core.storage import storage_delete_prefix
from jobs.models import Job

PRUNING_PREFIX = "pruning"
logger = logging.getLogger(__name__)


def run_blob_prefix(job: Job | None) -> str:
    """Where a run's blobs go: per job (cleanup finds them), else a fresh folder."""
    if job is not None:
        return f"{PRUNING_PREFIX}/jobs/{job.pk}/{uuid.uuid4().hex[:12]}"
    return f"{PRUNING_PREFIX}/runs/{uuid.uuid4().hex}"


def arrays_save(key: str, **arrays: np.ndarray) -> str:
    """Store named arrays as an uncompressed .npz under `key` (replacing nothing: keys are fresh)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    saved = default_storage.save(key, ContentFile(buffer.getvalue()))
    if saved != key:
        default_storage.delete(saved)
        raise FileExistsError(f"{key} already exists in storage")
    return key


@lru_cache(maxsize=8)
def arrays_load(key: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz blob (read once per process; callers must not modify them)."""
    with default_storage.open(key, "rb") as handle, np.load(io.BytesIO(handle.read())) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def blobs_delete(keys: list[str]) -> None:
    """Delete the blobs a failed run wrote, in bulk (core.storage.blobs_delete: one request per 1,000 keys on object
    storage); a key with nothing stored is no error.

    Called while the run's own error propagates: a blob that cannot go is logged with its key and reason instead of
    raised, so that error is the one the caller sees (a job's cleanup deletes its whole prefix again later).
    """
    try:
        storage.blobs_delete(keys)
    except Exception:
        logger.exception("the blobs of a failed run were not all deleted: %s", ", ".join(keys))


def job_blobs_delete(job: Job) -> int:
    """Delete every blob under the job's prefix (a failed, cancelled or lost attempt's leftovers)."""
    return storage_delete_prefix(f"{PRUNING_PREFIX}/jobs/{job.pk}")
