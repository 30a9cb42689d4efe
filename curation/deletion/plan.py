# Over 300 lines: Django's delete collector redone set-based: links, blockers and the children-first order are one
# algorithm over one plan.
"""Which rows a deletion removes, in which order, and what forbids it: Django's delete collector, set-based.

`Model.delete()` loads every related row into Python objects (a cascade over 1M samples took more
than 8 minutes and 4 GB). Here the same graph — the models' reverse foreign keys and their on_delete —
is walked once per model, not per row, and a model's doomed rows are one query over its parents':

- CASCADE links are followed: the children go too. In the `dataset` scope PROTECT links are followed
  as well (a dataset's runs, reports and models go with it); in the `strict` scope (a version, a run)
  rows outside the deletion that PROTECT a doomed row are blockers, listed in the refusal.
- SET_NULL links: surviving children lose the link before their parent goes (an explanation keeps its
  maps when its model is deleted).
- A self link (a version's parent, a vote's superseder) is not followed: a surviving row pointing at a
  doomed one is a blocker; among doomed rows the links are cleared first, so batches go in any order.
- In the `dataset` scope a doomed row that also points at a version or sample of another dataset would
  take part of that dataset's history with it: a blocker (an evaluation, on another dataset, of a model
  trained on this one).
- A doomed row whose job is queued or running is a blocker ("busy"): deleting under a job breaks it.

A model's rows are the UNION of one semi-join per followed link, not an OR of IN-subqueries, which
PostgreSQL evaluates row by row once a parent's ids outgrow work_mem. `materialize()` stores each
model's doomed ids in a temporary table, once, so the job's batches are keyset reads of that table;
without it (the checks a request makes) each model's rows are the nested subquery.
"""

# SQL here is built from the models' own table and column names (quoted); every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from django.db import connection, models
from django.db.models import Model

from jobs.models import Job, JobStatus

Scope = Literal["dataset", "strict"]
# Links through which a doomed row belongs to a dataset; in the dataset scope each must stay inside it.
SAMPLE_LABEL = "curation.Sample"
DATASET_ANCHORS = ("curation.Dataset", "curation.DatasetVersion", SAMPLE_LABEL)
BLOCKER_IDS_SHOWN = 10
TEMP_PREFIX = "winnow_doomed_"


@dataclass(frozen=True)
class Link:
    """A foreign key of `child` to `parent` (one edge of the graph Django's collector walks)."""

    parent: type[Model]
    child: type[Model]
    field: models.ForeignKey

    @property
    def on_delete(self) -> Any:
        return self.field.remote_field.on_delete

    @property
    def is_self(self) -> bool:
        return self.parent is self.child

    def __str__(self) -> str:
        return f"{self.child._meta.label}.{self.field.name}"


def links_to(model: type[Model]) -> list[Link]:
    """Every foreign key pointing at `model`, hidden ones (related_name="+") and M2M through tables included."""
    return [
        Link(model, cast(type[Model], relation.related_model), cast(models.ForeignKey, relation.field))
        for relation in model._meta.get_fields(include_hidden=True)
        if isinstance(relation, models.ForeignObjectRel) and (relation.one_to_one or relation.one_to_many)
    ]


@dataclass(frozen=True)
class Blocker:
    """Rows that forbid the deletion: `count` rows of `model`, the first of them `ids`, and why."""

    model: str
    name: str
    count: int
    ids: list[int]
    reason: Literal["depends", "other_dataset", "busy"]
    link: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "name": self.name,
            "count": self.count,
            "ids": self.ids,
            "reason": self.reason,
            "link": self.link,
        }

    def sentence(self) -> str:
        shown = ", ".join(str(pk) for pk in self.ids) + (", …" if self.count > len(self.ids) else "")
        why = {
            "depends": f"depend on it (through {self.link})",
            "other_dataset": f"belong to another dataset too (through {self.link})",
            "busy": "have a job that is still queued or running",
        }[self.reason]
        return f"{self.count} {self.name} (id {shown}) {why}"


@dataclass
class DeletionPlan:
    """The doomed rows of every model reached from `root` rows `root_ids`, parents before children.

    Args:
        root: the model deleted (Dataset, DatasetVersion, a run model, Sample for orphans).
        root_ids: the root rows' primary keys.
        scope: "dataset" follows PROTECT links too; "strict" follows CASCADE only.
    """

    root: type[Model]
    root_ids: Sequence[int]
    scope: Scope
    order: list[type[Model]] = field(init=False)
    incoming: dict[type[Model], list[Link]] = field(init=False)
    tables: dict[type[Model], str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.incoming = {self.root: []}
        pending = [self.root]
        while pending:
            for link in links_to(pending.pop()):
                if self.follows(link):
                    if link.child not in self.incoming:
                        self.incoming[link.child] = []
                        pending.append(link.child)
                    self.incoming[link.child].append(link)
        self.order = _parents_first(self.incoming)

    def follows(self, link: Link) -> bool:
        if link.is_self:
            return False
        if link.on_delete is models.CASCADE:
            return True
        return self.scope == "dataset" and link.on_delete in (models.PROTECT, models.RESTRICT, models.DO_NOTHING)

    # --- the doomed rows --------------------------------------------------------------------------

    def rows_sql(self, model: type[Model]) -> tuple[str, list[Any]]:
        """A SELECT of one column, `id`: the doomed primary keys of `model`."""
        if model in self.tables:
            return f"SELECT id FROM {self.tables[model]}", []
        table, pk = _quoted(model), quote(model._meta.pk.column)
        if model is self.root:
            return f"SELECT {pk} AS id FROM {table} WHERE {pk} IN ({_placeholders(self.root_ids)})", [*self.root_ids]
        parts, params = [], []
        for link in self.incoming[model]:
            parent_sql, parent_params = self.rows_sql(link.parent)
            parts.append(f"SELECT {pk} AS id FROM {table} WHERE {quote(link.field.column)} IN ({parent_sql})")
            params += parent_params
        return " UNION ".join(parts), params

    def materialize(self) -> dict[str, int]:
        """Store every model's doomed ids in a temporary table (parents first); returns {label: rows}."""
        counts = {}
        with connection.cursor() as cursor:
            for model in self.order:
                sql, params = self.rows_sql(model)
                name = TEMP_PREFIX + model._meta.db_table
                cursor.execute(f"DROP TABLE IF EXISTS {_temporary(name)}")
                cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {sql}", params)
                if connection.vendor == "postgresql":  # temporary tables are never analyzed by themselves
                    cursor.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (id)")
                    cursor.execute(f"ANALYZE {name}")
                else:
                    cursor.execute(f"CREATE UNIQUE INDEX {name}_id ON {name} (id)")
                self.tables[model] = name
                cursor.execute(f"SELECT count(*) FROM {name}")
                counts[model._meta.label] = cursor.fetchone()[0]
        return counts

    def release(self) -> None:
        """Drop the temporary tables (they would go with the connection anyway)."""
        with connection.cursor() as cursor:
            for name in self.tables.values():
                cursor.execute(f"DROP TABLE IF EXISTS {_temporary(name)}")
        self.tables.clear()

    def batches(self, model: type[Model], size: int, *, after: int = 0) -> Iterator[tuple[int, int, int]]:
        """The doomed ids of `model` (materialized) in ascending keyset batches of `size`: (low, high, rows),
        the batch being the ids in (low, high] (`batch_sql`). Only the bounds leave the database: a batch's
        ids are never sent back as a parameter (quoting 10k ids costs the client more than the DELETE)."""
        batch = f"SELECT id FROM {self.tables[model]} WHERE id > %s ORDER BY id LIMIT %s"
        sql = f"SELECT max(id), count(*) FROM ({batch}) b"
        while True:
            with connection.cursor() as cursor:
                cursor.execute(sql, [after, size])
                high, rows = cursor.fetchone()
            if not rows:
                return
            yield after, high, rows
            after = high

    def batch_sql(self, model: type[Model]) -> str:
        """A SELECT of the doomed ids of `model` (materialized) in (%s, %s]: one batch of `batches`."""
        return f"SELECT id FROM {self.tables[model]} WHERE id > %s AND id <= %s"

    # --- what forbids it ----------------------------------------------------------------------------

    def blockers(self, *, per_sample: bool = True) -> list[Blocker]:
        """Everything that forbids the deletion (empty when it may go ahead).

        `per_sample`: also check, on the tables of one row per sample (samples and every model reached through
        them: members, decisions…), that no doomed row points into another dataset. Each is an anti-join over
        every doomed row: the job does them on its temporary tables; a request skips them and stays fast.
        """
        found = [blocker for model in self.order for blocker in self._dependants(model)]
        if self.scope == "dataset":
            skipped = set() if per_sample else self.under(SAMPLE_LABEL)
            found += [blocker for model in self.order if model not in skipped for blocker in self._crossings(model)]
        found += [blocker for model in self.order for blocker in self._busy(model)]
        return found

    def under(self, label: str) -> set[type[Model]]:
        """The planned model `label` and every planned model reached from it through followed links."""
        reached = {model for model in self.order if model._meta.label == label}
        for model in self.order:  # parents first: a model's parents are settled before it
            if any(link.parent in reached for link in self.incoming[model]):
                reached.add(model)
        return reached

    def _dependants(self, model: type[Model]) -> Iterator[Blocker]:
        for link in links_to(model):
            if self.follows(link) or link.on_delete is models.SET_NULL:
                continue
            child_pk = f"c.{quote(link.child._meta.pk.column)}"
            parent_sql, params = self.rows_sql(model)
            where = f"c.{quote(link.field.column)} IN ({parent_sql})"
            if link.child in self.incoming:  # doomed rows of the child are no obstacle
                child_sql, child_params = self.rows_sql(link.child)
                where += f" AND NOT EXISTS (SELECT 1 FROM ({child_sql}) d WHERE d.id = {child_pk})"
                params += child_params
            blocker = _blocker(link.child, child_pk, where, params, reason="depends", link=str(link))
            if blocker is not None:
                yield blocker

    def _crossings(self, model: type[Model]) -> Iterator[Blocker]:
        for fk in model._meta.concrete_fields:
            remote = fk.related_model if fk.is_relation else None
            if remote is None or remote._meta.label not in DATASET_ANCHORS or remote not in self.incoming:
                continue
            rows_sql, params = self.rows_sql(model)
            remote_sql, remote_params = self.rows_sql(remote)
            pk = f"c.{quote(model._meta.pk.column)}"
            column = f"c.{quote(fk.column)}"
            where = (
                f"{pk} IN ({rows_sql}) AND {column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM ({remote_sql}) r WHERE r.id = {column})"
            )
            blocker = _blocker(
                model, pk, where, params + remote_params, reason="other_dataset", link=f"{model._meta.label}.{fk.name}"
            )
            if blocker is not None:
                yield blocker

    def _busy(self, model: type[Model]) -> Iterator[Blocker]:
        for fk in model._meta.concrete_fields:
            if not (fk.is_relation and fk.related_model is Job):
                continue
            rows_sql, params = self.rows_sql(model)
            pk = f"c.{quote(model._meta.pk.column)}"
            unfinished = f"SELECT id FROM {_quoted(Job)} WHERE status IN (%s, %s)"
            where = f"c.{quote(fk.column)} IN ({unfinished}) AND {pk} IN ({rows_sql})"
            blocker = _blocker(model, pk, where, [JobStatus.QUEUED, JobStatus.RUNNING, *params], reason="busy")
            if blocker is not None:
                yield blocker

    # --- links to clear before rows go ---------------------------------------------------------------

    def self_links(self, model: type[Model]) -> list[Link]:
        """The model's links to itself, cleared on its doomed rows before they are deleted."""
        return [link for link in links_to(model) if link.is_self]

    def set_null_links(self, model: type[Model]) -> list[Link]:
        """Links from surviving rows to `model` that are set to NULL before its doomed rows go."""
        return [link for link in links_to(model) if not link.is_self and link.on_delete is models.SET_NULL]


def quote(name: str | None) -> str:
    """A table or column name quoted for SQL (a field's column is None only for fields without one)."""
    assert name is not None
    return connection.ops.quote_name(name)


def _quoted(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def _temporary(name: str) -> str:
    """The temporary table's name qualified, so DROP never reaches a permanent table of that name."""
    return f"pg_temp.{name}" if connection.vendor == "postgresql" else f"temp.{name}"


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values)) or "NULL"


def _blocker(model: type[Model], pk: str, where: str, params: list[Any], **kwargs: Any) -> Blocker | None:
    table = _quoted(model)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk} FROM {table} c WHERE {where} ORDER BY {pk} LIMIT %s", [*params, BLOCKER_IDS_SHOWN + 1]
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return None
        count = len(ids)
        if count > BLOCKER_IDS_SHOWN:
            cursor.execute(f"SELECT count(*) FROM {table} c WHERE {where}", params)
            count = cursor.fetchone()[0]
    name = str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)
    return Blocker(model._meta.label, name, count, ids[:BLOCKER_IDS_SHOWN], **kwargs)


def _parents_first(incoming: dict[type[Model], list[Link]]) -> list[type[Model]]:
    """The models in an order where every followed link's parent comes before its child (Kahn)."""
    waiting = {model: {link.parent for link in links} for model, links in incoming.items()}
    order: list[type[Model]] = []
    while waiting:
        ready = sorted((model for model, parents in waiting.items() if not parents), key=lambda m: m._meta.label)
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {sorted(m._meta.label for m in waiting)}")
        for model in ready:
            del waiting[model]
            order.append(model)
        for parents in waiting.values():
            parents.difference_update(ready)
    return order
