# Over 300 lines: one page module per area (docs/ARCHITECTURE.md §14): queues, creating one, progress and the review
# page.
"""Review pages: queues, creating one (and starting label proposals), a queue's progress and agreement,
and the keyboard-first review page of one item.

The review page's item is the named partial `frontend/review/_item.html`; `?partial=1` returns it
alone, which review.js uses to prefetch the next item and to swap it in without a page load. Votes,
submit, skip and undo go through the JSON API (/api/review-items/…, /api/review-queues/…), so the page
and scripts share one set of rules. Reviewers see items of the queues they are assigned to only.
"""

from typing import Any, cast
from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required, user_can
from curation.embeddings.models import EmbeddingSetStatus
from curation.embeddings.selectors import embedding_set_list
from curation.models import DatasetVersion, Split
from curation.pruning.selectors.clusters import cluster_runs_of_version
from curation.review.models import Aggregation, AssignmentState, ProposalSource, QueueKind, ReviewQueue
from curation.review.selectors import (
    item_view,
    proposal_run_get,
    proposal_runs_of_version,
    queue_agreement,
    queue_is_assigned,
    queue_latest_votes,
    queue_progress,
    review_item_get,
    review_queue_get,
)
from curation.review.selectors import review_queue_list as queues_select
from curation.review.services.apply import review_queue_apply
from curation.review.services.bulk import review_bulk_label
from curation.review.services.claims import review_claim_page_take
from curation.review.services.proposal_params import STARTABLE_SOURCES, proposal_params_validate
from curation.review.services.proposals import proposal_run_submit
from curation.review.services.queues import review_disagreement_queue_create, review_queue_reviewers_set
from curation.review.services.queues import review_queue_create as queue_create
from curation.review.services.taxonomy import taxonomy_change
from curation.review.services.votes import review_item_next
from curation.selectors import dataset_get
from frontend.forms import BulkLabelForm, QueueApplyForm, QueueCreateForm, ReviewersForm, TaxonomyChangeForm
from frontend.htmx import wants_partial
from frontend.pages.refusals import refusal_message
from frontend.pages.review_forms import ProposalForm, proposal_parameter_fields
from frontend.selectors import (
    VERSION_CHOICES,
    review_queue_overview,
    reviewer_choices,
    taxonomy_changes,
    version_choices,
    version_get,
)
from robustness.selectors import trained_model_list

ITEMS_SHOWN = 50


def _queue_or_404(queue_id: int) -> ReviewQueue:
    queue = review_queue_get(queue_id)
    if queue is None:
        raise Http404("No such review queue.")
    return queue


@capability_required(Capability.VIEW)
def review_queue_list(request: HttpRequest) -> HttpResponse:
    """Queues assigned to the caller first, then every queue."""
    context = {
        "assigned": list(queues_select(reviewer=request.user)[:100]),
        "queues": list(queues_select()[:200]),
        "nav_section": "review",
    }
    return render(request, "frontend/review/queue_list.html", context)


def _selected_version(request: HttpRequest) -> DatasetVersion | None:
    return version_get(request.POST.get("version") or request.GET.get("version") or "")


@capability_required(Capability.CURATE)
def review_queue_create(request: HttpRequest) -> HttpResponse:
    """The new-queue form (a version, a filter, reviewers); `?version=` preselects a version and lists its
    proposal runs, with a form that starts another."""
    version = _selected_version(request)
    error = None
    if request.method == "POST":
        form = QueueCreateForm(request.POST)
        try:
            if version is None:
                raise ApplicationError("Choose a version.", code="invalid_parameter")
            if not form.is_valid():
                raise ApplicationError(form.first_error(), code="invalid_parameter")
            data = form.cleaned_data
            queue = queue_create(
                version=version, name=data["name"], filter=form.queue_filter(), kind=data["kind"],
                reviewers_per_item=data["reviewers_per_item"], quorum=data["quorum"], aggregation=data["aggregation"],
                reviewer_ids=data["reviewers"], user=cast(User, request.user),
            )  # fmt: skip
        except (ApplicationError, ValueError) as exc:
            error = getattr(exc, "message", str(exc))
        else:
            messages.success(request, f"Queue {queue.name!r} created with {queue.item_count} items.")
            return redirect("frontend:review_queue_detail", queue_id=queue.pk)
    context = {
        "version": version,
        "versions": version_choices(VERSION_CHOICES),
        "proposal_runs": proposal_runs_of_version(version) if version else [],
        **_proposal_choices(request, version),
        "sources": ProposalSource.choices,
        "startable_sources": STARTABLE_SOURCES,
        "proposal_parameters": proposal_parameter_fields(ProposalForm()),
        "splits": Split.values,
        "kinds": [(QueueKind.RELABEL, "Relabel review"), (QueueKind.LABELING, "Labeling")],
        "aggregations": Aggregation.choices,
        "reviewer_choices": reviewer_choices(),
        "form": request.POST if request.method == "POST" else {},
        "error": error,
        "nav_section": "review",
    }
    return render(request, "frontend/review/queue_create.html", context, status=400 if error else 200)


def _proposal_choices(request: HttpRequest, version: DatasetVersion | None) -> dict[str, Any]:
    """The rows the proposal and filter forms offer as lists (not id boxes), and the source of the proposal
    run a job page linked to (`?proposal_run=`), ticked in the filter."""
    if version is None:
        return {"embedding_sets": [], "cluster_runs": [], "trained_models": [], "chosen_source": ""}
    linked = request.GET.get("proposal_run", "")
    chosen = proposal_run_get(int(linked)) if linked.isdigit() else None
    return {
        "embedding_sets": embedding_set_list(version_id=version.pk, status=EmbeddingSetStatus.READY)[:50],
        "cluster_runs": cluster_runs_of_version(version)[:50],
        "trained_models": trained_model_list()[:100],
        "chosen_source": chosen.source if chosen is not None and chosen.version_id == version.pk else "",
    }


@require_POST
@capability_required(Capability.CURATE)
def review_proposal_start(request: HttpRequest) -> HttpResponse:
    """Start a proposal job from the new-queue page; on success, go to the job's page."""
    form = ProposalForm(request.POST)
    try:
        if not form.is_valid():
            name, errors = next(iter(form.errors.items()))
            raise ApplicationError(f"{name}: {errors[0]}")
        job = proposal_run_submit(
            params=proposal_params_validate(**form.values()), requested_by=cast(User, request.user)
        )
    except (ApplicationError, ValueError) as exc:
        version = request.POST.get("version", "")
        message = refusal_message(exc) if isinstance(exc, ApplicationError) else f"Invalid parameters: {exc}"
        messages.error(request, message)  # a version with no embeddings: a link to its embed form
        return redirect(f"{reverse('frontend:review_queue_create')}?version={version}")
    messages.success(request, f"Label proposals started (job {job.pk}).")
    return redirect("frontend:job_detail", job_id=job.pk)


@capability_required(Capability.VIEW)
def review_queue_detail(request: HttpRequest, queue_id: int) -> HttpResponse:
    """Progress, proposal truth scores, agreement between reviewers, recent votes, and curator actions."""
    queue = _queue_or_404(queue_id)
    overview = review_queue_overview(queue, items_shown=ITEMS_SHOWN)
    context = {
        "queue": queue,
        "progress": queue_progress(queue),
        "agreement": queue_agreement(queue),
        "truth": (queue.summary or {}).get("truth"),
        "items": overview.items,
        "recent_votes": queue_latest_votes(queue, size=20),
        "is_assigned": queue_is_assigned(queue, request.user),
        "reviewer_choices": reviewer_choices(),
        "assigned_ids": overview.assigned_ids,
        "base_versions": overview.base_versions,
        "disputed": overview.disputed,
        "nav_section": "review",
    }
    return render(request, "frontend/review/queue_detail.html", context)


def _queue_action(request: HttpRequest, queue_id: int, action: Any, success: str) -> HttpResponse:
    queue = _queue_or_404(queue_id)
    try:
        result = action(queue)
    except (ApplicationError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("frontend:review_queue_detail", queue_id=queue.pk)
    messages.success(request, success.format(result=result))
    target = result if isinstance(result, ReviewQueue) else queue
    return redirect("frontend:review_queue_detail", queue_id=target.pk)


@require_POST
@capability_required(Capability.CURATE)
def review_queue_apply_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    form = QueueApplyForm(request.POST)
    base = version_get(form.cleaned_data["base_version"]) if form.is_valid() else None
    return _queue_action(
        request,
        queue_id,
        lambda queue: review_queue_apply(queue=queue, user=cast(User, request.user), base=base),
        "Consensus applied: version v{result.number} created.",
    )


@require_POST
@capability_required(Capability.CURATE)
def review_queue_disagreements_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    reviewer_ids = _reviewer_ids(request)
    return _queue_action(
        request,
        queue_id,
        lambda queue: review_disagreement_queue_create(
            queue=queue, reviewer_ids=reviewer_ids, user=cast(User, request.user)
        ),
        "Disagreement queue created with {result.item_count} items.",
    )


@require_POST
@capability_required(Capability.CURATE)
def review_queue_reviewers_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    reviewer_ids = _reviewer_ids(request)
    return _queue_action(
        request,
        queue_id,
        lambda queue: review_queue_reviewers_set(queue=queue, reviewer_ids=reviewer_ids),
        "Reviewers updated.",
    )


def _reviewer_ids(request: HttpRequest) -> list[int]:
    form = ReviewersForm(request.POST)
    return form.cleaned_data["reviewers"] if form.is_valid() else []


def _require_assigned(queue: ReviewQueue, request: HttpRequest) -> None:
    if not queue_is_assigned(queue, request.user):
        raise PermissionDenied("You are not assigned to this review queue.")


@capability_required(Capability.REVIEW)
def review_work(request: HttpRequest, queue_id: int) -> HttpResponse:
    """Go to the caller's next item in the queue, or say that nothing is left."""
    queue = _queue_or_404(queue_id)
    _require_assigned(queue, request)
    item = review_item_next(queue=queue, reviewer=cast(User, request.user))
    if item is not None:
        return redirect("frontend:review_item", item_id=item.pk)
    context = {"queue": queue, "progress": queue_progress(queue), "nav_section": "review"}
    return render(request, "frontend/review/queue_done.html", context)


@capability_required(Capability.REVIEW)
def review_item(request: HttpRequest, item_id: int) -> HttpResponse:
    """The review page of one item (`?partial=1`: the item partial alone, for prefetching)."""
    item = review_item_get(item_id)
    if item is None:
        raise Http404("No such review item.")
    _require_assigned(item.queue, request)
    if wants_partial(request):
        context = {"view": item_view(item, request.user), "item": item, "queue": item.queue, "nav_section": "review"}
        return render(request, "frontend/review/_item.html", context)
    # A new page draws its token: its claim on the item becomes the page's (claimed now if it has none and the item
    # has room), and so do those its next-item requests are served; its release beacon frees only the page's claims,
    # so an earlier page's late beacon leaves them.
    page = uuid4()
    claimed = review_claim_page_take(item=item, reviewer=cast(User, request.user), page=page)
    view = item_view(item, request.user, assignment_state=AssignmentState.CLAIMED if claimed else None)
    context = {
        "view": view, "item": item, "queue": item.queue, "nav_section": "review",
        "progress": queue_progress(item.queue), "page": page,
    }  # fmt: skip
    return render(request, "frontend/review/review_item.html", context)


@require_POST
@capability_required(Capability.REVIEW)
def review_bulk_label_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    """One vote on a selection of samples (ids pasted from the grid or a lasso on the embedding map)."""
    queue = _queue_or_404(queue_id)
    _require_assigned(queue, request)
    form = BulkLabelForm(request.POST)
    form.is_valid()  # every field is lenient: the service refuses what it cannot use
    data = form.cleaned_data
    try:
        counts = review_bulk_label(
            queue=queue,
            reviewer=cast(User, request.user),
            sample_ids=data["sample_ids"],
            label=data["label"],
            value=data["vote"],
            origin=data["origin"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "Bulk vote: {voted} of {selected} samples, {items_added} items added.".format(**counts)
        )
    return redirect("frontend:review_queue_detail", queue_id=queue.pk)


@capability_required(Capability.VIEW)
def review_taxonomy(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """A dataset's classes and their recorded changes; curators add, rename and merge classes here."""
    dataset = dataset_get(dataset_id)
    if dataset is None:
        raise Http404("No such dataset.")
    if request.method == "POST":
        if not user_can(request.user, Capability.CURATE):
            raise PermissionDenied("Editing the taxonomy needs the 'curate' permission.")
        form = TaxonomyChangeForm(request.POST)
        try:
            if not form.is_valid():
                raise ApplicationError("Choose add, rename or merge.", code="invalid_parameter")
            taxonomy_change(dataset=dataset, user=cast(User, request.user), **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Taxonomy changed.")
        return redirect("frontend:review_taxonomy", dataset_id=dataset.pk)
    context = {"dataset": dataset, "changes": taxonomy_changes(dataset), "nav_section": "review"}
    return render(request, "frontend/review/taxonomy.html", context)
