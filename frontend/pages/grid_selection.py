"""Bulk actions on a selection made in the sample grid (or by a lasso on the embedding map).

A selection is either explicit sample ids or "every member matching these grid filters" (a query
string, so that selecting all of a large filtered version never ships its ids through the page).
The page keeps it (selection.js) and posts it here with the action; ids outside the version are
ignored.
"""

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required
from curation.models import Dataset, DatasetVersion
from curation.review.selectors import queue_is_assigned
from curation.review.services.bulk import review_bulk_label
from curation.selectors import sample_list
from curation.services.selections import version_from_selection
from curation.services.tags import sample_tags_apply
from frontend.pages.datasets import SampleFilters, _version_or_404
from frontend.selectors import open_queue_of_version, version_latest_map


class SelectionForm(forms.Form):
    """The selection as the page posts it: `ids` (comma-separated) or `query` (the grid's filters)."""

    mode = forms.ChoiceField(choices=[("ids", "ids"), ("query", "query")])
    ids = forms.CharField(required=False, max_length=2_000_000)
    query = forms.CharField(required=False, max_length=2000)

    def sample_ids(self, version: DatasetVersion) -> tuple[list[int], dict[str, str]]:
        """The selected members' sample ids and how they were chosen (for the new version's params).

        Raises ApplicationError `invalid_filter` for a set filter that no longer resolves (`invalid_sort_run`
        for a run order whose run is gone)."""
        if self.cleaned_data["mode"] == "query":
            # In a run's order the grid lists only the samples the run has a value for: "all matching" is those.
            filters = SampleFilters.from_query(QueryDict(self.cleaned_data["query"])).with_sets(version)
            filters = filters.with_sort(version)
            members = sample_list(version=version, **filters.selector_kwargs()).prefetch_related(None)
            return list(members.values_list("sample_id", flat=True)), {"filters": filters.as_query() or "all"}
        raw = self.cleaned_data["ids"].replace(" ", ",").split(",")
        ids = sorted({int(part) for part in raw if part.strip().isdigit()})
        members = sample_list(version=version, sample_ids=ids).prefetch_related(None)
        return list(members.values_list("sample_id", flat=True)), {"filters": "ids"}


class SelectionVersionForm(SelectionForm):
    keep = forms.TypedChoiceField(choices=[("1", "keep"), ("0", "remove")], coerce=lambda value: value == "1")


class SelectionLabelForm(SelectionForm):
    queue = forms.IntegerField()
    label = forms.CharField(max_length=200)
    vote = forms.ChoiceField(choices=[("yes", "yes"), ("maybe", "maybe"), ("no", "no")])
    origin = forms.CharField(required=False)  # bulk_map from the embedding map's lasso, else bulk_grid

    def clean_origin(self) -> str:
        return "bulk_map" if self.cleaned_data["origin"] == "bulk_map" else "bulk_grid"


class SelectionTagForm(SelectionForm):
    name = forms.CharField(max_length=64)
    remove = forms.TypedChoiceField(choices=[("0", "tag"), ("1", "untag")], coerce=lambda value: value == "1")


def _grid_url(dataset: Dataset, version: DatasetVersion) -> str:
    return reverse("frontend:sample_grid", args=[dataset.pk, version.number])


@capability_required(Capability.CURATE)
@require_POST
def grid_selection_version(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """A new version made of the selection (keep=1) or of everything but the selection (keep=0)."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    version = _version_or_404(dataset, number)
    form = SelectionVersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The selection could not be read; select the samples again.")
        return redirect(_grid_url(dataset, version))
    try:
        ids, how = form.sample_ids(version)
        keep, user = form.cleaned_data["keep"], cast(User, request.user)
        child = version_from_selection(version=version, sample_ids=ids, keep=keep, user=user, selection=how)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_grid_url(dataset, version))
    messages.success(request, f"Version {child.number} made: {child.note}.")
    return redirect(_grid_url(dataset, child))


@capability_required(Capability.REVIEW)
@require_POST
def grid_selection_label(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """One vote on every selected sample in a review queue of this version the caller is assigned to."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    version = _version_or_404(dataset, number)
    form = SelectionLabelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a review queue, a label and a vote.")
        return redirect(_grid_url(dataset, version))
    queue = open_queue_of_version(queue_id=form.cleaned_data["queue"], version=version)
    if queue is None:
        raise Http404("No such open review queue of this version.")
    if not queue_is_assigned(queue, request.user):
        messages.error(request, "You are not assigned to this review queue.")
        return redirect(_grid_url(dataset, version))
    try:
        ids, _how = form.sample_ids(version)
        counts = review_bulk_label(
            queue=queue,
            reviewer=cast(User, request.user),
            sample_ids=ids,
            label=form.cleaned_data["label"],
            value=form.cleaned_data["vote"],
            origin=form.cleaned_data["origin"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_grid_url(dataset, version))
    messages.success(request, "Bulk vote: {voted} of {selected} samples, {items_added} items added.".format(**counts))
    return redirect("frontend:review_queue_detail", queue_id=queue.pk)


@capability_required(Capability.VIEW)
def grid_selection_map(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """The version's latest embedding map (which rings the selection), or its embeddings page to make one."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    version = _version_or_404(dataset, number)
    latest = version_latest_map(version)
    if latest is None:
        messages.info(request, f"v{version.number} has no embedding map yet: make one from an embedding set here.")
        return redirect("frontend:embeddings", dataset_id=dataset.pk, number=version.number)
    return redirect("frontend:embedding_map", map_id=latest.pk)


@capability_required(Capability.CURATE)
@require_POST
def grid_selection_tag(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """Tag the selected samples (remove=0) or take the tag off them (remove=1); back to the grid as it was."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    version = _version_or_404(dataset, number)
    form = SelectionTagForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the tag (up to 64 characters).")
        return redirect(_grid_url(dataset, version))
    name, remove = form.cleaned_data["name"].strip(), form.cleaned_data["remove"]
    try:
        ids, _how = form.sample_ids(version)
        changed = sample_tags_apply(dataset=dataset, name=name, sample_ids=ids, remove=remove)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_grid_url(dataset, version))
    done = "untagged" if remove else "tagged"
    messages.success(request, f"{changed} of {len(ids)} selected samples {done} “{name}”.")
    return redirect(_grid_url(dataset, version))
