"""Read-only admin of mask sets (they are written by the `estimate_masks` job)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from curation.masks.models import MaskSet


@admin.register(MaskSet)
class MaskSetAdmin(admin.ModelAdmin):
    list_display = ("id", "version", "provider", "status", "done", "planned", "with_mask", "created_at")
    list_filter = ("status", "provider")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
