from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class IdCursorPagination(CursorPagination):
    """Keyset pagination on the primary key: constant cost per page whatever the table size.

    A cursor this API did not give out answers 404 `not_found` ("Invalid cursor"), as DRF does for
    an unreadable one; a readable cursor whose position is not an id is refused the same way
    (it would otherwise reach the query and fail there with a 500).
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Any) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not str(cursor.position).lstrip("-").isdigit():
            raise NotFound(self.invalid_cursor_message)
        return cursor


CURSOR_PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque position from a `next`/`previous` URL."),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, description=f"Rows per page (capped at {IdCursorPagination.max_page_size})."
    ),
]
"""The query parameters of an IdCursorPagination list, for `extend_schema(parameters=...)`."""


def id_cursor_page(
    request: Request, view: APIView, rows: QuerySet[Any], output_serializer: type[Serializer]
) -> Response:
    """One IdCursorPagination page of `rows`, each written by `output_serializer`: the body of a list API."""
    paginator = IdCursorPagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(output_serializer(page, many=True).data)
