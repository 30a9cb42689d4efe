from django.contrib import admin

from explain.models import ExplanationRun
from jobs.runs.admin import RunAdmin


@admin.register(ExplanationRun)
class ExplanationRunAdmin(RunAdmin):
    """Read-only: runs are started from the page, the API or `manage.py explain`, never edited."""

    list_display = ("id", "model_name", "method", "version", "split", "sample_count", "status", "created_at")
    list_select_related = ("version__dataset", "job")
    search_fields = ("model_name", "version__dataset__name")
