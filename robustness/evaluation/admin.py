from django.contrib import admin

from robustness.evaluation.models import EvaluationRun


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    """Read-only: runs are started from the page, the API or `manage.py evaluate`, never edited."""

    list_display = ("id", "trained_model", "version", "split", "sample_count", "status", "created_at")
    list_select_related = ("trained_model", "version__dataset", "job")
    search_fields = ("trained_model__name", "version__dataset__name")
    readonly_fields = [field.name for field in EvaluationRun._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
