"""Views of the clusters and pruning API; each calls one service or selector."""

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import ApplicationError, error_response, not_found
from core.api_views import CurateApi, ReadApi
from core.pagination import IdCursorPagination
from curation.apis.lookups import version_or_404
from curation.ml.pruning import PruneReason
from curation.pruning.apis.serializers import (
    AppliedOutputSerializer,
    ClusterRunDetailOutputSerializer,
    ClusterRunInputSerializer,
    ClusterRunOutputSerializer,
    DecisionOutputSerializer,
    DecisionPageOutputSerializer,
    MethodDefaultsOutputSerializer,
    PruneRunInputSerializer,
    PruneRunOutputSerializer,
    VersionDiffOutputSerializer,
)
from curation.pruning.models import PruneMethod
from curation.pruning.selectors.clusters import cluster_run_get, cluster_runs_of_version, cluster_table
from curation.pruning.selectors.diff import version_diff
from curation.pruning.selectors.pruning import prune_decisions, prune_run_get, prune_runs_of_version
from curation.pruning.services.apply import prune_run_apply
from curation.pruning.services.jobs import cluster_run_submit, prune_run_submit
from curation.pruning.services.params import cluster_params_validate, method_defaults, prune_params_validate
from jobs.apis import JobAcceptedOutputSerializer, params_job_accepted

ERRORS = {
    401: error_response("Not authenticated."),
    403: error_response("The role lacks the capability."),
    404: error_response("Unknown id (code not_found)."),
}
ERROR_INVALID = {
    400: error_response(
        "invalid_keep_fraction, invalid_eps, invalid_tau, invalid_k, k_too_large, invalid_method, "
        "invalid_parameter, embeddings_required, embeddings_not_ready, embeddings_mismatch, cluster_run_mismatch."
    )
}


class ClusterRunStartApi(CurateApi):
    """Start a clustering job (spherical k-means + per-cluster complexity); returns 202 with the job."""

    @extend_schema(
        operation_id="cluster_run_start",
        tags=["clusters"],
        request=ClusterRunInputSerializer,
        responses={202: JobAcceptedOutputSerializer, **ERROR_INVALID, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        return params_job_accepted(
            request, ClusterRunInputSerializer, validate=cluster_params_validate, submit=cluster_run_submit
        )


class ClusterRunDetailApi(ReadApi):
    """A cluster run with every cluster's size, d_intra, d_inter, complexity and class mix."""

    @extend_schema(
        operation_id="cluster_run_detail",
        tags=["clusters"],
        responses={200: ClusterRunDetailOutputSerializer, **ERRORS},
    )
    def get(self, request: Request, cluster_run_id: int) -> Response:
        run = cluster_run_get(cluster_run_id)
        if run is None:
            raise not_found("Cluster run", cluster_run_id)
        run.cluster_rows = cluster_table(run, order="index")  # type: ignore[attr-defined]
        return Response(ClusterRunDetailOutputSerializer(run).data)


class VersionClusterRunListApi(ReadApi):
    """A version's cluster runs, newest first."""

    @extend_schema(
        operation_id="cluster_run_list",
        tags=["clusters"],
        responses={200: ClusterRunOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, version_id: int) -> Response:
        runs = cluster_runs_of_version(version_or_404(version_id))
        return Response(ClusterRunOutputSerializer(runs, many=True).data)


class PruneMethodListApi(ReadApi):
    """Every pruning method with its parameters and their defaults."""

    @extend_schema(
        operation_id="prune_method_list",
        tags=["pruning"],
        responses={200: MethodDefaultsOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        rows = [{"method": m.value, "label": m.label, "defaults": method_defaults(m.value)} for m in PruneMethod]
        return Response(MethodDefaultsOutputSerializer(rows, many=True).data)


class PruneRunStartApi(CurateApi):
    """Start a prune job: a decision, reason and score for every sample; nothing changes until applied."""

    @extend_schema(
        operation_id="prune_run_start",
        tags=["pruning"],
        request=PruneRunInputSerializer,
        responses={202: JobAcceptedOutputSerializer, **ERROR_INVALID, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        return params_job_accepted(
            request, PruneRunInputSerializer, validate=prune_params_validate, submit=prune_run_submit
        )


class PruneRunDetailApi(ReadApi):
    """A prune run: method, every parameter, counts per reason, eps sweep, resulting version."""

    @extend_schema(
        operation_id="prune_run_detail", tags=["pruning"], responses={200: PruneRunOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, prune_run_id: int) -> Response:
        run = prune_run_get(prune_run_id)
        if run is None:
            raise not_found("Prune run", prune_run_id)
        return Response(PruneRunOutputSerializer(run).data)


class VersionPruneRunListApi(ReadApi):
    """A version's prune runs, newest first."""

    @extend_schema(
        operation_id="prune_run_list", tags=["pruning"], responses={200: PruneRunOutputSerializer(many=True), **ERRORS}
    )
    def get(self, request: Request, version_id: int) -> Response:
        runs = prune_runs_of_version(version_or_404(version_id))
        return Response(PruneRunOutputSerializer(runs, many=True).data)


class DecisionPagination(IdCursorPagination):
    ordering = "sample_id"


def _optional_int(query: Any, name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ApplicationError(f"{name} must be an integer.", code="invalid_filter")


class PruneDecisionListApi(ReadApi):
    """A run's per-sample decisions in sample-id order (cursor pages), filtered by keep, reason or cluster."""

    @extend_schema(
        operation_id="prune_decision_list",
        tags=["pruning"],
        parameters=[
            OpenApiParameter("keep", OpenApiTypes.BOOL),
            OpenApiParameter("reason", OpenApiTypes.STR, enum=[r.name.lower() for r in PruneReason]),
            OpenApiParameter("cluster", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: DecisionPageOutputSerializer, **ERRORS},
    )
    def get(self, request: Request, prune_run_id: int) -> Response:
        run = prune_run_get(prune_run_id)
        if run is None:
            raise not_found("Prune run", prune_run_id)
        query = request.query_params
        keep = {"true": True, "1": True, "false": False, "0": False}.get(str(query.get("keep", "")).lower())
        reason_names = {r.name.lower(): int(r) for r in PruneReason}
        if query.get("reason") and query["reason"] not in reason_names:
            raise ApplicationError(f"Unknown reason {query['reason']!r}.", code="invalid_filter")
        reason = reason_names.get(query.get("reason", ""))
        decisions = prune_decisions(run, keep=keep, reason=reason, cluster=_optional_int(query, "cluster"))
        paginator = DecisionPagination()
        page = paginator.paginate_queryset(decisions, request, view=self)
        return paginator.get_paginated_response(DecisionOutputSerializer(page, many=True).data)


class PruneRunApplyApi(CurateApi):
    """Apply a run: a new immutable version of the kept samples (201), or the one it already made (200)."""

    @extend_schema(
        operation_id="prune_run_apply",
        tags=["pruning"],
        request=None,
        responses={200: AppliedOutputSerializer, 201: AppliedOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, prune_run_id: int) -> Response:
        run = prune_run_get(prune_run_id)
        if run is None:
            raise not_found("Prune run", prune_run_id)
        already = run.resulting_version_id is not None
        version = prune_run_apply(prune_run=run, user=cast(User, request.user))
        body = {
            "version": version.pk,
            "number": version.number,
            "parent": version.parent_id,
            "sample_count": version.sample_count,
            "created": not already,
        }
        code = status.HTTP_200_OK if already else status.HTTP_201_CREATED
        return Response(AppliedOutputSerializer(body).data, status=code)


class VersionDiffApi(ReadApi):
    """Members per class and split in two versions of the same dataset."""

    @extend_schema(
        operation_id="version_diff", tags=["versions"], responses={200: VersionDiffOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, version_id: int, other_id: int) -> Response:
        before, after = version_or_404(version_id), version_or_404(other_id)
        if before.dataset_id != after.dataset_id:
            raise ApplicationError("Only versions of the same dataset can be compared.", code="different_datasets")
        diff = version_diff(before=before, after=after)
        total_before, total_after = diff.totals()
        body = {
            "before": before.pk,
            "after": after.pk,
            "total_before": total_before,
            "total_after": total_after,
            "rows": [{**row.__dict__, "change": row.change} for row in diff.rows],
        }
        return Response(VersionDiffOutputSerializer(body).data)
