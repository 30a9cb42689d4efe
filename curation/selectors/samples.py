# Over 300 lines: the grid's page, its run-sorted pages and a sample's neighbours in the grid's order share the
# page row types, the keyset helpers (_page_members, _run_sorted_rows, _first_of_each) and the statements compiled
# once per shape (_page_rows, _neighbors_shape); split, they would import each other.
"""Reads of samples and a version's members: the sample grid's filtered list, its keyset pages (by id, label or a
run's per-sample values), a sample's neighbours in the grid's order, and one sample or membership."""

from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.sql.where import AND

from core.sql_rows import CompiledQuery, ModelColumns, Slots, compiled_query
from curation.models import DatasetVersion, Sample, SampleAlias, VersionSample
from curation.sample_sorts import MEMBER_ORDERS, RunSort

# What a set filter resolves to: sample ids, or a queryset of rows with a `sample_id` column (a subquery).
SampleIds = Collection[int] | QuerySet[Any]


def sample_list(
    *,
    version: DatasetVersion,
    label: str | None = None,
    split: str | None = None,
    source: str | None = None,
    sample_ids: SampleIds | RawSQL | None = None,
    after_sample_id: int | None = None,
    limit: int | None = None,
    search: str | None = None,
) -> QuerySet[VersionSample]:
    """Members of a version, filtered, in sample-id order (keyset pagination on sample id).

    Args:
        version: the version whose members are listed.
        label / split / source: exact-match filters; None means any, and label "" means unlabeled.
        sample_ids: restrict to these samples (a cluster, a duplicate group, a review state): ids, or a queryset of
            rows with a `sample_id` (a subquery); None means any. (A RawSQL: the marked place of a set in a
            statement compiled once, see _page_rows.)
        after_sample_id: return only members with a larger sample id (the keyset cursor).
        limit: page size; None returns the whole (lazy) queryset.
        search: case-insensitive substring of the sample's file name or caption; None or "" means any.
    """
    # Samples come by a second query on their primary keys, not by a join: PostgreSQL tends to
    # merge-join the sample table from its first row, which reads every sample before the cursor.
    members = VersionSample.objects.filter(version_id=version.pk).prefetch_related("sample")
    if label is not None:
        members = members.filter(label=label)
    if split:
        members = members.filter(split=split)
    if source:
        # The same hazard for the source filter, so the sample side is bounded by the cursor too.
        samples = Sample.objects.filter(pk=OuterRef("sample_id"), source=source)
        if after_sample_id is not None:
            samples = samples.filter(pk__gt=after_sample_id)
        members = members.filter(Exists(samples))
    if search:
        found = Sample.objects.filter(Q(original_name__icontains=search) | Q(caption__icontains=search))
        found = found.filter(pk=OuterRef("sample_id"))
        if after_sample_id is not None:
            found = found.filter(pk__gt=after_sample_id)
        members = members.filter(Exists(found))
    if isinstance(sample_ids, RawSQL):
        # (A page's statement compiled once: the set's subquery, bounded by the cursor, is put in its place.)
        members = members.filter(sample_id__in=sample_ids)
    elif sample_ids is not None:
        # A set filter: a subquery of sample ids (a per-sample table's rows) or a small set of ids. The subquery is
        # bounded by the cursor too, so that a deep page walks its sample index from there (as source and search).
        if isinstance(sample_ids, QuerySet) and after_sample_id is not None:
            sample_ids = sample_ids.filter(sample_id__gt=after_sample_id)
        members = members.filter(sample_id__in=sample_ids if isinstance(sample_ids, QuerySet) else sorted(sample_ids))
    # Label and split filters have (version, label|split, sample) indexes of their own; every other page walks the
    # (version, sample) index, the source and search filters as semi-joins along it.
    walks_version_index = label is None and not split and sample_ids is None
    if limit is not None and walks_version_index:
        # A page walks the (version, sample) index from the cursor. With `version = v ORDER BY
        # sample_id` alone PostgreSQL may walk the sample index instead and filter out every member of other
        # versions with lower sample ids (all of an older dataset's members: 100 ms per 200k). A row comparison
        # only the (version, sample) index can serve makes it the cheap plan; the plain `sample_id > cursor`
        # is what positions that index scan at the cursor.
        after = -1 if after_sample_id is None else after_sample_id
        members = members.alias(key=_row("version_id", "sample_id")).filter(
            key__gt=_row(Value(version.pk), Value(after)), sample_id__gt=after
        )
    elif after_sample_id is not None:
        members = members.filter(sample_id__gt=after_sample_id)
    members = members.order_by("sample_id")
    return members[:limit] if limit is not None else members


def _row(*parts: Any) -> Func:
    """A row value, (a, b), as PostgreSQL and SQLite write it: compared field by field, and on PostgreSQL an index
    condition on an index of (a, b)."""
    fields = (F(part) if isinstance(part, str) else part for part in parts)
    return Func(*fields, template="(%(expressions)s)", output_field=BigIntegerField())


def sample_get(sample_id: int) -> Sample | None:
    """A sample with its aliases and its memberships (newest version first) loaded, or None."""
    memberships = Prefetch(
        "memberships", queryset=VersionSample.objects.select_related("version").order_by("-version__number")
    )
    return Sample.objects.prefetch_related("aliases", memberships).filter(pk=sample_id).first()


# Orders of the grid by the members' own columns, each with its keyset: id ascending, id descending, and
# (label, id). Orders by a run's per-sample values (curation.sample_sorts) are keyed (value, id).
SAMPLE_ORDERS = MEMBER_ORDERS


@dataclass(frozen=True, slots=True)
class PageSample:
    """The facts of a page member's sample that the grid's cards and the sample-list API show."""

    original_name: str
    width: int
    height: int
    source: str


@dataclass(frozen=True, slots=True)
class PageMember:
    """A member on a page of `sample_page`: its split and labels in the version and its sample's facts (as a
    VersionSample with its sample would give them); in a run's order its value as `sort_value`."""

    sample_id: int
    split: str
    label: str
    labels: list[dict[str, Any]]
    sample: PageSample
    sort_value: float | None = None

    @property
    def label_names(self) -> list[str]:
        return [entry["label"] for entry in self.labels]


PAGE_MEMBER_FIELDS = ("sample_id", "split", "label", "labels")
PAGE_SAMPLE_FIELDS = ("id", "original_name", "width", "height", "source")


def _page_members(members: QuerySet[Any], *, sort_value: bool = False) -> list[PageMember]:
    """The rows of a page's (sliced) member query as PageMembers: two queries, the members' columns and then their
    samples' by primary key, as `prefetch_related("sample")` would run them, without building model instances
    (a page of the API or the grid costs a few milliseconds less)."""
    fields = (*PAGE_MEMBER_FIELDS, "sort_value") if sort_value else PAGE_MEMBER_FIELDS
    return _page_members_of_rows(list(members.prefetch_related(None).values_list(*fields)), sort_value=sort_value)


def _page_members_of_rows(rows: list[Any], *, sort_value: bool = False) -> list[PageMember]:
    if not rows:
        return []
    # The samples' statement as the ORM writes it for so many ids, compiled once per count.
    ids = {f"id{index}": row[0] for index, row in enumerate(rows)}
    by_ids = compiled_query(("page samples", len(ids)), partial(_page_samples_query, names=list(ids)))
    samples = {pk: PageSample(*facts) for pk, *facts in by_ids.rows(ids)}
    return [
        PageMember(
            sample_id=row[0],
            split=row[1],
            label=row[2],
            labels=row[3],
            sample=samples[row[0]],
            sort_value=row[4] if sort_value else None,
        )
        for row in rows
    ]


def _page_samples_query(slots: Slots, *, names: list[str]) -> QuerySet[Any]:
    ids = [slots.int(name) for name in names]
    return Sample.objects.filter(pk__in=ids).order_by().values_list(*PAGE_SAMPLE_FIELDS)


@dataclass(frozen=True)
class SamplePage:
    """One keyset page of a version's members; `next_after` is the cursor of the next page
    (the last sample id shown) or None on the last page; in label order `next_after_label` is the
    last label shown, in a run's order `next_after_value` the last value (the cursor is the pair).
    In a run's order each member carries its value as `sort_value`."""

    members: list[PageMember]
    next_after: int | None
    next_after_label: str | None = None
    next_after_value: float | None = None


def sample_page(
    *,
    version: DatasetVersion,
    label: str | None = None,
    split: str | None = None,
    source: str | None = None,
    after_sample_id: int | None = None,
    size: int = 60,
    search: str | None = None,
    order: str = "id",
    after_label: str | None = None,
    sample_ids: SampleIds | None = None,
    run_sort: RunSort | None = None,
    after_value: float | None = None,
) -> SamplePage:
    """A page of `sample_list`: one indexed query, no COUNT and no OFFSET.

    Args:
        version, label, split, source, after_sample_id, search, sample_ids: as for `sample_list`.
        size: members per page (one extra row is read to know whether a next page exists).
        order: "id" (default), "-id" (newest first) or "label" (then id); unknown orders mean "id".
        after_label: in label order, the label of the cursor's member (with `after_sample_id`).
        run_sort: an order by a run's per-sample values (curation.sample_sorts; it wins over `order`): only
            the members with a value are listed, by (value, sample id), descending if the sort says so.
        after_value: with `run_sort`, the value of the cursor's member (with `after_sample_id`).
    """
    if run_sort is not None:
        filtered = sample_list(
            version=version, label=label, split=split, source=source, search=search, sample_ids=sample_ids
        )
        return _run_sort_page(version, filtered, run_sort, after_sample_id, after_value, size)
    order = order if order in ("-id", "label") else "id"
    filters = _PageFilters(version.pk, label, split, source, after_sample_id, after_label if order == "label" else None)
    rows = _page_rows(filters, order=order, size=size, search=search, sample_ids=sample_ids)
    members = _page_members_of_rows(rows[:size])  # (the extra row's sample is not shown)
    if len(rows) <= size:
        return SamplePage(members=members, next_after=None)
    last = members[-1]
    return SamplePage(
        members=members, next_after=last.sample_id, next_after_label=last.label if order != "id" else None
    )


@dataclass(frozen=True, slots=True)
class _PageFilters:
    """A member page's values: those that go in its statement's parameters."""

    version_id: int
    label: str | None
    split: str | None
    source: str | None
    after_sample_id: int | None
    after_label: str | None


def _filtered_members(
    filters: _PageFilters, *, search: str | None, sample_ids: SampleIds | RawSQL | None, **extra: Any
) -> QuerySet[Any]:
    """`sample_list` of the page's version under its label/split/source filters (`extra`: its keyset arguments)."""
    return sample_list(
        version=DatasetVersion(pk=filters.version_id),
        label=filters.label,
        split=filters.split,
        source=filters.source,
        search=search,
        sample_ids=sample_ids,
        **extra,
    )


def _member_page_query(
    filters: _PageFilters, *, order: str, size: int, search: str | None, sample_ids: SampleIds | RawSQL | None
) -> QuerySet[Any]:
    """The (sliced) query of a page's member rows (PAGE_MEMBER_FIELDS) in a member order."""
    members = _filtered_members(
        filters,
        search=search,
        sample_ids=sample_ids,
        **({"after_sample_id": filters.after_sample_id, "limit": size + 1} if order == "id" else {}),
    )
    after = filters.after_sample_id
    if order == "-id":
        if after is not None:
            members = members.filter(sample_id__lt=after)
        members = members.order_by("-sample_id")[: size + 1]
    elif order == "label":
        if after is not None:
            cursor_label = filters.after_label or ""
            members = members.filter(Q(label__gt=cursor_label) | Q(label=cursor_label, sample_id__gt=after))
        members = members.order_by("label", "sample_id")[: size + 1]
    return members.prefetch_related(None).values_list(*PAGE_MEMBER_FIELDS)


# The set filter's place in a page's statement compiled once: its subquery, compiled per request, goes there.
_SET_MARK = 'SELECT %s AS "winnow_sample_set"'
_SET_PLACE = object()


def _page_rows(
    filters: _PageFilters, *, order: str, size: int, search: str | None, sample_ids: SampleIds | None
) -> list[Any]:
    """A page's member rows. The statement's text is compiled once per shape (which filters are given, the order,
    whether there is a cursor, the page size) with stand-ins for the values, the same text the ORM writes each
    time; a search, or a set filter given as ids, builds its queryset each time."""
    subquery = sample_ids.query if isinstance(sample_ids, QuerySet) else None
    if search or (sample_ids is not None and (subquery is None or not subquery.has_select_fields)):
        return list(_member_page_query(filters, order=order, size=size, search=search, sample_ids=sample_ids))
    after = filters.after_sample_id
    key: tuple[Any, ...] = ("member page", order, size, filters.label is not None, bool(filters.split))
    key += (bool(filters.source), after is not None, subquery is not None)
    statement = compiled_query(key, partial(_member_page_shape, filters=filters, order=order, size=size, sets=subquery))
    values = {"version": filters.version_id, "label": filters.label, "split": filters.split, "after": after}
    values |= {"source": filters.source, "after_label": filters.after_label or ""}
    if subquery is not None and order == "id" and after is not None:
        # In id order the set is bounded by the cursor, as sample_list bounds it.
        subquery = _bounded(sample_ids, after)  # type: ignore[arg-type]
    return _rows_with_set(statement, values, subquery)


_BOUNDS: dict[Any, Any] = {}


def _bounded(sample_ids: QuerySet[Any], after: int) -> Any:
    """The query of `sample_ids.filter(sample_id__gt=after)`: the same WHERE (hence text), without resolving the
    field's path each time: the lookup is made once per model, then made again with the cursor as its value."""
    query = sample_ids.query
    template: Any = _BOUNDS.get(query.model)
    if template is None:
        template = _BOUNDS[query.model] = QuerySet(query.model).filter(sample_id__gt=0).query.where.children[-1]
    if template.lhs.alias != query.base_table:
        return sample_ids.filter(sample_id__gt=after).query
    bounded = query.clone()
    bounded.where.add(type(template)(template.lhs, after), AND)
    return bounded


def _rows_with_set(statement: CompiledQuery, values: dict[str, Any], subquery: Any) -> list[Any]:
    """The rows of a statement compiled with the set filter's place marked (`_SET_MARK`, value `_SET_PLACE`), the
    set's subquery (a Query; None: the statement has no set) compiled now and put in each place, without the
    ordering the ORM drops from a subquery."""
    if subquery is None:
        return statement.rows(values)
    subquery = subquery.clone()
    subquery.clear_ordering(force=True, clear_default=True)
    try:
        set_sql, set_params = subquery.sql_with_params()
    except EmptyResultSet:
        # A set that is empty whatever the rows (ids IN an empty list): as the ORM, no statement and no rows (in a
        # row of subqueries, the neighbours', each would be None, as no row gives).
        return []
    params: list[Any] = []
    for param in statement.bind(values | {"sample_set": _SET_PLACE}):
        if param is _SET_PLACE:
            params.extend(set_params)
        else:
            params.append(param)
    return statement.rows(values, sql=statement.sql.replace(_SET_MARK, set_sql), params=params)


def _member_page_shape(slots: Slots, *, filters: _PageFilters, order: str, size: int, sets: Any) -> QuerySet[Any]:
    """`_member_page_query` with stand-ins for the values (those present), the set filter's place marked."""

    def slot_text(name: str, value: str | None) -> str | None:
        return slots.text(name) if value is not None else None

    shape = _PageFilters(
        version_id=slots.int("version"),
        label=slot_text("label", filters.label),
        split=slot_text("split", filters.split or None),
        source=slot_text("source", filters.source or None),
        after_sample_id=slots.int("after") if filters.after_sample_id is not None else None,
        after_label=slots.text("after_label") if filters.after_sample_id is not None and order == "label" else None,
    )
    marked = RawSQL(_SET_MARK, [slots.int("sample_set")]) if sets is not None else None  # noqa: S611 - fixed text
    return _member_page_query(shape, order=order, size=size, search=None, sample_ids=marked)


def _run_sorted_rows(members: QuerySet[VersionSample], run_sort: RunSort) -> QuerySet[Any]:
    """The run's per-sample rows of the (filtered) members, keyed by the row value (sort_value, sample_id)."""
    in_members = members.prefetch_related(None).order_by().filter(sample_id=OuterRef("sample_id"))
    return run_sort.rows.filter(Exists(in_members)).alias(key=_row("sort_value", "sample_id"))


def _run_sort_page(
    version: DatasetVersion,
    members: QuerySet[VersionSample],
    run_sort: RunSort,
    after_sample_id: int | None,
    after_value: float | None,
    size: int,
) -> SamplePage:
    # The page's keys walk the run's (run, value, sample) index from the cursor, each row checked against the
    # filtered members (a semi-join); the members are then read by those keys, in one query with their values.
    keys = _run_sorted_rows(members, run_sort)
    if after_sample_id is not None and after_value is not None:
        cursor = _row(Value(after_value), Value(after_sample_id))
        keys = keys.filter(key__lt=cursor) if run_sort.descending else keys.filter(key__gt=cursor)
    ordering = ("-sort_value", "-sample_id") if run_sort.descending else ("sort_value", "sample_id")
    page_keys = keys.order_by(*ordering).values("sample_id")[: size + 1]
    value = Subquery(run_sort.rows.filter(sample_id=OuterRef("sample_id")).values("sort_value")[:1])
    rows = _page_members(
        VersionSample.objects.filter(version=version, sample_id__in=page_keys)
        .annotate(sort_value=value)
        .order_by(*ordering),
        sort_value=True,
    )
    found = rows[:size]
    if len(rows) <= size:
        return SamplePage(members=found, next_after=None)
    last = found[-1]
    return SamplePage(members=found, next_after=last.sample_id, next_after_value=last.sort_value)


@dataclass(frozen=True)
class SampleNeighbors:
    previous_id: int | None
    next_id: int | None


def sample_neighbors(
    *,
    version: DatasetVersion,
    sample_id: int,
    label: str | None = None,
    split: str | None = None,
    source: str | None = None,
    search: str | None = None,
    sample_ids: SampleIds | None = None,
    order: str = "id",
    run_sort: RunSort | None = None,
) -> SampleNeighbors:
    """The sample ids just before and after `sample_id` among the version's (filtered) members, in the
    grid's `order` (as `sample_page` takes it: "id", "-id" or "label" then id, or a `run_sort` by
    (value, id); unknown orders mean "id"). In a run's order a sample without a value has no neighbours."""
    if run_sort is not None:
        # The keyset is (value, sample id): the nearest pairs on either side of the sample's own pair.
        members = sample_list(
            version=version, label=label, split=split, source=source, search=search, sample_ids=sample_ids
        )
        rows = _run_sorted_rows(members, run_sort)
        here = _row(Subquery(run_sort.rows.filter(sample_id=sample_id).values("sort_value")[:1]), Value(sample_id))
        keys = rows.values_list("sample_id", flat=True)
        lower, higher = _first_of_each(
            version,
            keys.filter(key__lt=here).order_by("-sort_value", "-sample_id"),
            keys.filter(key__gt=here).order_by("sort_value", "sample_id"),
        )
        if run_sort.descending:
            return SampleNeighbors(previous_id=higher, next_id=lower)
        return SampleNeighbors(previous_id=lower, next_id=higher)
    order = order if order in ("-id", "label") else "id"
    low, high = connection.ops.integer_field_range("BigAutoField")
    in_range = low <= sample_id <= high
    here_label = _member_label(version.pk, sample_id) if order == "label" and in_range else ""
    filters = _PageFilters(version.pk, label, split, source, sample_id, here_label if order == "label" else None)
    subquery = sample_ids.query if isinstance(sample_ids, QuerySet) else None
    found: Any
    if not in_range or search or (sample_ids is not None and (subquery is None or not subquery.has_select_fields)):
        found = _neighbors_query(filters, order=order, search=search, sample_ids=sample_ids).first()
    else:
        # As a page's statement: compiled once per shape, the same text as the ORM's.
        key = ("neighbours", order, label is not None, bool(split), bool(source), subquery is not None)
        statement = compiled_query(key, partial(_neighbors_shape, filters=filters, order=order, sets=subquery))
        values = {"version": version.pk, "label": label, "split": split, "source": source, "after": sample_id}
        pair = _rows_with_set(statement, values | {"after_label": filters.after_label}, subquery)
        found = pair[0] if pair else None
    lower, higher = tuple(found) if found is not None else (None, None)
    if order == "-id":
        return SampleNeighbors(previous_id=higher, next_id=lower)
    return SampleNeighbors(previous_id=lower, next_id=higher)


def _member_label(version_id: int, sample_id: int) -> str:
    """The member's primary label ("" when it is not a member)."""
    statement = compiled_query("member label", _member_label_query)
    rows = statement.rows({"version": version_id, "sample": sample_id})
    return (rows[0][0] if rows else None) or ""


def _member_label_query(slots: Slots) -> QuerySet[Any]:
    members = VersionSample.objects.filter(version_id=slots.int("version"), sample_id=slots.int("sample"))
    return members.values_list("label", flat=True)[:1]  # (what .first() runs)


def _neighbors_query(
    filters: _PageFilters, *, order: str, search: str | None, sample_ids: SampleIds | RawSQL | None
) -> QuerySet[Any]:
    """One row: the sample ids just below and above `filters.after_sample_id` among the filtered members in id
    order, or in label order around (`filters.after_label`, that id)."""
    members = _filtered_members(filters, search=search, sample_ids=sample_ids)
    ids = members.prefetch_related(None).values_list("sample_id", flat=True)
    sample_id = filters.after_sample_id
    if order == "label":
        # The keyset is (label, sample id): the neighbours are the nearest pairs on either side.
        here_label = filters.after_label
        before = Q(label__lt=here_label) | Q(label=here_label, sample_id__lt=sample_id)
        after = Q(label__gt=here_label) | Q(label=here_label, sample_id__gt=sample_id)
        lower = ids.filter(before).order_by("-label", "-sample_id")
        higher = ids.filter(after).order_by("label", "sample_id")
    else:
        lower = ids.filter(sample_id__lt=sample_id).order_by("-sample_id")
        higher = ids.filter(sample_id__gt=sample_id).order_by("sample_id")
    return _first_of_each_query(filters.version_id, lower, higher)


def _neighbors_shape(slots: Slots, *, filters: _PageFilters, order: str, sets: Any) -> QuerySet[Any]:
    """`_neighbors_query` with stand-ins for the values (those present), the set filter's place marked."""
    shape = _PageFilters(
        version_id=slots.int("version"),
        label=slots.text("label") if filters.label is not None else None,
        split=slots.text("split") if filters.split else None,
        source=slots.text("source") if filters.source else None,
        after_sample_id=slots.int("after"),
        after_label=slots.text("after_label") if order == "label" else None,
    )
    marked = RawSQL(_SET_MARK, [slots.int("sample_set")]) if sets is not None else None  # noqa: S611 - fixed text
    return _neighbors_query(shape, order=order, search=None, sample_ids=marked)[:1]  # (what .first() runs)


def _first_of_each_query(version_id: Any, *ordered: QuerySet[Any]) -> QuerySet[Any]:
    """The first value of each of `ordered` (one-column querysets; None for an empty one) as one row: each a
    scalar subquery (`ORDER BY ... LIMIT 1`) of a select of the version's row."""
    subqueries = [Subquery(rows[:1]) for rows in ordered]
    return DatasetVersion.objects.filter(pk=version_id).values_list(*subqueries)


def _first_of_each(version: DatasetVersion, *ordered: QuerySet[Any]) -> tuple[Any, ...]:
    """The first value of each of `ordered` (one-column querysets; None for an empty one), in one statement."""
    found = _first_of_each_query(version.pk, *ordered).first()
    return tuple(found) if found is not None else (None,) * len(ordered)


_MEMBER, _MEMBER_SAMPLE = ModelColumns(VersionSample, "m"), ModelColumns(Sample, "s")
_MEMBER_SQL = (
    f'SELECT {_MEMBER.select}, {_MEMBER_SAMPLE.select} FROM "{VersionSample._meta.db_table}" m '  # noqa: S608 - names
    f'JOIN "{Sample._meta.db_table}" s ON s."id" = m."sample_id" WHERE m."version_id" = %s AND m."sample_id" = %s'
)


def version_member_get(*, version: DatasetVersion, sample_id: int) -> VersionSample | None:
    """The membership of a sample in a version (with the sample), or None if it is not a member: one statement of
    fixed text (a version has a sample once), the sample cached on the membership as select_related caches it."""
    low, high = connection.ops.integer_field_range("BigAutoField")
    if not low <= sample_id <= high:
        return None  # (as the ORM: no row for an id out of the column's range, without asking)
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_SQL, [version.pk, sample_id])
        row = cursor.fetchone()
    if row is None:
        return None
    member = _MEMBER.build(row[: _MEMBER.width])
    VersionSample.sample.field.set_cached_value(member, _MEMBER_SAMPLE.build(row[_MEMBER.width :]))
    return member


def sample_duplicate_names(*, sample: Sample) -> list[str]:
    """The other file names under which the sample's exact bytes were imported (its exact-duplicate
    group), in import order; the sample's own name, which ingest also records as an alias, is left out."""
    names = SampleAlias.objects.filter(sample=sample).order_by("id").values_list("original_name", flat=True)
    return list(dict.fromkeys(name for name in names if name != sample.original_name))
