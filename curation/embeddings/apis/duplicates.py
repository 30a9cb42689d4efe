"""Duplicate runs and embedding maps: start their jobs, read a run and its groups."""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import CurateApi, ReadApi
from core.params import params_serializer
from curation.embeddings.apis.sets import ERRORS_READ
from curation.embeddings.models import DuplicateKind, DuplicateRun
from curation.embeddings.selectors.duplicates import duplicate_group_page, duplicate_run_get
from curation.embeddings.services.duplicates import DuplicateParams, duplicate_params_validate, duplicate_run_submit
from curation.embeddings.services.maps import MapParams, embedding_map_submit, map_params_validate
from jobs.apis import JobAcceptedOutputSerializer, job_accepted

ERRORS_START = {
    400: error_response("A parameter out of range (code invalid)."),
    409: error_response("The embedding set is not ready (code not_ready)."),
    **ERRORS_READ,
}


# Generated from DuplicateParams (core.params): the fields, help and defaults of the page form and the command.
DuplicateRunInputSerializer = params_serializer(DuplicateParams, name="DuplicateRunInputSerializer")


class DuplicateRunCreateApi(CurateApi):
    """Start finding exact and near duplicates in an embedding set; 202 with the job (curators)."""

    @extend_schema(
        operation_id="duplicate_run_create",
        tags=["duplicates"],
        summary="Find exact and near-duplicate groups (starts a job)",
        request=DuplicateRunInputSerializer,
        responses={202: JobAcceptedOutputSerializer, **ERRORS_START},
    )
    def post(self, request: Request, embedding_set_id: int) -> Response:
        data = DuplicateRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = duplicate_params_validate(embedding_set_id=embedding_set_id, **data.as_values())
        return job_accepted(duplicate_run_submit(params=params, requested_by=cast(User, request.user)))


class DuplicateRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    embedding_set = serializers.IntegerField(source="embedding_set_id")
    version = serializers.IntegerField(source="version_id")
    job = serializers.IntegerField(source="job_id", allow_null=True)
    threshold = serializers.FloatField(help_text="Cosine of semantic near duplicates.")
    threshold_source = serializers.CharField(help_text="user or calibrated")
    verify_threshold = serializers.FloatField(allow_null=True, help_text="Pixel verification score of a copy.")
    params = serializers.JSONField()
    calibration = serializers.JSONField(
        help_text="Cosine and pixel-verification calibration (histograms of perturbed pairs and nearest neighbours); "
        "cached: reused from an earlier run on the set."
    )
    warnings = serializers.JSONField(help_text="[{code, message}], e.g. encoder_cannot_separate.")
    search = serializers.JSONField(help_text="Pair search method, time, and recall vs exact on a sample.")
    truth = serializers.JSONField(allow_null=True, help_text="Precision/recall vs the demo truth.")
    exact_group_count = serializers.IntegerField()
    near_group_count = serializers.IntegerField()
    near_duplicate_samples = serializers.IntegerField()
    semantic_group_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


def run_or_404(run_id: int) -> DuplicateRun:
    run = duplicate_run_get(run_id)
    if run is None:
        raise not_found("Duplicate run", run_id)
    return run


class DuplicateRunDetailApi(ReadApi):
    """A duplicate run: threshold and how it was chosen, search summary, truth metrics."""

    @extend_schema(
        operation_id="duplicate_run_detail",
        tags=["duplicates"],
        summary="A duplicate run",
        responses={200: DuplicateRunOutputSerializer, **ERRORS_READ},
    )
    def get(self, request: Request, run_id: int) -> Response:
        return Response(DuplicateRunOutputSerializer(run_or_404(run_id)).data)


class DuplicateGroupsInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DuplicateKind.choices, required=False)
    after = serializers.IntegerField(required=False, help_text="Group number of the previous page's last group.")
    page_size = serializers.IntegerField(default=50, min_value=1, max_value=500)


class DuplicateGroupOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DuplicateKind.choices)
    size = serializers.IntegerField()
    sample_ids = serializers.ListField(child=serializers.IntegerField())
    pairs = serializers.JSONField(
        help_text="[[sample a, sample b, cosine, pixel verification score]] of near and semantic groups."
    )
    file_names = serializers.ListField(child=serializers.CharField(), help_text="Names of an exact group's bytes.")
    max_similarity = serializers.FloatField()


class DuplicateGroupPageOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    next_after = serializers.IntegerField(allow_null=True, help_text="Pass as `after` for the next page.")
    results = DuplicateGroupOutputSerializer(many=True)


class DuplicateGroupListApi(ReadApi):
    """A run's groups: near groups (copies) largest first, then semantic ones, then exact groups (keyset pages on
    the group number)."""

    @extend_schema(
        operation_id="duplicate_group_list",
        tags=["duplicates"],
        summary="Duplicate groups of a run",
        parameters=[DuplicateGroupsInputSerializer],
        responses={200: DuplicateGroupPageOutputSerializer, **ERRORS_READ},
    )
    def get(self, request: Request, run_id: int) -> Response:
        data = DuplicateGroupsInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        page = duplicate_group_page(
            run=run_or_404(run_id),
            kind=data.validated_data.get("kind"),
            after_number=data.validated_data.get("after"),
            size=data.validated_data["page_size"],
        )
        body = {"run": run_id, "next_after": page.next_after, "results": [view.group for view in page.groups]}
        return Response(DuplicateGroupPageOutputSerializer(body).data)


# MapParams (core.params); the set comes from the URL.
EmbeddingMapInputSerializer = params_serializer(MapParams, name="EmbeddingMapInputSerializer")


class EmbeddingMapCreateApi(CurateApi):
    """Start computing the 2-D map of an embedding set; 202 with the job (curators)."""

    @extend_schema(
        operation_id="embedding_map_create",
        tags=["embeddings"],
        summary="Compute the embedding map (PCA of every row, or t-SNE of a sample; starts a job)",
        request=EmbeddingMapInputSerializer,
        responses={202: JobAcceptedOutputSerializer, **ERRORS_START},
    )
    def post(self, request: Request, embedding_set_id: int) -> Response:
        data = EmbeddingMapInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = map_params_validate(embedding_set_id=embedding_set_id, **data.as_values())
        return job_accepted(embedding_map_submit(params=params, requested_by=cast(User, request.user)))
