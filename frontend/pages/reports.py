"""The pages of the generic reports (robustness.reports), generated per registered kind: the list, the start form
(the run kit's, from the kind's params) and a report. URLs `reports/<slug>/`, `reports/<slug>/start/`,
`reports/<slug>/<report_id>/`, named `<slug>_report_list`, `<slug>_report_start` and `<slug>_report`
(frontend/urls_reports.py).

A report page is the shared frame (frontend/runs/report.html: the breadcrumbs, the heading, the run kit's status
partial while the job runs, the parameters, the figures the job stored in `summary["figures"]`, drawn by
charts.js) and the kind's template, which extends it and fills its `report` block from `summary`.
"""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from core.roles import Capability, capability_required, user_can
from frontend.pages.run_lists import newest_first_page
from frontend.pages.runs import run_finished, run_start_page, run_status_poll
from jobs.runs.kinds import RunKind
from robustness.reports.selectors import model_report_get, model_report_list

View = Callable[..., HttpResponse]
NAV_SECTION = "reports"


def report_pages(kind: RunKind) -> tuple[View, View, View]:
    """The list, start and report views of `kind`."""
    slug, capability = kind.slug, Capability(kind.capability)

    @capability_required(Capability.VIEW)
    def report_list_page(request: HttpRequest) -> HttpResponse:
        """Reports of the kind newest first in keyset pages (`?before=<id>`)."""
        shown, next_before = newest_first_page(request, model_report_list(kind))
        context = {
            "kind": kind, "reports": shown, "next_before": next_before, "nav_section": NAV_SECTION,
            "can_start": user_can(request.user, capability),
        }  # fmt: skip
        return render(request, "frontend/runs/report_list.html", context)

    @require_http_methods(["GET", "POST"])
    @capability_required(capability)
    def report_start_page(request: HttpRequest) -> HttpResponse:
        """The start form generated from the kind's params; a valid request creates the report and opens it."""
        return run_start_page(
            request, kind=kind, template="frontend/runs/report_start.html",
            list_url_name=f"frontend:{slug}_report_list", nav_section=NAV_SECTION,
        )  # fmt: skip

    @capability_required(Capability.VIEW)
    def report_page(request: HttpRequest, report_id: int) -> HttpResponse:
        """One report; for htmx polls only the status partial (HX-Refresh once the job has finished)."""
        report = model_report_get(kind, report_id)
        if report is None:
            raise Http404(f"{kind.noun.capitalize()} {report_id} does not exist.")
        poll = run_status_poll(request, kind, report)
        if poll is not None:
            return poll
        summary = report.summary or {}
        context = {
            "report": report, "kind": kind, "finished": run_finished(report), "summary": summary,
            "figures": summary.get("figures") or {}, "params_items": sorted(report.params.items()),
            "nav_section": NAV_SECTION,
        }  # fmt: skip
        return render(request, kind.report_template, context)

    return report_list_page, report_start_page, report_page


def report_page_urls(kind: RunKind) -> list[URLPattern]:
    list_page, start_page, report_page = report_pages(kind)
    slug = kind.slug
    return [
        path(f"reports/{slug}/", list_page, name=f"{slug}_report_list"),
        path(f"reports/{slug}/start/", start_page, name=f"{slug}_report_start"),
        path(f"reports/{slug}/<int:report_id>/", report_page, name=f"{slug}_report"),
    ]
