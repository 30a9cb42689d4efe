"""REST API of failure-slice reports: list, start, detail (with the compare section), re-score with another model.

Starting a report or a re-scoring needs the run_gpu_jobs capability (admins); reading needs view. A
request the service refuses (bad parameters, no held-out samples, classes that do not match the version,
an unusable embedding set, a report without results) is a structured error and creates nothing.
"""

from typing import cast

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ErrorOutputSerializer
from core.roles import Capability, HasCapability
from explain.slices.apis.serializers import (
    SliceReportDetailOutputSerializer,
    SliceReportOutputSerializer,
    SliceReportStartedOutputSerializer,
    SliceScoreStartedOutputSerializer,
    SliceScoreStartInputSerializer,
)
from explain.slices.job_kinds import SLICES
from explain.slices.models import SliceReport
from explain.slices.selectors import slice_report_get, slice_report_list
from explain.slices.services.scores import slice_score_create
from jobs.runs.apis import RunDetailApi, RunListApi, RunStartApi


class SliceReportListApi(RunListApi):
    """Failure-slice reports, newest first, optionally of one version or one trained model (cursor pagination)."""

    run_kind, tag, operation_id = SLICES, "slices", "slice_reports_list"
    output_serializer = SliceReportOutputSerializer
    rows = staticmethod(slice_report_list)


class SliceReportStartApi(RunStartApi):
    """Start a failure-slice report of a trained model on a version's held-out samples; 202 with report and job."""

    run_kind, tag = SLICES, "slices"
    started_serializer, started_id = SliceReportStartedOutputSerializer, "slice_report"
    refusals = "validation_error, classes_mismatch, no_held_out, empty_split, invalid_embeddings, invalid_params."


class SliceReportDetailApi(RunDetailApi):
    """One report: parameters, status, the headline, class accuracies, ranked slices and the compare section."""

    run_kind, tag = SLICES, "slices"
    detail_serializer = SliceReportDetailOutputSerializer
    row = staticmethod(slice_report_get)
    lookup_url_kwarg = "report_id"


class SliceScoreStartApi(APIView):
    """Re-score a report's slices with another trained model (e.g. retrained after a fix); 202 with the job."""

    permission_classes = [HasCapability]
    required_capability = Capability.RUN_GPU_JOBS

    @extend_schema(
        tags=["slices"],
        request=SliceScoreStartInputSerializer,
        responses={
            202: SliceScoreStartedOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer, description="validation_error, classes_mismatch."),
            404: OpenApiResponse(ErrorOutputSerializer, description="Unknown report."),
            409: OpenApiResponse(ErrorOutputSerializer, description="report_not_ready."),
        },
    )
    def post(self, request: Request, report_id: int) -> Response:
        report = cast(SliceReport, SliceReportDetailApi.run_or_404(report_id))
        payload = SliceScoreStartInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        score = slice_score_create(
            report=report, trained_model=payload.validated_data["trained_model"],
            requested_by=request.user,  # type: ignore[arg-type]
        )  # fmt: skip
        body = {
            "slice_score": score.pk,
            "job": score.job_id,
            "status": score.status,
            "url": reverse("api-job-detail", args=[score.job_id]),
        }
        return Response(SliceScoreStartedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
