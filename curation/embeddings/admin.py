"""Read-only admin of embedding sets, their chunks, duplicate runs and maps (they are written by jobs)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from curation.embeddings.models import DuplicateRun, EmbeddingChunk, EmbeddingMap, EmbeddingSet


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EmbeddingSet)
class EmbeddingSetAdmin(ReadOnlyAdmin):
    list_display = ("id", "dataset", "version", "encoder_name", "status", "rows", "skipped", "index_kind", "created_at")
    list_filter = ("status", "encoder_name")
    search_fields = ("encoder_name",)


@admin.register(EmbeddingChunk)
class EmbeddingChunkAdmin(ReadOnlyAdmin):
    list_display = ("id", "embedding_set", "number", "status", "attempts", "embedded", "worker", "finished_at")
    list_filter = ("status",)


@admin.register(DuplicateRun)
class DuplicateRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "embedding_set", "threshold", "threshold_source", "near_group_count", "exact_group_count")


@admin.register(EmbeddingMap)
class EmbeddingMapAdmin(ReadOnlyAdmin):
    list_display = ("id", "embedding_set", "method", "point_count", "seconds", "created_at")
