"""Keyset pagination of a version's members on sample id (or on (label, id), or (a run's value, id)).

The cursor is an opaque token that encodes the last sample id of the previous page (with its label or
value in those orders), so a page is one index range scan (`sample_id > cursor ORDER BY sample_id LIMIT n`)
whatever its depth: no OFFSET, constant cost on a million-row version. Only `next` is offered; scripts walk
forward.
"""

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SampleCursor:
    """Where a page starts: after `sample_id`, in `order` (with the cursor member's label or value there)."""

    sample_id: int
    order: str = "id"
    label: str | None = None
    value: float | None = None


def sample_cursor_encode(
    sample_id: int, *, order: str = "id", label: str | None = None, value: float | None = None
) -> str:
    if order == "id":
        text = f"after:{sample_id}"
    else:
        text = json.dumps({"after": sample_id, "order": order, "label": label, "value": value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def sample_cursor_decode(cursor: str) -> SampleCursor:
    """Where a cursor points; raises ApplicationError(invalid_cursor) for a bad token."""
    invalid = ApplicationError("The cursor is not valid; use the `next` URL of a page.", code="invalid_cursor")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if match := _CURSOR_PATTERN.fullmatch(text):
        return SampleCursor(sample_id=int(match.group(1)))
    try:
        data = json.loads(text) if text.startswith("{") else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise invalid
    after, order, label, value = data.get("after"), data.get("order"), data.get("label"), data.get("value")
    valid = (
        isinstance(after, int)
        and after >= 0
        and isinstance(order, str)
        and (label is None or isinstance(label, str))
        and (value is None or (isinstance(value, int | float) and math.isfinite(value)))
    )
    if not valid or not isinstance(after, int) or not isinstance(order, str):
        raise invalid
    return SampleCursor(sample_id=after, order=order, label=label, value=None if value is None else float(value))


@dataclass(frozen=True)
class SamplePageRequest:
    cursor: SampleCursor | None
    page_size: int

    @property
    def after_sample_id(self) -> int | None:
        return self.cursor.sample_id if self.cursor is not None else None

    def cursor_for(self, order: str) -> SampleCursor | None:
        """The cursor, checked against the listing's order (a cursor of another order raises invalid_cursor)."""
        if self.cursor is not None and self.cursor.order != order:
            raise ApplicationError(
                "The cursor belongs to another sort; use the `next` URL of a page.", code="invalid_cursor"
            )
        return self.cursor

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
        return cls(cursor=sample_cursor_decode(cursor) if cursor else None, page_size=page_size)

    def next_url(self, request: Request, cursor: SampleCursor | None) -> str | None:
        """The next page's URL (this request's, with `cursor`), or None on the last page."""
        if cursor is None:
            return None
        token = sample_cursor_encode(cursor.sample_id, order=cursor.order, label=cursor.label, value=cursor.value)
        return replace_query_param(request.build_absolute_uri(), CURSOR_PARAM, token)
