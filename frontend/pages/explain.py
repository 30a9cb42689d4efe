"""Grad-CAM pages: runs list, start form (admins), a run's report, its gallery, two runs side by side, map images.

The report's live part is the run kit's partial `frontend/runs/_status.html`, polled every 2 s while the
job runs (HX-Refresh once it has finished). The gallery shows misclassified samples first, per
class, sorted by background reliance, each as the model's input with its heatmap on top; a slider
sets the heatmap's opacity (explain_gallery.js). A run whose model was deleted still shows
everything it stored, under the name it had; only starting a new run from it is offered no more.
"""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.roles import Capability, capability_required, user_can
from core.storage import blob_open
from explain.job_kinds import EXPLANATION
from explain.models import ExplanationRun, SampleExplanation
from explain.selectors import (
    GALLERY_SORTS,
    GalleryFilters,
    background_reliance_by_class,
    class_counts,
    compare_pairs,
    explanation_run_get,
    explanation_run_list,
    explanation_summary,
    run_figures,
    run_label,
    sample_explanation_list,
)
from frontend.pages.run_lists import newest_first_page
from frontend.pages.runs import run_finished, run_start_page, run_status_poll

RUNS_PAGE_SIZE = 50
GALLERY_PAGE_SIZE = 48
IMAGE_KINDS = ("input", "heatmap", "overlay")
SHOW_CHOICES = {"all": None, "misclassified": False, "correct": True}


@capability_required(Capability.VIEW)
def explanation_list(request: HttpRequest) -> HttpResponse:
    """Runs newest first in keyset pages (`?before=<id>`); pick two to see side by side."""
    runs = explanation_run_list()
    shown, next_before = newest_first_page(request, runs, RUNS_PAGE_SIZE)
    context = {
        "runs": shown,
        "next_before": next_before,
        "can_start": user_can(request.user, Capability.RUN_GPU_JOBS),
        "nav_section": "explanations",
    }
    return render(request, "frontend/explain/explanation_list.html", context)


@require_http_methods(["GET", "POST"])
@capability_required(Capability.RUN_GPU_JOBS)
def explanation_start(request: HttpRequest) -> HttpResponse:
    """The start form (generated from ExplanationParams); a valid request creates the run and opens the report."""
    return run_start_page(
        request, kind=EXPLANATION, template="frontend/explain/explanation_start.html",
        list_url_name="frontend:explanation_list", nav_section="explanations",
    )  # fmt: skip


def _run_or_404(run_id: int) -> ExplanationRun:
    run = explanation_run_get(run_id)
    if run is None:
        raise Http404(f"Explanation run {run_id} does not exist.")
    return run


@capability_required(Capability.VIEW)
def explanation_report(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's scores and per-class charts; for htmx polls only the status partial."""
    run = _run_or_404(run_id)
    poll = run_status_poll(request, EXPLANATION, run)
    if poll is not None:
        return poll
    finished = run_finished(run)
    headline = explanation_summary(run)
    others = explanation_run_list(version_id=run.version_id).exclude(pk=run.pk).filter(job__status="succeeded")
    context = {
        "run": run,
        "kind": EXPLANATION,
        "finished": finished,
        "headline": headline,
        "scores": run.summary,
        "reliance_by_class": background_reliance_by_class(run),
        "figures": run_figures(run) if run.summary else {},
        "compare_candidates": [(other.pk, run_label(other)) for other in others[:50]],
        "params_items": sorted(run.params.items()),
        "nav_section": "explanations",
    }
    return render(request, "frontend/explain/explanation_report.html", context)


def _gallery_filters(request: HttpRequest) -> tuple[GalleryFilters, dict[str, str]]:
    """Filters from the query string (unknown values fall back to the defaults) and the values the form shows."""
    label = request.GET.get("label", "")
    show = request.GET.get("show", "all")
    show = show if show in SHOW_CHOICES else "all"
    sort = request.GET.get("sort", "reliance_desc")
    sort = sort if sort in GALLERY_SORTS else "reliance_desc"
    filters = GalleryFilters(label=label or None, correct=SHOW_CHOICES[show], sort=sort)
    return filters, {"label": label, "show": show, "sort": sort}


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return max(int(value), 1) if value.isdigit() else 1


@capability_required(Capability.VIEW)
def explanation_gallery(request: HttpRequest, run_id: int) -> HttpResponse:
    """Overlays of one run: misclassified first, per class (`?label=`), sorted by background reliance."""
    run = _run_or_404(run_id)
    filters, chosen = _gallery_filters(request)
    rows = sample_explanation_list(run, filters)
    page = _page_number(request)
    total = rows.count()
    items = list(rows[(page - 1) * GALLERY_PAGE_SIZE : page * GALLERY_PAGE_SIZE])
    context = {
        "run": run,
        "items": items,
        "total": total,
        "page": page,
        "has_next": page * GALLERY_PAGE_SIZE < total,
        "classes": class_counts(run),
        "chosen": chosen,
        "sorts": GALLERY_SORTS.items(),
        "shows": list(SHOW_CHOICES),
        "query": _query_without_page(request),
        "nav_section": "explanations",
    }
    return render(request, "frontend/explain/explanation_gallery.html", context)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@capability_required(Capability.VIEW)
def explanation_compare(request: HttpRequest) -> HttpResponse:
    """The same samples under two runs side by side (`?left=<run>&right=<run>`), in the left run's gallery order."""
    ids = [request.GET.get(side, "") for side in ("left", "right")]
    if not all(value.isdigit() for value in ids):
        raise Http404("Pick two explanation runs: ?left=<id>&right=<id>.")
    left, right = (_run_or_404(int(value)) for value in ids)
    filters, chosen = _gallery_filters(request)
    page = _page_number(request)
    pairs, total = compare_pairs(left, right, filters, limit=GALLERY_PAGE_SIZE, offset=(page - 1) * GALLERY_PAGE_SIZE)
    context = {
        "left": left,
        "right": right,
        "left_label": run_label(left),
        "right_label": run_label(right),
        "pairs": pairs,
        "total": total,
        "page": page,
        "has_next": page * GALLERY_PAGE_SIZE < total,
        "classes": class_counts(left),
        "chosen": chosen,
        "sorts": GALLERY_SORTS.items(),
        "shows": list(SHOW_CHOICES),
        "query": _query_without_page(request),
        "reliance": _reliance_side_by_side(left, right),
        "nav_section": "explanations",
    }
    return render(request, "frontend/explain/explanation_compare.html", context)


def _reliance_side_by_side(left: ExplanationRun, right: ExplanationRun) -> list[tuple[str, float | None, float | None]]:
    """(class, left run's background reliance, right run's) for every class of the left model."""
    right_values = background_reliance_by_class(right)
    return [(name, value, right_values.get(name)) for name, value in background_reliance_by_class(left).items()]


@capability_required(Capability.VIEW)
def explanation_image(request: HttpRequest, run_id: int, sample_id: int, kind: str) -> HttpResponseBase:
    """One stored picture of an explained sample: `input` (what the model saw), `heatmap` or `overlay`."""
    if kind not in IMAGE_KINDS:
        raise Http404("No such picture: input, heatmap or overlay.")
    row = SampleExplanation.objects.filter(run_id=run_id, sample_id=sample_id).first()
    if row is None:
        raise Http404("This sample has no explanation in this run.")
    try:
        handle = blob_open(getattr(row, f"{kind}_key"))
    except FileNotFoundError:
        raise Http404("The picture is missing from storage.")
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"  # a retried batch rewrites its pictures
    return response
