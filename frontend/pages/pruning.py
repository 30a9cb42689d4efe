"""Clusters, pruning and version diff pages (docs/ARCHITECTURE.md §7).

Reading needs VIEW; starting a cluster or prune job and applying a run need CURATE. The prune form
shows the chosen method's parameters with their defaults filled in; changing the method re-renders
only the form (htmx partial `_prune_form.html`). A started job is followed on the job page; a run's
page previews what goes before anything is applied, and applying leads to the version diff.
"""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required, user_can
from curation.models import Dataset, DatasetVersion
from curation.pruning.models import PruneMethod
from curation.pruning.selectors.clusters import (
    class_mix_figure,
    cluster_gallery,
    cluster_member_page,
    cluster_run_get,
    cluster_runs_of_version,
    cluster_table,
    complexity_figure,
)
from curation.pruning.selectors.diff import diff_figure, version_diff
from curation.pruning.selectors.pruning import (
    budget_figure,
    prune_class_changes,
    prune_preview,
    prune_run_get,
    prune_runs_of_version,
    sweep_figure,
)
from curation.pruning.services.apply import prune_run_apply
from curation.pruning.services.jobs import cluster_run_submit, prune_run_submit
from curation.pruning.services.params import cluster_params_validate, prune_params_validate
from curation.selectors import dataset_summary_list
from frontend.htmx import HtmxHttpRequest, htmx_target, render_partial
from frontend.pages.pruning_forms import ClusterStartForm, PruneStartForm, error_field
from frontend.pages.refusals import refusal_message
from jobs.models import Job, JobStatus

GALLERY_CLUSTERS = 6
MEMBER_PAGE_SIZE = 48


def _version_or_404(dataset_id: int, number: int) -> DatasetVersion:
    version = DatasetVersion.objects.select_related("dataset").filter(dataset_id=dataset_id, number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


def _require_curate(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.CURATE):
        raise PermissionDenied("This action needs the 'curate' permission.")


def _pending_jobs(kind: str, version: DatasetVersion) -> list[Job]:
    active = Job.objects.filter(kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    return list(active.filter(params__version_id=version.pk).order_by("-id")[:5])


# --- index ---------------------------------------------------------------------------------------


@capability_required(Capability.VIEW)
def pruning_index(request: HttpRequest) -> HttpResponse:
    """Every dataset's latest version with links to its clusters and pruning pages."""
    context = {"datasets": dataset_summary_list(), "nav_section": "pruning"}
    return render(request, "frontend/pruning/index.html", context)


# --- clusters ------------------------------------------------------------------------------------


@capability_required(Capability.VIEW)
def cluster_runs(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """A version's cluster runs; the chosen one (`?run=`, default newest) with its charts, table and galleries.

    POST (curators): start a clustering job and follow it on the job page.
    """
    version = _version_or_404(dataset_id, number)
    form = ClusterStartForm(request.POST or None, version=version)
    if request.method == "POST":
        _require_curate(request)
        if form.is_valid():
            try:
                params = cluster_params_validate(version_id=version.pk, **form.values())
                job = cluster_run_submit(params=params, requested_by=cast(User, request.user))
                return redirect("frontend:job_detail", job_id=job.pk)
            except ApplicationError as exc:
                form.add_error(error_field(form, exc), refusal_message(exc))
    runs = list(cluster_runs_of_version(version))
    chosen = next((r for r in runs if str(r.pk) == request.GET.get("run")), runs[0] if runs else None)
    context: dict[str, Any] = {
        "dataset": version.dataset,
        "version": version,
        "runs": runs,
        "run": chosen,
        "form": form,
        "pending": _pending_jobs("cluster", version),
        "nav_section": "pruning",
    }
    if chosen is not None:
        order = request.GET.get("order", "complexity")
        table = cluster_table(chosen, order=order)
        top = table[:GALLERY_CLUSTERS]
        context |= {
            "order": order,
            "clusters": table[:200],
            "galleries": [cluster_gallery(chosen, cluster) for cluster in top],
            "complexity_figure": complexity_figure(table),
            "mix_figure": class_mix_figure(table[:30], version.dataset.classes),
        }
    return render(request, "frontend/pruning/clusters.html", context)


@capability_required(Capability.VIEW)
def cluster_detail(request: HtmxHttpRequest, cluster_run_id: int, index: int) -> HttpResponse:
    """One cluster's members ranked by distance to the centroid (most prototypical first), a page at a time."""
    run = cluster_run_get(cluster_run_id)
    cluster = run.clusters.filter(index=index).first() if run is not None else None
    if run is None or cluster is None:
        raise Http404("No such cluster.")
    start = int(request.GET["start"]) if request.GET.get("start", "").isdigit() else 0
    items, next_start = cluster_member_page(run, index, start=start, size=MEMBER_PAGE_SIZE)
    context = {
        "run": run,
        "cluster": cluster,
        "version": run.version,
        "dataset": run.version.dataset,
        "items": items,
        "start": start,
        "next_start": next_start,
        "nav_section": "pruning",
    }
    if htmx_target(request) == "members-more":
        return render(request, "frontend/pruning/_cluster_members.html", context)
    return render(request, "frontend/pruning/cluster_detail.html", context)


# --- pruning -------------------------------------------------------------------------------------


def _method_of(request: HttpRequest) -> str:
    method = request.POST.get("method") or request.GET.get("method") or PruneMethod.SEMDEDUP_DBP
    return method if method in PruneMethod.values else PruneMethod.SEMDEDUP_DBP


@capability_required(Capability.VIEW)
def prune_start(request: HtmxHttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """A version's prune runs, and (curators) the form that starts one; POST starts the job."""
    version = _version_or_404(dataset_id, number)
    method = _method_of(request)
    data = request.POST if request.method == "POST" else None
    form = PruneStartForm(data, version=version, method=method, typed=request.GET or None)
    if request.method == "POST":
        _require_curate(request)
        if form.is_valid():
            try:
                params = prune_params_validate(version_id=version.pk, method=method, **form.method_values())
                job = prune_run_submit(params=params, requested_by=cast(User, request.user))
            except ApplicationError as exc:
                form.add_error(error_field(form, exc), refusal_message(exc))
            else:
                job_url = reverse("frontend:job_detail", args=[job.pk])
                return HttpResponseClientRedirect(job_url) if request.htmx else redirect(job_url)
    context = {
        "dataset": version.dataset,
        "version": version,
        "form": form,
        "method": method,
        "runs": list(prune_runs_of_version(version)[:50]),
        "pending": _pending_jobs("prune", version),
        "methods": PruneMethod.choices,
        "nav_section": "pruning",
    }
    return render_partial(request, "frontend/pruning/prune.html", "frontend/pruning/_prune_form.html", context)


@capability_required(Capability.VIEW)
def prune_run_detail(request: HttpRequest, prune_run_id: int) -> HttpResponse:
    """What a run decided: parameters, counts, budget and sweep charts, class changes, the removal preview."""
    run = prune_run_get(prune_run_id)
    if run is None:
        raise Http404("No such prune run.")
    context = {
        "run": run,
        "version": run.version,
        "dataset": run.version.dataset,
        "params": sorted(run.params.items()),
        "reasons": [
            (name.replace("_", " "), count)
            for name, count in sorted(run.summary.get("reasons", {}).items(), key=lambda item: -item[1])
        ],
        "truth": run.summary.get("demo_truth"),
        "budget_figure": budget_figure(run),
        "sweep_figure": sweep_figure(run),
        "class_changes": prune_class_changes(run),
        "preview": prune_preview(run),
        "nav_section": "pruning",
    }
    return render(request, "frontend/pruning/prune_run.html", context)


@capability_required(Capability.CURATE)
def prune_run_apply_view(request: HttpRequest, prune_run_id: int) -> HttpResponse:
    """POST: apply the run (a new version; the same one when applied before) and show the diff."""
    if request.method != "POST":
        return redirect("frontend:prune_run_detail", prune_run_id=prune_run_id)
    run = prune_run_get(prune_run_id)
    if run is None:
        raise Http404("No such prune run.")
    try:
        version = prune_run_apply(prune_run=run, user=cast(User, request.user))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:prune_run_detail", prune_run_id=run.pk)
    messages.success(request, f"Version {version.number} holds the {version.sample_count} kept samples.")
    return redirect(
        "frontend:version_diff", dataset_id=version.dataset_id, before=run.version.number, after=version.number
    )


# --- diff ------------------------------------------------------------------------------------------


@capability_required(Capability.VIEW)
def version_diff_page(request: HttpRequest, dataset_id: int, before: int, after: int) -> HttpResponse:
    """Members per class and split in two versions of a dataset, with a chart."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    first, second = _version_or_404(dataset.pk, before), _version_or_404(dataset.pk, after)
    diff = version_diff(before=first, after=second)
    total_before, total_after = diff.totals()
    context = {
        "dataset": dataset,
        "before": first,
        "after": second,
        "diff": diff,
        "total_before": total_before,
        "total_after": total_after,
        "figure": diff_figure(diff),
        "versions": list(dataset.versions.order_by("-number")),
        "nav_section": "pruning",
    }
    return render(request, "frontend/pruning/diff.html", context)
