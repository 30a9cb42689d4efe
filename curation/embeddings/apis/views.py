"""Views of the embeddings API (docs/ARCHITECTURE.md §8): embedding sets (list, detail, start an embedding job,
neighbours of a sample, text-to-image search), duplicate runs (start, detail, groups) and embedding maps (start).
Each calls one service or selector."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import CurateApi, ReadApi
from core.pagination import CURSOR_PAGE_PARAMETERS, id_cursor_page
from curation.embeddings.apis.serializers import (
    DuplicateGroupPageOutputSerializer,
    DuplicateGroupsInputSerializer,
    DuplicateRunInputSerializer,
    DuplicateRunOutputSerializer,
    EmbeddingMapInputSerializer,
    EmbeddingSetFilterSerializer,
    EmbeddingSetOutputSerializer,
    EmbeddingSetPageOutputSerializer,
    EmbedInputSerializer,
    NeighbourListOutputSerializer,
    NeighboursInputSerializer,
    TextSearchInputSerializer,
)
from curation.embeddings.models import DuplicateRun, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import Neighbour, embedding_set_get, embedding_set_list, sample_similar, text_search
from curation.embeddings.selectors.duplicates import duplicate_group_page, duplicate_run_get
from curation.embeddings.services.duplicates import duplicate_params_validate, duplicate_run_submit
from curation.embeddings.services.embedding_jobs import embed_params_validate, embedding_set_submit
from curation.embeddings.services.maps import embedding_map_submit, map_params_validate
from jobs.apis import JobAcceptedOutputSerializer, params_job_accepted

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
ERRORS_START = {
    400: error_response("A parameter out of range (code invalid)."),
    409: error_response("The embedding set is not ready (code not_ready)."),
    **ERRORS_READ,
}


def embedding_set_or_404(embedding_set_id: int) -> EmbeddingSet:
    embedding_set = embedding_set_get(embedding_set_id)
    if embedding_set is None:
        raise not_found("Embedding set", embedding_set_id)
    return embedding_set


def run_or_404(run_id: int) -> DuplicateRun:
    run = duplicate_run_get(run_id)
    if run is None:
        raise not_found("Duplicate run", run_id)
    return run


def neighbours_response(embedding_set: EmbeddingSet, found: list[Neighbour]) -> Response:
    body = {"embedding_set": embedding_set.pk, "results": [vars(n) for n in found]}
    return Response(NeighbourListOutputSerializer(body).data)


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
        return id_cursor_page(request, self, sets, EmbeddingSetOutputSerializer)


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
        return params_job_accepted(
            request,
            EmbedInputSerializer,
            validate=embed_params_validate,
            submit=embedding_set_submit,
            version_id=version_id,
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
        return params_job_accepted(
            request,
            DuplicateRunInputSerializer,
            validate=duplicate_params_validate,
            submit=duplicate_run_submit,
            embedding_set_id=embedding_set_id,
        )


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
        return params_job_accepted(
            request,
            EmbeddingMapInputSerializer,
            validate=map_params_validate,
            submit=embedding_map_submit,
            embedding_set_id=embedding_set_id,
        )
