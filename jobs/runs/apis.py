"""Bases of a run kind's REST API: list, start, detail (one view per operation, as every API of the project).

A family subclasses each with its docstring (the operation's description), its run kind and its
serializers; the schema (operation id, tag, parameters, error bodies) is written here once:

    class EvaluationListApi(RunListApi):
        \"\"\"Evaluation runs, newest first, ... (cursor pagination).\"\"\"
        run_kind, tag, operation_id = EVALUATION, "evaluations", "evaluations_list"
        output_serializer = EvaluationRunOutputSerializer
        rows = staticmethod(evaluation_run_list)
"""

from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ErrorOutputSerializer
from core.pagination import IdCursorPagination
from core.params import params_fields, params_serializer
from core.roles import Capability, HasCapability
from jobs.runs.kinds import RunKind
from jobs.runs.models import JobRun
from jobs.runs.services import run_create


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOutputSerializer, description=description)


def run_report_url(kind: RunKind, run: JobRun) -> str:
    """The page of one run ("/evaluations/3/")."""
    return reverse(kind.report_url_name, args=[run.pk])


def read_errors() -> dict[int, OpenApiResponse]:
    return {
        401: _error("Not authenticated."),
        403: _error("The role lacks the view capability."),
    }


# A run as lists show it: the row's fields (a family's Meta.fields), its status and the URL of its report page.
# (No docstring: the schema would give it to every family's component.)
class RunOutputSerializer(serializers.ModelSerializer):
    run_kind: ClassVar[RunKind]
    status = serializers.CharField(read_only=True)
    report_url = serializers.SerializerMethodField()

    def get_report_url(self, run: JobRun) -> str:
        return run_report_url(self.run_kind, run)


def run_page_serializer(output: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The paginated list of `output` (named after it: EvaluationRunOutput -> EvaluationRunPageOutput)."""
    name = output.__name__.replace("OutputSerializer", "PageOutputSerializer")
    fields = {
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": output(many=True),
        "__module__": output.__module__,
    }
    return type(name, (serializers.Serializer,), fields)


class RunListApi(APIView):
    permission_classes = [HasCapability]
    required_capability = Capability.VIEW
    run_kind: ClassVar[RunKind]
    tag: ClassVar[str]
    operation_id: ClassVar[str]
    output_serializer: ClassVar[type[serializers.Serializer]]
    rows: ClassVar[Callable[[], QuerySet]]

    class FilterSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        trained_model = serializers.IntegerField(required=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        schema = extend_schema(
            operation_id=cls.operation_id,
            tags=[cls.tag],
            parameters=[
                OpenApiParameter("version", int),
                OpenApiParameter("trained_model", int),
                OpenApiParameter("cursor", str, description="Opaque position from a `next`/`previous` URL."),
                OpenApiParameter("page_size", int, description="Rows per page (capped at 500)."),
            ],
            responses={
                200: run_page_serializer(cls.output_serializer),
                400: _error("validation_error."),
                404: _error("not_found: an invalid cursor."),
                **read_errors(),
            },
        )
        extend_schema_view(get=schema)(cls)

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        runs = type(self).rows()
        if "version" in filters.validated_data:
            runs = runs.filter(version_id=filters.validated_data["version"])
        if "trained_model" in filters.validated_data:
            runs = runs.filter(trained_model_id=filters.validated_data["trained_model"])
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(self.output_serializer(page, many=True).data)


def run_started_serializer(name: str, run_id: str, *, module: str, more: tuple[str, ...] = ()) -> type:
    """What starting a run answers: the run's id (as `run_id`), its job, status, `more` of its fields (strings),
    where to follow the job and the report page. `name` is the serializer's (and the schema component's)."""
    fields: dict[str, Any] = {run_id: serializers.IntegerField(), "job": serializers.IntegerField()}
    fields["status"] = serializers.CharField()
    fields |= {field: serializers.CharField() for field in more}
    fields["url"] = serializers.CharField(help_text="Where to follow the job: /api/jobs/{id}/.")
    fields["report_url"] = serializers.CharField()
    return type(name, (serializers.Serializer,), {**fields, "__module__": module})


def run_start_serializer(kind: RunKind, name: str) -> type[serializers.Serializer]:
    """The start API's input serializer of `kind`, generated from its params dataclass (core.params): the run's
    own fields (`row=True`: the model and the version as ids, ...) and `params`, an object whose fields the
    schema documents from the dataclass. `params` reaches the kind's `prepare` as given: it checks every value
    (and refuses an unknown one) with the kind's own error codes."""
    row = [f.attr for f in params_fields(kind.params) if f.spec.row]
    rest = [f.attr for f in params_fields(kind.params) if not f.spec.row]
    documented = params_serializer(kind.params, name=f"{kind.params.__name__}Serializer", exclude=row)

    @extend_schema_field(documented)
    class ParamsField(serializers.DictField):
        params_serializer = documented  # what the parity test and the schema read

    params = ParamsField(required=False, default=dict, help_text="Every parameter may be left out (its default).")
    top = params_serializer(kind.params, name=name, exclude=rest)
    return type(name, (top,), {"params": params, "__module__": kind.params.__module__})


class RunStartApi(APIView):
    """Start a run of `run_kind` (a family's subclass names it): the input serializer is generated from the
    kind's params dataclass (`run_start_serializer`, named after the view: EvaluationStartApi ->
    EvaluationStartInputSerializer) unless the subclass gives one."""

    permission_classes = [HasCapability]
    required_capability = Capability.RUN_GPU_JOBS
    run_kind: ClassVar[RunKind]
    tag: ClassVar[str]
    input_serializer: ClassVar[type[serializers.Serializer]]
    started_serializer: ClassVar[type[serializers.Serializer]]
    started_id: ClassVar[str]  # the body's name for the run's id: "evaluation_run"
    started_fields: ClassVar[tuple[str, ...]] = ()  # more of the run's fields the body carries (run_started_serializer)
    refusals: ClassVar[str]  # the codes of a refused request (400), for the schema

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "input_serializer" not in cls.__dict__:
            name = cls.__name__.removesuffix("Api") + "InputSerializer"
            cls.input_serializer = run_start_serializer(cls.run_kind, name)
        schema = extend_schema(
            tags=[cls.tag],
            request=cls.input_serializer,
            responses={
                202: cls.started_serializer,
                400: _error(cls.refusals),
                403: _error("Not an admin."),
            },
        )
        extend_schema_view(post=schema)(cls)

    def post(self, request: Request) -> Response:
        payload = self.input_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        kind = self.run_kind
        run = run_create(kind=kind, requested_by=request.user, **payload.validated_data)  # type: ignore[arg-type]
        body = {
            self.started_id: run.pk,
            "job": run.job_id,
            "status": run.status,
            **{name: getattr(run, name) for name in self.started_fields},
            "url": reverse("api-job-detail", args=[run.job_id]),
            "report_url": run_report_url(kind, run),
        }
        return Response(self.started_serializer(body).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(APIView):
    permission_classes = [HasCapability]
    required_capability = Capability.VIEW
    run_kind: ClassVar[RunKind]
    tag: ClassVar[str]
    detail_serializer: ClassVar[type[serializers.Serializer]]
    row: Callable[[int], JobRun | None]  # a staticmethod: the family's get selector
    lookup_url_kwarg: ClassVar[str] = "run_id"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        what = cls.run_kind.noun.split()[-1]  # "run", "report"
        schema = extend_schema(
            tags=[cls.tag],
            responses={
                200: cls.detail_serializer,
                404: _error(f"Unknown {what} (code not_found)."),
                **read_errors(),
            },
        )
        extend_schema_view(get=schema)(cls)

    def get(self, request: Request, **kwargs: int) -> Response:
        return Response(self.detail_serializer(self.run_or_404(kwargs[self.lookup_url_kwarg])).data)

    @classmethod
    def run_or_404(cls, run_id: int) -> JobRun:
        run = cls.row(run_id)
        if run is None:
            noun = cls.run_kind.noun
            raise NotFound(f"{noun[0].upper()}{noun[1:]} {run_id} does not exist.")
        return run
