"""Exporting a version: request it, run it as a job, clean up after a failure, serve its files.

The `export_version` job loads the Export row, checks again that the version is complete, runs the
format's writer (FORMAT_WRITERS) and stores the checksum manifest; only then are the produced files
recorded on the row. After a failure or cancel (a full disk included) the kind's cleanup deletes
whatever the attempt stored under `exports/<id>/`, so a failed export leaves no partial file.
"""

import errno
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.exports.models import Export, ExportFormat
from curation.exports.selectors import export_is_foreign, version_export_blocker
from curation.exports.services.huggingface import hf_imagefolder_write
from curation.exports.services.imagefolder import imagefolder_zip_write
from curation.exports.services.layout import ExportLayout
from curation.exports.services.manifests import csv_manifest_write, jsonl_manifest_write
from curation.exports.services.outputs import CHECKSUM_FILE_NAME, ExportOutputs, export_files_delete
from curation.exports.services.webdataset import webdataset_write
from curation.exports.services.writing import (
    MAX_SHARD_SIZE,
    MIN_SHARD_MAX_BYTES,
    ExportOptions,
    ExportWriter,
    ExportWriting,
)
from curation.models import DatasetVersion
from jobs.models import Job, JobStatus
from jobs.runtime import JobContext, JobFailed, startup_objects_frozen
from jobs.services import job_create, job_start_rate_check, job_submit

EXPORT_JOB_KIND = "export_version"
FORMAT_WRITERS: dict[str, ExportWriter] = {
    ExportFormat.IMAGEFOLDER_ZIP: imagefolder_zip_write,
    ExportFormat.CSV: csv_manifest_write,
    ExportFormat.JSONL: jsonl_manifest_write,
    ExportFormat.HF_IMAGEFOLDER: hf_imagefolder_write,
    ExportFormat.WEBDATASET: webdataset_write,
}
SHARD_OPTIONS = ("shard_size", "shard_max_bytes")
FORMAT_OPTIONS: dict[str, tuple[str, ...]] = {
    ExportFormat.WEBDATASET: SHARD_OPTIONS,
    ExportFormat.CSV: ("csv_escape_formulas",),
}


# --- requesting an export -----------------------------------------------------------------------


def export_options_validate(*, format: str, options: dict[str, Any] | None) -> ExportOptions:
    """Check the format and its options; returns them with defaults filled in.

    Raises ApplicationError: invalid_format (400, details list the formats), invalid_options (400).
    """
    if format not in FORMAT_WRITERS:
        allowed = list(FORMAT_WRITERS)
        raise ApplicationError(
            f"Unknown export format '{format}'; use one of: {', '.join(allowed)}.",
            code="invalid_format",
            details={"allowed": allowed},
        )
    options = {key: value for key, value in (options or {}).items() if value is not None}
    if options.get("csv_escape_formulas") is False:  # an unticked box is no option: forms send it for every format
        del options["csv_escape_formulas"]
    unknown = sorted(set(options) - set(FORMAT_OPTIONS.get(format, ())))
    if unknown:
        raise ApplicationError(
            f"Options not used by the {format} format: {', '.join(unknown)}.", code="invalid_options"
        )
    shard_size = _int_option(options, "shard_size", ExportOptions.shard_size, 1, MAX_SHARD_SIZE)
    shard_max_bytes = options.get("shard_max_bytes")
    if shard_max_bytes is not None:
        shard_max_bytes = _int_option(options, "shard_max_bytes", 0, MIN_SHARD_MAX_BYTES, 2**62)
    escape = options.get("csv_escape_formulas", False)
    if not isinstance(escape, bool):
        raise ApplicationError("csv_escape_formulas must be true or false.", code="invalid_options")
    return ExportOptions(shard_size=shard_size, shard_max_bytes=shard_max_bytes, csv_escape_formulas=escape)


def _stored_options(format: str, checked: ExportOptions) -> dict[str, Any]:
    """The options kept on the Export row: the shard options of webdataset, the escape flag of csv when set."""
    if format == ExportFormat.WEBDATASET:
        return checked.as_dict()
    return {"csv_escape_formulas": True} if format == ExportFormat.CSV and checked.csv_escape_formulas else {}


def _int_option(options: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApplicationError(f"{name} must be an integer from {low} to {high}.", code="invalid_options")
    return value


def export_submit(
    *, version: DatasetVersion, format: str, options: dict[str, Any] | None, requested_by: User | None
) -> Export:
    """Create an Export of `version` and its `export_version` job, sent to the workers once committed.

    Args:
        version: the version to export; it must be complete (see `version_export_blocker`).
        format: one of ExportFormat's values.
        options: shard_size / shard_max_bytes for webdataset; csv_escape_formulas (bool) for csv; nothing
            for the other formats.
        requested_by: who asks (needs the curate capability); None for the system.
    Raises ApplicationError: invalid_format, invalid_options (400), permission_denied (403),
        version_not_ready (409), throttled (429: past the user's `exports` rate, see job_start_rate_check).
    """
    return _export_create(version, format, options, requested_by, create_job=job_submit, rate_limited=True)


def export_create_inline(
    *, version: DatasetVersion, format: str, options: dict[str, Any] | None, requested_by: User | None
) -> Export:
    """As `export_submit`, but the job is only created (the command line runs it in-process)."""
    return _export_create(version, format, options, requested_by, create_job=job_create, rate_limited=False)


def _export_create(
    version: DatasetVersion,
    format: str,
    options: dict[str, Any] | None,
    requested_by: User | None,
    *,
    create_job: Callable[..., Job],
    rate_limited: bool,
) -> Export:
    checked = export_options_validate(format=format, options=options)
    blocker = version_export_blocker(version)
    if blocker:
        raise ApplicationError(f"Cannot export yet: {blocker}.", code="version_not_ready", status_code=409)
    with transaction.atomic():
        if rate_limited:
            job_start_rate_check(user=requested_by, scope="exports", kinds=(EXPORT_JOB_KIND,))
        export = Export.objects.create(
            version=version,
            format=format,
            options=_stored_options(format, checked),
            created_by=requested_by,
            expires_at=timezone.now() + timedelta(hours=settings.EXPORT_RETENTION_HOURS),
        )
        export.job = create_job(kind=EXPORT_JOB_KIND, params={"export": export.pk}, requested_by=requested_by)
        export.save(update_fields=["job"])
    return export


# --- the job ------------------------------------------------------------------------------------


def export_run(ctx: JobContext) -> dict[str, Any]:
    """The `export_version` job: write ctx.params["export"]'s files and record them on the row.

    Returns {"export", "format", "version", "samples", "files", "size", "checksum_key"}.
    Raises JobFailed when the export row is gone, the version is not complete, or storage is full.
    """
    export_id = ctx.params.get("export")
    export = Export.objects.select_related("version__dataset").filter(pk=int(export_id or 0)).first()
    if export is None:
        raise JobFailed(f"export {ctx.params.get('export')} no longer exists")
    if ctx.job.attempts > 1:  # a lost worker's attempt may have stored some files
        export_files_delete(export.pk)
    blocker = version_export_blocker(export.version)
    if blocker:
        raise JobFailed(blocker)
    outputs = ExportOutputs(export.pk)
    try:
        with startup_objects_frozen():
            summary = FORMAT_WRITERS[export.format](_writing(ctx, export, outputs))
        checksums = outputs.checksums_store()
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        stored = len(outputs.produced)
        raise JobFailed(f"storage is full (no space left on device) after {stored} files; partial files are removed")
    files = [item.as_dict() for item in outputs.produced]
    size = sum(item.size for item in outputs.produced)
    Export.objects.filter(pk=export.pk).update(
        files=files, checksum_key=checksums.key, size=size, sample_count=summary.samples
    )
    ctx.log(f"{summary.samples} samples in {len(files)} files, {size} bytes")
    return {
        "export": export.pk,
        "format": export.format,
        "version": export.version_id,
        "samples": summary.samples,
        "files": [item.name for item in outputs.produced],
        "size": size,
        "checksum_key": checksums.key,
    }


def _writing(ctx: JobContext, export: Export, outputs: ExportOutputs) -> ExportWriting:
    total = export.version.sample_count
    done = 0
    ctx.progress(0, total, "starting")

    def advance(count: int) -> None:
        nonlocal done
        done += count
        ctx.progress(done, max(total, done), f"{done} of {total} samples")

    return ExportWriting(
        version=export.version,
        options=ExportOptions(**export.options),
        outputs=outputs,
        layout=ExportLayout(export.version),
        advance=advance,
        timestamp=export.created_at,
    )


def export_cleanup(job: Job) -> None:
    """The kind's cleanup after a failure or cancel: delete the stored files, forget them on the row."""
    export_id = (job.params or {}).get("export")
    if export_id is None:
        return
    export_files_delete(export_id)
    Export.objects.filter(pk=export_id).update(files=[], checksum_key="", size=0, sample_count=0)


# --- downloads and expiry -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFileRef:
    name: str
    key: str
    sha256: str  # "" for SHA256SUMS itself
    size: int | None = None  # as recorded when it was stored; None for SHA256SUMS


def export_file_for_download(*, export: Export, name: str, user: AbstractBaseUser | AnonymousUser) -> ExportFileRef:
    """The stored file `name` of `export`, if `user` may download it now.

    Raises ApplicationError: export_foreign (403: someone else's, and `user` is no admin),
    export_expired (410), export_not_ready (409: the job has not succeeded), file_not_found (404).
    """
    if export_is_foreign(export=export, user=user):
        raise ApplicationError("This export belongs to another user.", code="export_foreign", status_code=403)
    if export.is_expired:
        raise ApplicationError(
            f"Export {export.pk} expired at {export.expires_at.isoformat()}; export the version again.",
            code="export_expired",
            status_code=410,
        )
    if export.status != JobStatus.SUCCEEDED:
        raise ApplicationError(
            f"Export {export.pk} is {export.status}: its files are not available.",
            code="export_not_ready",
            status_code=409,
        )
    for item in export.files:
        if item["name"] == name:
            return ExportFileRef(name=name, key=item["key"], sha256=item["sha256"], size=item.get("size"))
    if name == CHECKSUM_FILE_NAME and export.checksum_key:
        return ExportFileRef(name=name, key=export.checksum_key, sha256="")
    raise ApplicationError(f"Export {export.pk} has no file named '{name}'.", code="file_not_found", status_code=404)


def exports_expired_purge(*, now: Any = None) -> list[int]:
    """Delete the stored files of expired exports (their rows stay, marked by `expires_at`); returns their ids."""
    now = now or timezone.now()
    purged = []
    for export_id in Export.objects.filter(expires_at__lte=now).exclude(files=[]).values_list("id", flat=True):
        export_files_delete(export_id)
        Export.objects.filter(pk=export_id).update(files=[], checksum_key="")
        purged.append(export_id)
    return purged
