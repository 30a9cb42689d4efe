from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination


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
