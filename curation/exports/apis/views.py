"""REST API of exports (docs/ARCHITECTURE.md §8): request one (a job), list and read them, download their files.

Every view needs the curate capability; an export is visible to the user who requested it and to
admins (`manage`). Creating one is rate limited per user (token) with the `exports` throttle scope.
Downloads stream from storage with Range support (ranged.py).
"""

import mimetypes
from typing import cast

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import ApplicationError, error_response, not_found
from core.api_views import CurateApi
from core.pagination import CURSOR_PAGE_PARAMETERS, id_cursor_page
from core.throttles import ExpensiveOperationThrottle
from curation.apis.lookups import version_or_404
from curation.exports.apis.serializers import (
    ExportAcceptedOutputSerializer,
    ExportCreateInputSerializer,
    ExportFilterSerializer,
    ExportOutputSerializer,
    ExportPageOutputSerializer,
)
from curation.exports.models import Export
from curation.exports.ranged import RangeNotSatisfiable, ranged_stored_file_response
from curation.exports.selectors import export_get, export_is_foreign, export_list
from curation.exports.services.exports import export_file_for_download, export_submit
from curation.exports.services.outputs import CHECKSUM_FILE_NAME

CONTENT_TYPES = {
    ".zip": "application/zip",
    ".tar": "application/x-tar",
    ".csv": "text/csv",
    ".jsonl": "application/jsonl",
}
DOWNLOAD_MEDIA_TYPES = ("application/zip", "application/x-tar", "text/csv", "application/jsonl", "text/plain")


ERRORS_AUTH = {
    401: error_response("Not authenticated (code not_authenticated)."),
    403: error_response("The role lacks the curate capability, or the export is another user's (export_foreign)."),
}
ERROR_NOT_FOUND = {404: error_response("Unknown id (code not_found).")}


def _visible_export(request: Request, export_id: int) -> Export:
    export = export_get(export_id)
    if export is None:
        raise not_found("Export", export_id)
    if export_is_foreign(export=export, user=request.user):
        raise ApplicationError("This export belongs to another user.", code="export_foreign", status_code=403)
    return export


class VersionExportCreateApi(CurateApi):
    """Start exporting a version; answers 202 with the export and its job."""

    throttle_classes = [ExpensiveOperationThrottle]
    throttle_scope = "exports"

    @extend_schema(
        operation_id="version_export_create",
        tags=["exports"],
        summary="Export a version (a job): ImageFolder zip, CSV/JSONL manifest, HF imagefolder, WebDataset",
        request=ExportCreateInputSerializer,
        responses={
            202: ExportAcceptedOutputSerializer,
            400: error_response(
                "validation_error, invalid_format (details.allowed lists the formats), invalid_options."
            ),
            **ERRORS_AUTH,
            **ERROR_NOT_FOUND,
            409: error_response("version_not_ready: the version is still being created."),
            429: error_response("throttled: too many exports requested; see the Retry-After header."),
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        version = version_or_404(version_id)
        data = ExportCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)  # the service checks the format and its options (invalid_format, ...)
        export = export_submit(
            version=version,
            format=fields.pop("format"),
            options=fields,
            requested_by=cast(User, request.user),
        )
        body = {"export": export, "job": export.job_id, "url": reverse("api-job-detail", args=[export.job_id])}
        return Response(ExportAcceptedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class ExportListApi(CurateApi):
    """The caller's exports (an admin's: everyone's), newest first, cursor-paginated."""

    @extend_schema(
        operation_id="export_list",
        tags=["exports"],
        summary="List exports, newest first",
        parameters=[
            ExportFilterSerializer,
            *CURSOR_PAGE_PARAMETERS,
        ],
        responses={
            200: ExportPageOutputSerializer,
            400: error_response("validation_error."),
            **ERRORS_AUTH,
            404: error_response("not_found: an invalid cursor."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = ExportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        exports = export_list(
            user=request.user,
            version_id=filters.validated_data.get("version"),
            format=filters.validated_data.get("export_format"),
        )
        return id_cursor_page(request, self, exports, ExportOutputSerializer)


class ExportDetailApi(CurateApi):
    """One export: status, its files with sizes and sha256, download URLs, expiry."""

    @extend_schema(
        operation_id="export_detail",
        tags=["exports"],
        summary="An export: status, files, checksums, expiry",
        responses={200: ExportOutputSerializer, **ERRORS_AUTH, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, export_id: int) -> Response:
        return Response(ExportOutputSerializer(_visible_export(request, export_id)).data)


class ExportDownloadApi(CurateApi):
    """Stream one file of an export; a `Range: bytes=…` request gets 206 with that part only."""

    @extend_schema(
        operation_id="export_download",
        tags=["exports"],
        summary="Download a file of an export (HTTP Range supported)",
        parameters=[
            OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER, description="e.g. bytes=0-1023"),
        ],
        responses={
            **{(200, media): OpenApiTypes.BINARY for media in DOWNLOAD_MEDIA_TYPES},
            **{(206, media): OpenApiTypes.BINARY for media in DOWNLOAD_MEDIA_TYPES},
            **ERRORS_AUTH,
            404: error_response("not_found (export) or file_not_found."),
            409: error_response("export_not_ready: the export job has not succeeded."),
            410: error_response("export_expired, or export_files_gone (purged)."),
            416: error_response("range_not_satisfiable: the byte range is malformed or starts past the end."),
        },
    )
    def get(self, request: Request, export_id: int, file_name: str) -> HttpResponseBase:
        export = export_get(export_id)
        if export is None:
            raise not_found("Export", export_id)
        ref = export_file_for_download(export=export, name=file_name, user=request.user)
        prefix = f"{slugify(export.version.dataset.name) or 'dataset'}-v{export.version.number}-"
        extension = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        content_type = CONTENT_TYPES.get(extension) or mimetypes.guess_type(file_name)[0] or "text/plain"
        try:  # one read of storage, the size recorded with the export (no HEAD before the GET)
            if file_name == CHECKSUM_FILE_NAME:
                return _checksums_as_served(ref.key, prefix)
            return ranged_stored_file_response(
                request,
                key=ref.key,
                size=ref.size,
                content_type=content_type,
                filename=prefix + file_name,
                etag=ref.sha256,
            )
        except OSError:  # FileNotFoundError and the storage's other refusals to read it
            raise ApplicationError(
                f"The files of export {export.pk} were removed.", code="export_files_gone", status_code=410
            ) from None
        except RangeNotSatisfiable as exc:
            error = ApplicationError(str(exc), code="range_not_satisfiable", status_code=416)
            response = self.handle_exception(error)
            response["Content-Range"] = f"bytes */{exc.size}"
            return response


def _checksums_as_served(key: str, prefix: str) -> HttpResponse:
    """SHA256SUMS naming each file as it is served (`<dataset>-v<n>-<name>`), itself served under that prefix.

    Browsers save a download under its Content-Disposition name, so `sha256sum -c` passes in the folder
    the files were downloaded to. The stored file (and `export --out`) keeps the bare names.
    """
    with default_storage.open(key, "rb") as stored:
        lines = stored.read().decode().splitlines()
    entries = (line.split("  ", 1) for line in lines if line)
    response = HttpResponse(
        "".join(f"{digest}  {prefix}{name}\n" for digest, name in entries), content_type="text/plain"
    )
    response["Content-Disposition"] = content_disposition_header(True, prefix + CHECKSUM_FILE_NAME)
    return response
