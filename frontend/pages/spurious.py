"""Spurious-feature pages: the reports list, the start form (admins), a report, its example edit images.

The report's live part is the run kit's partial `frontend/runs/_status.html`: while the report's
job is not finished it polls every 2 s (htmx requests get the partial alone); once the job has
finished the next poll answers with HX-Refresh, so the page reloads once with its charts. The
figures are built by the selectors and sent once as JSON (json_script), drawn by charts.js.
"""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.roles import Capability, capability_required, user_can
from explain.spurious.job_kinds import SPURIOUS
from explain.spurious.models import SpuriousReport
from explain.spurious.selectors import (
    report_class_rows,
    report_figures,
    spurious_report_get,
    spurious_report_list,
)
from explain.spurious.services.reports import report_headline
from frontend.pages.run_lists import newest_first_page
from frontend.pages.runs import run_example_image, run_finished, run_start_page, run_status_poll

REPORTS_PAGE_SIZE = 50


@capability_required(Capability.VIEW)
def spurious_report_list_page(request: HttpRequest) -> HttpResponse:
    """Reports newest first in keyset pages (`?before=<id>`)."""
    reports = spurious_report_list()
    shown, next_before = newest_first_page(request, reports, REPORTS_PAGE_SIZE)
    context = {
        "reports": shown,
        "next_before": next_before,
        "can_start": user_can(request.user, Capability.RUN_GPU_JOBS),
        "nav_section": "spurious",
    }
    return render(request, "frontend/spurious/spurious_list.html", context)


@require_http_methods(["GET", "POST"])
@capability_required(Capability.RUN_GPU_JOBS)
def spurious_report_start_page(request: HttpRequest) -> HttpResponse:
    """The start form (generated from SpuriousParams); a valid request creates the report and opens it."""
    return run_start_page(
        request, kind=SPURIOUS, template="frontend/spurious/spurious_start.html",
        list_url_name="frontend:spurious_report_list", nav_section="spurious",
    )  # fmt: skip


def _report_or_404(report_id: int) -> SpuriousReport:
    report = spurious_report_get(report_id)
    if report is None:
        raise Http404(f"Spurious-feature report {report_id} does not exist.")
    return report


@capability_required(Capability.VIEW)
def spurious_report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    """A report; for htmx polls only the status partial (HX-Refresh once the job has finished)."""
    report = _report_or_404(report_id)
    poll = run_status_poll(request, SPURIOUS, report)
    if poll is not None:
        return poll
    finished = run_finished(report)
    context = {
        "report": report,
        "kind": SPURIOUS,
        "finished": finished,
        "results": report.results,
        "summary": report_headline(report.results or {}),
        "class_rows": report_class_rows(report),
        "figures": report_figures(report) if report.results else {},
        "params_items": sorted(report.params.items()),
        "nav_section": "spurious",
    }
    return render(request, "frontend/spurious/spurious_report.html", context)


@capability_required(Capability.VIEW)
def spurious_report_example(request: HttpRequest, report_id: int, name: str) -> HttpResponseBase:
    """One stored example image of a report, by its name in the report (e.g. 0/1/0/edited)."""
    return run_example_image(_report_or_404(report_id), name)
