"""Import parameters: the formats, the defaults, and the checks a request passes before its job is created."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.storage import default_storage

from core.api_errors import ApplicationError
from core.params import param
from core.roles import Capability, user_can
from curation.models import Dataset
from curation.services.archives import upload_key_is_valid
from jobs.runtime import JobFailed

IMPORT_JOB_KIND = "import_dataset"
IMPORT_FORMATS = ("auto", "imagefolder", "zip", "csv", "jsonl")
DEFAULT_BATCH_SIZE = 100
DEFAULT_DECODE_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class ImportParams:
    """An import's job params, declared once: the API's server-path input, the import page's form and
    `manage.py import_dataset` are generated from the fields (core.params); `import_params_validate` checks
    a request with its own codes. The upload API and page add their file; the job alone sets the rest."""

    source: str = param(cli="source", help="Absolute path of a folder, zip or manifest on the server (admins).")
    name: str = param(help="Name of the new dataset (must be free).")
    format: str = param("auto", choices=IMPORT_FORMATS, help="The source's layout; auto: detected.")
    description: str = param("", help="Description of the new dataset.")
    batch_size: int = param(DEFAULT_BATCH_SIZE, min=1, api=False, page=False, help="Files per progress report.")
    decode_threads: int = param(DEFAULT_DECODE_THREADS, api=False, page=False, command=False)
    upload_name: str = param("", api=False, page=False, command=False)

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
            when that setting lists any; with none listed it is refused when IMPORT_SERVER_ROOTS_REQUIRED
            (production). None (the command line) is trusted.
    Raises ApplicationError: name_required, name_taken, invalid_format, invalid_source (400),
        source_not_found (400: missing, or outside the roots: the same answer), server_path_forbidden,
        server_path_disabled (403).
    """
    name = name_and_format_check(name, format)
    if upload_key_is_valid(source) and user is None:  # a stored upload is named by the service, never by a client
        if not default_storage.exists(source):
            raise ApplicationError("The uploaded archive is gone.", code="source_not_found")
    else:
        _server_path_check(source, user)
    return ImportParams(source=source, name=name, format=format, description=description)


def name_and_format_check(name: str, format: str) -> str:
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
    if user is None:  # the command line, run on the server by someone who can read it anyway
        if not path.exists():
            raise ApplicationError(f"No such file or folder on the server: {source}", code="source_not_found")
        return
    if not user_can(user, Capability.MANAGE):
        raise ApplicationError(
            "Only admins can import from a server path.", code="server_path_forbidden", status_code=403
        )
    roots = [Path(root).resolve() for root in settings.IMPORT_SERVER_ROOTS]
    if not roots and settings.IMPORT_SERVER_ROOTS_REQUIRED:
        raise ApplicationError(
            "Importing from a server path is disabled on this server (no WINNOW_IMPORT_SERVER_ROOTS is set). "
            "Upload a zip archive instead, or run `manage.py import_dataset` on the server.",
            code="server_path_disabled",
            status_code=403,
        )
    if not roots:
        if not path.exists():
            raise ApplicationError(f"No such file or folder on the server: {source}", code="source_not_found")
        return
    # Outside the roots answers exactly as missing inside them, so the answer tells nothing about
    # what exists elsewhere on the server.
    inside = any(path.resolve().is_relative_to(root) for root in roots)
    if not inside or not path.exists():
        raise ApplicationError(
            f"No such file or folder in the folders allowed for imports: {source}", code="source_not_found"
        )
