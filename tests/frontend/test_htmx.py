"""frontend.htmx: one rule for sending a partial, the refresh and stop-polling answers."""

from django.template import engines
from django.test import RequestFactory, override_settings
from django_htmx.middleware import HtmxMiddleware

from frontend.htmx import (
    HTMX_STOP_POLLING,
    htmx_refresh,
    htmx_stop_polling,
    htmx_target,
    is_htmx,
    render_partial,
    wants_partial,
)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {"page.html": "PAGE[{% include 'part.html' %}]", "part.html": "part {{ value }}"},
                )
            ]
        },
    }
]


def _request(path="/page/", **headers):
    request = RequestFactory().get(path, **headers)
    HtmxMiddleware(lambda r: None)(request)  # sets request.htmx as on a real request
    return request


def _htmx(path="/page/", target=None):
    headers = {"HTTP_HX_REQUEST": "true"}
    if target:
        headers["HTTP_HX_TARGET"] = target
    return _request(path, **headers)


@override_settings(TEMPLATES=TEMPLATES)
def test_an_htmx_request_gets_the_partial_and_a_plain_one_the_whole_page():
    engines._engines = {}  # the locmem templates above
    try:
        partial = render_partial(_htmx(), "page.html", "part.html", {"value": 1})
        whole = render_partial(_request(), "page.html", "part.html", {"value": 1})
        scripted = render_partial(_request("/page/?partial=1"), "page.html", "part.html", {"value": 2}, status=400)
    finally:
        engines._engines = {}
    assert partial.content == b"part 1"
    assert whole.content == b"PAGE[part 1]"
    assert (scripted.content, scripted.status_code) == (b"part 2", 400)  # a script's fetch asks with ?partial=


def test_is_htmx_and_the_target_read_the_htmx_headers():
    assert is_htmx(_htmx()) and wants_partial(_htmx())
    assert not is_htmx(_request()) and not wants_partial(_request())
    assert not is_htmx(RequestFactory().get("/"))  # without the middleware: a plain request
    assert htmx_target(_htmx(target="grid-more")) == "grid-more"
    assert htmx_target(_request()) is None


def test_stop_polling_is_286_and_refresh_sets_hx_refresh():
    stop = htmx_stop_polling("done")
    assert stop.status_code == HTMX_STOP_POLLING == 286
    assert stop.content == b"done"
    refresh = htmx_refresh()
    assert refresh.status_code == 204
    assert refresh["HX-Refresh"] == "true"
