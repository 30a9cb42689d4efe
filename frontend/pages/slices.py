"""Failure-slice pages: the reports list, the start form (admins), a report (chart, slices, galleries, compare),
one slice with all its samples (and a review queue or a synthetic plan made of it), re-scoring a report with another
model, and evaluating a model with the report's slices as groups (admins).

The report's live part is the run kit's partial `frontend/runs/_status.html`: while the job runs it polls
every 2 s (htmx requests get the partial alone); once the job has finished the next poll answers with
HX-Refresh, so the page reloads once with its chart. The figure is built by the selectors and sent
once as JSON (json_script), drawn by charts.js.
"""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required, user_can
from curation.embeddings.models import EmbeddingSetStatus
from curation.review.services.queues import slice_review_queue_create
from curation.synthetic.models import GenerationMode
from curation.synthetic.services.plans import plan_params_validate
from curation.synthetic.services.report_plans import plan_from_slice
from curation.synthetic.services.submit import synthetic_batch_start
from explain.slices.job_kinds import SLICES
from explain.slices.models import SliceReport
from explain.slices.selectors import (
    slice_accuracy_figure,
    slice_compare_rows,
    slice_get,
    slice_report_get,
    slice_report_list,
    slice_scores,
)
from explain.slices.services.results import report_headline
from explain.slices.services.scores import slice_score_create
from frontend.model_choices import default_choice, generator_choices
from frontend.pages.run_lists import newest_first_page
from frontend.pages.runs import run_finished, run_start_page, run_status_poll
from robustness.evaluation.services import evaluation_run_create
from robustness.models import TrainedModel

REPORTS_PAGE_SIZE = 50


class SliceScoreForm(forms.Form):
    trained_model = forms.ModelChoiceField(queryset=TrainedModel.objects.order_by("-id"), label="Compare with model")


@capability_required(Capability.VIEW)
def slice_report_list_page(request: HttpRequest) -> HttpResponse:
    """Reports newest first in keyset pages (`?before=<id>`)."""
    shown, next_before = newest_first_page(request, slice_report_list(), REPORTS_PAGE_SIZE)
    context = {
        "reports": shown, "next_before": next_before, "can_start": user_can(request.user, Capability.RUN_GPU_JOBS),
        "nav_section": "slices",
    }  # fmt: skip
    return render(request, "frontend/slices/slice_list.html", context)


@require_http_methods(["GET", "POST"])
@capability_required(Capability.RUN_GPU_JOBS)
def slice_report_start_page(request: HttpRequest) -> HttpResponse:
    """The start form (generated from SliceParams; the embeddings listed are the ready ones); a valid request
    creates the report and its job and opens the report page."""
    return run_start_page(
        request, kind=SLICES, template="frontend/slices/slice_start.html", list_url_name="frontend:slice_report_list",
        nav_section="slices", form_setup=_ready_embedding_sets,
    )  # fmt: skip


def _ready_embedding_sets(form: forms.Form) -> None:
    embedding_sets = form.fields["embedding_set"]
    embedding_sets.queryset = embedding_sets.queryset.filter(status=EmbeddingSetStatus.READY)  # type: ignore[attr-defined]


def _report_or_404(report_id: int) -> SliceReport:
    report = slice_report_get(report_id)
    if report is None:
        raise Http404(f"Failure-slice report {report_id} does not exist.")
    return report


def _report_context(request: HttpRequest, report: SliceReport, score_form: SliceScoreForm) -> dict:
    results = report.results or {}
    scores = [{"score": score, "rows": slice_compare_rows(report, score)} for score in slice_scores(report)]
    return {
        "report": report, "kind": SLICES, "finished": run_finished(report), "results": results,
        "summary": report_headline(results), "slices": results.get("slices") or [], "scores": scores,
        "figures": {"slice-accuracy-figure": slice_accuracy_figure(results)} if results else {},
        "params_items": sorted(report.params.items()), "score_form": score_form,
        "evaluation_form": SliceEvaluationForm(),
        "can_start": user_can(request.user, Capability.RUN_GPU_JOBS), "nav_section": "slices",
    }  # fmt: skip


@capability_required(Capability.VIEW)
def slice_report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    """A report; for htmx polls only the status partial (HX-Refresh once the job has finished)."""
    report = _report_or_404(report_id)
    poll = run_status_poll(request, SLICES, report)
    if poll is not None:
        return poll
    context = _report_context(request, report, SliceScoreForm())
    return render(request, "frontend/slices/slice_report.html", context)


@require_POST
@capability_required(Capability.RUN_GPU_JOBS)
def slice_score_start_page(request: HttpRequest, report_id: int) -> HttpResponse:
    """Re-score the report's slices with another model; back to the report (its compare section)."""
    report = _report_or_404(report_id)
    form = SliceScoreForm(request.POST)
    if form.is_valid():
        try:
            slice_score_create(
                report=report, trained_model=form.cleaned_data["trained_model"], requested_by=cast(User, request.user)
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect(reverse("frontend:slice_report", args=[report.pk]) + "#compare")
    return render(request, "frontend/slices/slice_report.html", _report_context(request, report, form), status=400)


@capability_required(Capability.VIEW)
def slice_page(request: HttpRequest, report_id: int, number: int) -> HttpResponse:
    """One slice: its figures and every member, most typical first (thumbnails link to the samples)."""
    report = _report_or_404(report_id)
    found = slice_get(report, number)
    if found is None:
        raise Http404(f"Report {report_id} has no slice {number}.")
    context = _slice_context(request, report, found, _slice_plan_form(request))
    return render(request, "frontend/slices/slice_detail.html", context)


@require_POST
@capability_required(Capability.CURATE)
def slice_review_queue_page(request: HttpRequest, report_id: int, number: int) -> HttpResponse:
    """Turn a slice into a relabel review queue of its samples and open the queue."""
    report = _report_or_404(report_id)
    if slice_get(report, number) is None:
        raise Http404(f"Report {report_id} has no slice {number}.")
    queue = slice_review_queue_create(report=report, number=number, user=cast(User, request.user))
    return redirect("frontend:review_queue_detail", queue_id=queue.pk)


SLICE_PLAN_MODES = [(m, label) for m, label in GenerationMode.choices if m != GenerationMode.COMPOSITE]
SLICE_PLAN_PARENTS = [
    ("train", "the class's training images"),
    ("slice", "this slice's own images (held out: the slice's accuracy after retraining is then optimistic)"),
]


class SlicePlanForm(forms.Form):
    """A synthetic plan from a slice (curation.synthetic.services.report_plans.plan_from_slice fills the rest)."""

    generator = forms.CharField(max_length=500, label="Generator", help_text="diffusers:<hub id or local folder>")
    mode = forms.ChoiceField(choices=SLICE_PLAN_MODES, initial=GenerationMode.IMG2IMG)
    parents = forms.ChoiceField(choices=SLICE_PLAN_PARENTS, initial="train", label="Parents")
    per_class = forms.IntegerField(required=False, min_value=1, max_value=1000, label="Images",
                                   help_text="Empty: twice the slice's size, at least 8.")  # fmt: skip
    steps = forms.IntegerField(required=False, min_value=1, max_value=500, label="Denoising steps")


class SliceEvaluationForm(forms.Form):
    trained_model = forms.ModelChoiceField(queryset=TrainedModel.objects.order_by("-id"), label="Evaluate model")


def _slice_plan_form(request: HttpRequest, data: Any = None) -> SlicePlanForm:
    diffusion = [choice for choice in generator_choices(request.user) if choice.name.startswith("diffusers:")]
    form = SlicePlanForm(data, initial={"generator": default_choice(diffusion)})
    form.generator_choices = diffusion  # type: ignore[attr-defined]
    return form


def _slice_context(request: HttpRequest, report: SliceReport, found: dict, plan_form: SlicePlanForm) -> dict:
    return {
        "report": report, "slice": found, "nav_section": "slices", "can_review": user_can(request.user,
        Capability.CURATE), "plan_form": plan_form,
    }  # fmt: skip


@require_POST
@capability_required(Capability.CURATE)
def slice_synthetic_plan_page(request: HttpRequest, report_id: int, number: int) -> HttpResponse:
    """Turn a slice into a synthetic plan (its class in other classes' surroundings) and start its generation;
    the images wait in review on the batch page, as every batch's."""
    report = _report_or_404(report_id)
    found = slice_get(report, number)
    if found is None:
        raise Http404(f"Report {report_id} has no slice {number}.")
    form = _slice_plan_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            raw = plan_from_slice(report.pk, number, mode=data["mode"], parents=data["parents"])
            raw |= {k: data[k] for k in ("generator", "mode", "per_class", "steps") if data[k] not in (None, "")}
            batch = synthetic_batch_start(
                params=plan_params_validate(**raw), user=cast(User, request.user),
                name=f"Slice #{number} ({found['class']}) of failure-slice report {report.pk}",
                plan_source="slice_report", report_id=report.pk, slice_number=number,
            )  # fmt: skip
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Batch {batch.pk} planned with {len(batch.plan)} images; generating.")
            return redirect("frontend:synthetic_batch_detail", batch.pk)
    context = _slice_context(request, report, found, form)
    return render(request, "frontend/slices/slice_detail.html", context, status=400)


@require_POST
@capability_required(Capability.RUN_GPU_JOBS)
def slice_evaluation_start_page(request: HttpRequest, report_id: int) -> HttpResponse:
    """Evaluate a model (clean suite) on the report's version with the report's slices as groups; opens the run."""
    report = _report_or_404(report_id)
    form = SliceEvaluationForm(request.POST)
    if form.is_valid():
        try:
            run = evaluation_run_create(
                trained_model=form.cleaned_data["trained_model"], version=report.version, suites=["clean"],
                params={"split": report.split, "slice_reports": [report.pk]}, requested_by=cast(User, request.user),
            )  # fmt: skip
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect("frontend:evaluation_report", run.pk)
    context = _report_context(request, report, SliceScoreForm())
    context["evaluation_form"] = form
    return render(request, "frontend/slices/slice_report.html", context, status=400)
