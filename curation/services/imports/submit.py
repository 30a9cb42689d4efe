"""Submitting an import: storing an uploaded zip, creating the job, and deleting the upload once unneeded."""

import uuid
from dataclasses import replace
from typing import IO

from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage

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
    name_and_format_check(name, format)
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
