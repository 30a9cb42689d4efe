"""Embeddings API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.embeddings.apis import views

SET = "embedding-sets/<int:embedding_set_id>"
VERSION = "versions/<int:version_id>"
RUN = "duplicate-runs/<int:run_id>"

urlpatterns = [
    path("embedding-sets/", views.EmbeddingSetListApi.as_view(), name="api-embedding-set-list"),
    path(f"{SET}/", views.EmbeddingSetDetailApi.as_view(), name="api-embedding-set-detail"),
    path(f"{SET}/neighbours/", views.EmbeddingNeighboursApi.as_view(), name="api-embedding-neighbours"),
    path(f"{SET}/text-search/", views.EmbeddingTextSearchApi.as_view(), name="api-embedding-text-search"),
    path(f"{SET}/duplicates/", views.DuplicateRunCreateApi.as_view(), name="api-duplicate-run-create"),
    path(f"{SET}/maps/", views.EmbeddingMapCreateApi.as_view(), name="api-embedding-map-create"),
    path(f"{VERSION}/embeddings/", views.EmbeddingSetCreateApi.as_view(), name="api-embedding-set-create"),
    path(f"{RUN}/", views.DuplicateRunDetailApi.as_view(), name="api-duplicate-run-detail"),
    path(f"{RUN}/groups/", views.DuplicateGroupListApi.as_view(), name="api-duplicate-groups"),
]
