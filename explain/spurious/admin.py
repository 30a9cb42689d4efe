from django.contrib import admin

from explain.spurious.models import SpuriousReport
from jobs.runs.admin import RunAdmin


@admin.register(SpuriousReport)
class SpuriousReportAdmin(RunAdmin):
    """Read-only: reports are started from the page, the API or `manage.py find_spurious`, never edited."""

    list_display = ("id", "trained_model", "version", "split", "sample_count", "status", "created_at")
    list_select_related = ("trained_model", "version__dataset", "job")
    search_fields = ("trained_model__name", "version__dataset__name")
