from django.contrib import admin

from explain.spurious.models import SpuriousReport


@admin.register(SpuriousReport)
class SpuriousReportAdmin(admin.ModelAdmin):
    """Read-only: reports are started from the page, the API or `manage.py find_spurious`, never edited."""

    list_display = ("id", "trained_model", "version", "split", "sample_count", "status", "created_at")
    list_select_related = ("trained_model", "version__dataset", "job")
    search_fields = ("trained_model__name", "version__dataset__name")
    readonly_fields = [field.name for field in SpuriousReport._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
