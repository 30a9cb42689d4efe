"""Review pages: queues, creating one (and starting label proposals), a queue's progress and agreement,
and the keyboard-first review page of one item.

The review page's item is the named partial `frontend/review/_item.html`; `?partial=1` returns it
alone, which review.js uses to prefetch the next item and to swap it in without a page load. Votes,
submit, skip and undo go through the JSON API (/api/review-items/…, /api/review-queues/…), so the page
and scripts share one set of rules. Reviewers see items of the queues they are assigned to only.
"""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import get_user_model
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
from curation.models import Dataset, DatasetVersion, Split
from curation.pruning.selectors.clusters import cluster_runs_of_version
from curation.review.models import Aggregation, ItemState, ProposalSource, QueueKind, ReviewQueue, TaxonomyChange
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
from curation.review.services.proposal_params import STARTABLE_SOURCES, proposal_params_validate
from curation.review.services.proposals import proposal_run_submit
from curation.review.services.queues import review_disagreement_queue_create, review_queue_reviewers_set
from curation.review.services.queues import review_queue_create as queue_create
from curation.review.services.taxonomy import taxonomy_class_add, taxonomy_class_rename, taxonomy_classes_merge
from curation.review.services.votes import review_item_next
from frontend.pages.review_forms import ProposalForm, proposal_parameter_fields
from robustness.selectors import trained_model_list

ITEMS_SHOWN = 50
VERSION_CHOICES = 100


def _queue_or_404(queue_id: int) -> ReviewQueue:
    queue = review_queue_get(queue_id)
    if queue is None:
        raise Http404("No such review queue.")
    return queue


def _reviewer_choices() -> list[Any]:
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return [u for u in users if user_can(u, Capability.REVIEW)]


@capability_required(Capability.VIEW)
def review_queue_list(request: HttpRequest) -> HttpResponse:
    """Queues assigned to the caller first, then every queue."""
    context = {
        "assigned": list(queues_select(reviewer=request.user)[:100]),
        "queues": list(queues_select()[:200]),
        "nav_section": "review",
    }
    return render(request, "frontend/review/queue_list.html", context)


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.replace(",", " ").split() if part.isdigit()]


def _float_or_none(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        raise ApplicationError(f"{text!r} is not a number.", code="invalid_filter")


def _filter_from_form(data: Any) -> dict[str, Any]:
    flt: dict[str, Any] = {
        "sources": data.getlist("sources"),
        "min_issue_score": _float_or_none(data.get("min_issue_score", "")),
        "min_score": _float_or_none(data.get("min_score", "")),
        "classes": [c.strip() for c in data.get("classes", "").split(",") if c.strip()],
        "unlabeled": data.get("unlabeled") == "on",
        "limit": int(data.get("limit") or 500),
    }
    if data.get("cluster_run", "").strip():
        flt["cluster_run"] = int(data["cluster_run"]) if data["cluster_run"].strip().isdigit() else -1
        flt["clusters"] = _int_list(data.get("clusters", ""))
    return {key: value for key, value in flt.items() if value not in (None, [], False)}


def _selected_version(request: HttpRequest) -> DatasetVersion | None:
    version_id = request.POST.get("version") or request.GET.get("version") or ""
    if not str(version_id).isdigit():
        return None
    return DatasetVersion.objects.select_related("dataset").filter(pk=int(version_id)).first()


@capability_required(Capability.CURATE)
def review_queue_create(request: HttpRequest) -> HttpResponse:
    """The new-queue form (a version, a filter, reviewers); `?version=` preselects a version and lists its
    proposal runs, with a form that starts another."""
    version = _selected_version(request)
    error = None
    if request.method == "POST":
        try:
            if version is None:
                raise ApplicationError("Choose a version.", code="invalid_parameter")
            queue = queue_create(
                version=version,
                name=request.POST.get("name", ""),
                filter=_filter_from_form(request.POST),
                kind=request.POST.get("kind", QueueKind.RELABEL),
                reviewers_per_item=int(request.POST.get("reviewers_per_item") or 1),
                quorum=int(request.POST["quorum"]) if request.POST.get("quorum", "").isdigit() else None,
                aggregation=request.POST.get("aggregation", Aggregation.AUTO),
                reviewer_ids=[int(i) for i in request.POST.getlist("reviewers") if i.isdigit()],
                user=cast(User, request.user),
            )
        except (ApplicationError, ValueError) as exc:
            error = getattr(exc, "message", str(exc))
        else:
            messages.success(request, f"Queue {queue.name!r} created with {queue.item_count} items.")
            return redirect("frontend:review_queue_detail", queue_id=queue.pk)
    context = {
        "version": version,
        "versions": DatasetVersion.objects.select_related("dataset").order_by("-id")[:VERSION_CHOICES],
        "proposal_runs": proposal_runs_of_version(version) if version else [],
        **_proposal_choices(request, version),
        "sources": ProposalSource.choices,
        "startable_sources": STARTABLE_SOURCES,
        "proposal_parameters": proposal_parameter_fields(ProposalForm()),
        "splits": Split.values,
        "kinds": [(QueueKind.RELABEL, "Relabel review"), (QueueKind.LABELING, "Labeling")],
        "aggregations": Aggregation.choices,
        "reviewer_choices": _reviewer_choices(),
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
        messages.error(request, getattr(exc, "message", f"Invalid parameters: {exc}"))
        version = request.POST.get("version", "")
        return redirect(f"{reverse('frontend:review_queue_create')}?version={version}")
    messages.success(request, f"Label proposals started (job {job.pk}).")
    return redirect("frontend:job_detail", job_id=job.pk)


@capability_required(Capability.VIEW)
def review_queue_detail(request: HttpRequest, queue_id: int) -> HttpResponse:
    """Progress, proposal truth scores, agreement between reviewers, recent votes, and curator actions."""
    queue = _queue_or_404(queue_id)
    items = queue.items.select_related("sample").order_by("position")
    context = {
        "queue": queue,
        "progress": queue_progress(queue),
        "agreement": queue_agreement(queue),
        "truth": (queue.summary or {}).get("truth"),
        "items": list(items[:ITEMS_SHOWN]),
        "recent_votes": queue_latest_votes(queue, size=20),
        "is_assigned": queue_is_assigned(queue, request.user),
        "reviewer_choices": _reviewer_choices(),
        "assigned_ids": set(queue.reviewers.values_list("pk", flat=True)),
        "base_versions": queue.version.dataset.versions.order_by("-number"),
        "disputed": queue.items.filter(state=ItemState.DISPUTED).count(),
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
    base_id = request.POST.get("base_version", "")
    base = DatasetVersion.objects.filter(pk=int(base_id)).first() if base_id.isdigit() else None
    return _queue_action(
        request,
        queue_id,
        lambda queue: review_queue_apply(queue=queue, user=cast(User, request.user), base=base),
        "Consensus applied: version v{result.number} created.",
    )


@require_POST
@capability_required(Capability.CURATE)
def review_queue_disagreements_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    reviewer_ids = [int(i) for i in request.POST.getlist("reviewers") if i.isdigit()]
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
    reviewer_ids = [int(i) for i in request.POST.getlist("reviewers") if i.isdigit()]
    return _queue_action(
        request,
        queue_id,
        lambda queue: review_queue_reviewers_set(queue=queue, reviewer_ids=reviewer_ids),
        "Reviewers updated.",
    )


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
    view = item_view(item, request.user)
    context = {"view": view, "item": item, "queue": item.queue, "nav_section": "review"}
    if request.GET.get("partial"):
        return render(request, "frontend/review/_item.html", context)
    context["progress"] = queue_progress(item.queue)
    return render(request, "frontend/review/review_item.html", context)


@require_POST
@capability_required(Capability.REVIEW)
def review_bulk_label_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    """One vote on a selection of samples (ids pasted from the grid or a lasso on the embedding map)."""
    queue = _queue_or_404(queue_id)
    _require_assigned(queue, request)
    try:
        counts = review_bulk_label(
            queue=queue,
            reviewer=cast(User, request.user),
            sample_ids=_int_list(request.POST.get("sample_ids", "")),
            label=request.POST.get("label", ""),
            value=request.POST.get("vote", "yes"),
            origin=request.POST.get("origin", "bulk_grid"),
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
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        raise Http404("No such dataset.")
    if request.method == "POST":
        if not user_can(request.user, Capability.CURATE):
            raise PermissionDenied("Editing the taxonomy needs the 'curate' permission.")
        try:
            _taxonomy_change(dataset, request)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Taxonomy changed.")
        return redirect("frontend:review_taxonomy", dataset_id=dataset.pk)
    changes = TaxonomyChange.objects.filter(dataset=dataset).select_related("changed_by").order_by("-id")
    context = {"dataset": dataset, "changes": changes, "nav_section": "review"}
    return render(request, "frontend/review/taxonomy.html", context)


def _taxonomy_change(dataset: Dataset, request: HttpRequest) -> None:
    action, user = request.POST.get("action", ""), cast(User, request.user)
    if action == "add":
        taxonomy_class_add(dataset=dataset, name=request.POST.get("name", ""), user=user)
    elif action == "rename":
        taxonomy_class_rename(
            dataset=dataset, name=request.POST.get("name", ""), new_name=request.POST.get("new_name", ""), user=user
        )
    elif action == "merge":
        taxonomy_classes_merge(
            dataset=dataset, names=request.POST.getlist("names"), into=request.POST.get("into", ""), user=user
        )
    else:
        raise ApplicationError("Choose add, rename or merge.", code="invalid_parameter")
