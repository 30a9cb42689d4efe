# Over 300 lines: one page module per area (docs/ARCHITECTURE.md §14): the datasets list, versions, the sample grid
# and a sample.
"""Browsing pages: the datasets list, a dataset's versions and charts, the sample grid and a sample.

Every page needs the VIEW capability. The grid pages through members with a keyset cursor on
sample id (never OFFSET, never a COUNT of the filtered set); its counts come from the version's
cached statistics.
"""

import json
import math
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import SafeString

from core.api_errors import ApplicationError
from core.figures import class_colour
from core.roles import Capability, capability_required, user_can
from curation.apis.sample_sets import REVIEW_STATES, SampleIds, sample_set_filter_parse
from curation.models import Dataset, DatasetVersion, SampleSource, Split
from curation.sample_sorts import MEMBER_ORDERS, RunSort, sample_order_parse, sample_orders
from curation.selectors import (
    VersionStats,
    class_split_figure,
    dataset_summary_list,
    image_size_figure,
    sample_list,
    sample_neighbors,
    sample_page,
    version_by_number,
    version_label_options,
    version_member_get,
    version_stats,
)
from frontend.htmx import HtmxHttpRequest, htmx_target, is_htmx
from frontend.selectors import (
    GridMenus,
    SetChoiceGroup,
    bulk_label_queues,
    dataset_versions_with_parents,
    grid_menus,
    sample_names,
    version_loop,
    version_of_dataset,
)
from frontend.templatetags.page_urls import id_url, id_url_pattern, page_url
from frontend.templatetags.sample_grid import menu_markup, optgroups

GRID_PAGE_SIZE = 60
# Image formats every browser displays; others (TIFF) are shown through their JPEG thumbnail.
BROWSER_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "WEBP"}
# Small images are enlarged on the detail page by an integer factor up to this longest side.
DETAIL_MIN_SIDE = 384
# The label filter's value for members without a primary label ("" already means any label).
UNLABELED = "__unlabeled__"
SET_FILTER_NAMES = (
    "cluster_run", "cluster", "duplicate_run", "duplicate_group", "review_queue", "review_state",
    "slice_report", "slice", "tag", "prediction_run", "predicted", "model_error",
)  # fmt: skip
# The grid's set menus: one <select> per kind, whose value "<run id>:<member>" stands for the pair of
# parameters the sample-list API takes (the grid's URLs keep those pairs).
SET_MENUS = {
    "cluster_set": ("cluster_run", "cluster"),
    "duplicate_set": ("duplicate_run", "duplicate_group"),
    "slice_set": ("slice_report", "slice"),
}


def _set_params(query: Any) -> tuple[tuple[str, str], ...]:
    """The set filters of a query: a menu's "<run>:<member>" wins over its pair of parameters."""
    params = {name: query[name][:64] for name in SET_FILTER_NAMES if query.get(name)}
    for menu, (run_name, member_name) in SET_MENUS.items():
        if menu not in query:
            continue
        params.pop(run_name, None)
        params.pop(member_name, None)
        run, _, member = query[menu].partition(":")
        if run.isdigit() and member.isdigit():
            params |= {run_name: run, member_name: member}
    if "prediction_set" in query:
        for name in ("prediction_run", "predicted", "model_error"):
            params.pop(name, None)
        params |= _prediction_params(query["prediction_set"][:300])
    return tuple((name, params[name]) for name in SET_FILTER_NAMES if name in params)


def _prediction_params(value: str) -> dict[str, str]:
    """The prediction menu's "<run>:error", "<run>:correct" or "<run>:class:<name>" as the API's parameters."""
    run, _, member = value.partition(":")
    if not run.isdigit():
        return {}
    if member in ("error", "correct"):
        return {"prediction_run": run, "model_error": "true" if member == "error" else "false"}
    if member.startswith("class:") and member != "class:":
        return {"prediction_run": run, "predicted": member.removeprefix("class:")}
    return {}


def _sort_params(query: Any) -> tuple[str, str]:
    """(sort, sort_run) of a query: the sort menu's "<sort>:<run>" or the API's pair; unknown sorts mean "id"."""
    sort, _, run = query.get("sort", "").partition(":")
    run = run or query.get("sort_run", "")
    if sort not in sample_orders() or sort == "id":
        return "", ""
    return sort, ("" if sort in MEMBER_ORDERS else run[:20])


@dataclass(frozen=True)
class SampleFilters:
    """The grid's GET filters, validated: unknown splits or sources mean "any"."""

    label: str = ""
    split: str = ""
    source: str = ""
    search: str = ""
    sort: str = ""
    # The run of an order by a run's per-sample values (issue score, duplicate size, confidence, cluster
    # distance) and that order resolved (see `with_sort`).
    sort_run: str = ""
    run_sort: RunSort | None = None
    # Sets made by other features (a cluster, a duplicate group, a review state, a failure slice, an evaluation's
    # predictions), as the sample-list API takes them; `sample_ids` is what they resolve to (see `with_sets`).
    set_params: tuple[tuple[str, str], ...] = ()
    sample_ids: SampleIds | None = None

    @classmethod
    def from_query(cls, query: Any) -> "SampleFilters":
        split = query.get("split", "")
        source = query.get("source", "")
        sort, sort_run = _sort_params(query)
        return cls(
            label=query.get("label", "")[:200],
            split=split if split in Split.values else "",
            source=source if source in SampleSource.values else "",
            search=query.get("q", "").strip()[:200],
            sort=sort,
            sort_run=sort_run,
            set_params=_set_params(query),
        )

    def set_menu_values(self) -> dict[str, str]:
        """Each set menu's selected value ("<run>:<member>", "" for any)."""
        params = dict(self.set_params)
        values = {
            menu: f"{params[run]}:{params[member]}" if run in params and member in params else ""
            for menu, (run, member) in SET_MENUS.items()
        }
        prediction = ""
        if run := params.get("prediction_run"):
            if params.get("predicted"):
                prediction = f"{run}:class:{params['predicted']}"
            elif params.get("model_error"):
                prediction = f"{run}:{'error' if params['model_error'] in ('true', '1') else 'correct'}"
        return values | {"prediction_set": prediction}

    @property
    def sort_menu_value(self) -> str:
        """The sort menu's selected value: "<sort>:<run>" for a run's order."""
        return f"{self.sort}:{self.sort_run}" if self.sort_run else self.sort

    def with_sort(self, version: DatasetVersion) -> "SampleFilters":
        """These filters with a run's order resolved (ApplicationError when the run is invalid)."""
        if self.sort in MEMBER_ORDERS or not self.sort:
            return self
        _order, run_sort = sample_order_parse(self.sort, self.sort_run, version=version)
        return replace(self, run_sort=run_sort)

    def with_sets(self, version: DatasetVersion) -> "SampleFilters":
        """These filters with the set filters resolved to sample ids (ApplicationError when invalid)."""
        if not self.set_params:
            return self
        ids = sample_set_filter_parse(dict(self.set_params), version=version)
        return replace(self, sample_ids=ids)

    def as_query(self, **extra: Any) -> str:
        """The filters (and `extra`) as a URL query string without empty values."""
        params = {"label": self.label, "split": self.split, "source": self.source, "q": self.search}
        params |= {**dict(self.set_params), "sort": self.sort, "sort_run": self.sort_run, **extra}
        return urlencode({key: value for key, value in params.items() if value not in ("", None)})

    @property
    def active(self) -> bool:
        return bool(self.label or self.split or self.source or self.search or self.set_params or self.run_sort)

    @property
    def label_display(self) -> str:
        return "(unlabeled)" if self.label == UNLABELED else self.label

    def selector_kwargs(self) -> dict[str, Any]:
        """The filters as `sample_list` takes them: None means any, label "" means unlabeled."""
        label = "" if self.label == UNLABELED else (self.label or None)
        kwargs = {"label": label, "split": self.split or None, "source": self.source or None, "search": self.search}
        return kwargs | {"sample_ids": self._restricted_ids()}

    def _restricted_ids(self) -> SampleIds | None:
        """The set filters' samples, and in a run's order only those the run has a value for (the grid lists,
        counts, selects and steps through the same members)."""
        if self.run_sort is None:
            return self.sample_ids
        scored = self.run_sort.rows.values("sample_id")
        if self.sample_ids is None:
            return scored
        return scored.filter(
            sample_id__in=self.sample_ids if isinstance(self.sample_ids, QuerySet) else sorted(self.sample_ids)
        )

    def matching(self, *, stats: VersionStats, version: DatasetVersion) -> int:
        """Members matching the filters: from the cached counts, or by a COUNT when searching names or
        restricting to a set (the counts cannot answer those); in a run's order alone, the run's count."""
        only_run_sort = not (self.label or self.split or self.source or self.search or self.set_params)
        if self.run_sort is not None and only_run_sort and self.run_sort.count is not None:
            return self.run_sort.count
        if self.search or self._restricted_ids() is not None:
            return sample_list(version=version, **self.selector_kwargs()).prefetch_related(None).count()
        kwargs = self.selector_kwargs()
        return stats.matching(label=kwargs["label"], split=kwargs["split"], source=kwargs["source"])


def grid_filters(request: HttpRequest, version: DatasetVersion) -> SampleFilters:
    """The request's grid filters with their sets resolved; an invalid set filter is dropped with a message."""
    filters = SampleFilters.from_query(request.GET)
    try:
        filters = filters.with_sets(version)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        filters = replace(filters, set_params=())
    try:
        return filters.with_sort(version)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return replace(filters, sort="", sort_run="")


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _float_or_none(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _version_or_404(dataset: Dataset, number: int | None) -> DatasetVersion:
    version = version_by_number(dataset=dataset, number=number)
    if version is None:
        raise Http404("No such version.")
    return version


def _dataset_version_or_404(dataset_id: int, number: int) -> tuple[Dataset, DatasetVersion]:
    """Version `number` of a dataset and the dataset, in one query (404 when either is missing)."""
    version = version_of_dataset(dataset_id=dataset_id, number=number)
    if version is None:
        raise Http404("No such version.")
    return version.dataset, version


@capability_required(Capability.VIEW)
def dataset_list(request: HttpRequest) -> HttpResponse:
    context = {"datasets": dataset_summary_list(), "nav_section": "datasets"}
    return render(request, "frontend/datasets/dataset_list.html", context)


@capability_required(Capability.VIEW)
def dataset_detail(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Versions table and, for `?version=<number>` (default latest), class/split and image-size charts and
    the loop: what has been made from that version and the next step."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    versions = dataset_versions_with_parents(dataset)
    context: dict[str, Any] = {"dataset": dataset, "versions": versions, "nav_section": "datasets"}
    if versions:
        requested = request.GET.get("version")
        version = next((v for v in versions if str(v.number) == requested), None) if requested else versions[0]
        if version is None:
            raise Http404("No such version.")
        stats = version_stats(version=version)
        class_figure = class_split_figure(stats=stats, classes=dataset.classes)
        context |= {
            "version": version,
            "stats": stats,
            "class_figure": class_figure,
            "size_figure": image_size_figure(stats=stats),
            "class_table": _class_split_table(class_figure),
            "loop": version_loop(version=version),
        }
    return render(request, "frontend/datasets/dataset_detail.html", context)


def _class_split_table(class_figure: dict[str, Any]) -> dict[str, Any]:
    """The class chart as a table (its accessible twin): one row per label, a column per split."""
    traces = class_figure["data"]
    labels = traces[0]["x"] if traces else []
    rows = []
    for index, label in enumerate(labels):
        counts = [trace["y"][index] for trace in traces]
        rows.append({"label": label, "counts": counts, "total": sum(counts)})
    return {"splits": [trace["name"] for trace in traces], "rows": rows}


@capability_required(Capability.VIEW)
def sample_grid(request: HtmxHttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """Thumbnails of a version's members, filtered by label/split/source, a keyset page at a time.

    htmx requests get only a partial: the whole grid (`_grid.html`) for a filter change, or just
    the next page's cards (`_grid_page.html`) for "Load more", which replaces its own button.
    """
    dataset, version = _dataset_version_or_404(dataset_id, number)
    filters = grid_filters(request, version)
    after = _int_or_none(request.GET.get("after"))
    after_label = request.GET.get("after_label", "")[:200] if filters.sort == "label" else None
    page = sample_page(
        version=version,
        **filters.selector_kwargs(),
        after_sample_id=after,
        size=GRID_PAGE_SIZE,
        order=filters.sort or "id",
        after_label=after_label,
        run_sort=filters.run_sort,
        after_value=_float_or_none(request.GET.get("after_value")) if filters.run_sort else None,
    )
    next_cursor = {"after": page.next_after, "after_label": page.next_after_label}
    if page.next_after_value is not None:
        next_cursor["after_value"] = repr(page.next_after_value)
    context: dict[str, Any] = {
        "dataset": dataset,
        "version": version,
        "filters": filters,
        "filter_query": filters.as_query(),
        "next_query": filters.as_query(**next_cursor) if page.next_after else "",
        "page": page,
        "after": after,
        "nav_section": "datasets",
        "grid_url": page_url("frontend:sample_grid", dataset.pk, version.number),
        "detail_url_pattern": id_url_pattern("frontend:sample_detail", dataset.pk, version.number),
        "thumbnail_url_pattern": id_url_pattern("frontend:sample_thumbnail"),
    }
    if htmx_target(request) == "grid-more":
        return render(request, "frontend/datasets/_grid_page.html", context)
    stats = version_stats(version=version)
    context |= {"matching": filters.matching(stats=stats, version=version), "stats": stats}
    if is_htmx(request):  # a filter change: the whole grid, counts included
        return render(request, "frontend/datasets/_grid.html", context)
    label_options = version_label_options(stats=stats, classes=dataset.classes)
    label_menu = [(name or UNLABELED, name or "(unlabeled)", count) for name, count in label_options]
    menus = grid_menus(version)
    choices = menus.choices
    context |= {
        "label_options": label_menu,
        "label_choices": [(value, f"{name} ({intcomma(count)})") for value, name, count in label_menu],
        "split_options": Split.values,
        "source_options": SampleSource.values,
        "review_state_options": REVIEW_STATES,
        "review_state": dict(filters.set_params).get("review_state", ""),
        "tag": dict(filters.set_params).get("tag", ""),
        "tag_options": menus.tag_names,
        "sort_options": [("", "Id (oldest first)"), ("-id", "Id (newest first)"), ("label", "Label")],
        "sort_groups": _sort_groups(filters, choices["sort"]),
        "sort_markup": _sort_markup(filters, menus),
        "set_menus": _set_menus(filters, menus),
        "can_curate": user_can(request.user, Capability.CURATE),
        "bulk_queues": bulk_label_queues(request.user, version),
    }
    return render(request, "frontend/datasets/sample_grid.html", context)


def _set_menus(filters: SampleFilters, menus: GridMenus) -> list[dict[str, Any]]:
    """The grid's cluster, duplicate-group and slice menus, each with its options' markup; a filter from a link to a
    run the menu does not list (an older run) is kept as an option of its own, so changing another filter does not
    drop it."""
    selected = filters.set_menu_values()
    shown = []
    for menu, kind, title in (
        ("cluster_set", "cluster", "Cluster"),
        ("duplicate_set", "duplicate_group", "Duplicate group"),
        ("slice_set", "slice", "Failure slice"),
        ("prediction_set", "prediction", "Prediction"),
    ):
        if not menus.choices[kind] and not selected[menu]:
            continue  # a version without such runs shows no menu
        markup, listed = menu_markup(menus, kind, selected[menu])
        if selected[menu] and not listed:
            linked = SetChoiceGroup("From the link", [(selected[menu], selected[menu].replace(":", " / "))])
            markup += optgroups([linked], selected[menu])
        shown.append({"name": menu, "title": title, "options": markup})
    return shown


def _sort_groups(filters: SampleFilters, groups: list[SetChoiceGroup]) -> list[SetChoiceGroup]:
    """The sort menu's orders by a run's values; one from a link to a run the menu does not list is kept."""
    listed = {value for group in groups for value, _ in group.options}
    if filters.run_sort is not None and filters.sort_menu_value not in listed:
        return [*groups, _linked_sort(filters)]
    return groups


def _linked_sort(filters: SampleFilters) -> SetChoiceGroup:
    direction = "highest first" if filters.run_sort.descending else "lowest first"  # type: ignore[union-attr]
    text = f"{filters.run_sort.title}, run {filters.sort_run}, {direction}"  # type: ignore[union-attr]
    return SetChoiceGroup("From the link", [(filters.sort_menu_value, text)])


def _sort_markup(filters: SampleFilters, menus: GridMenus) -> SafeString:
    """The sort menu's run orders as `optgroups(_sort_groups(...), filters.sort_menu_value)` writes them."""
    markup, listed = menu_markup(menus, "sort", filters.sort_menu_value)
    if filters.run_sort is not None and not listed:
        markup += optgroups([_linked_sort(filters)], filters.sort_menu_value)
    return markup


@capability_required(Capability.VIEW)
def sample_detail(request: HttpRequest, dataset_id: int, number: int, sample_id: int) -> HttpResponse:
    """One member of a version: image with a mask overlay, labels, metadata, and previous/next
    within the same filters as the grid it was opened from."""
    dataset, version = _dataset_version_or_404(dataset_id, number)
    member = version_member_get(version=version, sample_id=sample_id)
    if member is None:
        raise Http404("This sample is not in this version.")
    sample = member.sample
    filters = grid_filters(request, version)
    scale = max(1, DETAIL_MIN_SIDE // max(sample.width, sample.height, 1))
    names = sample_names(sample)
    neighbors = sample_neighbors(
        version=version,
        sample_id=sample.pk,
        order=filters.sort or "id",
        run_sort=filters.run_sort,
        **filters.selector_kwargs(),
    )
    step = (dataset.pk, version.number)
    context = {
        "dataset": dataset,
        "version": version,
        "member": member,
        "sample": sample,
        "filters": filters,
        "filter_query": filters.as_query(),
        "neighbors": neighbors,
        # the page's links (as its template's {% url %} tags wrote them, reversed once per process)
        "grid_url": page_url("frontend:sample_grid", *step),
        "previous_url": id_url("frontend:sample_detail", *step, neighbors.previous_id) if neighbors.previous_id else "",
        "next_url": id_url("frontend:sample_detail", *step, neighbors.next_id) if neighbors.next_id else "",
        "image_url": id_url("frontend:sample_image", sample.pk),
        "thumbnail_url": id_url("frontend:sample_thumbnail", sample.pk),
        "mask_overlay_url": id_url("frontend:sample_mask_overlay", sample.pk),
        "aliases": names.aliases,
        "tags": names.tags,
        "provenance": json.dumps(sample.provenance, indent=2, sort_keys=True, ensure_ascii=False),
        "browser_displayable": sample.format in BROWSER_FORMATS,
        "display_width": sample.width * scale,
        "display_height": sample.height * scale,
        "pixelated": scale > 1,
        # the mask in its class's colour, as on every chart of the dataset (core.figures.class_colour)
        "mask_colour": class_colour(member.label or "", list(dataset.classes or [])),
        "nav_section": "datasets",
    }
    return render(request, "frontend/datasets/sample_detail.html", context)
