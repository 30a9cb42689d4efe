"""REST API of mask sets (issue #16): start estimating a version's masks with a provider (a job), list a
version's mask sets with their provider, coverage and measured IoU against the dataset's own masks."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response
from core.api_views import CurateApi, ReadApi
from curation.apis.lookups import version_or_404
from curation.masks.apis.serializers import (
    MaskSetAcceptedOutputSerializer,
    MaskSetListOutputSerializer,
    MaskSetOutputSerializer,
    MaskSetStartInputSerializer,
)
from curation.masks.models import MaskSetStatus
from curation.masks.selectors import mask_set_list
from curation.masks.services import mask_set_start

ERRORS_AUTH = {
    401: error_response("Not authenticated (code not_authenticated)."),
    403: error_response("The role lacks the capability (code permission_denied)."),
}
ERROR_NOT_FOUND = {404: error_response("Unknown version (code not_found).")}


class VersionMaskSetListApi(ReadApi):
    """A version's mask sets, newest first: one per provider."""

    @extend_schema(
        operation_id="version_mask_set_list",
        tags=["masks"],
        summary="List a version's mask sets with provider, coverage and IoU against its own masks",
        responses={200: MaskSetListOutputSerializer, **ERRORS_AUTH, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_or_404(version_id)
        return Response({"results": MaskSetOutputSerializer(mask_set_list(version=version), many=True).data})


class VersionMaskSetStartApi(CurateApi):
    """Estimate a version's masks with a provider: 202 with the set and its job, or 200 with the ready set."""

    @extend_schema(
        operation_id="version_mask_set_start",
        tags=["masks"],
        summary="Estimate a version's foreground masks with a provider (a job)",
        request=MaskSetStartInputSerializer,
        responses={
            202: MaskSetAcceptedOutputSerializer,
            200: MaskSetAcceptedOutputSerializer,
            400: error_response("validation_error, invalid_params: an unknown provider or the dataset's own."),
            **ERRORS_AUTH,
            **ERROR_NOT_FOUND,
            409: error_response("mask_set_running: the version's masks by that provider are being estimated."),
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        version = version_or_404(version_id)
        data = MaskSetStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.as_params(version_id=version.pk)
        mask_set = mask_set_start(version=version, provider=params.provider, requested_by=cast(User, request.user))
        ready = mask_set.status == MaskSetStatus.READY
        body: dict[str, Any] = {
            "mask_set": mask_set,
            "job": None if ready else mask_set.job_id,
            "url": None if ready else reverse("api-job-detail", args=[mask_set.job_id]),
        }
        code = status.HTTP_200_OK if ready else status.HTTP_202_ACCEPTED
        return Response(MaskSetAcceptedOutputSerializer(body).data, status=code)
