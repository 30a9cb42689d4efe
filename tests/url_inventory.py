"""Every URL pattern of the project, flattened: what the permission matrix and schema tests walk."""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    name: str | None  # with its namespace, e.g. "frontend:dataset_list"
    route: str  # as declared, e.g. "api/datasets/<int:dataset_id>/"

    @property
    def openapi_path(self) -> str:
        """The route written the way OpenAPI writes paths: /api/datasets/{dataset_id}/."""
        path = _NAMED_GROUP.sub(r"{\1}", _CONVERTER.sub(r"{\1}", self.route))
        return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def project_routes(
    patterns: Sequence[URLPattern | URLResolver] | None = None, prefix: str = "", namespace: str | None = None
) -> Iterator[Route]:
    """Walk the URLconf recursively, yielding each endpoint with its full route and namespaced name."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from project_routes(pattern.url_patterns, route, inner)
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield Route(name=name, route=route)
