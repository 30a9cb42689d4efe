"""Bases of the apps' Django admin classes (this module registers nothing).

Rows that services make and change are shown, never added or deleted here; immutable rows are not changed
either. Their tables can be large, so change lists skip the full count.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class NoAddDelete:
    """Rows made and removed by services only: the admin neither adds nor deletes them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnly(NoAddDelete):
    """Immutable rows: viewable, never changed."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoAddDeleteAdmin(NoAddDelete, admin.ModelAdmin):
    show_full_result_count = False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    show_full_result_count = False
