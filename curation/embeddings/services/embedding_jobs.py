# Over 300 lines: the coordinator and the chunk workers share one chunk protocol (plan, dispatch, work, finalize)
# that reads best in one place.
"""The `embed` job: plan a version's chunks, share them with every worker, finalize, report.

The job's own attempt is the coordinator. It creates the EmbeddingSet and one EmbeddingChunk per
`chunk_size` members (by sample id), sends one chunk task per chunk to the job's queue once that is
committed (so idle workers join in), then claims and computes chunks itself until none is left,
waits for chunks that other workers hold, and returns once the set is ready. Working on the
chunks itself means a single worker with one process slot cannot deadlock waiting for its own
queue. A retried attempt (its worker was killed) finds the set by job id and resumes: done chunks
are kept, the chunk the dead worker held is claimed again once its heartbeat is stale.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import transaction

from core.api_errors import ApplicationError
from core.params import param, params_from_data
from curation.embeddings.encoders import EncoderUnavailable, encoder_load, encoder_name_check
from curation.embeddings.files import storage_delete_prefix
from curation.embeddings.models import ChunkStatus, EmbeddingChunk, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.services.chunks import (
    MAX_CHUNK_ATTEMPTS,
    CancelCheck,
    ChunkAbandoned,
    chunk_claim,
    chunk_compute,
    chunk_release,
    set_prefix,
)
from curation.embeddings.services.finalize import NothingEmbedded, embedding_set_finalize
from curation.ml.encoder_registry import DEFAULT_ENCODER
from curation.models import DatasetVersion, VersionSample
from curation.services.weights import weights_job_check, weights_name_check
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_submit

if TYPE_CHECKING:  # torch loads when the job builds its encoder, not when the embed API is imported
    from curation.ml.encoders import Encoder

logger = logging.getLogger(__name__)

EMBED_JOB_KIND = "embed"
DEFAULT_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 65_536
WAIT_POLL_S = 0.5
FAILURES_IN_RESULT = 20


@dataclass(frozen=True)
class EmbedParams:
    """What an embed job needs, declared once: the API, the page form and `manage.py embed` come from here
    (core.params). `dispatch`: send chunk tasks to the workers (False when a command runs the job in its
    own process); no person sets it."""

    version_id: int = param(name="version", cli="version_id", api=False, page=False, help="Id of the version to embed.")
    encoder: str = param(
        DEFAULT_ENCODER,
        label="Encoder",
        help="Encoder registry name: a family, open_clip:ARCH/TAG, or ARCH:/local/weights (admins).",
    )
    chunk_size: int = param(
        DEFAULT_CHUNK_SIZE,
        min=1,
        max=MAX_CHUNK_SIZE,
        api_bounds=True,  # the API's schema had them
        code="invalid",
        message="{name} must lie between 1 and " + str(MAX_CHUNK_SIZE) + ", got {value}",
        label="Chunk size",
        help="Images per chunk task.",
    )
    batch_size: int | None = param(
        None, min=1, code="invalid", label="Batch size", help="Images per forward.", default_text="by device"
    )
    num_workers: int | None = param(
        None, min=0, code="invalid", label="Decode workers", help="Decode processes.", default_text="by device"
    )
    device: str = param("auto", label="Device", help="auto (CUDA when visible), cpu or cuda.")
    dispatch: bool = param(True, api=False, page=False, command=False)

    @classmethod
    def from_job(cls, params: dict[str, Any]) -> EmbedParams:
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{key: value for key, value in params.items() if key in known})
        except TypeError as exc:
            raise JobFailed(f"invalid embed parameters: {exc}")

    def as_job_params(self) -> dict[str, Any]:
        return asdict(self)


def embed_params_validate(**given: Any) -> EmbedParams:
    """Check what can be checked before the job runs (keyword arguments as EmbedParams; None: the default);
    ApplicationError with a stable code otherwise.

    Codes: not_found (404, no such version), unknown_encoder (the family is not registered),
    empty_version (no member to embed), invalid (a number out of range; details name the field).
    """
    params = params_from_data(EmbedParams, given)
    version = DatasetVersion.objects.filter(pk=params.version_id).first()
    if version is None:
        raise ApplicationError(f"version {params.version_id} does not exist", code="not_found", status_code=404)
    try:
        name = encoder_name_check(params.encoder)
    except EncoderUnavailable as exc:
        raise ApplicationError(str(exc), code=exc.code)
    if not VersionSample.objects.filter(version=version).exists():
        message = f"{version} has no images to embed"
        raise ApplicationError(message, code="empty_version")
    return replace(params, version_id=version.pk, encoder=name)


def embedding_set_submit(*, params: EmbedParams, requested_by: User | None) -> Job:
    """Create the `embed` job and send it to the workers once committed.

    Raises ApplicationError weights_forbidden (400) when the encoder's weights are not allowed for the
    requester (curation.services.weights.weights_name_check).
    """
    weights_name_check(name=params.encoder, user=requested_by)

    return job_submit(kind=EMBED_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)


def embedding_job(ctx: JobContext) -> dict[str, Any]:
    """The `embed` job (params: EmbedParams). Returns the set's id, counts, skipped images and index kind.

    Raises JobFailed within seconds for an unknown encoder or missing weights (before any row is
    written), for a version without members, and when no image at all could be embedded.
    """
    params = EmbedParams.from_job(ctx.params)
    version = DatasetVersion.objects.filter(pk=params.version_id).select_related("dataset").first()
    if version is None:
        raise JobFailed(f"version {params.version_id} does not exist")
    weights_job_check(job=ctx.job, name=params.encoder)
    encoder = _encoder_or_fail(params.encoder, params.device)
    embedding_set, reused = embedding_set_plan(job=ctx.job, version=version, encoder=encoder, params=params)
    ctx.log(f"embedding set {embedding_set.pk}: {embedding_set.chunk_count} chunks, {reused} already done")
    _work_until_ready(ctx, embedding_set, encoder, params)
    return embedding_job_result(EmbeddingSet.objects.get(pk=embedding_set.pk), chunks_reused=reused)


def _encoder_or_fail(name: str, device: str) -> Encoder:
    try:
        return encoder_load(name, device=device)
    except EncoderUnavailable as exc:
        raise JobFailed(str(exc))


def embedding_set_plan(
    *, job: Job, version: DatasetVersion, encoder: Encoder, params: EmbedParams
) -> tuple[EmbeddingSet, int]:
    """This job's set (a retried attempt resumes it) or a new one with its chunks planned; and the count of
    its chunks already done. Chunk tasks are sent on commit when ``params.dispatch``."""
    existing = EmbeddingSet.objects.filter(job=job).first()
    if existing is not None:
        return existing, existing.chunks.filter(status=ChunkStatus.DONE).count()
    sample_ids = list(
        VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True)
    )
    if not sample_ids:
        raise JobFailed(f"{version} has no images to embed")
    with transaction.atomic():
        embedding_set = EmbeddingSet.objects.create(
            dataset=version.dataset,
            version=version,
            job=job,
            encoder_name=encoder.spec.name,
            encoder_spec=encoder.spec.to_dict(),
            dim=encoder.spec.dim,
            dtype=encoder.spec.dtype,
            planned_rows=len(sample_ids),
            chunk_size=params.chunk_size,
            created_by_id=job.requested_by_id,
        )
        chunks = _plan_chunks(embedding_set, sample_ids, params.chunk_size)
        EmbeddingSet.objects.filter(pk=embedding_set.pk).update(chunk_count=len(chunks))
        embedding_set.chunk_count = len(chunks)
        if params.dispatch:
            transaction.on_commit(partial(_dispatch_chunks, [chunk.pk for chunk in chunks], job.queue), robust=True)
    return embedding_set, 0


def _plan_chunks(embedding_set: EmbeddingSet, sample_ids: list[int], size: int) -> list[EmbeddingChunk]:
    chunks = [
        EmbeddingChunk(
            embedding_set=embedding_set,
            number=number,
            first_sample_id=sample_ids[start],
            last_sample_id=sample_ids[min(start + size, len(sample_ids)) - 1],
            planned=min(size, len(sample_ids) - start),
        )
        for number, start in enumerate(range(0, len(sample_ids), size))
    ]
    return EmbeddingChunk.objects.bulk_create(chunks, batch_size=2000)


def _dispatch_chunks(chunk_ids: list[int], queue: str) -> None:
    from curation.embeddings.tasks import embedding_chunk_task  # noqa: PLC0415 - import cycle: curation.embeddings.tasks imports this module

    for chunk_id in chunk_ids:
        embedding_chunk_task.apply_async(args=[chunk_id], queue=queue)


def _work_until_ready(ctx: JobContext, embedding_set: EmbeddingSet, encoder: Encoder, params: EmbedParams) -> None:
    """Compute claimable chunks here, wait for the ones other workers hold, finalize when due."""
    total = embedding_set.chunk_count
    while True:
        chunk = chunk_claim(embedding_set_id=embedding_set.pk)
        if chunk is not None:
            if chunk.attempts > MAX_CHUNK_ATTEMPTS:
                raise JobFailed(f"chunk {chunk.number} was started {MAX_CHUNK_ATTEMPTS} times without finishing")
            done_before = EmbeddingSet.objects.values_list("chunks_done", flat=True).get(pk=embedding_set.pk)
            _compute_here(ctx, chunk, encoder, params, chunks_done=done_before, chunk_count=total)
        current = EmbeddingSet.objects.get(pk=embedding_set.pk)
        ctx.progress(current.chunks_done, total, f"{current.chunks_done} of {total} chunks embedded")
        if current.status == EmbeddingSetStatus.READY:
            return
        if current.status == EmbeddingSetStatus.FAILED:
            raise JobFailed(current.error or "the embedding set failed")
        finalized_here = current.chunks_done == total and _finalize_or_fail(embedding_set.pk)
        if chunk is None and not finalized_here:
            time.sleep(WAIT_POLL_S)  # the remaining chunks, or the finalize step, run on other workers


def _compute_here(
    ctx: JobContext, chunk: EmbeddingChunk, encoder: Encoder, params: EmbedParams, *, chunks_done: int, chunk_count: int
) -> None:
    def between_batches(done: int, total: int) -> None:
        # Progress within the chunk too (a 1,024-image chunk takes minutes on a CPU), in thousandths of a chunk.
        within = done / total if total else 0.0
        images = f"{done} of {total} images of chunk {chunk.number + 1}"
        ctx.progress(round(1000 * (chunks_done + within)), 1000 * chunk_count, f"{images}; {chunks_done} chunks done")

    try:
        last = chunk_compute(
            chunk,
            encoder=encoder,
            batch_size=params.batch_size,
            num_workers=params.num_workers,
            on_batch=between_batches,
        )
    except BaseException:
        chunk_release(chunk)
        raise
    if last:
        _finalize_or_fail(chunk.embedding_set_id)


def _finalize_or_fail(embedding_set_id: int) -> bool:
    """Finalize here if it is due and unclaimed; True when this call did it."""
    try:
        return embedding_set_finalize(embedding_set_id=embedding_set_id)
    except NothingEmbedded as exc:
        raise JobFailed(str(exc))


def embedding_chunk_work(*, chunk_id: int) -> str:
    """A chunk task's body: claim the chunk if it is still to do, compute it, finalize if it was the last.

    Returns what happened ("gone", "not claimable", "abandoned", "done", "done, last"), for the log.
    A chunk of a cancelled or finished job is left alone; one that fails is given back (pending).
    """
    chunk = EmbeddingChunk.objects.select_related("embedding_set__job").filter(pk=chunk_id).first()
    if chunk is None:
        return "gone"
    job = chunk.embedding_set.job
    if job is None or job.cancel_requested or job.is_finished:
        return "not claimable"
    claimed = chunk_claim(embedding_set_id=chunk.embedding_set_id, chunk_id=chunk_id)
    if claimed is None:
        return "not claimable"
    options = EmbedParams.from_job(job.params)
    check = CancelCheck(claimed.embedding_set_id)
    try:
        encoder = encoder_load(chunk.embedding_set.encoder_name, device=options.device)
        last = chunk_compute(
            claimed, encoder=encoder, batch_size=options.batch_size, num_workers=options.num_workers, on_batch=check
        )
    except ChunkAbandoned:
        chunk_release(claimed)
        return "abandoned"
    except BaseException:
        chunk_release(claimed)
        raise
    if last:
        transaction.on_commit(partial(_dispatch_finalize, claimed.embedding_set_id, job.queue), robust=True)
        return "done, last"
    return "done"


def _dispatch_finalize(embedding_set_id: int, queue: str) -> None:
    from curation.embeddings.tasks import embedding_set_finalize_task  # noqa: PLC0415 - import cycle: curation.embeddings.tasks imports this module

    embedding_set_finalize_task.apply_async(args=[embedding_set_id], queue=queue)


def embedding_job_cleanup(job: Job) -> None:
    """The kind's cleanup after a failure or cancel: the job's set, its chunks and its files go."""
    for embedding_set in EmbeddingSet.objects.filter(job=job):
        embedding_set_delete(embedding_set=embedding_set)


def embedding_set_delete(*, embedding_set: EmbeddingSet) -> None:
    """Delete a set's files (everything under its storage folder) and its rows."""
    set_id = embedding_set.pk
    embedding_set.delete()
    transaction.on_commit(partial(storage_delete_prefix, set_prefix(set_id)))


def embedding_job_result(embedding_set: EmbeddingSet, *, chunks_reused: int = 0) -> dict[str, Any]:
    failures = [
        failure
        for failures in embedding_set.chunks.order_by("number").values_list("failures", flat=True)
        for failure in failures
    ]
    return {
        "embedding_set": embedding_set.pk,
        "dataset": embedding_set.dataset_id,
        "version": embedding_set.version_id,
        "encoder": embedding_set.encoder_name,
        "dim": embedding_set.dim,
        "rows": embedding_set.rows,
        "skipped": embedding_set.skipped,
        "skipped_samples": failures[:FAILURES_IN_RESULT],
        "chunks": embedding_set.chunk_count,
        "chunks_reused": chunks_reused,
        "index_kind": embedding_set.index_kind,
    }
