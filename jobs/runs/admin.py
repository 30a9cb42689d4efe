"""The admin of run rows: read-only, since runs are started from their page, the API or their command."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class RunAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
