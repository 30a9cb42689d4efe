"""Deleting a dataset, a version or a run, as a job (the `delete` kind).

A request (`dataset_delete_start`, `version_delete_start`, `run_delete_start`) checks what forbids the
deletion (DeletionPlan.blockers: rows that depend on the target, rows of other datasets, jobs still
running on it), marks a dataset or version `deleting` (lists hide it), writes the audit row (Deletion:
who, what, when) and submits the job. Asking again while that job is queued or running returns it; after
it failed or was cancelled, a new request starts a new job that finishes the work.

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
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.db.models import Model
from django.utils import timezone

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from curation.deletion.files import FileRemoval, doomed_keys, key_fields
from curation.deletion.models import Deletion, DeletionStatus
from curation.deletion.plan import Blocker, DeletionPlan, Link, Scope, links_to, quote
from curation.models import Dataset, DatasetVersion, Sample, VersionSample
from jobs.models import Job, JobStatus
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_submit

logger = logging.getLogger("winnow.audit")

DELETE_JOB_KIND = "delete"
DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 100_000
# Runs that can be deleted on their own, by the name the API and the command line use. Deleting one
# takes its CASCADE children (a prune run's decisions, an embedding set's chunks and duplicate runs);
# rows that PROTECT it (a prune run made from an embedding set) forbid it. `run_kind_register` adds more.
RUN_KINDS: dict[str, str] = {
    "embedding_set": "embeddings.EmbeddingSet",
    "embedding_map": "embeddings.EmbeddingMap",
    "duplicate_run": "embeddings.DuplicateRun",
    "cluster_run": "pruning.ClusterRun",
    "prune_run": "pruning.PruneRun",
    "proposal_run": "review.ProposalRun",
    "mask_set": "masks.MaskSet",
    "export": "exports.Export",
    "training_run": "robustness.TrainingRun",
    "trained_model": "robustness.TrainedModel",
    "evaluation_run": "evaluation.EvaluationRun",
    "explanation_run": "explain.ExplanationRun",
    "spurious_report": "spurious.SpuriousReport",
    "slice_report": "slices.SliceReport",
}
TARGETS: dict[str, tuple[str, Scope]] = {
    "dataset": ("curation.Dataset", "dataset"),
    "version": ("curation.DatasetVersion", "strict"),
}


def run_kind_register(name: str, model_label: str) -> None:
    """Make runs of `model_label` deletable as `DELETE /api/runs/<name>/<id>/` and `delete_run <name> <id>`."""
    RUN_KINDS[name] = model_label


def target_model(target: str) -> tuple[type[Model], Scope]:
    """The model and plan scope of a target name ("dataset", "version" or a run kind); KeyError if unknown."""
    if target in TARGETS:
        label, scope = TARGETS[target]
        return apps.get_model(label), scope
    return apps.get_model(RUN_KINDS[target]), "strict"


# --- requesting a deletion ----------------------------------------------------------------------------


def dataset_delete_start(
    *, dataset: Dataset, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Delete `dataset` with everything in it (versions, samples, runs, reports, models, files) as a job.

    Args:
        dataset: the dataset to delete.
        requested_by: who asks (needs the curate capability); None for the system.
        create_job: `job_submit` (sent to the workers on commit) or `job_create` (run inline by a command).
    Returns the audit row, whose `job` runs the deletion (an unfinished one already asked for is returned).
    Raises ApplicationError: permission_denied (403), deletion_blocked (409: rows of another dataset use
        something in it, or a job is still running on it; `details.blockers` lists them).
    """
    return deletion_start(target="dataset", target_id=dataset.pk, requested_by=requested_by, create_job=create_job)


def version_delete_start(
    *, version: DatasetVersion, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Delete `version`: its members, exports, embedding sets and masks, and the samples only it held.

    Refused (409 deletion_blocked, `details.blockers`) while child versions, runs, reports or models
    depend on it; otherwise as `dataset_delete_start`.
    """
    return deletion_start(target="version", target_id=version.pk, requested_by=requested_by, create_job=create_job)


def run_delete_start(
    *, kind: str, run_id: int, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Delete one run of `kind` (a key of RUN_KINDS) with its own rows and files.

    Raises ApplicationError: unknown_run_kind (400), not_found (404), deletion_blocked (409), permission_denied.
    """
    if kind not in RUN_KINDS:
        raise ApplicationError(
            f"Unknown run kind '{kind}'; use one of: {', '.join(sorted(RUN_KINDS))}.",
            code="unknown_run_kind",
            details={"allowed": sorted(RUN_KINDS)},
        )
    return deletion_start(target=kind, target_id=run_id, requested_by=requested_by, create_job=create_job)


def deletion_start(
    *, target: str, target_id: int, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Check, mark, audit and submit the deletion of `target` row `target_id` (see dataset_delete_start)."""
    if requested_by is not None and not user_can(requested_by, Capability.CURATE):
        raise ApplicationError("Your role does not allow deleting.", code="permission_denied", status_code=403)
    model, scope = target_model(target)
    with transaction.atomic():
        row = model._base_manager.select_for_update().filter(pk=target_id).first()  # one request at a time
        if row is None:
            raise ApplicationError(
                f"{model._meta.verbose_name} {target_id} does not exist.", code="not_found", status_code=404
            )
        unfinished = (JobStatus.QUEUED, JobStatus.RUNNING)
        active = Deletion.objects.filter(target=target, target_id=target_id, job__status__in=unfinished).first()
        if active is not None:
            return active
        blockers = DeletionPlan(model, [target_id], scope).blockers(per_sample=False)
        if blockers:
            raise _blocked(model, row, blockers)
        if _has_deleting_flag(model):
            model._base_manager.filter(pk=target_id).update(deleting=True)
        deletion = Deletion.objects.create(
            target=target,
            target_id=target_id,
            target_name=str(row)[:500],
            requested_by=requested_by,
            requested_by_name=requested_by.get_username() if requested_by is not None else "",
        )
        deletion.job = create_job(kind=DELETE_JOB_KIND, params={"deletion": deletion.pk}, requested_by=requested_by)
        deletion.save(update_fields=["job"])
    logger.info(
        "deletion %s: %s asked to delete %s %s (%s), job %s",
        deletion.pk,
        deletion.requested_by_name or "the system",
        target,
        target_id,
        deletion.target_name,
        deletion.job_id,
    )
    return deletion


def _has_deleting_flag(model: type[Model]) -> bool:
    return any(field.name == "deleting" for field in model._meta.concrete_fields)


def _blocked(model: type[Model], row: Model, blockers: list[Blocker]) -> ApplicationError:
    what = f"{model._meta.verbose_name} {row.pk} ({row})"
    return ApplicationError(
        f"Cannot delete {what}: " + "; ".join(blocker.sentence() for blocker in blockers) + ".",
        code="deletion_blocked",
        status_code=409,
        details={"blockers": [blocker.as_dict() for blocker in blockers]},
    )


# --- the job --------------------------------------------------------------------------------------------


def deletion_run(ctx: JobContext) -> dict[str, Any]:
    """The `delete` job: delete the target of Deletion ctx.params["deletion"] in batches (see the module doc).

    Returns {"deletion", "target", "target_id", "rows": {model label: rows}, "files", "seconds"}.
    Raises JobFailed when the audit row is gone or something now forbids the deletion (nothing deleted then).
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
        "seconds": round(time.perf_counter() - started, 2),
    }


class _DeletionBatches:
    """One attempt of a deletion job: plan, check, then delete model by model, batch by batch."""

    def __init__(self, ctx: JobContext, deletion: Deletion, model: type[Model], scope: Scope):
        self.ctx, self.deletion, self.model, self.scope = ctx, deletion, model, scope
        self.batch_size = min(max(int(ctx.params.get("batch_size") or DEFAULT_BATCH_SIZE), 1), MAX_BATCH_SIZE)
        self.plan = DeletionPlan(model, [deletion.target_id], scope)
        self.rows: dict[str, int] = dict(deletion.rows)
        self.done = 0
        # A version's members take the samples only they held: found per batch, among the batch's samples.
        self.collect_orphans = model is DatasetVersion

    def run(self) -> None:
        self.ctx.progress(0, 0, "planning")
        try:
            counts = self.plan.materialize()
            blockers = self.plan.blockers()
            if blockers:
                if _has_deleting_flag(self.model):
                    self.model._base_manager.filter(pk=self.deletion.target_id).update(deleting=False)
                row = self.model._base_manager.get(pk=self.deletion.target_id)
                raise JobFailed(_blocked(self.model, row, blockers).message)
            self.total = sum(counts.values())
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
        for low, high, rows in self.plan.batches(model, self.batch_size):
            with transaction.atomic():
                member_samples = (
                    _member_samples(doomed, [low, high]) if self.collect_orphans and model is VersionSample else []
                )
                deleted, ids, keys = _rows_delete(model, doomed, [low, high])
                self._count(label, deleted)
                orphans, orphan_keys = self._orphans_delete(member_samples)
                Deletion.objects.filter(pk=self.deletion.pk).update(rows=self.rows)
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


def _rows_delete(model: type[Model], doomed: str, params: list[Any]) -> tuple[int, list[int], list[str]]:
    """One set-based DELETE of the rows whose ids the SELECT `doomed` gives (one batch of the temporary table;
    their children are gone already: the plan deletes them first).

    Returns how many rows went, their ids and the storage keys they named (files.key_fields).
    """
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    column_of = {field.name: field.column for field in model._meta.concrete_fields}
    columns = [f"t.{quote(column_of[name])}" for name in key_fields(model)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # ids and keys come back from the DELETE itself
            returning = ", ".join([f"t.{pk}", *columns])
            sql = f"DELETE FROM {table} t USING ({doomed}) d WHERE t.{pk} = d.id RETURNING {returning}"
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            return len(rows), [row[0] for row in rows], [key for row in rows for key in row[1:] if key]
        cursor.execute(doomed, params)
        ids = [row[0] for row in cursor.fetchall()]
        keys = doomed_keys(model, ids)
        cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({doomed})", params)
        return cursor.rowcount, ids, keys


def _member_samples(doomed: str, params: list[Any]) -> list[int]:
    """The samples of the doomed members that the SELECT `doomed` gives (read before they are deleted)."""
    table, pk = quote(VersionSample._meta.db_table), quote(VersionSample._meta.pk.column)
    sample = quote(VersionSample._meta.get_field("sample").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT m.{sample} FROM {table} m WHERE m.{pk} IN ({doomed})", params)
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
