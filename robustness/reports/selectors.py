"""Reads of generic reports, one kind at a time (the run kit's `run_rows`: the rows whose `kind` is its name)."""

from django.db.models import QuerySet

from jobs.runs.kinds import RunKind, run_rows
from robustness.reports.models import ModelReport


def model_report_list(kind: RunKind) -> QuerySet[ModelReport]:
    return run_rows(kind).select_related("trained_model", "version__dataset", "job").order_by("-id")


def model_report_get(kind: RunKind, report_id: int) -> ModelReport | None:
    return model_report_list(kind).select_related("requested_by").filter(pk=report_id).first()
