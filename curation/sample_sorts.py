"""Orders of a version's members by a per-sample value that a run of another feature stored: a proposal run's
issue score, a duplicate run's group size, an evaluation's prediction confidence, a cluster run's distance to
the centroid. The grid and the sample-list API take `sort=<key>` or `sort=-<key>` (highest first) with
`sort_run=<run id>`; only the samples the run has a value for are listed.

The app that makes each kind of run registers its sort at start-up (its AppConfig.ready), as for the sample-set
filters (curation.apis.sample_sets), so this base app imports none of them. A sort's rows are a queryset of one
per-sample table of that run, keyed (run, value, sample) by an index, with `sample_id` and the annotation
`sort_value`; `curation.selectors.sample_page` walks it as keyset pages on (sort_value, sample_id).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from core.api_errors import ApplicationError
from curation.models import DatasetVersion

# The orders of the version's own columns (sample id, primary label), which need no run.
MEMBER_ORDERS = ("id", "-id", "label")


@dataclass(frozen=True)
class RunSortKind:
    """A registered sort: `rows(version, run_id)` returns (rows, their count or None) or raises `sort_run_invalid`.

    key: the `sort` value ("issue_score"); title: what the grid's menu calls it; run_noun: what its runs are
    called ("proposal run"); ascending / descending: the menu's words for either direction.
    """

    key: str
    title: str
    run_noun: str
    rows: Callable[[DatasetVersion, int], tuple[QuerySet[Any], int | None]]
    ascending: str = "lowest first"
    descending: str = "highest first"


@dataclass(frozen=True, eq=False)
class RunSort:
    """An order by one run's per-sample values: `rows` (with `sample_id` and `sort_value`), `count` of them
    (None: not stored; count `rows` when needed)."""

    key: str
    run_id: int
    descending: bool
    rows: QuerySet[Any]
    count: int | None
    title: str = ""

    @property
    def order(self) -> str:
        return f"-{self.key}" if self.descending else self.key


RUN_SORTS: dict[str, RunSortKind] = {}


def sort_invalid(message: str, **details: Any) -> ApplicationError:
    """400 invalid_sort: an order that does not exist."""
    return ApplicationError(f"Invalid sort: {message}.", code="invalid_sort", details=details)


def sort_run_invalid(message: str, **details: Any) -> ApplicationError:
    """400 invalid_sort_run: a run that is missing, of another version, or without stored per-sample values."""
    return ApplicationError(f"Invalid sort_run: {message}.", code="invalid_sort_run", details=details)


def sample_orders() -> list[str]:
    """Every `sort` value: the member orders, then each registered run sort in both directions."""
    return [*MEMBER_ORDERS, *(f"{sign}{key}" for key in RUN_SORTS for sign in ("", "-"))]


def sample_order_parse(
    sort: str | None, sort_run: str | None, *, version: DatasetVersion
) -> tuple[str, RunSort | None]:
    """(order, run sort) of a listing; an unknown sort raises invalid_sort, a missing or foreign run
    invalid_sort_run (a member order with a `sort_run` too: it needs none)."""
    order = sort or "id"
    key = order.removeprefix("-")
    if order in MEMBER_ORDERS:
        if sort_run:
            raise sort_invalid(f"sort '{order}' takes no sort_run", sort=order, sort_run=sort_run)
        return order, None
    if key not in RUN_SORTS:
        raise sort_invalid(f"unknown sort '{order}' (allowed: {', '.join(sample_orders())})", sort=order)
    kind = RUN_SORTS[key]
    if not sort_run:
        raise sort_run_invalid(f"sort '{order}' needs the id of a {kind.run_noun} as sort_run", sort=order)
    if not str(sort_run).isdigit():
        raise sort_run_invalid("sort_run must be a non-negative integer", sort_run=sort_run)
    rows, count = kind.rows(version, int(sort_run))
    return order, RunSort(
        key=key, run_id=int(sort_run), descending=order.startswith("-"), rows=rows, count=count, title=kind.title
    )
