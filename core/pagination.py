from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Keyset pagination on the primary key: constant cost per page whatever the table size."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
