"""REST API of the generic reports, generated per kind from the run kit's bases (list, start, detail) and its
params dataclass: `/api/reports/<slug>/`, `.../start/`, `.../<report_id>/`, named `api-<slug>-report-list`,
`-start`, `-detail` (urls.py), each with its own schema components (`<Slug>ReportOutput`, ...).

Starting needs the kind's capability (run_gpu_jobs: admins); reading needs view. A refused request (a
parameter's own code, an unknown model or version, classes that do not match the version) is a structured 400
and creates nothing.
"""

from functools import cache
from typing import Any

from django.urls import URLPattern, path
from rest_framework import serializers

from jobs.runs.apis import RunDetailApi, RunListApi, RunOutputSerializer, RunStartApi, run_started_serializer
from jobs.runs.kinds import RunKind
from robustness.reports.models import ModelReport
from robustness.reports.selectors import model_report_get, model_report_list

FIELDS = ("id", "kind", "trained_model", "model_name", "version", "status", "job", "params", "created_at",
          "finished_at", "report_url")  # fmt: skip
REFUSALS = "validation_error, invalid_parameter (or a parameter's own code), not_found, classes_mismatch, empty_split."


def _name(kind: RunKind) -> str:
    return "".join(part.title() for part in kind.slug.split("_")) + "Report"


@cache
def report_apis(kind: RunKind) -> tuple[type[RunListApi], type[RunStartApi], type[RunDetailApi]]:
    """The list, start and detail views of `kind` (one set per kind)."""
    name, module = _name(kind), __name__
    meta = type("Meta", (), {"model": ModelReport, "fields": FIELDS, "read_only_fields": FIELDS})
    output = type(f"{name}OutputSerializer", (RunOutputSerializer,), {
        "run_kind": kind, "model_name": serializers.CharField(source="trained_model.name", read_only=True),
        "Meta": meta, "__module__": module,
    })  # fmt: skip
    detail_meta = type("Meta", (), {"model": ModelReport, "fields": (*FIELDS, "summary"),
                                    "read_only_fields": (*FIELDS, "summary")})  # fmt: skip
    detail = type(f"{name}DetailOutputSerializer", (output,), {"Meta": detail_meta, "__module__": module})
    started = run_started_serializer(f"{name}StartedOutputSerializer", "report", module=module)
    tag = f"{kind.slug}-reports"

    def rows() -> Any:
        return model_report_list(kind)

    def row(report_id: int) -> ModelReport | None:
        return model_report_get(kind, report_id)

    list_api = type(f"{name}ListApi", (RunListApi,), {
        "__doc__": f"{kind.label} reports, newest first, optionally of one version or one trained model (cursor "
        "pagination).",
        "run_kind": kind, "tag": tag, "operation_id": f"{kind.slug}_reports_list", "output_serializer": output,
        "rows": staticmethod(rows), "__module__": module,
    })  # fmt: skip
    start_api = type(f"{name}StartApi", (RunStartApi,), {
        "__doc__": f"Start a {kind.noun}: {kind.description} Returns 202 with the report and its job.",
        "run_kind": kind, "tag": tag, "started_serializer": started, "started_id": "report", "refusals": REFUSALS,
        "__module__": module,
    })  # fmt: skip
    detail_api = type(f"{name}DetailApi", (RunDetailApi,), {
        "__doc__": f"One {kind.noun}: its parameters, status and summary (what the job stored).",
        "run_kind": kind, "tag": tag, "detail_serializer": detail, "row": staticmethod(row),
        "lookup_url_kwarg": "report_id", "__module__": module,
    })  # fmt: skip
    return list_api, start_api, detail_api


def report_api_urls(kind: RunKind) -> list[URLPattern]:
    list_api, start_api, detail_api = report_apis(kind)
    slug = kind.slug
    return [
        path(f"reports/{slug}/", list_api.as_view(), name=f"api-{slug}-report-list"),
        path(f"reports/{slug}/start/", start_api.as_view(), name=f"api-{slug}-report-start"),
        path(f"reports/{slug}/<int:report_id>/", detail_api.as_view(), name=f"api-{slug}-report-detail"),
    ]
