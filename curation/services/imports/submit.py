"""Submitting an import: storing an uploaded zip, creating the job, and deleting the upload once unneeded."""

import uuid
from dataclasses import replace
from typing import IO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from core.api_errors import ApplicationError
from core.storage import blob_delete
from curation.services.archives import ZIP_MAGIC, upload_key_is_valid
from curation.services.imports.params import (
    IMPORT_JOB_KIND,
    ImportParams,
    import_params_validate,
    name_and_format_check,
)
from jobs.models import Job
from jobs.services import job_start_rate_check, job_submit


class UploadTooLarge(Exception):
    """The upload passed IMPORT_UPLOAD_MAX_BYTES while it was being stored."""


class _CappedReader:
    """Reads `source` for the storage, raising UploadTooLarge once more than `cap` bytes came through."""

    def __init__(self, source: IO[bytes], cap: int):
        self.source, self.cap, self.read_bytes = source, cap, 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.read_bytes += len(data)
        if self.read_bytes > self.cap:
            raise UploadTooLarge()
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.read_bytes = 0 if offset == 0 and whence == 0 else self.read_bytes
        return self.source.seek(offset, whence)

    # What object storage asks of a file before uploading it (django-storages rewinds it, and hashes it first).
    @property
    def closed(self) -> bool:
        return bool(self.source.closed)

    def seekable(self) -> bool:
        return True


def upload_too_large_error() -> ApplicationError:
    cap = settings.IMPORT_UPLOAD_MAX_BYTES
    return ApplicationError(
        f"The upload is larger than the limit of {cap} bytes ({cap / 1024**2:.0f} MiB).",
        code="upload_too_large",
        status_code=413,
        details={"max_bytes": cap},
    )


def import_upload_store(*, upload: IO[bytes]) -> str:
    """Store an uploaded zip archive under `uploads/<uuid>.zip` and return its storage key.

    The bytes are streamed into storage and the copy stops at IMPORT_UPLOAD_MAX_BYTES: a larger upload
    (by its declared size, or found while copying) leaves nothing stored.
    Raises ApplicationError: invalid_upload (400) when the bytes do not start like a zip archive,
    upload_too_large (413).
    """
    cap = settings.IMPORT_UPLOAD_MAX_BYTES
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > cap:
        raise upload_too_large_error()
    head = upload.read(4)
    upload.seek(0)
    if head not in ZIP_MAGIC:
        raise ApplicationError("The upload is not a zip archive.", code="invalid_upload")
    key = f"uploads/{uuid.uuid4().hex}.zip"
    try:
        return default_storage.save(key, File(_CappedReader(upload, cap)))  # type: ignore[arg-type]
    except UploadTooLarge:
        blob_delete(key)  # the part stored before the cap (local disk); nothing stored there is no error
        raise upload_too_large_error() from None


def dataset_import_submit(*, params: ImportParams, requested_by: User | None) -> Job:
    """Create the `import_dataset` job and send it to the workers once committed.

    An uploaded archive is deleted if the job cannot be created (nothing is left behind).
    Raises ApplicationError throttled (429) past the user's `imports` rate (jobs.services.job_start_rate_check).
    """
    try:
        with transaction.atomic():
            job_start_rate_check(user=requested_by, scope="imports", kinds=(IMPORT_JOB_KIND,))
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

    The name, format and the user's `imports` rate are checked before the bytes are stored; whatever
    fails afterwards deletes the stored upload. Raises ApplicationError as `import_params_validate`,
    `import_upload_store` and `dataset_import_submit`.
    """
    name_and_format_check(name, format)
    job_start_rate_check(user=requested_by, scope="imports", kinds=(IMPORT_JOB_KIND,))
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
