"""REST API of jobs: list, detail, cancel (one view per operation), and the 202 answer of every API that starts one."""

from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.models import User
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response
from core.api_views import ReadApi
from core.pagination import CURSOR_PAGE_PARAMETERS, IdCursorPagination
from jobs.apis.serializers import (
    JobAcceptedOutputSerializer,
    JobOutputSerializer,
    JobPageOutputSerializer,
)
from jobs.models import Job, JobStatus
from jobs.selectors import job_get, job_list, jobs_as_seen_by
from jobs.services import job_cancel_request


def job_accepted(job: Job) -> Response:
    """202 Accepted with the job that was started and the API URL to follow it at."""
    body = {"job": job.pk, "status": job.status, "url": reverse("api-job-detail", args=[job.pk])}
    return Response(JobAcceptedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def params_job_accepted(
    request: Request,
    input_serializer: type[serializers.Serializer],
    *,
    validate: Callable[..., Any],
    submit: Callable[..., Job],
    **ids: int,
) -> Response:
    """The POST of an API that starts a job from a params dataclass: the body read by its generated input serializer
    (core.params; 400 on a bad field), the params checked by `validate(**ids, **values)` (the ids come from the URL),
    the job made by `submit(params=..., requested_by=the caller)`, and 202 with it (`job_accepted`)."""
    data = input_serializer(data=request.data)
    data.is_valid(raise_exception=True)
    params = validate(**ids, **data.as_values())  # type: ignore[attr-defined]
    return job_accepted(submit(params=params, requested_by=cast(User, request.user)))


ERRORS_READ = {401: error_response("Not authenticated."), 403: error_response("The role lacks the view capability.")}
ERROR_NOT_FOUND = {404: error_response("Unknown job (code not_found).")}


def _visible_job_or_404(request: Request, job_id: int) -> Job:
    job = job_get(job_id=job_id, user=request.user)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


def _shown(request: Request, job: Job) -> Job:
    return jobs_as_seen_by([job], request.user)[0]


class JobListApi(ReadApi):
    """Jobs, newest first (every job is visible to every role; cursor pagination).

    Params, log tail and error of jobs started by admins or the system are hidden from non-admins."""

    class FilterSerializer(serializers.Serializer):
        kind = serializers.CharField(required=False)
        status = serializers.ChoiceField(choices=JobStatus.choices, required=False)

    @extend_schema(
        operation_id="jobs_list",
        parameters=[
            OpenApiParameter("kind", str),
            OpenApiParameter("status", str, enum=JobStatus.values),
            *CURSOR_PAGE_PARAMETERS,
        ],
        responses={
            200: JobPageOutputSerializer,
            400: error_response("validation_error: an unknown status."),
            404: error_response("not_found: an invalid cursor."),
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


class JobDetailApi(ReadApi):
    """One job: status, progress, message, log tail, result."""

    @extend_schema(responses={200: JobOutputSerializer, **ERRORS_READ, **ERROR_NOT_FOUND})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobOutputSerializer(_shown(request, _visible_job_or_404(request, job_id))).data)


class JobCancelApi(ReadApi):
    """Cancel a job: a queued one at once, a running one at its next batch (owner or admin only)."""

    @extend_schema(
        request=None,
        responses={
            200: JobOutputSerializer,
            **ERRORS_READ,
            **ERROR_NOT_FOUND,
            409: error_response("job_finished: the job has already ended."),
        },
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_cancel_request(job=_visible_job_or_404(request, job_id), user=request.user)
        return Response(JobOutputSerializer(_shown(request, job)).data)
