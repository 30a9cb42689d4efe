"""Who may read the API's own documentation (the OpenAPI schema and Swagger UI)."""

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class ApiDocsAccess(BasePermission):
    """Anyone while API_DOCS_PUBLIC (development); a signed-in user otherwise (production settings).

    The setting is read on each request: drf-spectacular copies its permission classes once, at import.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(settings.API_DOCS_PUBLIC or (request.user and request.user.is_authenticated))
