"""Read API for datasets, versions and samples (docs/ARCHITECTURE.md §8): every view needs the VIEW capability;
DELETE on a dataset or a version (curators) starts its deletion job (curation/deletion/apis/views.py)."""

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import ApplicationError, error_response, not_found
from core.api_views import ReadApi
from core.pagination import CURSOR_PAGE_PARAMETERS, id_cursor_page
from curation.apis.lookups import version_or_404
from curation.apis.pagination import SAMPLE_PAGE_PARAMETERS, SampleCursor, SamplePageRequest
from curation.apis.sample_sets import SAMPLE_SET_PARAMETERS, sample_set_filter_parse
from curation.apis.serializers import (
    DatasetDetailOutputSerializer,
    DatasetListOutputSerializer,
    DatasetPageOutputSerializer,
    SampleDetailOutputSerializer,
    SamplePageOutputSerializer,
    VersionDetailOutputSerializer,
    VersionListOutputSerializer,
    VersionPageOutputSerializer,
    sample_list_items,
)
from curation.deletion.apis import DatasetDeleteMixin, VersionDeleteMixin
from curation.models import Dataset, SampleSource, Split
from curation.sample_sorts import RUN_SORTS, sample_order_parse, sample_orders
from curation.selectors import (
    dataset_get,
    dataset_list_with_version_stats,
    dataset_versions,
    sample_get,
    sample_page,
    version_class_counts,
)

ERRORS_READ = {
    401: error_response("Not authenticated (code not_authenticated)."),
    403: error_response("The role lacks the view capability."),
}
ERROR_NOT_FOUND = {404: error_response("Unknown id (code not_found).")}
ERROR_INVALID_CURSOR = {404: error_response("not_found: an invalid cursor.")}


class DatasetListApi(ReadApi):
    """Datasets with their version count and latest version id, newest first (cursor-paginated)."""

    @extend_schema(
        operation_id="dataset_list",
        tags=["datasets"],
        summary="List datasets, newest first",
        parameters=CURSOR_PAGE_PARAMETERS,
        responses={200: DatasetPageOutputSerializer, **ERROR_INVALID_CURSOR, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        return id_cursor_page(request, self, dataset_list_with_version_stats(), DatasetListOutputSerializer)


class DatasetDetailApi(DatasetDeleteMixin, ReadApi):
    """One dataset: name, owner, class taxonomy and every version's summary."""

    @extend_schema(
        operation_id="dataset_detail",
        tags=["datasets"],
        summary="A dataset with its class taxonomy and a summary of every version",
        responses={200: DatasetDetailOutputSerializer, **ERRORS_READ, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = dataset_get(dataset_id)
        if dataset is None:
            raise not_found("Dataset", dataset_id)
        return Response(DatasetDetailOutputSerializer(dataset).data)


class VersionListApi(ReadApi):
    """A dataset's versions with parent, operation and member count, newest first (cursor-paginated)."""

    @extend_schema(
        operation_id="version_list",
        tags=["versions"],
        summary="List a dataset's versions, newest first",
        parameters=CURSOR_PAGE_PARAMETERS,
        responses={200: VersionPageOutputSerializer, **ERRORS_READ, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            raise not_found("Dataset", dataset_id)
        return id_cursor_page(request, self, dataset_versions(dataset), VersionListOutputSerializer)


class VersionDetailApi(VersionDeleteMixin, ReadApi):
    """One immutable version, with its member counts per split and primary label."""

    @extend_schema(
        operation_id="version_detail",
        tags=["versions"],
        summary="A version: parent, operation and parameters, member count, class counts per split",
        responses={200: VersionDetailOutputSerializer, **ERRORS_READ, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_or_404(version_id)
        context = {"class_counts": version_class_counts(version)}
        return Response(VersionDetailOutputSerializer(version, context=context).data)


def sample_filters_parse(query: Mapping[str, str], *, dataset: Dataset) -> dict[str, str | None]:
    """The label/split/source filters of a member listing; unknown values raise invalid_filter (400).

    Labels are checked against the dataset's class taxonomy when it has one.
    """
    allowed: dict[str, list[str]] = {"split": list(Split.values), "source": list(SampleSource.values)}
    if dataset.classes:
        allowed["label"] = list(dataset.classes)
    filters = {name: query.get(name) or None for name in ("label", "split", "source")}
    invalid = {
        name: {"value": value, "allowed": allowed[name]}
        for name, value in filters.items()
        if value is not None and name in allowed and value not in allowed[name]
    }
    if invalid:
        message = "; ".join(
            f"unknown {name} '{entry['value']}' (allowed: {', '.join(entry['allowed'])})"
            for name, entry in invalid.items()
        )
        raise ApplicationError(f"Invalid filter: {message}.", code="invalid_filter", details=invalid)
    return filters


SAMPLE_FILTER_PARAMETERS = [
    OpenApiParameter("label", OpenApiTypes.STR, description="Primary label; one of the dataset's classes."),
    OpenApiParameter("split", OpenApiTypes.STR, enum=list(Split.values), description="Split in this version."),
    OpenApiParameter("source", OpenApiTypes.STR, enum=list(SampleSource.values), description="Real or synthetic."),
]


def _sort_parameters() -> list[OpenApiParameter]:
    run_sorts = "; ".join(f"`{key}`: {kind.title.lower()} of a {kind.run_noun}" for key, kind in RUN_SORTS.items())
    return [
        OpenApiParameter(
            "sort",
            OpenApiTypes.STR,
            enum=sample_orders(),
            description="Order of the members: `id` (default), `-id` (newest first), `label` (then id), or a run's "
            f"per-sample value with `sort_run` ({run_sorts}); a leading `-` is highest first. A run's order lists "
            "only the members the run has a value for, ties by sample id.",
        ),
        OpenApiParameter(
            "sort_run",
            OpenApiTypes.INT,
            description="The run whose values `sort` orders by (a run of this version that stored them).",
        ),
    ]


class SampleListApi(ReadApi):
    """A version's members (sample facts plus this version's split and labels), in sample-id order or `sort`.

    `next` carries a cursor holding the page's last sample id (and its label or sort value), so every page
    costs one index range scan.
    """

    @extend_schema(
        operation_id="sample_list",
        tags=["samples"],
        summary="List a version's members, filtered and sorted, with keyset pagination",
        parameters=SAMPLE_FILTER_PARAMETERS + SAMPLE_SET_PARAMETERS + SAMPLE_PAGE_PARAMETERS + _sort_parameters(),
        responses={
            200: SamplePageOutputSerializer,
            400: error_response(
                "invalid_filter, invalid_sort (an unknown sort), invalid_sort_run (a run that is missing, of another "
                "version or without stored values), invalid_cursor or invalid_page_size."
            ),
            **ERRORS_READ,
            **ERROR_NOT_FOUND,
        },
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_or_404(version_id)
        filters = sample_filters_parse(request.query_params, dataset=version.dataset)
        sample_ids = sample_set_filter_parse(request.query_params, version=version)
        query = request.query_params
        order, run_sort = sample_order_parse(query.get("sort") or None, query.get("sort_run") or None, version=version)
        page_request = SamplePageRequest.from_request(request)
        cursor = page_request.cursor_for(order)
        page = sample_page(
            version=version,
            **filters,
            sample_ids=sample_ids,
            size=page_request.page_size,
            order=order,
            run_sort=run_sort,
            after_sample_id=cursor.sample_id if cursor else None,
            after_label=cursor.label if cursor else None,
            after_value=cursor.value if cursor else None,
        )
        next_cursor = None
        if page.next_after is not None:
            next_cursor = SampleCursor(
                sample_id=page.next_after, order=order, label=page.next_after_label, value=page.next_after_value
            )
        next_url = page_request.next_url(request, next_cursor)
        return Response({"next": next_url, "results": sample_list_items(page.members)})


class SampleDetailApi(ReadApi):
    """One sample: file facts, provenance, aliases, the versions holding it and its media URLs."""

    @extend_schema(
        operation_id="sample_detail",
        tags=["samples"],
        summary="A sample: metadata, provenance, aliases, memberships and media URLs",
        responses={200: SampleDetailOutputSerializer, **ERRORS_READ, **ERROR_NOT_FOUND},
    )
    def get(self, request: Request, sample_id: int) -> Response:
        sample = sample_get(sample_id)
        if sample is None:
            raise not_found("Sample", sample_id)
        return Response(SampleDetailOutputSerializer(sample).data)
