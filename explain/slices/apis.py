"""REST API of failure-slice reports: list, start, detail (with the compare section), re-score with another model.

Starting a report or a re-scoring needs the run_gpu_jobs capability (admins); reading needs view. A
request the service refuses (bad parameters, no held-out samples, classes that do not match the version,
an unusable embedding set, a report without results) is a structured error and creates nothing.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import IdCursorPagination
from core.roles import Capability, HasCapability
from curation.apis.serializers import ErrorOutputSerializer
from curation.embeddings.models import EmbeddingSet
from curation.models import DatasetVersion
from explain.slices.models import SliceReport
from explain.slices.selectors import slice_compare_rows, slice_report_get, slice_report_list, slice_scores
from explain.slices.services import slice_report_create
from explain.slices.services.results import report_headline
from explain.slices.services.scores import slice_score_create
from robustness.models import TrainedModel


def report_url(report: SliceReport) -> str:
    return f"/slices/{report.pk}/"


class SliceReportOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    model_name = serializers.CharField(source="trained_model.name", read_only=True)
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = SliceReport
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "split", "embedding_set", "sample_count", "status", "job",
            "params", "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields

    def get_report_url(self, report: SliceReport) -> str:
        return report_url(report)


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


class SliceReportPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SliceReportOutputSerializer(many=True)


READ_ERRORS = {
    401: OpenApiResponse(ErrorOutputSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorOutputSerializer, description="The role lacks the view capability."),
}


class SliceReportListApi(APIView):
    """Failure-slice reports, newest first, optionally of one version or one trained model (cursor pagination)."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    class FilterSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        trained_model = serializers.IntegerField(required=False)

    @extend_schema(
        operation_id="slice_reports_list",
        tags=["slices"],
        parameters=[
            OpenApiParameter("version", int),
            OpenApiParameter("trained_model", int),
            OpenApiParameter("cursor", str, description="Opaque position from a `next`/`previous` URL."),
            OpenApiParameter("page_size", int, description="Rows per page (capped at 500)."),
        ],
        responses={
            200: SliceReportPageOutputSerializer,
            **READ_ERRORS,
            404: OpenApiResponse(ErrorOutputSerializer, description="not_found: an invalid cursor."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        reports = slice_report_list()
        if "version" in filters.validated_data:
            reports = reports.filter(version_id=filters.validated_data["version"])
        if "trained_model" in filters.validated_data:
            reports = reports.filter(trained_model_id=filters.validated_data["trained_model"])
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(reports, request, view=self)
        return paginator.get_paginated_response(SliceReportOutputSerializer(page, many=True).data)


class SliceReportStartInputSerializer(serializers.Serializer):
    trained_model = serializers.PrimaryKeyRelatedField(queryset=TrainedModel.objects.all())
    version = serializers.PrimaryKeyRelatedField(queryset=DatasetVersion.objects.select_related("dataset"))
    embedding_set = serializers.PrimaryKeyRelatedField(queryset=EmbeddingSet.objects.all(), required=False)
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="split (auto = test, else val), max_samples, min_size, max_slices_per_class, prediction_weight, "
        "gallery_size, batch_size, device, seed.",
    )


class SliceReportStartedOutputSerializer(serializers.Serializer):
    slice_report = serializers.IntegerField()
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="Where to follow the job: /api/jobs/{id}/.")
    report_url = serializers.CharField()


class SliceReportStartApi(APIView):
    """Start a failure-slice report of a trained model on a version's held-out samples; 202 with report and job."""

    permission_classes = [HasCapability]
    required_capability = Capability.RUN_GPU_JOBS

    @extend_schema(
        tags=["slices"],
        request=SliceReportStartInputSerializer,
        responses={
            202: SliceReportStartedOutputSerializer,
            400: OpenApiResponse(
                ErrorOutputSerializer,
                description="validation_error, classes_mismatch, no_held_out, empty_split, invalid_embeddings, "
                "invalid_params.",
            ),
            403: OpenApiResponse(ErrorOutputSerializer, description="Not an admin."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = SliceReportStartInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        report = slice_report_create(
            trained_model=data["trained_model"], version=data["version"], params=data["params"],
            embedding_set=data.get("embedding_set"), requested_by=request.user,  # type: ignore[arg-type]
        )  # fmt: skip
        body = {
            "slice_report": report.pk, "job": report.job_id, "status": report.status,
            "url": f"/api/jobs/{report.job_id}/", "report_url": report_url(report),
        }  # fmt: skip
        return Response(SliceReportStartedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _report_or_404(report_id: int) -> SliceReport:
    report = slice_report_get(report_id)
    if report is None:
        raise NotFound(f"Failure-slice report {report_id} does not exist.")
    return report


class SliceReportDetailApi(APIView):
    """One report: parameters, status, the headline, class accuracies, ranked slices and the compare section."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    @extend_schema(
        tags=["slices"],
        responses={
            200: SliceReportDetailOutputSerializer,
            404: OpenApiResponse(ErrorOutputSerializer, description="Unknown report (code not_found)."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, report_id: int) -> Response:
        return Response(SliceReportDetailOutputSerializer(_report_or_404(report_id)).data)


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
        report = _report_or_404(report_id)
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
            "url": f"/api/jobs/{score.job_id}/",
        }
        return Response(SliceScoreStartedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
