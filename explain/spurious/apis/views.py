"""REST API of spurious-feature reports: list, start, detail (one view per operation).

Starting needs the run_gpu_jobs capability (admins); reading needs view. A request the service
refuses (unknown model or version, classes that do not match the version, a split without masks,
bad parameters) is a structured 400 and creates nothing.
"""

from explain.spurious.apis.serializers import (
    SpuriousReportDetailOutputSerializer,
    SpuriousReportOutputSerializer,
    SpuriousReportStartedOutputSerializer,
)
from explain.spurious.job_kinds import SPURIOUS
from explain.spurious.selectors import spurious_report_get, spurious_report_list
from jobs.runs.apis import RunDetailApi, RunListApi, RunStartApi


class SpuriousReportListApi(RunListApi):
    """Spurious-feature reports, newest first, optionally of one version or one trained model (cursor pagination)."""

    run_kind, tag, operation_id = SPURIOUS, "spurious", "spurious_reports_list"
    output_serializer = SpuriousReportOutputSerializer
    rows = staticmethod(spurious_report_list)


class SpuriousReportStartApi(RunStartApi):
    """Start a spurious-feature report of a trained model on a dataset version; returns 202 with the report and job."""

    run_kind, tag = SPURIOUS, "spurious"
    started_serializer, started_id = SpuriousReportStartedOutputSerializer, "spurious_report"
    refusals = "validation_error (unknown model or version), classes_mismatch, no_masks, empty_split, invalid_params."


class SpuriousReportDetailApi(RunDetailApi):
    """One report: parameters, status, the headline, suspected features and the per-class rankings."""

    run_kind, tag = SPURIOUS, "spurious"
    detail_serializer = SpuriousReportDetailOutputSerializer
    row = staticmethod(spurious_report_get)
    lookup_url_kwarg = "report_id"
