"""REST API of failure-slice reports: list, start, detail (with the compare section), re-score with another model.

Starting a report or a re-scoring needs the run_gpu_jobs capability (admins); reading needs view. A
request the service refuses (bad parameters, no held-out samples, classes that do not match the version,
an unusable embedding set, a report without results) is a structured error and creates nothing.
"""

from typing import Any, cast

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ErrorOutputSerializer
from core.roles import Capability, HasCapability
from explain.slices.job_kinds import SLICES
from explain.slices.models import SliceReport
from explain.slices.selectors import slice_compare_rows, slice_report_get, slice_report_list, slice_scores
from explain.slices.services.results import report_headline
from explain.slices.services.scores import slice_score_create
from jobs.runs.apis import RunDetailApi, RunListApi, RunOutputSerializer, RunStartApi, run_started_serializer
from robustness.models import TrainedModel


class SliceReportOutputSerializer(RunOutputSerializer):
    run_kind = SLICES
    model_name = serializers.CharField(source="trained_model.name", read_only=True)

    class Meta:
        model = SliceReport
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "split", "embedding_set", "sample_count", "status", "job",
            "params", "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields


class SliceReportDetailOutputSerializer(SliceReportOutputSerializer):
    summary = serializers.SerializerMethodField()
    slices = serializers.SerializerMethodField()
    class_accuracy = serializers.SerializerMethodField()
    compare = serializers.SerializerMethodField()

    class Meta(SliceReportOutputSerializer.Meta):
        fields = (*SliceReportOutputSerializer.Meta.fields, "summary", "class_accuracy", "slices", "compare")
        read_only_fields = fields

    def get_summary(self, report: SliceReport) -> dict[str, Any]:
        return report_headline(report.results or {})

    def get_class_accuracy(self, report: SliceReport) -> dict[str, Any]:
        return (report.results or {}).get("class_accuracy") or {}

    def get_slices(self, report: SliceReport) -> list[dict[str, Any]]:
        """Ranked slices, worst first: class, size, accuracy with its Wilson interval, gap, members, gallery."""
        return (report.results or {}).get("slices") or []

    def get_compare(self, report: SliceReport) -> list[dict[str, Any]]:
        """Per re-scoring model: its status and each slice's accuracy before (this report's model) and after."""
        return [
            {"slice_score": score.pk, "trained_model": score.trained_model_id, "model_name": score.trained_model.name,
             "status": score.status, "accuracy": (score.results or {}).get("accuracy"),
             "slices": slice_compare_rows(report, score) if score.results else []}
            for score in slice_scores(report)
        ]  # fmt: skip


class SliceReportListApi(RunListApi):
    """Failure-slice reports, newest first, optionally of one version or one trained model (cursor pagination)."""

    run_kind, tag, operation_id = SLICES, "slices", "slice_reports_list"
    output_serializer = SliceReportOutputSerializer
    rows = staticmethod(slice_report_list)


SliceReportStartedOutputSerializer = run_started_serializer(
    "SliceReportStartedOutputSerializer", "slice_report", module=__name__
)


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


class SliceScoreStartInputSerializer(serializers.Serializer):
    trained_model = serializers.PrimaryKeyRelatedField(queryset=TrainedModel.objects.all())


class SliceScoreStartedOutputSerializer(serializers.Serializer):
    slice_score = serializers.IntegerField()
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField()


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
