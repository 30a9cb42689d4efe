"""`{% page_url name arg ... %}`: `{% url %}` reversed once per process (the URL of a name and its arguments depends
only on them, the URLconf and the script prefix); `{% page_url name arg ... as var %}` too. A page's fixed links (the
navigation, breadcrumbs, form actions) are otherwise reversed on every request: about 20 µs each.

`page_url`, `id_url_pattern` and `id_url` for views: a URL, a URL with `ID_SENTINEL` as its last argument (one
reversal for every sample of a page), and a sample's URL from that pattern.
"""

from typing import Any

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

ID_SENTINEL = 9_876_543_210  # in no URL prefix of this site (a dataset or version would need that many rows)

# URLs reversed by `page_url`, in this process; emptied when full (a key holds no sample id, see `id_url`).
URLS_KEPT = 4096
_URLS: dict[tuple[Any, ...], str] = {}


@register.simple_tag
def page_url(name: str, *args: Any) -> str:
    """reverse(name, args=args), reversed once per process: a URL depends only on them, the URLconf and the script
    prefix (the grid and the sample page would otherwise reverse their links on every request, as `{% url %}` does)."""
    key = (get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name, *args)
    url = _URLS.get(key)
    if url is None:
        if len(_URLS) >= URLS_KEPT:
            _URLS.clear()
        url = _URLS[key] = reverse(name, args=list(args))
    return url


def id_url_pattern(name: str, *args: Any) -> str:
    """The URL `name` with `args` and `ID_SENTINEL` as its last argument (for `grid_cards` and `id_url`)."""
    return page_url(name, *args, ID_SENTINEL)


def id_url(name: str, *args: Any) -> str:
    """reverse(name, args=args) whose last argument is a sample's id, from its `id_url_pattern`."""
    *fixed, sample_id = args
    head, _, tail = id_url_pattern(name, *fixed).rpartition(str(ID_SENTINEL))
    return f"{head}{sample_id}{tail}"
