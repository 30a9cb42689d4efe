"""Chunks of an embedding job: claimed by any worker through the database, computed, completed once.

The database is the coordinator (Celery runs without a result backend here, so no chord):
- claiming is a row lock with SKIP LOCKED over pending chunks and running ones whose claimer has
  not beaten for JOB_HEARTBEAT_TIMEOUT (a killed worker's chunk is redone, nothing else is);
- a claim carries a fresh token; only that token can complete the chunk, so a claimer presumed
  dead that comes back finds its completion refused and deletes what it wrote;
- completion increments the set's `chunks_done` under the set's row lock, so exactly one
  completer sees the last chunk finish: it is the one that starts the finalize step.
A chunk's output is one `.npz` (sample ids, float16 unit embeddings) stored under a key that
carries the claim token; finalize assembles them into the set's memory-mapped `.npy`.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.storage import blob_read
from curation.embeddings.models import ChunkStatus, EmbeddingChunk, EmbeddingSet
from curation.models import VersionSample

if TYPE_CHECKING:  # torch loads when a chunk is computed, not when the embed API is imported
    from curation.ml.encoders import Encoder

logger = logging.getLogger(__name__)

MAX_CHUNK_ATTEMPTS = 5
MISSING_FROM_STORAGE = "missing from storage"


class ChunkAbandoned(Exception):
    """The chunk's job was cancelled or ended while the chunk ran; its partial work is dropped."""


def set_prefix(embedding_set_id: int) -> str:
    return f"embeddings/sets/{embedding_set_id}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_stale_before() -> Any:
    """Claims whose heartbeat is older than this belong to a dead process (JOB_HEARTBEAT_TIMEOUT)."""
    return timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)


def chunk_claim(*, embedding_set_id: int, chunk_id: int | None = None) -> EmbeddingChunk | None:
    """Claim the first claimable chunk of the set (or chunk ``chunk_id`` only); None when there is none.

    Claimable: pending, or running with a heartbeat older than JOB_HEARTBEAT_TIMEOUT (its claimer died).
    """
    claimable = Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.RUNNING, heartbeat_at__lt=claim_stale_before())
    with transaction.atomic():
        chunks = EmbeddingChunk.objects.select_for_update(skip_locked=True).filter(
            claimable, embedding_set_id=embedding_set_id
        )
        if chunk_id is not None:
            chunks = chunks.filter(pk=chunk_id)
        chunk = chunks.order_by("number").first()
        if chunk is None:
            return None
        chunk.status, chunk.claim_token, chunk.worker = ChunkStatus.RUNNING, uuid4().hex, worker_name()
        chunk.attempts += 1
        chunk.heartbeat_at = timezone.now()
        chunk.save(update_fields=["status", "claim_token", "worker", "attempts", "heartbeat_at"])
    return chunk


def chunk_release(chunk: EmbeddingChunk) -> None:
    """Give a claimed chunk back (pending) after its claimer failed, so another may take it at once."""
    EmbeddingChunk.objects.filter(pk=chunk.pk, claim_token=chunk.claim_token, status=ChunkStatus.RUNNING).update(
        status=ChunkStatus.PENDING, heartbeat_at=None
    )


def chunk_members(chunk: EmbeddingChunk) -> list[tuple[int, str]]:
    """(sample id, image key) of the version's members in the chunk's sample-id range, in id order."""
    version_id = EmbeddingSet.objects.values_list("version_id", flat=True).get(pk=chunk.embedding_set_id)
    members = VersionSample.objects.filter(
        version_id=version_id, sample_id__gte=chunk.first_sample_id, sample_id__lte=chunk.last_sample_id
    )
    return list(members.order_by("sample_id").values_list("sample_id", "sample__image_key"))


def chunk_compute(
    chunk: EmbeddingChunk,
    *,
    encoder: Encoder,
    batch_size: int | None = None,
    num_workers: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> bool:
    """Embed a claimed chunk, store its `.npz` and complete it. Returns True when it was the set's last chunk.

    on_batch(done, total): called between batches; raise from it (e.g. ChunkAbandoned) to stop.
    An image that cannot be read (missing from storage, not an image) is skipped and reported in the
    chunk's `failures`. If this claim was superseded meanwhile, the output is deleted and False returned.
    """
    from curation.ml.embedding import embed_images  # noqa: PLC0415 - torch: only a worker computes chunks

    with _claim_heartbeat(chunk):
        members = chunk_members(chunk)
        items = [(sample_id, partial(blob_read, key)) for sample_id, key in members]
        embedded = embed_images(encoder, items, batch_size=batch_size, num_workers=num_workers, on_batch=on_batch)
        key = _chunk_blob_save(chunk, embedded.ids, embedded.embeddings)
    failures = [{"sample_id": int(sample_id), "reason": _reason(reason)} for sample_id, reason in embedded.failures]
    return chunk_complete(chunk, embedded=len(embedded.ids), failures=failures, blob_key=key)


def chunk_complete(chunk: EmbeddingChunk, *, embedded: int, failures: list[dict[str, Any]], blob_key: str) -> bool:
    """Mark the chunk done if this claim still holds it; True when it completed the set's last chunk."""
    with transaction.atomic():
        updated = EmbeddingChunk.objects.filter(
            pk=chunk.pk, claim_token=chunk.claim_token, status=ChunkStatus.RUNNING
        ).update(
            status=ChunkStatus.DONE, embedded=embedded, failures=failures, blob_key=blob_key, finished_at=timezone.now()
        )
        if not updated:
            logger.warning("chunk %s: claim %s was superseded; dropping its output", chunk.pk, chunk.claim_token)
            transaction.on_commit(partial(_delete_quietly, blob_key))
            return False
        EmbeddingSet.objects.filter(pk=chunk.embedding_set_id).update(chunks_done=F("chunks_done") + 1)
        counts = EmbeddingSet.objects.select_for_update().values("chunks_done", "chunk_count")
        done = counts.get(pk=chunk.embedding_set_id)
    return done["chunks_done"] == done["chunk_count"]


def _chunk_blob_save(chunk: EmbeddingChunk, ids: np.ndarray, embeddings: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.asarray(ids, dtype=np.int64), embeddings=embeddings.astype(np.float16))
    key = f"{set_prefix(chunk.embedding_set_id)}/parts/{chunk.number:06d}-{chunk.claim_token}.npz"
    return default_storage.save(key, ContentFile(buffer.getvalue()))


def chunk_blob_read(key: str) -> tuple[np.ndarray, np.ndarray]:
    """(sample ids int64, float16 embeddings) stored by a completed chunk."""
    with default_storage.open(key, "rb") as handle, np.load(io.BytesIO(handle.read())) as stored:
        return stored["ids"], stored["embeddings"]


def _reason(reason: str) -> str:
    return MISSING_FROM_STORAGE if reason.startswith("FileNotFoundError") else reason[:300]


def _delete_quietly(key: str) -> None:
    try:
        default_storage.delete(key)
    except OSError:
        logger.warning("could not delete %s", key, exc_info=True)


@contextmanager
def _claim_heartbeat(chunk: EmbeddingChunk) -> Iterator[None]:
    """Beat on the chunk row from a thread while it is computed (batches may be slower than the timeout)."""
    rows = EmbeddingChunk.objects.filter(pk=chunk.pk, claim_token=chunk.claim_token)
    with heartbeat(lambda: rows.update(heartbeat_at=timezone.now())):
        yield


@contextmanager
def heartbeat(beat: Callable[[], object]) -> Iterator[None]:
    """Call ``beat`` every JOB_HEARTBEAT_TIMEOUT / 4 seconds from a daemon thread while the block runs."""
    stop = threading.Event()
    interval = max(settings.JOB_HEARTBEAT_TIMEOUT / 4, 0.2)

    def loop() -> None:
        try:
            while not stop.wait(interval):
                try:
                    beat()
                except Exception:
                    logger.warning("heartbeat failed", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name="embedding-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


class CancelCheck:
    """An on_batch callback that raises ChunkAbandoned once the set's job is cancelled, finished or gone
    (re-read from the database at most every ``interval`` seconds)."""

    def __init__(self, embedding_set_id: int, *, interval: float = 0.5) -> None:
        self.embedding_set_id = embedding_set_id
        self.interval = interval
        self._checked = float("-inf")

    def __call__(self, done: int = 0, total: int = 0) -> None:
        if time.monotonic() - self._checked < self.interval:
            return
        self._checked = time.monotonic()
        embedding_set = EmbeddingSet.objects.select_related("job").filter(pk=self.embedding_set_id).first()
        job = embedding_set.job if embedding_set is not None else None
        if job is None or job.cancel_requested or job.is_finished:
            raise ChunkAbandoned(f"embedding set {self.embedding_set_id}: its job was cancelled, ended or deleted")
