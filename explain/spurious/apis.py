"""REST API of spurious-feature reports: list, start, detail (one view per operation).

Starting needs the run_gpu_jobs capability (admins); reading needs view. A request the service
refuses (unknown model or version, classes that do not match the version, a split without masks,
bad parameters) is a structured 400 and creates nothing.
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
from curation.models import DatasetVersion
from explain.spurious.models import SpuriousReport
from explain.spurious.selectors import spurious_report_get, spurious_report_list, suspected_spurious_features
from explain.spurious.services import spurious_report_create
from explain.spurious.services.reports import report_headline
from robustness.models import TrainedModel


def report_url(report: SpuriousReport) -> str:
    return f"/spurious/{report.pk}/"


class SpuriousReportOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    model_name = serializers.CharField(source="trained_model.name", read_only=True)
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = SpuriousReport
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "split", "sample_count", "status", "job", "params",
            "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields

    def get_report_url(self, report: SpuriousReport) -> str:
        return report_url(report)


class SuspectedFeatureOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    description = serializers.CharField()
    flip_rate = serializers.FloatField()
    null_flip_rate = serializers.FloatField()
    support = serializers.IntegerField()
    rank = serializers.IntegerField()


class SpuriousReportDetailOutputSerializer(SpuriousReportOutputSerializer):
    summary = serializers.SerializerMethodField()
    suspected = serializers.SerializerMethodField()
    rankings = serializers.SerializerMethodField()
    results = serializers.JSONField(read_only=True)

    class Meta(SpuriousReportOutputSerializer.Meta):
        fields = (*SpuriousReportOutputSerializer.Meta.fields, "summary", "suspected", "rankings", "results")
        read_only_fields = fields

    def get_summary(self, report: SpuriousReport) -> dict[str, Any]:
        return report_headline(report.results or {})

    def get_suspected(self, report: SpuriousReport) -> dict[str, Any]:
        """Per class, its suspected features in rank order (the selector the synthetic counter-examples use)."""
        by_class = suspected_spurious_features(report=report)
        return {name: SuspectedFeatureOutputSerializer(features, many=True).data for name, features in by_class.items()}

    def get_rankings(self, report: SpuriousReport) -> dict[str, Any]:
        """Per class: ranked features (flip and null rates, support, Wilson interval, suspected), low-support ones."""
        return (report.results or {}).get("rankings") or {}


class SpuriousReportPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SpuriousReportOutputSerializer(many=True)


READ_ERRORS = {
    401: OpenApiResponse(ErrorOutputSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorOutputSerializer, description="The role lacks the view capability."),
}


class SpuriousReportListApi(APIView):
    """Spurious-feature reports, newest first, optionally of one version or one trained model (cursor pagination)."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    class FilterSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        trained_model = serializers.IntegerField(required=False)

    @extend_schema(
        operation_id="spurious_reports_list",
        tags=["spurious"],
        parameters=[
            OpenApiParameter("version", int),
            OpenApiParameter("trained_model", int),
            OpenApiParameter("cursor", str, description="Opaque position from a `next`/`previous` URL."),
            OpenApiParameter("page_size", int, description="Rows per page (capped at 500)."),
        ],
        responses={
            200: SpuriousReportPageOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer, description="validation_error."),
            404: OpenApiResponse(ErrorOutputSerializer, description="not_found: an invalid cursor."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        reports = spurious_report_list()
        if "version" in filters.validated_data:
            reports = reports.filter(version_id=filters.validated_data["version"])
        if "trained_model" in filters.validated_data:
            reports = reports.filter(trained_model_id=filters.validated_data["trained_model"])
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(reports, request, view=self)
        return paginator.get_paginated_response(SpuriousReportOutputSerializer(page, many=True).data)


class SpuriousReportStartInputSerializer(serializers.Serializer):
    trained_model = serializers.PrimaryKeyRelatedField(queryset=TrainedModel.objects.all())
    version = serializers.PrimaryKeyRelatedField(queryset=DatasetVersion.objects.select_related("dataset"))
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="split (auto = train), max_samples, seed, swaps_per_image, min_support, pull, pull_max_samples, "
        "batch_size, device, example_features, examples_per_feature.",
    )


class SpuriousReportStartedOutputSerializer(serializers.Serializer):
    spurious_report = serializers.IntegerField()
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="Where to follow the job: /api/jobs/{id}/.")
    report_url = serializers.CharField()


class SpuriousReportStartApi(APIView):
    """Start a spurious-feature report of a trained model on a dataset version; returns 202 with the report and job."""

    permission_classes = [HasCapability]
    required_capability = Capability.RUN_GPU_JOBS

    @extend_schema(
        tags=["spurious"],
        request=SpuriousReportStartInputSerializer,
        responses={
            202: SpuriousReportStartedOutputSerializer,
            400: OpenApiResponse(
                ErrorOutputSerializer,
                description="validation_error (unknown model or version), classes_mismatch, no_masks, empty_split, "
                "invalid_params.",
            ),
            403: OpenApiResponse(ErrorOutputSerializer, description="Not an admin."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = SpuriousReportStartInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        report = spurious_report_create(
            trained_model=data["trained_model"],
            version=data["version"],
            params=data["params"],
            requested_by=request.user,  # type: ignore[arg-type]
        )
        body = {
            "spurious_report": report.pk,
            "job": report.job_id,
            "status": report.status,
            "url": f"/api/jobs/{report.job_id}/",
            "report_url": report_url(report),
        }
        return Response(SpuriousReportStartedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class SpuriousReportDetailApi(APIView):
    """One report: parameters, status, the headline, suspected features and the per-class rankings."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    @extend_schema(
        tags=["spurious"],
        responses={
            200: SpuriousReportDetailOutputSerializer,
            404: OpenApiResponse(ErrorOutputSerializer, description="Unknown report (code not_found)."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, report_id: int) -> Response:
        report = spurious_report_get(report_id)
        if report is None:
            raise NotFound(f"Spurious-feature report {report_id} does not exist.")
        return Response(SpuriousReportDetailOutputSerializer(report).data)
