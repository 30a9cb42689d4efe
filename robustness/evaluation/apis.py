"""REST API of evaluation runs: list, start, detail (one view per operation).

Starting needs the run_gpu_jobs capability (admins); reading needs view. A request the service
refuses (classes that do not match the version, unknown suites or parameters, a baseline on
another dataset) is a structured 400 and creates nothing.
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
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.selectors import (
    corruption_table,
    evaluation_run_get,
    evaluation_run_list,
    evaluation_summary,
)
from robustness.evaluation.services import evaluation_run_create
from robustness.evaluation.services.params import SUITE_ORDER
from robustness.models import TrainedModel


class EvaluationRunOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    model_name = serializers.CharField(source="trained_model.name", read_only=True)
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = EvaluationRun
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "suites", "split", "sample_count", "baseline", "status",
            "job", "params", "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields

    def get_report_url(self, run: EvaluationRun) -> str:
        return f"/evaluations/{run.pk}/"


class EvaluationRunDetailOutputSerializer(EvaluationRunOutputSerializer):
    summary = serializers.SerializerMethodField()
    corruption_table = serializers.SerializerMethodField()
    results = serializers.JSONField(read_only=True)

    class Meta(EvaluationRunOutputSerializer.Meta):
        fields = (*EvaluationRunOutputSerializer.Meta.fields, "summary", "corruption_table", "results")
        read_only_fields = fields

    def get_summary(self, run: EvaluationRun) -> dict[str, Any]:
        return evaluation_summary(run)

    def get_corruption_table(self, run: EvaluationRun) -> dict[str, Any] | None:
        return corruption_table(run)


class EvaluationRunPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EvaluationRunOutputSerializer(many=True)


EVALUATION_READ_ERRORS = {
    401: OpenApiResponse(ErrorOutputSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorOutputSerializer, description="The role lacks the view capability."),
}


class EvaluationListApi(APIView):
    """Evaluation runs, newest first, optionally of one version or one trained model (cursor pagination)."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    class FilterSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        trained_model = serializers.IntegerField(required=False)

    @extend_schema(
        operation_id="evaluations_list",
        tags=["evaluations"],
        parameters=[
            OpenApiParameter("version", int),
            OpenApiParameter("trained_model", int),
            OpenApiParameter("cursor", str, description="Opaque position from a `next`/`previous` URL."),
            OpenApiParameter("page_size", int, description="Rows per page (capped at 500)."),
        ],
        responses={
            200: EvaluationRunPageOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer, description="validation_error."),
            404: OpenApiResponse(ErrorOutputSerializer, description="not_found: an invalid cursor."),
            **EVALUATION_READ_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        runs = evaluation_run_list()
        if "version" in filters.validated_data:
            runs = runs.filter(version_id=filters.validated_data["version"])
        if "trained_model" in filters.validated_data:
            runs = runs.filter(trained_model_id=filters.validated_data["trained_model"])
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(EvaluationRunOutputSerializer(page, many=True).data)


class EvaluationStartInputSerializer(serializers.Serializer):
    trained_model = serializers.PrimaryKeyRelatedField(queryset=TrainedModel.objects.all())
    version = serializers.PrimaryKeyRelatedField(queryset=DatasetVersion.objects.select_related("dataset"))
    suites = serializers.ListField(
        child=serializers.ChoiceField(choices=SUITE_ORDER), default=lambda: ["clean"], help_text="clean always runs."
    )
    baseline = serializers.PrimaryKeyRelatedField(
        queryset=EvaluationRun.objects.select_related("version"), required=False, allow_null=True
    )
    params = serializers.DictField(
        required=False, default=dict, help_text="split, max_samples, seed, severities, corruptions, eps, edits, ..."
    )


class EvaluationStartedOutputSerializer(serializers.Serializer):
    evaluation_run = serializers.IntegerField()
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="Where to follow the job: /api/jobs/{id}/.")
    report_url = serializers.CharField()


class EvaluationStartApi(APIView):
    """Start evaluating a trained model on a dataset version; returns 202 with the run and its job."""

    permission_classes = [HasCapability]
    required_capability = Capability.RUN_GPU_JOBS

    @extend_schema(
        tags=["evaluations"],
        request=EvaluationStartInputSerializer,
        responses={
            202: EvaluationStartedOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer, description="classes_mismatch, invalid_params, ..."),
            403: OpenApiResponse(ErrorOutputSerializer, description="Not an admin."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = EvaluationStartInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = evaluation_run_create(
            trained_model=data["trained_model"],
            version=data["version"],
            suites=data["suites"],
            params=data["params"],
            baseline=data.get("baseline"),
            requested_by=request.user,  # type: ignore[arg-type]
        )
        body = {
            "evaluation_run": run.pk,
            "job": run.job_id,
            "status": run.status,
            "url": f"/api/jobs/{run.job_id}/",
            "report_url": f"/evaluations/{run.pk}/",
        }
        return Response(EvaluationStartedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class EvaluationDetailApi(APIView):
    """One run: parameters, status, the headline summary, the mCE table and every suite's results."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    @extend_schema(
        tags=["evaluations"],
        responses={
            200: EvaluationRunDetailOutputSerializer,
            404: OpenApiResponse(ErrorOutputSerializer, description="Unknown run (code not_found)."),
            **EVALUATION_READ_ERRORS,
        },
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = evaluation_run_get(run_id)
        if run is None:
            raise NotFound(f"Evaluation run {run_id} does not exist.")
        return Response(EvaluationRunDetailOutputSerializer(run).data)
