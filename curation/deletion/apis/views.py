"""Deletion API: DELETE on a dataset, a version or a run answers 202 with the job that deletes it, and
the audit of deletions. Each view calls one service or selector.

`DELETE /api/datasets/<id>/` and `DELETE /api/versions/<id>/` are the detail views' own DELETE (the
mixins below); runs of every kind share `DELETE /api/runs/<kind>/<id>/` (kinds: services.RUN_KINDS).
"""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import CurateApi
from core.pagination import CURSOR_PAGE_PARAMETERS, IdCursorPagination
from core.roles import Capability
from curation.deletion.apis.serializers import (
    DeletionAcceptedOutputSerializer,
    DeletionOutputSerializer,
    DeletionPageOutputSerializer,
)
from curation.deletion.models import Deletion
from curation.deletion.selectors import deletion_list
from curation.deletion.services import RUN_KINDS, dataset_delete_start, run_delete_start, version_delete_start
from curation.models import Dataset, DatasetVersion
from jobs.apis import job_accepted

DELETE_ERRORS = {
    401: error_response("Not authenticated (code not_authenticated)."),
    403: error_response("Only curators and admins may delete (code permission_denied)."),
    404: error_response("Unknown id (code not_found)."),
    409: error_response(
        "deletion_blocked: rows that depend on it, rows of another dataset that use it, or jobs still running on it; "
        "details.blockers lists them: [{model, name, count, ids, reason (depends, other_dataset, busy), link}]."
    ),
}


def deletion_accepted(deletion: Deletion) -> Response:
    """202 with the deletion's job (as jobs.apis.job_accepted) and its audit row."""
    assert deletion.job is not None
    response = job_accepted(deletion.job)
    response.data = DeletionAcceptedOutputSerializer({**response.data, "deletion": deletion.pk}).data
    return response


class DatasetDeleteMixin:
    """DELETE on the dataset detail view (curators and admins)."""

    required_capabilities = {"DELETE": Capability.CURATE}

    @extend_schema(
        operation_id="dataset_delete",
        tags=["datasets"],
        summary="Delete a dataset with everything in it, as a job (202); lists hide it at once",
        request=None,
        responses={202: DeletionAcceptedOutputSerializer, **DELETE_ERRORS},
    )
    def delete(self, request: Request, dataset_id: int) -> Response:
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            raise not_found("Dataset", dataset_id)
        return deletion_accepted(dataset_delete_start(dataset=dataset, requested_by=cast(User, request.user)))


class VersionDeleteMixin:
    """DELETE on the version detail view (curators and admins)."""

    required_capabilities = {"DELETE": Capability.CURATE}

    @extend_schema(
        operation_id="version_delete",
        tags=["versions"],
        summary="Delete a version no other row depends on, as a job (202); lists hide it at once",
        request=None,
        responses={202: DeletionAcceptedOutputSerializer, **DELETE_ERRORS},
    )
    def delete(self, request: Request, version_id: int) -> Response:
        version = DatasetVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise not_found("Version", version_id)
        return deletion_accepted(version_delete_start(version=version, requested_by=cast(User, request.user)))


class RunDeleteApi(CurateApi):
    """Delete one run (an embedding set, a prune run, a trained model, a report…) with its rows and files."""

    @extend_schema(
        operation_id="run_delete",
        tags=["deletions"],
        summary="Delete a run as a job (202): its own rows and files; refused while other rows depend on it",
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(RUN_KINDS))],
        request=None,
        responses={202: DeletionAcceptedOutputSerializer, **DELETE_ERRORS},
    )
    def delete(self, request: Request, kind: str, run_id: int) -> Response:
        if kind not in RUN_KINDS:
            raise not_found(f"Run kind '{kind}'", run_id)
        deletion = run_delete_start(kind=kind, run_id=run_id, requested_by=cast(User, request.user))
        return deletion_accepted(deletion)


class DeletionListApi(CurateApi):
    """The audit of deletions, newest first: who asked to delete what, when, and what went."""

    @extend_schema(
        operation_id="deletion_list",
        tags=["deletions"],
        summary="List deletions (the audit), newest first",
        parameters=[
            OpenApiParameter("target", OpenApiTypes.STR, description="dataset, version or a run kind"),
            OpenApiParameter("target_id", OpenApiTypes.INT, description="the deleted row's id"),
            *CURSOR_PAGE_PARAMETERS,
        ],
        responses={
            200: DeletionPageOutputSerializer,
            **{code: DELETE_ERRORS[code] for code in (401, 403)},
            404: error_response("not_found: an invalid cursor."),
        },
    )
    def get(self, request: Request) -> Response:
        target_id = request.query_params.get("target_id")
        deletions = deletion_list(
            target=request.query_params.get("target") or None,
            target_id=int(target_id) if target_id and target_id.isdigit() else None,
        )
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(deletions, request, view=self)
        return paginator.get_paginated_response(DeletionOutputSerializer(page, many=True).data)
