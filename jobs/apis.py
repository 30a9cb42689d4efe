"""REST API of jobs: list, detail, cancel (one view per operation)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import IdCursorPagination
from core.roles import Capability, HasCapability
from jobs.models import Job, JobStatus
from jobs.selectors import job_get, job_list, jobs_as_seen_by
from jobs.services import job_cancel_request


class JobOutputSerializer(serializers.ModelSerializer):
    requested_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = Job
        fields = (
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "error",
            "params",
            "result",
            "log_tail",
            "queue",
            "attempts",
            "cancel_requested",
            "is_finished",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        )
        read_only_fields = fields


class JobPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobOutputSerializer(many=True)


def _error(description: str) -> OpenApiResponse:
    """A structured error body ({"error": {"code", "message", "details"}})."""
    return OpenApiResponse(OpenApiTypes.OBJECT, description=description)


ERRORS_READ = {401: _error("Not authenticated."), 403: _error("The role lacks the view capability.")}
ERROR_NOT_FOUND = {404: _error("Unknown job (code not_found).")}


def _visible_job_or_404(request: Request, job_id: int) -> Job:
    job = job_get(job_id=job_id, user=request.user)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


def _shown(request: Request, job: Job) -> Job:
    return jobs_as_seen_by([job], request.user)[0]


class JobListApi(APIView):
    """Jobs, newest first (every job is visible to every role; cursor pagination).

    Params, log tail and error of jobs started by admins or the system are hidden from non-admins."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    class FilterSerializer(serializers.Serializer):
        kind = serializers.CharField(required=False)
        status = serializers.ChoiceField(choices=JobStatus.choices, required=False)

    @extend_schema(
        operation_id="jobs_list",
        parameters=[
            OpenApiParameter("kind", str),
            OpenApiParameter("status", str, enum=JobStatus.values),
            OpenApiParameter("cursor", str, description="Opaque position from a `next`/`previous` URL."),
            OpenApiParameter("page_size", int, description="Rows per page (capped at 500)."),
        ],
        responses={
            200: JobPageOutputSerializer,
            400: _error("validation_error: an unknown status."),
            404: _error("not_found: an invalid cursor."),
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        jobs = job_list(user=request.user, **filters.validated_data)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        shown = jobs_as_seen_by(page or [], request.user)
        return paginator.get_paginated_response(JobOutputSerializer(shown, many=True).data)


class JobDetailApi(APIView):
    """One job: status, progress, message, log tail, result."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    @extend_schema(responses={200: JobOutputSerializer, **ERRORS_READ, **ERROR_NOT_FOUND})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobOutputSerializer(_shown(request, _visible_job_or_404(request, job_id))).data)


class JobCancelApi(APIView):
    """Cancel a job: a queued one at once, a running one at its next batch (owner or admin only)."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW

    @extend_schema(
        request=None,
        responses={
            200: JobOutputSerializer,
            **ERRORS_READ,
            **ERROR_NOT_FOUND,
            409: _error("job_finished: the job has already ended."),
        },
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_cancel_request(job=_visible_job_or_404(request, job_id), user=request.user)
        return Response(JobOutputSerializer(_shown(request, job)).data)
