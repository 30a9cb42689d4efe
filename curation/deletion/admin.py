"""Admin: the audit of deletions (read-only), and the "delete as a job" action other admins add."""

from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from core.api_errors import ApplicationError
from curation.deletion.models import Deletion
from curation.deletion.services import deletion_start


def deletion_action(target: str) -> Callable[[Any, HttpRequest, QuerySet], None]:
    """An admin action that starts the deletion job of each selected row of `target` ("dataset",
    "version" or a run kind) as the signed-in user, and says which were refused and why."""

    @admin.action(description="Delete selected (as a deletion job, with their files)")
    def delete_as_job(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset:
            try:
                deletion = deletion_start(target=target, target_id=row.pk, requested_by=cast(User, request.user))
            except ApplicationError as error:
                modeladmin.message_user(request, error.message, messages.ERROR)
                continue
            modeladmin.message_user(request, f"Deleting {row}: job {deletion.job_id}.", messages.SUCCESS)

    return delete_as_job


@admin.register(Deletion)
class DeletionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "target",
        "target_id",
        "target_name",
        "requested_by_name",
        "status",
        "files",
        "created_at",
        "finished_at",
    )
    list_filter = ("target", "status")
    search_fields = ("target_name", "requested_by_name")
    raw_id_fields = ("requested_by", "job")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
