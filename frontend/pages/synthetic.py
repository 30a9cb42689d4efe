"""Synthetic counter-example pages: batches, the plan form, a batch's review grid, and the keyboard review.

The review page shows one generated image at a time (`frontend/synthetic/_image.html`, returned alone
for `?partial=1`); synthetic.js records decisions through the JSON API (/api/synthetic-images/…/review/),
so the page and scripts share one set of rules. Generating, reviewing and applying need `curate`;
reading needs `view`.
"""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required
from curation.synthetic.models import GenerationMode, SyntheticBatch
from curation.synthetic.selectors import (
    synthetic_batch_counts,
    synthetic_batch_get,
    synthetic_images_of_batch,
    synthetic_review_next,
)
from curation.synthetic.selectors import synthetic_batch_list as batches_select
from curation.synthetic.services.apply import synthetic_batch_apply
from curation.synthetic.services.plans import DEFAULT_CONTEXTS, PlanParams
from curation.synthetic.services.review import synthetic_images_review_bulk
from curation.synthetic.services.submit import synthetic_batch_start
from frontend.forms import SyntheticApplyForm, SyntheticBulkForm, SyntheticFilterForm, SyntheticPlanForm
from frontend.htmx import render_partial, wants_partial
from frontend.model_choices import clip_encoder_choices, generator_choices
from frontend.selectors import VERSION_CHOICES, finished_spurious_reports, version_choices
from robustness.selectors import trained_model_list

IMAGES_SHOWN = 300


def _batch_or_404(batch_id: int) -> SyntheticBatch:
    batch = synthetic_batch_get(batch_id)
    if batch is None:
        raise Http404("No such synthetic batch.")
    return batch


@capability_required(Capability.VIEW)
def synthetic_batch_list(request: HttpRequest) -> HttpResponse:
    """Batches newest first, with review counts."""
    batches = batches_select()[:200]
    return render(request, "frontend/synthetic/batch_list.html", {"batches": batches, "nav_section": "synthetic"})


@capability_required(Capability.CURATE)
def synthetic_batch_new(request: HttpRequest) -> HttpResponse:
    """The plan form (every default shown); POST plans the batch and starts its job."""
    # The defaults as the fields show them: contexts one per line (not the list's repr), no avoid lines.
    form: dict[str, Any] = {**PlanParams(version_id=0, mode="").__dict__, "contexts": "\n".join(DEFAULT_CONTEXTS)}
    form["avoid"] = ""
    form["version"] = request.GET.get("version", "")
    form["report"] = request.GET.get("report", "")
    error = ""
    if request.method == "POST":
        form.update(request.POST.dict())
        plan = SyntheticPlanForm(request.POST)
        plan.is_valid()  # every field is taken as posted: plan_params() and the service check them
        try:
            report_id = plan.report_id()
            batch = synthetic_batch_start(
                params=plan.plan_params(),
                user=cast(User, request.user),
                name=plan.cleaned_data["name"],
                plan_source="spurious_report" if report_id else "manual",
                report_id=report_id,
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"Batch {batch.pk} planned with {len(batch.plan)} images; generating.")
            return redirect("frontend:synthetic_batch_detail", batch.pk)
    context = {"form": form, "error": error, "versions": version_choices(), "modes": GenerationMode.choices}
    context["reports"] = finished_spurious_reports()
    context |= {
        "generators": generator_choices(request.user),
        "clip_encoders": clip_encoder_choices(request.user),
        "trained_models": trained_model_list()[:VERSION_CHOICES],
        "diffusion_modes": " ".join(m for m in GenerationMode.values if m != GenerationMode.COMPOSITE),
    }
    return render(request, "frontend/synthetic/batch_new.html", {**context, "nav_section": "synthetic"})


@capability_required(Capability.VIEW)
def synthetic_batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A batch: settings, job progress (a partial polled until the job ends), counts and the image grid."""
    batch = _batch_or_404(batch_id)
    filters = SyntheticFilterForm(request.GET)
    filters.is_valid()  # unknown values mean "all"
    wanted, flagged = filters.cleaned_data["status"], filters.cleaned_data["flagged"]
    context = {
        "batch": batch,
        "counts": synthetic_batch_counts(batch),
        "job": batch.job,
        "images": synthetic_images_of_batch(batch, status=wanted, flagged=flagged)[:IMAGES_SHOWN],
        "status_filter": wanted or "",
        "flagged_filter": request.GET.get("flagged", ""),
        "nav_section": "synthetic",
    }
    return render_partial(request, "frontend/synthetic/batch_detail.html", "frontend/synthetic/_progress.html", context)


@require_POST
@capability_required(Capability.CURATE)
def synthetic_batch_bulk(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One decision for the ticked images, or for every pending (optionally unflagged) image."""
    batch = _batch_or_404(batch_id)
    form = SyntheticBulkForm(request.POST)
    form.is_valid()  # every field is lenient: the service refuses a decision it does not know
    try:
        changed = synthetic_images_review_bulk(batch=batch, user=cast(User, request.user), **form.service_kwargs())
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        decision = form.cleaned_data["decision"]
        messages.success(request, f"{changed} image{'s' if changed != 1 else ''} marked {decision}.")
    return redirect("frontend:synthetic_batch_detail", batch.pk)


@require_POST
@capability_required(Capability.CURATE)
def synthetic_batch_apply_page(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Make the new version with the approved images (train split by default)."""
    batch = _batch_or_404(batch_id)
    form = SyntheticApplyForm(request.POST)
    form.is_valid()  # the service checks the split
    try:
        version = synthetic_batch_apply(batch=batch, user=cast(User, request.user), split=form.cleaned_data["split"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:synthetic_batch_detail", batch.pk)
    messages.success(
        request, f"Version {version.number} made with {version.operation_params['added']} synthetic images."
    )
    return redirect("frontend:sample_grid", version.dataset_id, version.number)


@capability_required(Capability.CURATE)
def synthetic_batch_review(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One pending image at a time (`?after=<position>` for the next); keys in synthetic.js."""
    batch = _batch_or_404(batch_id)
    after = int(request.GET["after"]) if request.GET.get("after", "").lstrip("-").isdigit() else -1
    image = synthetic_review_next(batch, after_position=after)
    context = {"batch": batch, "image": image, "counts": synthetic_batch_counts(batch), "nav_section": "synthetic"}
    if wants_partial(request):
        return render(request, "frontend/synthetic/_image.html", context)
    context["next_url"] = reverse("frontend:synthetic_batch_review", args=[batch.pk])
    return render(request, "frontend/synthetic/batch_review.html", context)
