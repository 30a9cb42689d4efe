"""REST API of mask sets (issue #16): start estimating a version's masks with a provider (a job), list a
version's mask sets with their provider, coverage and measured IoU against the dataset's own masks."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import CurateApi, ReadApi
from core.params import params_serializer
from curation.masks.models import MaskSet, MaskSetStatus
from curation.masks.params import MaskParams
from curation.masks.selectors import mask_set_list
from curation.masks.services import mask_set_start
from curation.selectors import version_get

ERRORS_AUTH = {
    401: error_response("Not authenticated (code not_authenticated)."),
    403: error_response("The role lacks the capability (code permission_denied)."),
}
ERROR_NOT_FOUND = {404: error_response("Unknown version (code not_found).")}
MaskSetStartInputSerializer = params_serializer(MaskParams, name="MaskSetStartInputSerializer")


class MaskSetOutputSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version_id", read_only=True)
    job = serializers.IntegerField(source="job_id", read_only=True, allow_null=True)
    coverage = serializers.SerializerMethodField(help_text="Share of the members the provider gave a mask (done).")
    median_iou = serializers.SerializerMethodField(
        help_text="Median IoU against the dataset's own masks; null when the version has none to compare."
    )

    class Meta:
        model = MaskSet
        fields = [
            "id", "version", "provider", "provider_spec", "status", "job", "planned", "done", "with_mask",
            "coverage", "median_iou", "quality", "seconds", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_coverage(self, mask_set: MaskSet) -> float | None:
        return mask_set.with_mask / mask_set.done if mask_set.done else None

    def get_median_iou(self, mask_set: MaskSet) -> float | None:
        quality = mask_set.quality or {}
        value = quality.get("median_iou") if isinstance(quality, dict) else None
        return float(value) if value is not None else None


class MaskSetListOutputSerializer(serializers.Serializer):
    results = MaskSetOutputSerializer(many=True)


class MaskSetAcceptedOutputSerializer(serializers.Serializer):
    mask_set = MaskSetOutputSerializer()
    job = serializers.IntegerField(allow_null=True, help_text="The estimate_masks job; null for a ready set.")
    url = serializers.CharField(allow_null=True, help_text="The job's API URL; null for a ready set.")


class VersionMaskSetListApi(ReadApi):
    """A version's mask sets, newest first: one per provider."""

    @extend_schema(
        operation_id="version_mask_set_list",
        tags=["masks"],
        summary="List a version's mask sets with provider, coverage and IoU against its own masks",
        responses={200: MaskSetListOutputSerializer, **ERRORS_AUTH, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_get(version_id)
        if version is None:
            raise not_found("Version", version_id)
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
        version = version_get(version_id)
        if version is None:
            raise not_found("Version", version_id)
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
