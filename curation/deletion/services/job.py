"""The `delete` job (requested by start.py).

The job plans again (rows may have changed since the request), stores each model's doomed ids in a
temporary table, checks again (the per-sample tables too, which a request skips to stay fast), then deletes
children before parents, each model in keyset batches of `batch_size` ids, one transaction per batch:
its rows deleted with one set-based DELETE joined to a range of the temporary table, returning their ids
and stored keys (no ORM cascade: the plan holds the children already; no id list sent back and forth),
and the audit counts updated. After each commit the blobs and files nothing needs any more are
removed (files.files_remove) and progress is reported. A batch that runs twice finds
its rows gone, so a killed job run again finishes; the blobs of a batch committed just before a worker
died may stay behind (a leak, never a loss). A version's members take with them the samples no other
row needs any more (in no other version, no run's rows), in the same transaction.
"""

# SQL here is built from the models' own table and column names (quoted); every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Model
from django.utils import timezone

from curation.deletion.files import FileRemoval, doomed_keys, key_fields
from curation.deletion.integrity import (
    Mode,
    Reference,
    ReferencedError,
    batch_lock,
    batch_unreferenced_check,
    references_to,
    replica_role,
    replica_role_allowed,
)
from curation.deletion.models import Deletion, DeletionStatus
from curation.deletion.plan import DeletionPlan, Link, Scope, links_to, quote
from curation.deletion.services.start import blocked_error, has_deleting_flag, target_model
from curation.models import DatasetVersion, Sample, VersionSample
from jobs.runtime import JobContext, JobFailed

logger = logging.getLogger("winnow.audit")


DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 100_000


def deletion_run(ctx: JobContext) -> dict[str, Any]:
    """The `delete` job: delete the target of Deletion ctx.params["deletion"] in batches (see the module doc).

    Returns {"deletion", "target", "target_id", "rows": {model label: rows}, "files", "integrity": {model label:
    Mode}, "seconds"}. Raises JobFailed when the audit row is gone or something now forbids the deletion (nothing
    deleted then), or when a row written after the plan references a batch (that batch not deleted: integrity.py).
    """
    deletion = Deletion.objects.filter(pk=int(ctx.params.get("deletion") or 0)).first()
    if deletion is None:
        raise JobFailed(f"deletion {ctx.params.get('deletion')} no longer exists")
    started = time.perf_counter()
    model, scope = target_model(deletion.target)
    if model._base_manager.filter(pk=deletion.target_id).exists():
        _DeletionBatches(ctx, deletion, model, scope).run()
    else:
        ctx.log(f"{deletion.target} {deletion.target_id} is already gone")
    Deletion.objects.filter(pk=deletion.pk).update(status=DeletionStatus.DONE, finished_at=timezone.now())
    deletion.refresh_from_db()
    logger.info(
        "deletion %s: %s %s (%s) deleted for %s: %s rows, %s files",
        deletion.pk,
        deletion.target,
        deletion.target_id,
        deletion.target_name,
        deletion.requested_by_name or "the system",
        sum(deletion.rows.values()),
        deletion.files,
    )
    return {
        "deletion": deletion.pk,
        "target": deletion.target,
        "target_id": deletion.target_id,
        "rows": deletion.rows,
        "files": deletion.files,
        "integrity": deletion.integrity,
        "seconds": round(time.perf_counter() - started, 2),
    }


class _DeletionBatches:
    """One attempt of a deletion job: plan, check, then delete model by model, batch by batch."""

    def __init__(self, ctx: JobContext, deletion: Deletion, model: type[Model], scope: Scope):
        self.ctx, self.deletion, self.model, self.scope = ctx, deletion, model, scope
        self.batch_size = min(max(int(ctx.params.get("batch_size") or DEFAULT_BATCH_SIZE), 1), MAX_BATCH_SIZE)
        self.plan = DeletionPlan(model, [deletion.target_id], scope)
        self.rows: dict[str, int] = dict(deletion.rows)
        self.integrity: dict[str, str] = dict(deletion.integrity)
        self.done = 0
        # A version's members take the samples only they held: found per batch, among the batch's samples.
        self.collect_orphans = model is DatasetVersion

    def run(self) -> None:
        self.ctx.progress(0, 0, "planning")
        try:
            self.counts = counts = self.plan.materialize()
            blockers = self.plan.blockers()
            if blockers:
                if has_deleting_flag(self.model):
                    self.model._base_manager.filter(pk=self.deletion.target_id).update(deleting=False)
                row = self.model._base_manager.get(pk=self.deletion.target_id)
                raise JobFailed(blocked_error(self.model, row, blockers).message)
            self.total = sum(counts.values())
            self.replica = replica_role_allowed()
            self.ctx.log("to delete: " + ", ".join(f"{label} {n}" for label, n in counts.items() if n))
            with FileRemoval() as self.removal:
                for model in reversed(self.plan.order):
                    self._model_delete(model)
            self._files_count()
        finally:
            self.plan.release()

    def _model_delete(self, model: type[Model]) -> None:
        self._links_clear(model)
        label = model._meta.label
        doomed = self.plan.batch_sql(model)
        references = self._integrity_mode(model) if self.counts.get(label) else []
        for low, high, rows in self.plan.batches(model, self.batch_size):
            with transaction.atomic():
                member_samples = (
                    _member_samples(doomed, low, high) if self.collect_orphans and model is VersionSample else []
                )
                if references:
                    deleted, ids, keys = self._checked_delete(model, references, doomed, low, high)
                else:
                    deleted, ids, keys = _rows_delete(model, doomed, low, high)
                self._count(label, deleted)
                orphans, orphan_keys = self._orphans_delete(member_samples)
                Deletion.objects.filter(pk=self.deletion.pk).update(rows=self.rows, integrity=self.integrity)
            self.removal.submit(model, ids, keys)
            if orphans:
                self.removal.submit(Sample, orphans, orphan_keys)
            self._files_count()
            self.done += rows
            self.ctx.progress(
                self.done,
                max(self.total, self.done),
                f"{model._meta.verbose_name_plural}: {self.done} of {self.total} rows",
            )

    def _integrity_mode(self, model: type[Model]) -> list[Reference]:
        """The foreign keys the set-based check stands in for while deleting `model` (empty: its rows' own triggers,
        if any, check them); records and logs the path taken when foreign keys point at the table."""
        if connection.vendor != "postgresql":
            return []
        references = references_to(model._meta.db_table, model._meta.pk.column)
        if references == []:
            return []
        label = model._meta.label
        if references is not None and self.replica:
            self.integrity[label] = Mode.SET_CHECK.value
            self.ctx.log(f"{label}: {len(references)} foreign keys checked set-based per batch, their triggers off")
            return references
        if references is None:
            why = "the table has triggers of its own, or a foreign key points at other columns than its id"
        else:
            why = "the database role may not set session_replication_role"
        self.integrity[label] = Mode.TRIGGERS.value
        self.ctx.log(f"{label}: deleted with per-row foreign-key triggers ({why})")
        logger.warning("deletion %s: %s with per-row foreign-key triggers: %s", self.deletion.pk, label, why)
        return []

    def _checked_delete(
        self, model: type[Model], references: list[Reference], doomed: str, low: int, high: int
    ) -> tuple[int, list[int], list[str]]:
        """One batch of a referenced table: lock its rows, check set-based that nothing references them, then delete
        them with the RI triggers off (integrity.py). Raises JobFailed (the batch rolled back) when something does."""
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        batch_lock(table, pk, doomed, low, high)
        try:
            batch_unreferenced_check(references, doomed, low, high)
        except ReferencedError as error:
            raise JobFailed(
                f"Cannot delete {model._meta.verbose_name_plural} of ids {low + 1} to {high}: {error}, rows the "
                "deletion's plan did not include (written while it ran?). Nothing of this batch was deleted; "
                "ask for the deletion again: a new plan takes them or says what forbids it."
            ) from error
        with replica_role():
            return _rows_delete(model, doomed, low, high)

    def _links_clear(self, model: type[Model]) -> None:
        """Clear links to the model's doomed rows: its own among themselves, and SET_NULL ones from survivors."""
        doomed, _ = self.plan.rows_sql(model)
        with connection.cursor() as cursor:
            for link in self.plan.self_links(model):
                _nullable_check(link)
                column = quote(link.field.column)
                cursor.execute(
                    f"UPDATE {quote(model._meta.db_table)} SET {column} = NULL "
                    f"WHERE {quote(model._meta.pk.column)} IN ({doomed}) AND {column} IS NOT NULL"
                )
            for link in self.plan.set_null_links(model):
                column = quote(link.field.column)
                cursor.execute(
                    f"UPDATE {quote(link.child._meta.db_table)} SET {column} = NULL WHERE {column} IN ({doomed})"
                )

    def _orphans_delete(self, sample_ids: list[int]) -> tuple[list[int], list[str]]:
        """Delete the samples among `sample_ids` that no row names any more, with their CASCADE children."""
        orphans = _unreferenced_samples(sample_ids)
        if not orphans:
            return [], []
        keys = doomed_keys(Sample, orphans)
        plan = DeletionPlan(Sample, orphans, "strict")
        for model in reversed(plan.order):
            sql, params = plan.rows_sql(model)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} IN ({sql})", params
                )
                self._count(model._meta.label, cursor.rowcount)
        return orphans, keys

    def _files_count(self) -> None:
        if self.removal.removed:
            files = self.deletion.files + self.removal.removed
            Deletion.objects.filter(pk=self.deletion.pk).exclude(files=files).update(files=files)

    def _count(self, label: str, rows: int) -> None:
        if rows:
            self.rows[label] = self.rows.get(label, 0) + rows


def _nullable_check(link: Link) -> None:
    if not link.field.null:
        raise JobFailed(f"{link} links {link.child._meta.label} rows to each other and cannot be cleared")


def _rows_delete(model: type[Model], doomed: str, low: int, high: int) -> tuple[int, list[int], list[str]]:
    """One set-based DELETE of the rows whose ids the SELECT `doomed` gives for ids in (low, high] (one batch of
    the temporary table; their children are gone already: the plan deletes them first).

    The table's own ids are bounded by the range too: joined to the batch alone, the planner hashed the batch and
    read the whole table once per batch (a member or decision batch of 10k rows, in a table of 1M: a seq scan
    cost less than 10k index probes by its estimate); with the bounds it merges two index ranges.
    Returns how many rows went, their ids and the storage keys they named (files.key_fields).
    """
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    column_of = {field.name: field.column for field in model._meta.concrete_fields}
    columns = [f"t.{quote(column_of[name])}" for name in key_fields(model)]
    bounds = [low, high]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # ids and keys come back from the DELETE itself
            returning = ", ".join([f"t.{pk}", *columns])
            where = f"t.{pk} = d.id AND t.{pk} > %s AND t.{pk} <= %s"
            cursor.execute(f"DELETE FROM {table} t USING ({doomed}) d WHERE {where} RETURNING {returning}", bounds * 2)
            rows = cursor.fetchall()
            return len(rows), [row[0] for row in rows], [key for row in rows for key in row[1:] if key]
        cursor.execute(doomed, bounds)
        ids = [row[0] for row in cursor.fetchall()]
        keys = doomed_keys(model, ids)
        cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({doomed})", bounds)
        return cursor.rowcount, ids, keys


def _member_samples(doomed: str, low: int, high: int) -> list[int]:
    """The samples of the doomed members that the SELECT `doomed` gives for ids in (low, high] (read before they
    are deleted; the members' ids bounded too, as in `_rows_delete`)."""
    table, pk = quote(VersionSample._meta.db_table), quote(VersionSample._meta.pk.column)
    sample = quote(VersionSample._meta.get_field("sample").column)
    with connection.cursor() as cursor:
        where = f"m.{pk} > %s AND m.{pk} <= %s AND m.{pk} IN ({doomed})"
        cursor.execute(f"SELECT m.{sample} FROM {table} m WHERE {where}", [low, high, low, high])
        return [row[0] for row in cursor.fetchall()]


def _unreferenced_samples(sample_ids: list[int]) -> list[int]:
    """Those of `sample_ids` that no row links to, except through CASCADE links (aliases, estimated masks)."""
    if not sample_ids:
        return []
    keeping: list[Link] = [link for link in links_to(Sample) if link.on_delete is not models.CASCADE]
    table, pk = quote(Sample._meta.db_table), quote(Sample._meta.pk.column)
    unreferenced = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {quote(link.child._meta.db_table)} c WHERE c.{quote(link.field.column)} = s.{pk})"
        for link in keeping
    )
    placeholders = ", ".join(["%s"] * len(sample_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.{pk} FROM {table} s WHERE s.{pk} IN ({placeholders}) AND {unreferenced}", sample_ids)
        return sorted(row[0] for row in cursor.fetchall())
