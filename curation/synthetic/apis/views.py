"""Views of the synthetic API; each calls one service or selector. Errors are structured JSON with stable
codes: not_found (404), invalid_params / empty_plan / invalid_decision / invalid_images / nothing_approved /
dataset_mismatch (400), batch_applied (409). Generating and reviewing need `curate`, reading needs `view`."""

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
from curation.models import DatasetVersion
from curation.synthetic.apis import serializers as s
from curation.synthetic.models import SyntheticBatch
from curation.synthetic.selectors import (
    synthetic_batch_counts,
    synthetic_batch_get,
    synthetic_batch_list,
    synthetic_image_get,
    synthetic_images_of_batch,
)
from curation.synthetic.services.apply import synthetic_batch_apply
from curation.synthetic.services.plans import plan_params_validate
from curation.synthetic.services.report_plans import avoid_from_spurious_report, plan_from_slice
from curation.synthetic.services.review import synthetic_image_review, synthetic_images_review_bulk
from curation.synthetic.services.submit import synthetic_batch_start

ERRORS = {
    401: error_response("Not authenticated."),
    403: error_response("The role lacks the capability."),
    404: error_response("Unknown id (code not_found)."),
}
INVALID = {400: error_response("Invalid input (see the code).")}
CONFLICT = {409: error_response("batch_applied: the batch takes no reviews.")}


def _batch_or_404(batch_id: int) -> SyntheticBatch:
    batch = synthetic_batch_get(batch_id)
    if batch is None:
        raise not_found("Synthetic batch", batch_id)
    return batch


def batch_body(batch: SyntheticBatch) -> dict[str, Any]:
    batch.counts = synthetic_batch_counts(batch)  # type: ignore[attr-defined]
    return s.BatchOutputSerializer(batch).data


class SyntheticBatchCreateApi(CurateApi):
    """Plan a batch of synthetic counter-examples on a version and start its generation job (202).

    The plan (every image's class, prompt, seed, parent, background) is fixed and stored before the job
    runs; with `spurious_report`, the avoid lists come from the report's suspected background features; with
    `slice_report` + `slice`, the plan targets that failure slice's class in other classes' surroundings.
    """

    @extend_schema(
        operation_id="synthetic_batch_create",
        tags=["synthetic"],
        request=s.BatchInputSerializer,
        responses={202: s.BatchOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, version_id: int) -> Response:
        if not DatasetVersion.objects.filter(pk=version_id).exists():
            raise not_found("Version", version_id)
        data = s.BatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = {**data.given_values(), "version_id": version_id}
        report_id, source = data.validated_data.get("spurious_report"), "manual"
        if report_id is not None:
            raw["avoid"] = {**avoid_from_spurious_report(report_id), **raw.get("avoid", {})}
            source = "spurious_report"
        number = data.validated_data.get("slice")
        if number is not None:
            report_id, source = data.validated_data["slice_report"], "slice_report"
            parents = data.validated_data.get("parents", "train")
            fixed = plan_from_slice(report_id, number, mode=raw["mode"], parents=parents)
            raw = {**fixed, **raw, "version_id": version_id}
        params = plan_params_validate(**raw)
        batch = synthetic_batch_start(
            params=params, user=cast(User, request.user), name=data.validated_data.get("name", ""),
            plan_source=source, report_id=report_id, slice_number=number,
        )  # fmt: skip
        return Response(batch_body(_batch_or_404(batch.pk)), status=status.HTTP_202_ACCEPTED)


class SyntheticBatchListApi(ReadApi):
    """Synthetic batches, newest first; `?version=` for one version's."""

    @extend_schema(
        operation_id="synthetic_batch_list",
        tags=["synthetic"],
        parameters=[OpenApiParameter("version", OpenApiTypes.INT)],
        responses={200: s.BatchOutputSerializer(many=True), 400: INVALID[400], **ERRORS},
    )
    def get(self, request: Request) -> Response:
        version = request.query_params.get("version")
        if version is not None and not str(version).isdigit():
            raise ApplicationError("version must be an id.", code="invalid_filter")
        batches = synthetic_batch_list(version_id=int(version) if version else None)[:200]
        return Response([batch_body(b) for b in batches])


class SyntheticBatchDetailApi(ReadApi):
    """A batch: its generator and spec, every setting, the plan's size, skipped items and review counts."""

    @extend_schema(
        operation_id="synthetic_batch_detail", tags=["synthetic"], responses={200: s.BatchOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, batch_id: int) -> Response:
        return Response(batch_body(_batch_or_404(batch_id)))


class SyntheticBatchImagesApi(ReadApi):
    """A batch's images with their full record (cursor pages); `?status=` and `?flagged=` filter."""

    class Pagination(IdCursorPagination):
        ordering = "id"

    @extend_schema(
        operation_id="synthetic_image_list",
        tags=["synthetic"],
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR),
            OpenApiParameter("flagged", OpenApiTypes.BOOL),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: s.ImagePageOutputSerializer, **ERRORS},
    )
    def get(self, request: Request, batch_id: int) -> Response:
        batch = _batch_or_404(batch_id)
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in ("pending", "approved", "rejected"):
            raise ApplicationError("status must be pending, approved or rejected.", code="invalid_filter")
        flagged_raw = request.query_params.get("flagged")
        flagged = None if flagged_raw is None else str(flagged_raw).lower() in ("1", "true")
        images = synthetic_images_of_batch(batch, status=wanted, flagged=flagged)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(images, request, view=self)
        return paginator.get_paginated_response(s.ImageOutputSerializer(page, many=True).data)


class SyntheticImageReviewApi(CurateApi):
    """Approve, reject or put back to pending one generated image."""

    @extend_schema(
        operation_id="synthetic_image_review",
        tags=["synthetic"],
        request=s.ReviewInputSerializer,
        responses={200: s.ImageOutputSerializer, **INVALID, **CONFLICT, **ERRORS},
    )
    def post(self, request: Request, image_id: int) -> Response:
        image = synthetic_image_get(image_id)
        if image is None:
            raise not_found("Synthetic image", image_id)
        data = s.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        image = synthetic_image_review(
            image=image, decision=data.validated_data["decision"], user=cast(User, request.user)
        )
        return Response(s.ImageOutputSerializer(synthetic_image_get(image.pk)).data)


class SyntheticBatchBulkReviewApi(CurateApi):
    """One decision for many images of a batch: listed ones, or all (pending; optionally only (un)flagged)."""

    @extend_schema(
        operation_id="synthetic_batch_bulk_review",
        tags=["synthetic"],
        request=s.BulkReviewInputSerializer,
        responses={200: s.BulkReviewOutputSerializer, **INVALID, **CONFLICT, **ERRORS},
    )
    def post(self, request: Request, batch_id: int) -> Response:
        batch = _batch_or_404(batch_id)
        data = s.BulkReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = synthetic_images_review_bulk(
            batch=batch, decision=data.validated_data["decision"], user=cast(User, request.user),
            image_ids=data.validated_data.get("images"), only_pending=data.validated_data["only_pending"],
            flagged=data.validated_data["flagged"],
        )  # fmt: skip
        return Response({"changed": changed})


class SyntheticBatchApplyApi(CurateApi):
    """Make a new version (operation synthetic) with the base's members plus the approved images."""

    @extend_schema(
        operation_id="synthetic_batch_apply",
        tags=["synthetic"],
        request=s.SyntheticApplyInputSerializer,
        responses={201: s.ApplyOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, batch_id: int) -> Response:
        batch = _batch_or_404(batch_id)
        data = s.SyntheticApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        base = None
        if data.validated_data.get("base_version") is not None:
            base = DatasetVersion.objects.filter(pk=data.validated_data["base_version"]).first()
            if base is None:
                raise not_found("Version", data.validated_data["base_version"])
        version = synthetic_batch_apply(
            batch=batch, user=cast(User, request.user), base=base, split=data.validated_data["split"]
        )
        body = {
            "version": version.pk,
            "number": version.number,
            "sample_count": version.sample_count,
            "operation_params": version.operation_params,
        }
        return Response(body, status=status.HTTP_201_CREATED)
