"""Embedding sets: list, detail, start an embedding job, neighbours of a sample, text-to-image search."""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import CurateApi, ReadApi
from core.pagination import CURSOR_PAGE_PARAMETERS, IdCursorPagination
from core.params import params_serializer
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import (
    DEFAULT_NEIGHBOURS,
    MAX_NEIGHBOURS,
    Neighbour,
    embedding_set_get,
    embedding_set_list,
    sample_similar,
    text_search,
)
from curation.embeddings.services.embedding_jobs import EmbedParams, embed_params_validate, embedding_set_submit
from jobs.apis import JobAcceptedOutputSerializer, job_accepted

ERRORS_READ = {
    401: error_response("Not authenticated (code not_authenticated)."),
    403: error_response("The role lacks the needed capability."),
    404: error_response("Unknown id (code not_found)."),
}
ERRORS_SEARCH = {
    **ERRORS_READ,
    400: error_response("Bad parameters; encoder_mismatch; no_text_tower."),
    409: error_response("not_ready; corrupt_embeddings (embed again)."),
}


def embedding_set_or_404(embedding_set_id: int) -> EmbeddingSet:
    embedding_set = embedding_set_get(embedding_set_id)
    if embedding_set is None:
        raise not_found("Embedding set", embedding_set_id)
    return embedding_set


class EmbeddingSetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    version = serializers.IntegerField(source="version_id")
    job = serializers.IntegerField(source="job_id", allow_null=True)
    status = serializers.ChoiceField(choices=EmbeddingSetStatus.choices)
    encoder_name = serializers.CharField()
    encoder_spec = serializers.JSONField(help_text="EncoderSpec: arch, weights, dim, preprocessing, text tower.")
    dim = serializers.IntegerField()
    dtype = serializers.CharField()
    planned_rows = serializers.IntegerField()
    rows = serializers.IntegerField()
    skipped = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    index_kind = serializers.CharField()
    checksum = serializers.CharField(help_text="sha256 of the float16 embeddings .npy")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class EmbeddingSetPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EmbeddingSetOutputSerializer(many=True)


class EmbeddingSetListApi(ReadApi):
    """Embedding sets, newest first (cursor-paginated), optionally of one dataset or version."""

    @extend_schema(
        operation_id="embedding_set_list",
        tags=["embeddings"],
        summary="List embedding sets, newest first",
        parameters=[
            OpenApiParameter("dataset", OpenApiTypes.INT, description="Only this dataset's sets."),
            OpenApiParameter("version", OpenApiTypes.INT, description="Only this version's sets."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=EmbeddingSetStatus.values),
            *CURSOR_PAGE_PARAMETERS,
        ],
        responses={200: EmbeddingSetPageOutputSerializer, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        filters = EmbeddingSetFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        sets = embedding_set_list(
            dataset_id=filters.validated_data.get("dataset"),
            version_id=filters.validated_data.get("version"),
            status=filters.validated_data.get("status"),
        )
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(sets, request, view=self)
        return paginator.get_paginated_response(EmbeddingSetOutputSerializer(page, many=True).data)


class EmbeddingSetFilterSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(required=False)
    version = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=EmbeddingSetStatus.choices, required=False)


class EmbeddingSetDetailApi(ReadApi):
    """One embedding set: encoder spec, counts, index kind, checksum."""

    @extend_schema(
        operation_id="embedding_set_detail",
        tags=["embeddings"],
        summary="An embedding set",
        responses={200: EmbeddingSetOutputSerializer, **ERRORS_READ},
    )
    def get(self, request: Request, embedding_set_id: int) -> Response:
        return Response(EmbeddingSetOutputSerializer(embedding_set_or_404(embedding_set_id)).data)


# Generated from EmbedParams (core.params): the fields, help and defaults of the page form and `manage.py embed`.
EmbedInputSerializer = params_serializer(EmbedParams, name="EmbedInputSerializer")


class EmbeddingSetCreateApi(CurateApi):
    """Start embedding a version; returns 202 with the job to follow (curators)."""

    @extend_schema(
        operation_id="embedding_set_create",
        tags=["embeddings"],
        summary="Embed every image of a version with an encoder (starts a job)",
        request=EmbedInputSerializer,
        responses={
            202: JobAcceptedOutputSerializer,
            400: error_response("unknown_encoder, empty_version, invalid."),
            **ERRORS_READ,
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        data = EmbedInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = embed_params_validate(version_id=version_id, **data.as_values())
        return job_accepted(embedding_set_submit(params=params, requested_by=cast(User, request.user)))


class NeighbourOutputSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField()
    score = serializers.FloatField(help_text="Cosine similarity.")


class NeighbourListOutputSerializer(serializers.Serializer):
    embedding_set = serializers.IntegerField()
    results = NeighbourOutputSerializer(many=True)


def neighbours_response(embedding_set: EmbeddingSet, found: list[Neighbour]) -> Response:
    body = {"embedding_set": embedding_set.pk, "results": [vars(n) for n in found]}
    return Response(NeighbourListOutputSerializer(body).data)


class NeighboursInputSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField(help_text="The sample whose neighbours are wanted.")
    k = serializers.IntegerField(default=DEFAULT_NEIGHBOURS, min_value=1, max_value=MAX_NEIGHBOURS)
    query_set = serializers.IntegerField(
        required=False, help_text="Read the sample's vector from this set (same encoder), e.g. of another version."
    )


class EmbeddingNeighboursApi(ReadApi):
    """The samples most similar to one sample ("more like this"), best first."""

    @extend_schema(
        operation_id="embedding_neighbours",
        tags=["embeddings"],
        summary="Nearest neighbours of a sample in an embedding set",
        parameters=[NeighboursInputSerializer],
        responses={200: NeighbourListOutputSerializer, **ERRORS_SEARCH},
    )
    def get(self, request: Request, embedding_set_id: int) -> Response:
        data = NeighboursInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        embedding_set = embedding_set_or_404(embedding_set_id)
        query_id = data.validated_data.get("query_set")
        query_set = embedding_set_or_404(query_id) if query_id is not None else None
        found = sample_similar(
            embedding_set=embedding_set,
            sample_id=data.validated_data["sample_id"],
            k=data.validated_data["k"],
            query_set=query_set,
        )
        return neighbours_response(embedding_set, found)


class TextSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=500, help_text="What to look for, e.g. 'a dog on grass'.")
    k = serializers.IntegerField(default=DEFAULT_NEIGHBOURS, min_value=1, max_value=MAX_NEIGHBOURS)


class EmbeddingTextSearchApi(ReadApi):
    """The samples whose images best match a text (open_clip sets: the encoder's text tower)."""

    @extend_schema(
        operation_id="embedding_text_search",
        tags=["embeddings"],
        summary="Text-to-image search in an embedding set",
        parameters=[TextSearchInputSerializer],
        responses={
            200: NeighbourListOutputSerializer,
            503: error_response("weights_unavailable"),
            **ERRORS_SEARCH,
        },
    )
    def get(self, request: Request, embedding_set_id: int) -> Response:
        data = TextSearchInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        embedding_set = embedding_set_or_404(embedding_set_id)
        found = text_search(embedding_set=embedding_set, text=data.validated_data["q"], k=data.validated_data["k"])
        return neighbours_response(embedding_set, found)
