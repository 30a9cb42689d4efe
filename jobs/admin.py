from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.api_errors import ApplicationError
from jobs.models import Job
from jobs.services import job_cancel_request


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only view of jobs; the only change an admin makes is asking for a cancel."""

    list_display = ("id", "kind", "status", "progress_percent", "queue", "attempts", "requested_by", "created_at")
    list_filter = ("status", "kind", "queue", "cancel_requested")
    search_fields = ("kind", "message", "error", "celery_task_id")
    date_hierarchy = "created_at"
    list_select_related = ("requested_by",)
    actions = ["request_cancel"]
    readonly_fields = [field.name for field in Job._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Request cancel of the selected jobs")
    def request_cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled, refused = 0, []
        for job in queryset:
            try:
                job_cancel_request(job=job, user=request.user)
                cancelled += 1
            except ApplicationError as exc:
                refused.append(f"{job.pk}: {exc.message}")
        if cancelled:
            self.message_user(request, f"Cancel requested for {cancelled} job(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not cancelled: " + "; ".join(refused), messages.WARNING)
