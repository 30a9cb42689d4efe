from django.contrib import admin

from jobs.runs.admin import RunAdmin
from robustness.reports.models import ModelReport


@admin.register(ModelReport)
class ModelReportAdmin(RunAdmin):
    """Read-only: reports are started from their page, the API or `manage.py report`, never edited."""

    list_display = ("id", "kind", "trained_model", "version", "status", "created_at")
    list_filter = ("kind",)
    list_select_related = ("trained_model", "version__dataset", "job")
    search_fields = ("trained_model__name", "version__dataset__name")
