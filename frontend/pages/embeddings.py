# Over 300 lines: one page module per area (docs/ARCHITECTURE.md §14): sets, similar samples, text search,
# duplicates, the map and its grid.
"""Pages of the embeddings app: sets of a version (and the forms that start embed, duplicates and map
jobs), "more like this" for a sample, text search, a duplicate run's groups, the embedding map, and a
grid of any selection of samples (a map lasso, a duplicate group).

The selection grid is this app's own page rather than new filters on the sample grid: a lasso can
select thousands of samples, which it POSTs (too many for a URL); `?ids=` and `?run=&group=` open
the same grid by link. Reads need VIEW; starting jobs needs CURATE.
"""

import math
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required, user_can
from curation.embeddings.files import CorruptEmbeddingFile
from curation.embeddings.models import EmbeddingSet
from curation.embeddings.selectors import (
    embedding_set_get,
    embedding_set_latest_ready,
    embedding_set_list,
    sample_similar,
    text_search,
)
from curation.embeddings.selectors.duplicates import (
    calibration_figure,
    duplicate_group_get,
    duplicate_group_page,
    duplicate_run_get,
    duplicate_run_list,
    duplicate_similarity_floor,
)
from curation.embeddings.selectors.maps import (
    COLOR_OPTIONS,
    Viewport,
    embedding_map_figure,
    embedding_map_get,
    embedding_map_list,
)
from curation.embeddings.services.duplicate_keep import duplicate_run_keep_one
from curation.embeddings.services.duplicates import duplicate_params_validate, duplicate_run_submit
from curation.embeddings.services.embedding_jobs import embed_params_validate, embedding_set_submit
from curation.embeddings.services.maps import embedding_map_submit, map_params_validate
from curation.models import Dataset, DatasetVersion
from curation.selectors import version_by_number
from frontend.htmx import render_partial, wants_partial
from frontend.model_choices import default_choice, encoder_choices
from frontend.pages.embedding_forms import EmbedForm, duplicates_form_for, form_error, map_form_for
from frontend.selectors import (
    bulk_label_queues,
    member_labels,
    version_choices,
    version_embedding_maps,
    version_selection,
)

SIMILAR_COUNT = 12
SEARCH_COUNT = 24
GROUPS_PER_PAGE = 20
SELECTION_MAX = 5_000
SELECTION_SHOWN = 500


def _version_or_404(dataset_id: int, number: int) -> tuple[Dataset, DatasetVersion]:
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    version = version_by_number(dataset=dataset, number=number)
    if version is None:
        raise Http404("No such version.")
    return dataset, version


def _or_404(row: Any, message: str) -> Any:
    if row is None:
        raise Http404(message)
    return row


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        raise ApplicationError(f"not a number: {value!r}")


@capability_required(Capability.VIEW)
def embedding_set_index(request: HttpRequest) -> HttpResponse:
    """Every embedding set, newest first, and the newest versions, each linking to its embeddings page."""
    context = {"sets": embedding_set_list()[:200], "versions": version_choices(), "nav_section": "embeddings"}
    return render(request, "frontend/embeddings/set_list.html", context)


@capability_required(Capability.VIEW)
@require_http_methods(["GET", "POST"])
def version_embeddings(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """A version's embedding sets, duplicate runs and maps; POST (curators) starts an embed, duplicates
    or map job (`action`) and redirects to the job's page."""
    dataset, version = _version_or_404(dataset_id, number)
    error = ""
    if request.method == "POST":
        if not user_can(request.user, Capability.CURATE):
            return HttpResponse("Starting jobs needs the 'curate' permission.", status=403)
        try:
            job = _start_job(request, version)
            return redirect("frontend:job_detail", job_id=job.pk)
        except ApplicationError as exc:
            error = exc.message
    sets = list(embedding_set_list(version_id=version.pk))
    encoders = encoder_choices(request.user)
    context = {
        "dataset": dataset,
        "version": version,
        "sets": sets,
        "runs": duplicate_run_list(version_id=version.pk)[:50],
        "maps": version_embedding_maps(version),
        "encoder_choices": encoders,
        "embed_form": EmbedForm(request.POST if request.POST.get("action") == "embed" else None),
        "duplicate_forms": [
            (ready, duplicates_form_for(ready.pk), map_form_for(ready.pk)) for ready in sets if ready.is_ready
        ],
        "encoder_default": request.POST.get("encoder") or default_choice(encoders),
        "error": error,
        "nav_section": "embeddings",
    }
    return render(request, "frontend/embeddings/version_embeddings.html", context, status=400 if error else 200)


def _start_job(request: HttpRequest, version: DatasetVersion) -> Any:
    form, user = request.POST, cast(User, request.user)
    action = form.get("action")
    if action == "embed":
        embed = EmbedForm(form)
        if not embed.is_valid():
            raise ApplicationError(form_error(embed))
        params = embed_params_validate(version_id=version.pk, **embed.values())
        return embedding_set_submit(params=params, requested_by=user)
    embedding_set = EmbeddingSet.objects.filter(pk=form.get("embedding_set") or 0, version=version).first()
    if embedding_set is None:
        raise ApplicationError("choose an embedding set of this version")
    if action == "duplicates":
        chosen = duplicates_form_for(embedding_set.pk, form)
        if not chosen.is_valid():
            raise ApplicationError(form_error(chosen))
        duplicates = duplicate_params_validate(**{**chosen.values(), "embedding_set_id": embedding_set.pk})
        return duplicate_run_submit(params=duplicates, requested_by=user)
    if action == "map":
        chosen = map_form_for(embedding_set.pk, form)
        if not chosen.is_valid():
            raise ApplicationError(form_error(chosen))
        mapped = map_params_validate(embedding_set_id=embedding_set.pk, **chosen.values())
        return embedding_map_submit(params=mapped, requested_by=user)
    raise ApplicationError(f"unknown action {action!r}")


@capability_required(Capability.VIEW)
def sample_similar_view(request: HttpRequest, dataset_id: int, number: int, sample_id: int) -> HttpResponse:
    """More like this: the sample's nearest neighbours in the version's newest ready set (or `?set=`).
    htmx requests (the block on the sample page) get the partial only."""
    dataset, version = _version_or_404(dataset_id, number)
    chosen = request.GET.get("set")
    if chosen and chosen.isdigit():
        embedding_set = embedding_set_get(int(chosen))
        if embedding_set is None or embedding_set.version_id != version.pk:
            raise Http404("No such embedding set of this version.")
    else:
        embedding_set = embedding_set_latest_ready(version_id=version.pk)
    context: dict[str, Any] = {"dataset": dataset, "version": version, "sample_id": sample_id, "set": embedding_set}
    if embedding_set is not None:
        try:
            found = sample_similar(embedding_set=embedding_set, sample_id=sample_id, k=SIMILAR_COUNT)
            context["neighbours"] = _with_members(version, found)
        except ApplicationError as exc:
            context["error"] = exc.message
    context["nav_section"] = "datasets"
    return render_partial(request, "frontend/embeddings/similar.html", "frontend/embeddings/_similar.html", context)


def _with_members(version: DatasetVersion, found: list[Any]) -> list[dict[str, Any]]:
    labels = member_labels(version, [n.sample_id for n in found])
    return [{"sample_id": n.sample_id, "score": n.score, "label": labels.get(n.sample_id, "")} for n in found]


@capability_required(Capability.VIEW)
def embedding_text_search(request: HttpRequest, embedding_set_id: int) -> HttpResponse:
    """Text-to-image search in one set (`?q=`)."""
    embedding_set = _or_404(embedding_set_get(embedding_set_id), "No such embedding set.")
    query = request.GET.get("q", "").strip()[:500]
    context: dict[str, Any] = {"set": embedding_set, "query": query, "nav_section": "embeddings"}
    context |= {"dataset": embedding_set.version.dataset, "version": embedding_set.version}
    if query:
        try:
            found = text_search(embedding_set=embedding_set, text=query, k=SEARCH_COUNT)
            context["results"] = _with_members(embedding_set.version, found)
        except ApplicationError as exc:
            context["error"] = exc.message
    return render(request, "frontend/embeddings/search.html", context)


@capability_required(Capability.VIEW)
def duplicate_run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's groups side by side (keyset pages; htmx "Load more" gets the next page only), the pair
    similarities, the calibration histograms and the truth metrics."""
    run = _or_404(duplicate_run_get(run_id), "No such duplicate run.")
    kind = request.GET.get("kind") if request.GET.get("kind") in ("near", "semantic", "exact") else None
    after = request.GET.get("after")
    floor = duplicate_similarity_floor(run)
    min_similarity = _min_similarity(request.GET.get("min_similarity"), floor)
    page = duplicate_group_page(
        run=run,
        kind=kind,
        after_number=int(after) if after and after.isdigit() else None,
        size=GROUPS_PER_PAGE,
        min_similarity=min_similarity,
    )
    context = {
        "run": run,
        "page": page,
        "kind": kind or "",
        "version": run.version,
        "dataset": run.version.dataset,
        "similarity_floor": floor,
        "min_similarity": min_similarity,
    }
    if wants_partial(request):
        return render(request, "frontend/embeddings/_groups_page.html", context)
    context |= {"calibration_figure": calibration_figure(run=run), "nav_section": "embeddings"}
    return render(request, "frontend/embeddings/duplicate_run.html", context)


def _min_similarity(value: str | None, floor: float) -> float | None:
    """The threshold slider's cosine, within [floor, 1]; None at the floor (the groups as stored) or unreadable."""
    try:
        chosen = float(value) if value else None
    except ValueError:
        return None
    if chosen is None or not math.isfinite(chosen) or chosen <= floor:
        return None
    return min(chosen, 1.0)


@require_POST
@capability_required(Capability.CURATE)
def duplicate_run_keep_one_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """A new version keeping one sample of each near-duplicate group (the other copies left out)."""
    run = _or_404(duplicate_run_get(run_id), "No such duplicate run.")
    try:
        child = duplicate_run_keep_one(run=run, user=cast(User, request.user))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:duplicate_run", run_id=run.pk)
    removed = run.version.sample_count - child.sample_count
    messages.success(request, f"v{child.number} keeps one of each near-duplicate group ({removed} copies left out).")
    return redirect(f"{reverse('frontend:dataset_detail', args=[child.dataset_id])}?version={child.number}")


@capability_required(Capability.VIEW)
def embedding_map(request: HttpRequest, map_id: int) -> HttpResponse:
    """The WebGL map: colour by label, split, cluster or duplicate group; hover shows the thumbnail; a
    lasso or box selection opens the selection grid; zooming asks for the points of the view."""
    embedding_map = _or_404(embedding_map_get(map_id), "No such embedding map.")
    version = embedding_map.embedding_set.version
    try:
        figure = embedding_map_figure(embedding_map=embedding_map, color_by=request.GET.get("color", "label"))
    except (FileNotFoundError, CorruptEmbeddingFile) as exc:
        context = {"map": embedding_map, "version": version, "dataset": version.dataset, "error": str(exc)}
        return render(request, "frontend/embeddings/map.html", context, status=409)
    context = {
        "map": embedding_map,
        "figure": figure,
        "color_by": figure["meta"]["color_by"],
        "color_options": COLOR_OPTIONS,
        "version": version,
        "dataset": version.dataset,
        "other_maps": embedding_map_list(embedding_set_id=embedding_map.embedding_set_id)[:10],
        "nav_section": "embeddings",
    }
    return render(request, "frontend/embeddings/map.html", context)


@capability_required(Capability.VIEW)
def embedding_map_points(request: HttpRequest, map_id: int) -> JsonResponse:
    """The figure of a view (`x0, x1, y0, y1`; all four or none) as JSON, for zooming."""
    embedding_map = _or_404(embedding_map_get(map_id), "No such embedding map.")
    bounds = [_float_or_none(request.GET.get(name)) for name in ("x0", "x1", "y0", "y1")]
    viewport = Viewport(*cast(list[float], bounds)) if all(b is not None for b in bounds) else None
    try:
        figure = embedding_map_figure(
            embedding_map=embedding_map, color_by=request.GET.get("color", "label"), viewport=viewport
        )
    except (FileNotFoundError, CorruptEmbeddingFile) as exc:
        return JsonResponse({"error": {"code": "map_unavailable", "message": str(exc)}}, status=409)
    return JsonResponse(figure)


@capability_required(Capability.VIEW)
@require_http_methods(["GET", "POST"])
def sample_selection(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """Thumbnails of a selection of the version's samples: `ids` (comma-separated, GET or POST: a map lasso)
    or `run` + `group` (a duplicate group). Ids outside the version are left out."""
    dataset, version = _version_or_404(dataset_id, number)
    source = request.POST if request.method == "POST" else request.GET
    ids, title = _selection_ids(source, version)
    selection = version_selection(version, ids[:SELECTION_MAX], shown=SELECTION_SHOWN)
    member_ids = selection.member_ids
    context = {
        "dataset": dataset,
        "version": version,
        "members": selection.members,
        "requested": len(ids),
        "matching": len(member_ids),
        "title": title,
        "shown_max": SELECTION_SHOWN,
        "nav_section": "datasets",
        "bulk_queues": bulk_label_queues(request.user, version),
        "can_curate": user_can(request.user, Capability.CURATE),
        # The page seeds the version's grid selection (selection.js) with the members it shows.
        "seed_ids": ",".join(str(i) for i in member_ids),
        "seed_origin": "bulk_map" if source.get("origin") == "bulk_map" else "bulk_grid",
    }
    return render(request, "frontend/embeddings/selection.html", context)


def _selection_ids(source: Any, version: DatasetVersion) -> tuple[list[int], str]:
    run_id, number = source.get("run", ""), source.get("group", "")
    if run_id.isdigit() and number.isdigit():
        run = duplicate_run_get(int(run_id))
        if run is None or run.version_id != version.pk:
            raise Http404("No such duplicate run of this version.")
        group = duplicate_group_get(run=run, number=int(number))
        if group is None:
            raise Http404("No such group.")
        return [int(i) for i in group.sample_ids], f"{group.kind} duplicate group {group.number} of run {run.pk}"
    raw = source.get("ids", "")
    ids = [int(part) for part in raw.replace(" ", ",").split(",") if part.strip().isdigit()]
    return list(dict.fromkeys(ids)), "selected samples"
