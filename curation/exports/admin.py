"""Django admin for exports: read-only rows (made by the export job); one action purges expired files."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from curation.exports.models import Export
from curation.exports.services.exports import exports_expired_purge


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("id", "version", "format", "status", "sample_count", "size", "created_by", "expires_at")
    list_filter = ("format",)
    list_select_related = ("version__dataset", "job", "created_by")
    raw_id_fields = ("version", "job", "created_by")
    readonly_fields = [field.name for field in Export._meta.fields]
    actions = ["purge_expired"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its stored files must go too: `exports_expired_purge` does that

    @admin.action(description="Delete the files of every expired export")
    def purge_expired(self, request: HttpRequest, queryset: QuerySet[Export]) -> None:
        purged = exports_expired_purge()
        self.message_user(request, f"Deleted the files of {len(purged)} expired export(s).", messages.SUCCESS)
