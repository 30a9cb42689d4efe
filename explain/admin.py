from django.contrib import admin

from explain.models import ExplanationRun


@admin.register(ExplanationRun)
class ExplanationRunAdmin(admin.ModelAdmin):
    """Read-only: runs are started from the page, the API or `manage.py explain`, never edited."""

    list_display = ("id", "model_name", "method", "version", "split", "sample_count", "status", "created_at")
    list_select_related = ("version__dataset", "job")
    search_fields = ("model_name", "version__dataset__name")
    readonly_fields = [field.name for field in ExplanationRun._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
