"""Sample-list filters that name a set of samples made by another feature: a cluster of a cluster run,
a duplicate group of a duplicate run, the items of review queues in a given state, or a failure slice.

Each resolves to sample ids (intersected when several are given); the listing then stays a keyset
scan over the version's members restricted to those ids.
"""

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from core.api_errors import ApplicationError
from curation.models import DatasetVersion

REVIEW_STATES = ("open", "agreed", "disputed")

SAMPLE_SET_PARAMETERS = [
    OpenApiParameter("cluster_run", OpenApiTypes.INT, description="A cluster run of this version (with `cluster`)."),
    OpenApiParameter("cluster", OpenApiTypes.INT, description="Cluster index within `cluster_run`."),
    OpenApiParameter("duplicate_run", OpenApiTypes.INT, description="A duplicate run (with `duplicate_group`)."),
    OpenApiParameter("duplicate_group", OpenApiTypes.INT, description="Group number within `duplicate_run`."),
    OpenApiParameter("review_queue", OpenApiTypes.INT, description="Restrict `review_state` to one queue."),
    OpenApiParameter("review_state", OpenApiTypes.STR, enum=list(REVIEW_STATES), description="Review item state."),
    OpenApiParameter("slice_report", OpenApiTypes.INT, description="A failure-slice report (with `slice`)."),
    OpenApiParameter("slice", OpenApiTypes.INT, description="Slice number (rank) within `slice_report`."),
]


def _invalid(name: str, message: str) -> ApplicationError:
    return ApplicationError(f"Invalid filter: {message}.", code="invalid_filter", details={name: message})


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise _invalid(name, f"{name} must be a non-negative integer")
    return int(raw)


def _pair(query: Mapping[str, str], run_name: str, member_name: str) -> tuple[int, int] | None:
    run, member = _int_param(query, run_name), _int_param(query, member_name)
    if run is None and member is None:
        return None
    if run is None or member is None:
        raise _invalid(run_name, f"{run_name} and {member_name} go together")
    return run, member


def _cluster_ids(version: DatasetVersion, run_id: int, index: int) -> set[int]:
    from curation.pruning.models import ClusterRun
    from curation.pruning.selectors.clusters import cluster_sample_ids

    run = ClusterRun.objects.filter(pk=run_id, version=version).first()
    if run is None or not run.assignment_key:
        raise _invalid("cluster_run", f"cluster run {run_id} is not a finished run of this version")
    return {int(i) for i in cluster_sample_ids(run, index)}


def _duplicate_ids(version: DatasetVersion, run_id: int, number: int) -> set[int]:
    from curation.embeddings.models import DuplicateRun
    from curation.embeddings.selectors.duplicates import duplicate_group_get

    run = DuplicateRun.objects.filter(pk=run_id, version=version).first()
    group = duplicate_group_get(run=run, number=number) if run is not None else None
    if group is None:
        raise _invalid("duplicate_run", f"duplicate run {run_id} of this version has no group {number}")
    return {int(i) for i in group.sample_ids}


def _review_ids(version: DatasetVersion, queue_id: int | None, state: str) -> set[int]:
    from curation.review.models import ReviewItem

    if state not in REVIEW_STATES:
        raise _invalid("review_state", f"unknown review_state '{state}' (allowed: {', '.join(REVIEW_STATES)})")
    items = ReviewItem.objects.filter(queue__version=version, state=state)
    if queue_id is not None:
        items = items.filter(queue_id=queue_id)
    return set(items.values_list("sample_id", flat=True))


def _slice_ids(version: DatasetVersion, report_id: int, number: int) -> set[int]:
    from explain.slices.models import SliceReport
    from explain.slices.selectors import slice_sample_ids

    report = SliceReport.objects.filter(pk=report_id, version=version).first()
    ids = slice_sample_ids(report, number) if report is not None else None
    if ids is None:
        raise _invalid("slice_report", f"failure-slice report {report_id} of this version has no slice {number}")
    return set(ids)


def sample_set_filter_parse(query: Mapping[str, str], *, version: DatasetVersion) -> set[int] | None:
    """The sample ids the set filters allow (None when no set filter is given); invalid ones raise 400."""
    chosen: list[set[int]] = []
    if (cluster := _pair(query, "cluster_run", "cluster")) is not None:
        chosen.append(_cluster_ids(version, *cluster))
    if (duplicate := _pair(query, "duplicate_run", "duplicate_group")) is not None:
        chosen.append(_duplicate_ids(version, *duplicate))
    if (found := _pair(query, "slice_report", "slice")) is not None:
        chosen.append(_slice_ids(version, *found))
    queue_id, state = _int_param(query, "review_queue"), query.get("review_state") or None
    if queue_id is not None and state is None:
        raise _invalid("review_queue", "review_queue needs review_state")
    if state is not None:
        chosen.append(_review_ids(version, queue_id, state))
    if not chosen:
        return None
    return set.intersection(*chosen)
