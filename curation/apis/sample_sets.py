"""Sample-list filters that name a set of samples made by another feature: a cluster of a cluster run,
a duplicate group of a duplicate run, the items of review queues in a given state, a failure slice, or a tag.

Each resolves to sample ids (intersected when several are given); the listing then stays a keyset
scan over the version's members restricted to those ids.
"""

from collections.abc import Callable, Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from core.api_errors import ApplicationError
from curation.models import DatasetVersion, SampleTag

REVIEW_STATES = ("open", "agreed", "disputed")

# The sample ids of one set, by the filter's member parameter: "cluster" (version, cluster run id, index),
# "duplicate_group" (version, duplicate run id, group number), "slice" (version, slice report id, number) and
# "review_state" (version, queue id or None, state). The app that makes each kind of set registers its resolver
# at start-up (its AppConfig.ready), so this base app imports none of them; a resolver raises
# sample_set_invalid for a run or report that is not of the version.
SAMPLE_SET_RESOLVERS: dict[str, Callable[..., set[int]]] = {}

SAMPLE_SET_PARAMETERS = [
    OpenApiParameter("cluster_run", OpenApiTypes.INT, description="A cluster run of this version (with `cluster`)."),
    OpenApiParameter("cluster", OpenApiTypes.INT, description="Cluster index within `cluster_run`."),
    OpenApiParameter("duplicate_run", OpenApiTypes.INT, description="A duplicate run (with `duplicate_group`)."),
    OpenApiParameter("duplicate_group", OpenApiTypes.INT, description="Group number within `duplicate_run`."),
    OpenApiParameter("review_queue", OpenApiTypes.INT, description="Restrict `review_state` to one queue."),
    OpenApiParameter("review_state", OpenApiTypes.STR, enum=list(REVIEW_STATES), description="Review item state."),
    OpenApiParameter("slice_report", OpenApiTypes.INT, description="A failure-slice report (with `slice`)."),
    OpenApiParameter("slice", OpenApiTypes.INT, description="Slice number (rank) within `slice_report`."),
    OpenApiParameter("tag", OpenApiTypes.STR, description="A tag of the dataset's samples (exact name)."),
]


def sample_set_invalid(name: str, message: str) -> ApplicationError:
    """The 400 invalid_filter of a set filter: `name` is the query parameter at fault."""
    return ApplicationError(f"Invalid filter: {message}.", code="invalid_filter", details={name: message})


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise sample_set_invalid(name, f"{name} must be a non-negative integer")
    return int(raw)


def _pair(query: Mapping[str, str], run_name: str, member_name: str) -> tuple[int, int] | None:
    run, member = _int_param(query, run_name), _int_param(query, member_name)
    if run is None and member is None:
        return None
    if run is None or member is None:
        raise sample_set_invalid(run_name, f"{run_name} and {member_name} go together")
    return run, member


def sample_set_filter_parse(query: Mapping[str, str], *, version: DatasetVersion) -> set[int] | None:
    """The sample ids the set filters allow (None when no set filter is given); invalid ones raise 400."""
    chosen: list[set[int]] = []
    if (cluster := _pair(query, "cluster_run", "cluster")) is not None:
        chosen.append(SAMPLE_SET_RESOLVERS["cluster"](version, *cluster))
    if (duplicate := _pair(query, "duplicate_run", "duplicate_group")) is not None:
        chosen.append(SAMPLE_SET_RESOLVERS["duplicate_group"](version, *duplicate))
    if (found := _pair(query, "slice_report", "slice")) is not None:
        chosen.append(SAMPLE_SET_RESOLVERS["slice"](version, *found))
    queue_id, state = _int_param(query, "review_queue"), query.get("review_state") or None
    if queue_id is not None and state is None:
        raise sample_set_invalid("review_queue", "review_queue needs review_state")
    if state is not None:
        chosen.append(SAMPLE_SET_RESOLVERS["review_state"](version, queue_id, state))
    if tag := (query.get("tag") or "").strip():
        # An unknown tag matches no sample (tags come and go; the link that named it stays valid).
        tagged = SampleTag.samples.through.objects.filter(sampletag__dataset_id=version.dataset_id, sampletag__name=tag)
        chosen.append(set(tagged.values_list("sample_id", flat=True)))
    if not chosen:
        return None
    return set.intersection(*chosen)
