"""Embeddings API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.embeddings.apis import sets

SET = "embedding-sets/<int:embedding_set_id>"
VERSION = "versions/<int:version_id>"

urlpatterns = [
    path("embedding-sets/", sets.EmbeddingSetListApi.as_view(), name="api-embedding-set-list"),
    path(f"{SET}/", sets.EmbeddingSetDetailApi.as_view(), name="api-embedding-set-detail"),
    path(f"{SET}/neighbours/", sets.EmbeddingNeighboursApi.as_view(), name="api-embedding-neighbours"),
    path(f"{SET}/text-search/", sets.EmbeddingTextSearchApi.as_view(), name="api-embedding-text-search"),
    path(f"{VERSION}/embeddings/", sets.EmbeddingSetCreateApi.as_view(), name="api-embedding-set-create"),
]
