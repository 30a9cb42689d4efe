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
from curation.models import DatasetVersion
from curation.synthetic.models import GenerationMode, ReviewStatus, SyntheticBatch
from curation.synthetic.selectors import (
    synthetic_batch_counts,
    synthetic_batch_get,
    synthetic_images_of_batch,
    synthetic_review_next,
)
from curation.synthetic.selectors import synthetic_batch_list as batches_select
from curation.synthetic.services.apply import synthetic_batch_apply
from curation.synthetic.services.plans import DEFAULT_CONTEXTS, PlanParams, plan_params_validate
from curation.synthetic.services.report_plans import avoid_from_spurious_report
from curation.synthetic.services.review import synthetic_images_review_bulk
from curation.synthetic.services.submit import synthetic_batch_start
from frontend.model_choices import clip_encoder_choices, generator_choices
from robustness.selectors import trained_model_list

IMAGES_SHOWN = 300
VERSION_CHOICES = 100


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


def _avoid_parse(text: str) -> dict[str, list[str]]:
    """Lines `class: term, term` → {class: [terms]}."""
    avoid: dict[str, list[str]] = {}
    for line in text.splitlines():
        cls, sep, terms = line.partition(":")
        if not line.strip():
            continue
        if not sep or not cls.strip():
            raise ApplicationError(f"Avoid lines read 'class: term, term' (got {line.strip()!r}).")
        avoid.setdefault(cls.strip(), []).extend(t.strip() for t in terms.split(",") if t.strip())
    return avoid


def _number(text: str | None, kind: type) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ApplicationError(f"{text!r} is not a number.", code="invalid_params") from None


def _params_from_form(data: Any, report_id: int | None) -> PlanParams:
    contexts = [c.strip() for c in (data.get("contexts") or "").splitlines() if c.strip()]
    avoid = _avoid_parse(data.get("avoid") or "")
    if report_id is not None:
        avoid = {**avoid_from_spurious_report(report_id), **avoid}
    return plan_params_validate(
        version_id=_number(data.get("version"), int), mode=data.get("mode"),
        generator=(data.get("generator") or "").strip() or None, per_class=_number(data.get("per_class"), int),
        seed=_number(data.get("seed"), int), steps=_number(data.get("steps"), int),
        guidance=_number(data.get("guidance"), float), strength=_number(data.get("strength"), float),
        negative_prompt=data.get("negative_prompt"), contexts=contexts or None,
        avoid=avoid, flag_model_id=_number(data.get("flag_model"), int),
        flag_encoder=(data.get("flag_encoder") or "").strip() or None,
    )  # fmt: skip


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
        try:
            report_id = _number(request.POST.get("report"), int)
            batch = synthetic_batch_start(
                params=_params_from_form(request.POST, report_id), user=cast(User, request.user),
                name=request.POST.get("name", ""), plan_source="spurious_report" if report_id else "manual",
                report_id=report_id,
            )  # fmt: skip
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"Batch {batch.pk} planned with {len(batch.plan)} images; generating.")
            return redirect("frontend:synthetic_batch_detail", batch.pk)
    versions = DatasetVersion.objects.select_related("dataset").order_by("-id")[:VERSION_CHOICES]
    context = {"form": form, "error": error, "versions": versions, "modes": GenerationMode.choices}
    context["reports"] = _finished_reports()
    context |= {
        "generators": generator_choices(request.user),
        "clip_encoders": clip_encoder_choices(request.user),
        "trained_models": trained_model_list()[:VERSION_CHOICES],
        "diffusion_modes": " ".join(m for m in GenerationMode.values if m != GenerationMode.COMPOSITE),
    }
    return render(request, "frontend/synthetic/batch_new.html", {**context, "nav_section": "synthetic"})


def _finished_reports() -> list[Any]:
    """Spurious-feature reports with results, newest first (the form offers them as avoid lists)."""
    from explain.spurious.models import SpuriousReport

    reports = SpuriousReport.objects.select_related("version__dataset", "trained_model").exclude(results={})
    return list(reports.order_by("-id")[:VERSION_CHOICES])


@capability_required(Capability.VIEW)
def synthetic_batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A batch: settings, job progress (a partial polled until the job ends), counts and the image grid."""
    batch = _batch_or_404(batch_id)
    wanted = request.GET.get("status") if request.GET.get("status") in ReviewStatus.values else None
    flagged = {"1": True, "0": False}.get(request.GET.get("flagged", ""))
    context = {
        "batch": batch,
        "counts": synthetic_batch_counts(batch),
        "job": batch.job,
        "images": synthetic_images_of_batch(batch, status=wanted, flagged=flagged)[:IMAGES_SHOWN],
        "status_filter": wanted or "",
        "flagged_filter": request.GET.get("flagged", ""),
        "nav_section": "synthetic",
    }
    if request.GET.get("partial") == "progress":
        return render(request, "frontend/synthetic/_progress.html", context)
    return render(request, "frontend/synthetic/batch_detail.html", context)


@require_POST
@capability_required(Capability.CURATE)
def synthetic_batch_bulk(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One decision for the ticked images, or for every pending (optionally unflagged) image."""
    batch = _batch_or_404(batch_id)
    ids = [int(v) for v in request.POST.getlist("images") if v.isdigit()]
    scope = request.POST.get("scope", "selected")
    try:
        changed = synthetic_images_review_bulk(
            batch=batch, decision=request.POST.get("decision", ""), user=cast(User, request.user),
            image_ids=ids if scope == "selected" else None, only_pending=scope != "selected",
            flagged=False if scope == "unflagged" else None,
        )  # fmt: skip
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{changed} image{'s' if changed != 1 else ''} marked {request.POST['decision']}.")
    return redirect("frontend:synthetic_batch_detail", batch.pk)


@require_POST
@capability_required(Capability.CURATE)
def synthetic_batch_apply_page(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Make the new version with the approved images (train split by default)."""
    batch = _batch_or_404(batch_id)
    try:
        version = synthetic_batch_apply(
            batch=batch, user=cast(User, request.user), split=request.POST.get("split", "train")
        )
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
    if request.GET.get("partial") == "1":
        return render(request, "frontend/synthetic/_image.html", context)
    context["next_url"] = reverse("frontend:synthetic_batch_review", args=[batch.pk])
    return render(request, "frontend/synthetic/batch_review.html", context)
