from django.contrib import admin

from jobs.runs.admin import RunAdmin
from robustness.evaluation.models import EvaluationRun


@admin.register(EvaluationRun)
class EvaluationRunAdmin(RunAdmin):
    """Read-only: runs are started from the page, the API or `manage.py evaluate`, never edited."""

    list_display = ("id", "trained_model", "version", "split", "sample_count", "status", "created_at")
    list_select_related = ("trained_model", "version__dataset", "job")
    search_fields = ("trained_model__name", "version__dataset__name")
