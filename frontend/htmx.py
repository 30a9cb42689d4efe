"""htmx helpers of the pages: the typed request, picking a partial, and the refresh and stop-polling answers.

A page that has a live or swappable part renders it from its own template file (a partial such as
`frontend/jobs/_progress.html`, which the whole page includes). `render_partial` is the one rule for
when the partial alone is sent: an htmx request (django-htmx sets `request.htmx`), or `?partial=` from a
page script's own fetch (review.js and synthetic_review.js prefetch the next item that way). A partial
that polls stops either by rendering without its trigger or by answering `htmx_stop_polling()` (HTTP 286,
which htmx reads as "stop polling"); a page whose finished job changes the whole page answers a poll with
`htmx_refresh()` (HX-Refresh: the browser reloads the page once). See docs/ARCHITECTURE.md §Pages.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

# What htmx reads as "stop polling" (https://htmx.org/docs/#polling); the body, if any, is not swapped in.
HTMX_STOP_POLLING = 286


class HtmxHttpRequest(HttpRequest):
    """A request after django-htmx's middleware (`request.htmx` is falsy for plain requests)."""

    htmx: HtmxDetails


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (False also where the middleware did not run, as in a bare RequestFactory)."""
    return bool(getattr(request, "htmx", False))


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap (HX-Target), or None."""
    details = getattr(request, "htmx", None)
    return details.target if details else None


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request, or a script's fetch asking for the partial with `?partial=`."""
    return is_htmx(request) or bool(request.GET.get("partial"))


def render_partial(
    request: HttpRequest, template: str, partial: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """The partial template for an htmx request (or `?partial=`), else the whole page's template."""
    return render(request, partial if wants_partial(request) else template, context, status=status)


def htmx_refresh() -> HttpResponse:
    """An answer that makes htmx reload the whole page (a report whose job has just finished)."""
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response


def htmx_stop_polling(content: str = "") -> HttpResponse:
    """An answer that stops an `hx-trigger="every …"` poll; the element stays as it is."""
    return HttpResponse(content, status=HTMX_STOP_POLLING)
