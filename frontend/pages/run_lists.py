"""Pieces shared by the list pages: keyset paging (runs, jobs, exports) and the start forms' version label.

The run pages list runs of a model on a version (evaluations, Grad-CAM, spurious reports).
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from curation.models import DatasetVersion

RUNS_PAGE_SIZE = 50


def newest_first_page(request: HttpRequest, rows: QuerySet, size: int = RUNS_PAGE_SIZE) -> tuple[list[Any], int | None]:
    """One keyset page of `rows` (ordered newest first) below `?before=<id>`, and the next page's `before`."""
    before = request.GET.get("before", "")
    if before.isdigit():
        rows = rows.filter(pk__lt=int(before))
    page = list(rows[: size + 1])
    return page[:size], (page[size - 1].pk if len(page) > size else None)


def version_label(version: DatasetVersion) -> str:
    """How a start form lists a version: 'demo v2 (1470 samples)'."""
    return f"{version.dataset.name} v{version.number} ({version.sample_count} samples)"


def start_form_initial(request: HttpRequest, names: tuple[str, ...] = ("trained_model", "version")) -> dict[str, int]:
    """The ids a job page's next-step link passes to a start form (`?trained_model=3&version=5`), as initial values."""
    return {name: int(request.GET[name]) for name in names if request.GET.get(name, "").isdigit()}
