"""REST API of explanation runs: list, start, detail with scores, per-sample scores (one view per operation).

Starting needs the run_gpu_jobs capability (admins); reading needs view. A request the service
refuses (unknown method or parameter, a target layer that does not exist, an architecture
without a conv layer and no override, classes that do not match the version) is a structured 400
and creates nothing. A run whose model was deleted still reads: `trained_model` is null,
`model_deleted` true, and the model_* fields say what it was.
"""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApplicationError, ErrorOutputSerializer
from core.pagination import IdCursorPagination
from core.roles import Capability, HasCapability
from core.storage import blob_open
from explain.apis.serializers import (
    ExplanationRunDetailOutputSerializer,
    ExplanationRunOutputSerializer,
    ExplanationStartedOutputSerializer,
    SampleExplanationOutputSerializer,
    SampleExplanationPageOutputSerializer,
)
from explain.job_kinds import EXPLANATION
from explain.models import ExplanationRun
from explain.selectors import (
    GalleryFilters,
    explanation_run_get,
    explanation_run_list,
    raw_map_file_key,
    sample_explanation_list,
)
from jobs.runs.apis import (
    RunDetailApi,
    RunListApi,
    RunStartApi,
    read_errors,
)

READ_ERRORS = read_errors()


class ExplanationListApi(RunListApi):
    """Explanation runs, newest first, optionally of one version or one trained model (cursor pagination)."""

    run_kind, tag, operation_id = EXPLANATION, "explanations", "explanations_list"
    output_serializer = ExplanationRunOutputSerializer
    rows = staticmethod(explanation_run_list)


class ExplanationStartApi(RunStartApi):
    """Start explaining a trained model on a dataset version; returns 202 with the run and its job."""

    run_kind, tag = EXPLANATION, "explanations"
    started_serializer, started_id = ExplanationStartedOutputSerializer, "explanation_run"
    started_fields = ("target_layer",)
    refusals = "invalid_method, invalid_target_layer, invalid_params, classes_mismatch, ..."


class ExplanationDetailApi(RunDetailApi):
    """One run: parameters, status, the headline (with background reliance per class) and every score summary."""

    run_kind, tag = EXPLANATION, "explanations"
    detail_serializer = ExplanationRunDetailOutputSerializer
    row = staticmethod(explanation_run_get)


def _run_or_404(run_id: int) -> ExplanationRun:
    return ExplanationDetailApi.run_or_404(run_id)  # type: ignore[return-value]


class SampleCursorPagination(IdCursorPagination):
    ordering = "id"


class ExplanationSampleListApi(APIView):
    """Per-sample scores of a run, in explanation order, with filters (cursor pagination).

    Scores are null where undefined: pointing_hit, energy_inside and background_reliance without a
    mask (has_mask false), road_combined when ROAD was skipped.
    """

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    class FilterSerializer(serializers.Serializer):
        label = serializers.CharField(required=False)  # type: ignore[assignment]  # a filter field, not Field.label
        correct = serializers.BooleanField(required=False, allow_null=True, default=None)
        has_mask = serializers.BooleanField(required=False, allow_null=True, default=None)
        own_background = serializers.BooleanField(required=False, allow_null=True, default=None)
        min_reliance = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)

    @extend_schema(
        operation_id="explanation_samples_list",
        tags=["explanations"],
        parameters=[
            OpenApiParameter("label", str, description="True class."),
            OpenApiParameter("correct", bool),
            OpenApiParameter("has_mask", bool),
            OpenApiParameter("own_background", bool, description="Demo truth: on its class's own background."),
            OpenApiParameter("min_reliance", float, description="Background reliance at least this (0–1)."),
            OpenApiParameter("cursor", str, description="Opaque position from a `next`/`previous` URL."),
            OpenApiParameter("page_size", int, description="Rows per page (capped at 500)."),
        ],
        responses={
            200: SampleExplanationPageOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer, description="validation_error."),
            404: OpenApiResponse(ErrorOutputSerializer, description="Unknown run or invalid cursor (not_found)."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(run_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = sample_explanation_list(
            run,
            GalleryFilters(
                label=data.get("label"), correct=data.get("correct"), has_mask=data.get("has_mask"),
                own_background=data.get("own_background"), min_reliance=data.get("min_reliance"), sort="sample",
                misclassified_first=False,
            ),
        )  # fmt: skip
        paginator = SampleCursorPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(SampleExplanationOutputSerializer(page, many=True).data)


class ExplanationRawMapsApi(APIView):
    """Download one of a run's .npz files of unscaled maps: sample_ids (N), raw (N x h x w float32), targets (N).

    The maps are at the target layer's resolution, before upsampling and scaling (what the PNGs show).
    """

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    @extend_schema(
        operation_id="explanation_raw_maps_download",
        tags=["explanations"],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(
                ErrorOutputSerializer, description="not_found: unknown run, or no such file in it; file_not_found."
            ),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, run_id: int, file_name: str) -> FileResponse:
        run = _run_or_404(run_id)
        key = raw_map_file_key(run, file_name)
        if key is None:
            raise NotFound(f"Explanation run {run.pk} has no file named {file_name!r}.")
        try:
            handle = blob_open(key)
        except FileNotFoundError:
            raise ApplicationError(f"{file_name} is missing from storage.", code="file_not_found", status_code=404)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"explanation-{run.pk}-{file_name}",
            content_type="application/octet-stream",
        )
