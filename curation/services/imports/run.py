"""The `import_dataset` job: the ingest loop, the batch flush and the version it creates (design in __init__)."""

import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from curation.models import Dataset, DatasetVersion, LabelOrigin, Sample, SampleAlias, VersionOperation, VersionSample
from curation.services.archives import ArchiveLimits, SourceRejected
from curation.services.blob_claims import blob_claims_drop, blobs_collect
from curation.services.imports.cleanup import import_partial_undo
from curation.services.imports.entries import (
    ImportRun,
    Prepared,
    entry_prepare,
    entry_record,
    samples_claim_and_stage,
)
from curation.services.imports.params import ImportParams
from curation.services.imports.report import ImportReport, import_report_key
from curation.services.imports.submit import upload_discard
from curation.services.manifests import ImportEntry, ReportLine, import_layout_open
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed, startup_objects_frozen

VERSION_SAMPLE_CHUNK = 2000


def dataset_import(ctx: JobContext) -> dict[str, Any]:
    """The `import_dataset` job: import ctx.params' source into a new dataset with version 1.

    Params: source (absolute server path or `uploads/<hex>.zip` key), name, format (IMPORT_FORMATS,
    default auto), description, batch_size (files per progress report, default DEFAULT_BATCH_SIZE),
    decode_threads (default DEFAULT_DECODE_THREADS), upload_name (the uploaded file's name, shown
    as the version's source).
    Returns {"dataset", "version", "imported", "rejected", "duplicates", "report", "report_key"}.
    Raises JobFailed with a one-line reason when the source is unusable or nothing was imported.
    """
    params = ImportParams.from_job(ctx.params)
    if ctx.job.attempts > 1:  # a lost worker's attempt may have left a partial import behind
        import_partial_undo(ctx.job)
    try:
        with startup_objects_frozen():  # a few objects per file would otherwise trigger full collections
            result = _import_source(ctx, params)
    except SourceRejected as exc:
        raise JobFailed(str(exc))
    upload_discard(params.source)
    return result


def _import_source(ctx: JobContext, params: ImportParams) -> dict[str, Any]:
    limits = ArchiveLimits.from_settings()
    with (
        import_layout_open(source=params.source, format=params.format, limits=limits) as layout,
        _thread_pool(params.decode_threads, name=f"import-{ctx.job.pk}") as pool,
    ):
        ctx.log(f"{len(layout.entries)} files to import ({layout.format}, {params.decode_threads} threads)")
        run = ImportRun(
            job=ctx.job,
            dataset=_dataset_create(ctx.job, params),
            reader=layout.reader,
            report=ImportReport(),
            max_pixels=settings.IMPORT_MAX_IMAGE_PIXELS,
            pool=pool,
            in_flight=2 * params.decode_threads,
        )
        try:
            _entries_ingest(ctx, run, layout.entries, params.batch_size)
            report_key = run.report.save(import_report_key(ctx.job.pk))
        finally:
            run.report.close()
    version = _version_create(run, params, layout.format)
    ctx.log(run.report.summary())
    return {
        "dataset": run.dataset.pk,
        "version": version.pk,
        "imported": run.report.imported,
        "rejected": run.report.rejected,
        "duplicates": run.report.duplicates,
        "report": run.report.inline,
        "report_key": report_key,
    }


@contextmanager
def _thread_pool(threads: int, *, name: str) -> Iterator[ThreadPoolExecutor]:
    """Threads for the work without database access; queued work is dropped when the import stops."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dataset_create(job: Job, params: ImportParams) -> Dataset:
    if Dataset.objects.filter(name=params.name).exists():
        raise JobFailed(f"a dataset named '{params.name}' already exists")
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                name=params.name, description=params.description, owner_id=job.requested_by_id
            )
            job.result = {"dataset": dataset.pk}
            Job.objects.filter(pk=job.pk).update(result=job.result)
    except IntegrityError:
        raise JobFailed(f"a dataset named '{params.name}' already exists")
    return dataset


def _entries_ingest(ctx: JobContext, run: ImportRun, entries: list[ImportEntry | ReportLine], batch: int) -> None:
    total = len(entries)
    ctx.progress(0, total, "starting")
    prepared = _prepared_in_order(run.pool, run, entries, lookahead=run.in_flight)
    for start in range(0, total, batch):
        try:
            for item, future in itertools.islice(prepared, batch):
                run.report.add(item if future is None else entry_record(run, item, future))
            samples_claim_and_stage(run)  # the batch's last few samples
        finally:  # even when the batch fails: rows let the cleanup find the blobs already stored
            _batch_flush(run)
        ctx.progress(min(start + batch, total), total, run.report.summary())


def _prepared_in_order(
    pool: ThreadPoolExecutor, run: ImportRun, entries: list[ImportEntry | ReportLine], *, lookahead: int
) -> Iterator[tuple[Any, "Future[Prepared] | None"]]:
    """Each entry in order with the future of its preparation, keeping `lookahead` files in flight."""
    pending: deque[tuple[Any, Future[Prepared] | None]] = deque()
    upcoming = iter(entries)

    def submit_next() -> None:
        item = next(upcoming, None)
        if item is not None:
            future = None if isinstance(item, ReportLine) else pool.submit(entry_prepare, run, item)
            pending.append((item, future))

    for _ in range(lookahead):
        submit_next()
    while pending:
        submit_next()
        yield pending.popleft()


def _batch_flush(run: ImportRun) -> None:
    """Wait for the batch's blobs, then insert its samples and aliases, and drop its claims, in one transaction.

    A sample whose blobs failed to store gets no row: its keys are collected (deleted unless another
    row or claim needs them), and its error is raised once the rows of the others are in (so that the
    cleanup finds their blobs). Samples not staged yet (the batch stopped on an error before their
    claim) have no blob and get no row. Rows are then kept as ids only.
    """
    run.unclaimed.clear()
    run.unclaimed_bytes = 0
    staged = [(first, entry, first.staged) for first, entry in run.pending_samples if first.staged is not None]
    futures_wait([future for _, _, future in staged])
    stored = [(first, entry, future.result()) for first, entry, future in staged if future.exception() is None]
    failed = [(first, future.exception()) for first, _, future in staged if future.exception() is not None]
    dataset_id, job_id = run.dataset.pk, run.job.pk
    with transaction.atomic():
        Sample.objects.bulk_create([sample for _, _, sample in stored])
        for first, entry, sample in stored:
            first.sample_id, first.staged = sample.pk, None
            run.members.append((sample.pk, entry))
        SampleAlias.objects.bulk_create(
            SampleAlias(dataset_id=dataset_id, sample_id=first.sample_id, original_name=name[:500], job_id=job_id)
            for first, name in run.pending_aliases
            if first.sample_id is not None
        )
        blob_claims_drop(run.claims)  # the rows now hold what the claims held
    run.claims.clear()
    run.pending_samples.clear()
    run.pending_aliases.clear()
    if failed:
        blobs_collect(key for first, _ in failed for key in first.keys.all())
        raise failed[0][1]  # type: ignore[misc]


def _member(version: DatasetVersion, sample_id: int, entry: ImportEntry) -> VersionSample:
    labels = [{"label": name, "origin": LabelOrigin.IMPORT.value} for name in entry.labels]
    return VersionSample(
        version_id=version.pk, sample_id=sample_id, split=entry.split, label=entry.label,
        label_origin=LabelOrigin.IMPORT, labels=labels,
    )  # fmt: skip


def _version_create(run: ImportRun, params: ImportParams, format: str) -> DatasetVersion:
    if not run.members:
        raise JobFailed(_nothing_imported_reason(run.report))
    with transaction.atomic():
        version = DatasetVersion.objects.create(
            dataset=run.dataset,
            number=1,
            operation=VersionOperation.IMPORT,
            operation_params={"source": params.upload_name or params.source, "format": format},
            note=f"Imported: {run.report.summary()}",
            sample_count=len(run.members),
            created_by_id=run.job.requested_by_id,
            job=run.job,
        )
        for start in range(0, len(run.members), VERSION_SAMPLE_CHUNK):
            chunk = run.members[start : start + VERSION_SAMPLE_CHUNK]
            VersionSample.objects.bulk_create(_member(version, sample_id, entry) for sample_id, entry in chunk)
        run.dataset.classes = sorted(run.classes, key=lambda name: (name.casefold(), name))
        run.dataset.save(update_fields=["classes"])
    return version


def _nothing_imported_reason(report: ImportReport) -> str:
    if not report.inline:
        return "the source contains no files to import"
    first = report.inline[0]
    return (
        f"nothing was imported: {report.rejected} files rejected, {report.duplicates} duplicates "
        f"(first: {first['file']}: {first['reason']})"
    )
