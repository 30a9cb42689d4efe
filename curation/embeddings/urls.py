"""Embeddings API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.embeddings.apis import duplicates, sets

SET = "embedding-sets/<int:embedding_set_id>"
VERSION = "versions/<int:version_id>"
RUN = "duplicate-runs/<int:run_id>"

urlpatterns = [
    path("embedding-sets/", sets.EmbeddingSetListApi.as_view(), name="api-embedding-set-list"),
    path(f"{SET}/", sets.EmbeddingSetDetailApi.as_view(), name="api-embedding-set-detail"),
    path(f"{SET}/neighbours/", sets.EmbeddingNeighboursApi.as_view(), name="api-embedding-neighbours"),
    path(f"{SET}/text-search/", sets.EmbeddingTextSearchApi.as_view(), name="api-embedding-text-search"),
    path(f"{SET}/duplicates/", duplicates.DuplicateRunCreateApi.as_view(), name="api-duplicate-run-create"),
    path(f"{SET}/maps/", duplicates.EmbeddingMapCreateApi.as_view(), name="api-embedding-map-create"),
    path(f"{VERSION}/embeddings/", sets.EmbeddingSetCreateApi.as_view(), name="api-embedding-set-create"),
    path(f"{RUN}/", duplicates.DuplicateRunDetailApi.as_view(), name="api-duplicate-run-detail"),
    path(f"{RUN}/groups/", duplicates.DuplicateGroupListApi.as_view(), name="api-duplicate-groups"),
]
