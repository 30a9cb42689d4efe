"""Sample-list filters that name a set of samples made by another feature: a cluster of a cluster run,
a duplicate group of a duplicate run, the items of review queues in a given state, a failure slice, an
evaluation's predictions (a predicted class, model errors), or a tag.

Each resolves to a subquery of a per-sample table's rows (or, for the few sets kept in a run's JSON, a
small set of ids); several are intersected. The listing then stays a keyset scan over the version's members,
with the sets as semi-joins: no literal list of a cluster's ids per request.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from core.api_errors import ApplicationError
from curation.models import DatasetVersion, SampleTag

REVIEW_STATES = ("open", "agreed", "disputed")

# The samples of one set, by the filter's member parameter: "cluster" (version, cluster run id, index),
# "duplicate_group" (version, duplicate run id, group number), "slice" (version, slice report id, number),
# "review_state" (version, queue id or None, state) and "prediction" (version, evaluation run id, predicted class
# or None, model error or None). The app that makes each kind of set registers its resolver at start-up (its
# AppConfig.ready), so this base app imports none of them; a resolver returns a queryset of rows with a
# `sample_id` (or a set of ids) and raises sample_set_invalid for a run or report that is not of the version.
SampleIds = QuerySet[Any] | set[int]
SAMPLE_SET_RESOLVERS: dict[str, Callable[..., SampleIds]] = {}
MODEL_ERROR_VALUES = {"true": True, "1": True, "false": False, "0": False}

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
    OpenApiParameter(
        "prediction_run",
        OpenApiTypes.INT,
        description="An evaluation run of this version whose per-sample predictions are stored (with `predicted` "
        "and/or `model_error`).",
    ),
    OpenApiParameter(
        "predicted", OpenApiTypes.STR, description="Predicted class (one of the evaluated model's classes)."
    ),
    OpenApiParameter(
        "model_error",
        OpenApiTypes.BOOL,
        description="true: the prediction differs from the primary label; false: it equals it.",
    ),
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


def _prediction(query: Mapping[str, str]) -> tuple[int, str | None, bool | None] | None:
    run, predicted, raw_error = (
        _int_param(query, "prediction_run"),
        query.get("predicted") or None,
        query.get("model_error"),
    )
    model_error = None
    if raw_error not in (None, ""):
        if str(raw_error).lower() not in MODEL_ERROR_VALUES:
            raise sample_set_invalid("model_error", "model_error must be true or false")
        model_error = MODEL_ERROR_VALUES[str(raw_error).lower()]
    if run is None:
        if predicted is not None or model_error is not None:
            raise sample_set_invalid("prediction_run", "predicted and model_error need prediction_run")
        return None
    if predicted is None and model_error is None:
        raise sample_set_invalid("prediction_run", "prediction_run needs predicted or model_error")
    return run, predicted, model_error


def _intersection(chosen: list[SampleIds]) -> SampleIds:
    """The samples in every one of the sets: querysets nest as semi-joins, id sets intersect."""
    queries = [found for found in chosen if isinstance(found, QuerySet)]
    ids = [found for found in chosen if not isinstance(found, QuerySet)]
    if not queries:
        return set.intersection(*ids)
    result = queries[0]
    for other in queries[1:]:
        result = result.filter(sample_id__in=other)
    return result.filter(sample_id__in=sorted(set.intersection(*ids))) if ids else result


def sample_set_filter_parse(query: Mapping[str, str], *, version: DatasetVersion) -> SampleIds | None:
    """The samples the set filters allow, as a queryset of rows with a `sample_id` or a set of ids (None when no
    set filter is given); invalid ones raise 400."""
    chosen: list[SampleIds] = []
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
    if (prediction := _prediction(query)) is not None:
        chosen.append(SAMPLE_SET_RESOLVERS["prediction"](version, *prediction))
    if tag := (query.get("tag") or "").strip():
        # An unknown tag matches no sample (tags come and go; the link that named it stays valid).
        tagged = SampleTag.samples.through.objects.filter(sampletag__dataset_id=version.dataset_id, sampletag__name=tag)
        chosen.append(tagged.values("sample_id"))
    if not chosen:
        return None
    return _intersection(chosen)
