"""Importing a dataset from a server folder, an uploaded zip or a CSV/JSONL manifest (DESIGN.md §4, §10).

The `import_dataset` job: resolve the source and its layout → create the Dataset → ingest file by
file, reporting progress after each batch (where a cancel lands) → save the full report → create
version 1 (operation import) with its VersionSample rows and the class taxonomy in one transaction.

Choices made:
- Exact duplicates: the first file in path order becomes the sample; later identical files become
  SampleAlias rows, reported as duplicates, or as conflicts when their label differs (the first
  label is kept).
- The dataset row exists from the start (its id is recorded in the job's result so that cleanup
  finds it even after a lost worker), but samples become members of a version only at the end. The
  kind's cleanup (run by the job runner after a failure or cancel, and before a retry) removes
  everything the job created: version, samples, aliases, blobs no other row references, the
  report, the dataset. An uploaded zip is deleted when the import ends, whatever the outcome.
- The result's `report` lists the first REPORT_INLINE_LINES lines that need attention (rejected,
  duplicate, conflict, warning); every line, imported files included, is in the JSONL at `report_key`.
- Throughput: reading, decoding, hashing and thumbnailing (no side effects) run on
  `decode_threads` threads a few files ahead of the bookkeeping, which stays on the job's thread
  in path order (so "first copy" is deterministic); Pillow, zlib and hashlib release the GIL.
  Once the job's thread accepts a new sample, its blobs are stored on those threads too, and its
  rows wait for the batch's flush: samples, aliases and (at the end) members are bulk-inserted.
  A batch's rows are inserted even when the batch fails, so the cleanup finds every stored blob;
  nothing is stored for files past the batch where a cancel lands. Memory stays bounded by the
  look-ahead (2 × threads files), whatever the archive. Duplicates are found in memory (the
  dataset is new), so there is no per-file query.
"""

import io
import itertools
import json
import os
import tempfile
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from PIL import Image

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from core.storage import blob_delete
from curation.exports.services.exports import startup_objects_frozen
from curation.models import Dataset, DatasetVersion, LabelOrigin, Sample, SampleAlias, VersionOperation, VersionSample
from curation.services.archives import (
    ZIP_MAGIC,
    ArchiveLimits,
    EntryRejected,
    SourceReader,
    SourceRejected,
    path_is_archive,
    upload_key_is_valid,
)
from curation.services.ingest import DecodedImage, ImageRejected, image_decode, mask_encode, sample_stage
from curation.services.manifests import ImportEntry, ReportLine, import_layout_open
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed

IMPORT_JOB_KIND = "import_dataset"
IMPORT_FORMATS = ("auto", "imagefolder", "zip", "csv", "jsonl")
REPORT_INLINE_LINES = 1000
DEFAULT_BATCH_SIZE = 100
DEFAULT_DECODE_THREADS = max(1, min(4, os.cpu_count() or 1))
VERSION_SAMPLE_CHUNK = 2000


# --- parameters and submission -------------------------------------------------------------------


@dataclass(frozen=True)
class ImportParams:
    source: str
    name: str
    format: str = "auto"
    description: str = ""
    batch_size: int = DEFAULT_BATCH_SIZE
    decode_threads: int = DEFAULT_DECODE_THREADS
    upload_name: str = ""

    @classmethod
    def from_job(cls, params: dict[str, Any]) -> "ImportParams":
        try:
            return cls(
                source=str(params["source"]),
                name=str(params["name"]).strip(),
                format=str(params.get("format") or "auto"),
                description=str(params.get("description") or ""),
                batch_size=max(int(params.get("batch_size") or DEFAULT_BATCH_SIZE), 1),
                decode_threads=min(max(int(params.get("decode_threads") or DEFAULT_DECODE_THREADS), 1), 16),
                upload_name=str(params.get("upload_name") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JobFailed(f"invalid import parameters ({exc})")

    def as_job_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"source": self.source, "name": self.name, "format": self.format}
        params["description"] = self.description
        if self.batch_size != DEFAULT_BATCH_SIZE:
            params["batch_size"] = self.batch_size
        if self.upload_name:
            params["upload_name"] = self.upload_name
        return params


def import_params_validate(
    *,
    source: str,
    name: str,
    format: str = "auto",
    description: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> ImportParams:
    """Check an import request before a job is created; returns the parameters to submit.

    Args:
        source: an absolute server path, or (user None only) a key `uploads/<hex>.zip` from `import_upload_store`.
        name: the new dataset's name (must be free).
        format: one of IMPORT_FORMATS ("auto" detects it).
        description: the new dataset's description.
        user: who asks. A server path needs an admin, and must lie under one of IMPORT_SERVER_ROOTS
            when that setting lists any; None (the command line) is trusted.
    Raises ApplicationError: name_required, name_taken, invalid_format, invalid_source (400),
        source_not_found (400), server_path_forbidden (403).
    """
    name = _name_and_format_check(name, format)
    if upload_key_is_valid(source) and user is None:  # a stored upload is named by the service, never by a client
        if not default_storage.exists(source):
            raise ApplicationError("The uploaded archive is gone.", code="source_not_found")
    else:
        _server_path_check(source, user)
    return ImportParams(source=source, name=name, format=format, description=description)


def _name_and_format_check(name: str, format: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ApplicationError("A dataset name is required.", code="name_required")
    if Dataset.objects.filter(name=name).exists():
        raise ApplicationError(f"A dataset named '{name}' already exists.", code="name_taken")
    if format not in IMPORT_FORMATS:
        allowed = ", ".join(IMPORT_FORMATS)
        raise ApplicationError(f"Unknown format '{format}'; use one of: {allowed}.", code="invalid_format")
    return name


def _server_path_check(source: str, user: AbstractBaseUser | AnonymousUser | None) -> None:
    path = Path(source)
    if not path.is_absolute():
        raise ApplicationError("A server path must be absolute.", code="invalid_source")
    if user is not None and not user_can(user, Capability.MANAGE):
        raise ApplicationError(
            "Only admins can import from a server path.", code="server_path_forbidden", status_code=403
        )
    roots = [Path(root).resolve() for root in settings.IMPORT_SERVER_ROOTS]
    if user is not None and roots and not any(path.resolve().is_relative_to(root) for root in roots):
        raise ApplicationError(
            "This server path is outside the folders allowed for imports (IMPORT_SERVER_ROOTS).",
            code="server_path_forbidden",
            status_code=403,
        )
    if not path.exists():
        raise ApplicationError(f"No such file or folder on the server: {source}", code="source_not_found")


def import_upload_store(*, upload: IO[bytes]) -> str:
    """Store an uploaded zip archive under `uploads/<uuid>.zip` and return its storage key.

    Raises ApplicationError(invalid_upload) when the bytes do not start like a zip archive.
    """
    head = upload.read(4)
    upload.seek(0)
    if head not in ZIP_MAGIC:
        raise ApplicationError("The upload is not a zip archive.", code="invalid_upload")
    return default_storage.save(f"uploads/{uuid.uuid4().hex}.zip", File(upload))


def dataset_import_submit(*, params: ImportParams, requested_by: User | None) -> Job:
    """Create the `import_dataset` job and send it to the workers once committed.

    An uploaded archive is deleted if the job cannot be created (nothing is left behind).
    """
    from jobs.services import job_submit

    try:
        return job_submit(kind=IMPORT_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)
    except BaseException:
        upload_discard(params.source)
        raise


def dataset_import_upload_submit(
    *,
    upload: IO[bytes],
    upload_name: str,
    name: str,
    format: str = "auto",
    description: str = "",
    requested_by: User | None,
) -> Job:
    """Store an uploaded zip and submit its import job (the web form's and the API's upload path).

    The name and format are checked before the bytes are stored; whatever fails afterwards deletes
    the stored upload. Raises ApplicationError as `import_params_validate` and `import_upload_store`.
    """
    _name_and_format_check(name, format)
    key = import_upload_store(upload=upload)
    try:
        params = import_params_validate(source=key, name=name, format=format, description=description)
    except BaseException:
        upload_discard(key)
        raise
    return dataset_import_submit(params=replace(params, upload_name=upload_name[:200]), requested_by=requested_by)


def upload_discard(source: str | None) -> None:
    if source and upload_key_is_valid(source):
        blob_delete(source)


# --- the report ---------------------------------------------------------------------------------


class ImportReport:
    """Every per-file line, spooled to a temporary JSONL file; counts and the inline excerpt in memory."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.inline: list[dict[str, str]] = []
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def add(self, line: ReportLine) -> None:
        self.counts[line.status] += 1
        self._file.write(json.dumps(line.as_dict(), ensure_ascii=False).encode() + b"\n")
        if line.status != "imported" and len(self.inline) < REPORT_INLINE_LINES:
            self.inline.append(line.as_dict())

    @property
    def imported(self) -> int:
        return self.counts["imported"]

    @property
    def rejected(self) -> int:
        return self.counts["rejected"]

    @property
    def duplicates(self) -> int:
        return self.counts["duplicate"] + self.counts["conflict"]

    def summary(self) -> str:
        return f"{self.imported} imported, {self.rejected} rejected, {self.duplicates} duplicates"

    def save(self, key: str) -> str:
        self._file.seek(0)
        blob_delete(key)
        return default_storage.save(key, File(self._file))

    def close(self) -> None:
        self._file.close()


def import_report_key(job_id: int) -> str:
    return f"reports/imports/job-{job_id}.jsonl"


# --- the job ------------------------------------------------------------------------------------


@dataclass
class _FirstCopy:
    """The file that became a sample: its blobs being stored, then (after its batch's flush) its row id."""

    path: str
    label: str
    staged: "Future[Sample] | None"
    sample_id: int | None = None


@dataclass
class _ImportRun:
    job: Job
    dataset: Dataset
    reader: SourceReader
    report: ImportReport
    max_pixels: int
    pool: ThreadPoolExecutor
    in_flight: int
    first_by_hash: dict[str, _FirstCopy] = field(default_factory=dict)
    members: list[tuple[int, ImportEntry]] = field(default_factory=list)
    staged: deque["Future[Sample]"] = field(default_factory=deque)
    pending_samples: list[tuple[_FirstCopy, ImportEntry]] = field(default_factory=list)
    pending_aliases: list[tuple[_FirstCopy, str]] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)


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
        run = _ImportRun(
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


def _entries_ingest(ctx: JobContext, run: _ImportRun, entries: list[ImportEntry | ReportLine], batch: int) -> None:
    total = len(entries)
    ctx.progress(0, total, "starting")
    prepared = _prepared_in_order(run.pool, run, entries, lookahead=run.in_flight)
    for start in range(0, total, batch):
        try:
            for item, future in itertools.islice(prepared, batch):
                run.report.add(item if future is None else _entry_record(run, item, future))
        finally:  # even when the batch fails: rows let the cleanup find the blobs already stored
            _batch_flush(run)
        ctx.progress(min(start + batch, total), total, run.report.summary())


def _prepared_in_order(
    pool: ThreadPoolExecutor, run: _ImportRun, entries: list[ImportEntry | ReportLine], *, lookahead: int
) -> Iterator[tuple[Any, "Future[_Prepared] | None"]]:
    """Each entry in order with the future of its preparation, keeping `lookahead` files in flight."""
    pending: deque[tuple[Any, Future[_Prepared] | None]] = deque()
    upcoming = iter(entries)

    def submit_next() -> None:
        item = next(upcoming, None)
        if item is not None:
            future = None if isinstance(item, ReportLine) else pool.submit(_entry_prepare, run, item)
            pending.append((item, future))

    for _ in range(lookahead):
        submit_next()
    while pending:
        submit_next()
        yield pending.popleft()


def _batch_flush(run: _ImportRun) -> None:
    """Wait for the batch's blobs, then insert its samples and aliases in one transaction.

    A sample whose blobs failed to store gets no row, and its error is raised once the rows of
    the others are in (so that the cleanup finds their blobs). Rows are then kept as ids only.
    """
    staged = [(first, entry, first.staged) for first, entry in run.pending_samples if first.staged is not None]
    futures_wait([future for _, _, future in staged])
    stored = [(first, entry, future.result()) for first, entry, future in staged if future.exception() is None]
    failures = [future.exception() for _, _, future in staged if future.exception() is not None]
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
    run.pending_samples.clear()
    run.pending_aliases.clear()
    if failures:
        raise failures[0]  # type: ignore[misc]


def _member(version: DatasetVersion, sample_id: int, entry: ImportEntry) -> VersionSample:
    labels = [{"label": name, "origin": LabelOrigin.IMPORT.value} for name in entry.labels]
    return VersionSample(
        version_id=version.pk, sample_id=sample_id, split=entry.split, label=entry.label,
        label_origin=LabelOrigin.IMPORT, labels=labels,
    )  # fmt: skip


@dataclass(frozen=True)
class _Prepared:
    data: bytes
    decoded: DecodedImage
    mask_png: bytes | None


def _entry_prepare(run: _ImportRun, entry: ImportEntry) -> _Prepared:
    """Read, decode, hash and thumbnail a file, and encode its mask: no side effects (a decode thread)."""
    data = _entry_bytes(run.reader, entry.path)
    decoded = _image_decode(data, run.max_pixels)
    return _Prepared(data, decoded, _mask_png(run, entry, decoded))


def _entry_record(run: _ImportRun, entry: ImportEntry, future: "Future[_Prepared]") -> ReportLine:
    try:
        prepared = future.result()
    except EntryRejected as exc:
        return ReportLine(entry.path, "rejected", f"line {entry.line}: {exc.reason}" if entry.line else exc.reason)
    first = run.first_by_hash.get(prepared.decoded.sha256)
    if first is not None:
        return _duplicate_record(run, entry, first)
    return _sample_record(run, entry, prepared)


def _entry_bytes(reader: SourceReader, path: str) -> bytes:
    if path_is_archive(path):
        raise EntryRejected("nested archive: not supported, not extracted")
    return reader.read(path)


def _image_decode(data: bytes, max_pixels: int) -> DecodedImage:
    try:
        return image_decode(data, max_pixels=max_pixels)
    except ImageRejected as exc:
        raise EntryRejected(exc.reason)
    except (OSError, SyntaxError, ValueError) as exc:  # raised while Pillow reads the header
        raise EntryRejected(f"truncated or corrupt image data ({exc})")
    except Exception as exc:  # hostile bytes can trip any decoder error; one file must not stop the import
        raise EntryRejected(f"could not decode the image ({type(exc).__name__}: {exc})")


def _mask_png(run: _ImportRun, entry: ImportEntry, decoded: DecodedImage) -> bytes | None:
    if not entry.mask_path:
        return None
    try:
        raw = _entry_bytes(run.reader, entry.mask_path)
        _mask_size_check(raw, run.max_pixels)
        return mask_encode(raw, size=(decoded.width, decoded.height))
    except (EntryRejected, ImageRejected) as exc:
        raise EntryRejected(f"mask {entry.mask_path}: {exc.reason}")
    except Exception as exc:
        raise EntryRejected(f"mask {entry.mask_path}: not a readable image ({type(exc).__name__}: {exc})")


def _mask_size_check(raw: bytes, max_pixels: int) -> None:
    """Refuse a mask bomb from its header, before mask_encode decodes the pixels."""
    with Image.open(io.BytesIO(raw)) as mask:
        width, height = mask.size
    if width * height > max_pixels:
        raise EntryRejected(f"decompression bomb: {width}×{height} pixels exceeds the limit of {max_pixels:,}")


def _duplicate_record(run: _ImportRun, entry: ImportEntry, first: _FirstCopy) -> ReportLine:
    run.pending_aliases.append((first, entry.path))
    if entry.label != first.label:
        return ReportLine(
            entry.path,
            "conflict",
            f"exact duplicate of {first.path} with another label: kept {first.label!r}, ignored {entry.label!r}",
        )
    return ReportLine(entry.path, "duplicate", f"exact duplicate of {first.path}: stored once, kept as an alias")


def _sample_record(run: _ImportRun, entry: ImportEntry, prepared: _Prepared) -> ReportLine:
    provenance: dict[str, Any] = {"original_path": entry.path}
    if entry.line is not None:
        provenance["manifest_line"] = entry.line
    while len(run.staged) >= run.in_flight:  # bounds the file bytes waiting to be stored
        futures_wait([run.staged.popleft()])
    staged = run.pool.submit(
        sample_stage,
        dataset=run.dataset,
        data=prepared.data,
        original_name=entry.path,
        decoded=prepared.decoded,
        mask_png=prepared.mask_png,
        caption=entry.caption,
        provenance=provenance,
        job_id=run.job.pk,
    )
    run.staged.append(staged)
    first = _FirstCopy(entry.path, entry.label, staged)
    run.first_by_hash[prepared.decoded.sha256] = first
    run.pending_samples.append((first, entry))
    run.pending_aliases.append((first, entry.path))
    run.classes.update(entry.labels)
    return ReportLine(entry.path, "imported")


def _version_create(run: _ImportRun, params: ImportParams, format: str) -> DatasetVersion:
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


# --- cleanup ------------------------------------------------------------------------------------


def import_partial_undo(job: Job) -> None:
    """Remove what an import job wrote: its version, samples, aliases, unreferenced blobs, report, dataset."""
    from curation.services.ingest import samples_delete_for_job

    stored = Job.objects.filter(pk=job.pk).values_list("result", flat=True).first() or {}
    dataset_id = stored.get("dataset") or (job.result or {}).get("dataset")
    if dataset_id:
        DatasetVersion.objects.filter(dataset_id=dataset_id).delete()
    samples_delete_for_job(job_id=job.pk)
    if dataset_id:
        Dataset.objects.filter(pk=dataset_id).delete()
    blob_delete(import_report_key(job.pk))


def dataset_import_cleanup(job: Job) -> None:
    """The kind's cleanup after a failure or cancel: undo the partial import and drop the upload."""
    import_partial_undo(job)
    upload_discard((job.params or {}).get("source"))
