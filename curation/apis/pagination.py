"""Keyset pagination of a version's members on sample id.

The cursor is an opaque token that encodes the last sample id of the previous page, so a page
is one index range scan (`sample_id > cursor ORDER BY sample_id LIMIT n`) whatever its depth:
no OFFSET, constant cost on a million-row version. Only `next` is offered; scripts walk forward.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

from core.api_errors import ApplicationError

CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
SAMPLE_PAGE_SIZE_DEFAULT: int = api_settings.PAGE_SIZE or 50
SAMPLE_PAGE_SIZE_MAX = 500
_CURSOR_PATTERN = re.compile(r"after:(\d{1,19})")

SAMPLE_PAGE_PARAMETERS = [
    OpenApiParameter(
        CURSOR_PARAM,
        OpenApiTypes.STR,
        description="Opaque position taken from the previous page's `next` URL; omit for the first page.",
    ),
    OpenApiParameter(
        PAGE_SIZE_PARAM,
        OpenApiTypes.INT,
        description=f"Members per page (default {SAMPLE_PAGE_SIZE_DEFAULT}; larger values are capped at "
        f"{SAMPLE_PAGE_SIZE_MAX}).",
    ),
]


def sample_cursor_encode(sample_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{sample_id}".encode()).decode().rstrip("=")


def sample_cursor_decode(cursor: str) -> int:
    """The sample id a cursor points after; raises ApplicationError(invalid_cursor) for a bad token."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    match = _CURSOR_PATTERN.fullmatch(text)
    if match is None:
        raise ApplicationError("The cursor is not valid; use the `next` URL of a page.", code="invalid_cursor")
    return int(match.group(1))


@dataclass(frozen=True)
class SamplePageRequest:
    after_sample_id: int | None
    page_size: int

    @classmethod
    def from_request(cls, request: Request) -> "SamplePageRequest":
        """Read `cursor` and `page_size` from the query string (400 on malformed values)."""
        cursor = request.query_params.get(CURSOR_PARAM) or None
        raw_size = request.query_params.get(PAGE_SIZE_PARAM) or None
        page_size = SAMPLE_PAGE_SIZE_DEFAULT
        if raw_size is not None:
            if not raw_size.isdigit() or int(raw_size) < 1:
                raise ApplicationError(
                    f"page_size must be a positive integer (at most {SAMPLE_PAGE_SIZE_MAX}).",
                    code="invalid_page_size",
                    details={"page_size": raw_size, "max": SAMPLE_PAGE_SIZE_MAX},
                )
            page_size = min(int(raw_size), SAMPLE_PAGE_SIZE_MAX)
        return cls(after_sample_id=sample_cursor_decode(cursor) if cursor else None, page_size=page_size)

    def page(self, request: Request, members: list[Any]) -> tuple[list[Any], str | None]:
        """Split `members` (fetched with limit page_size + 1) into this page and the next page's URL."""
        if len(members) <= self.page_size:
            return members, None
        page = members[: self.page_size]
        next_url = replace_query_param(
            request.build_absolute_uri(), CURSOR_PARAM, sample_cursor_encode(page[-1].sample_id)
        )
        return page, next_url
