"""POST /api/datasets/imports/: start an import job from an uploaded zip or a server path (curators).

A multipart request with `file` uploads a zip; a JSON (or form) request with `source` names a
server path, which only admins may do (and only under IMPORT_SERVER_ROOTS when that is set).
The answer is 202 with the job id and where to follow it; the import itself runs on a worker.
Starting imports is rate limited per user (and so per token) with the `imports` throttle scope.
"""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import ApplicationError, error_response
from core.api_views import CurateApi
from core.params import params_serializer
from core.throttles import ExpensiveOperationThrottle
from curation.services.imports import (
    ImportParams,
    dataset_import_submit,
    dataset_import_upload_submit,
    import_params_validate,
)
from jobs.apis import JobAcceptedOutputSerializer, job_accepted
from jobs.models import Job


def _request_serializer(name: str, *, exclude: tuple[str, ...] = (), **more: serializers.Field) -> type:
    """ImportParams' input (core.params), the dataset name with its column's length limit, and `more` fields."""
    base = params_serializer(ImportParams, name=name, exclude=exclude)
    limited = serializers.CharField(max_length=200, help_text=base().fields["name"].help_text)
    return type(name, (base,), {"name": limited, **more, "__module__": __name__})


ImportUploadInputSerializer = _request_serializer(
    "ImportUploadInputSerializer",
    exclude=("source",),
    file=serializers.FileField(help_text="A zip archive: ImageFolder layout or a CSV/JSONL manifest inside."),
)
ImportServerInputSerializer = _request_serializer("ImportServerInputSerializer")


class DatasetImportApi(CurateApi):
    """Start importing a dataset; returns 202 with the job to follow."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]
    throttle_classes = [ExpensiveOperationThrottle]
    throttle_scope = "imports"

    @extend_schema(
        operation_id="dataset_import",
        tags=["datasets"],
        summary="Import a dataset from an uploaded zip or a server path",
        request={"multipart/form-data": ImportUploadInputSerializer, "application/json": ImportServerInputSerializer},
        responses={
            202: JobAcceptedOutputSerializer,
            400: error_response("Invalid payload, name taken, not a zip."),
            403: error_response("Not a curator; a server path from a non-admin."),
            413: error_response("upload_too_large: the zip is over the cap."),
            429: error_response("Too many imports started; see Retry-After."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = request.data if isinstance(request.data, dict) else {}
        has_file, has_source = "file" in request.FILES, bool(payload.get("source"))
        if has_file == has_source:
            raise ApplicationError(
                "Send either a zip archive as `file` (multipart) or a server path as `source`.", code="source_required"
            )
        return job_accepted(self._upload(request) if has_file else self._server_path(request))

    def _upload(self, request: Request) -> Job:  # HasCapability let only signed-in curators in
        data = ImportUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        return dataset_import_upload_submit(
            upload=upload,
            upload_name=upload.name or "",
            name=data.validated_data["name"],
            format=data.validated_data["format"],
            description=data.validated_data["description"],
            requested_by=cast(User, request.user),
        )

    def _server_path(self, request: Request) -> Job:
        data = ImportServerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = import_params_validate(user=request.user, **data.as_values())
        return dataset_import_submit(params=params, requested_by=cast(User, request.user))
