"""Applying a prune run: a new immutable version holding the kept samples, with lineage.

The new version's parent is the run's source version, its operation "prune" and its params name the
run and its method. Members are copied from the source version (split, labels and their origins
unchanged) for the kept samples only, by one INSERT ... SELECT (no row travels through Python, so a
million members take seconds). Nothing is deleted. Applying is idempotent: the run row is locked
and, once it has a resulting version, applying again returns that version.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.models import Dataset, DatasetVersion, VersionOperation, VersionSample
from curation.pruning.models import PruneDecision, PruneRun, PruneRunStatus


@transaction.atomic
def prune_run_apply(*, prune_run: PruneRun, user: User | None = None) -> DatasetVersion:
    """The version made from `prune_run` (created on the first call, returned as is afterwards).

    Raises ApplicationError `nothing_kept` when the run keeps no sample (a version cannot be empty).
    """
    run = PruneRun.objects.select_for_update().select_related("version").get(pk=prune_run.pk)
    if run.resulting_version_id is not None:
        return DatasetVersion.objects.get(pk=run.resulting_version_id)
    if run.n_kept == 0:
        raise ApplicationError(f"Prune run {run.pk} keeps no sample; nothing to apply.", code="nothing_kept")
    source = run.version
    Dataset.objects.select_for_update().filter(pk=source.dataset_id).first()  # serialises version numbers
    number = (DatasetVersion.objects.filter(dataset_id=source.dataset_id).aggregate(n=Max("number"))["n"] or 0) + 1
    version = DatasetVersion.objects.create(
        dataset_id=source.dataset_id,
        number=number,
        parent=source,
        operation=VersionOperation.PRUNE,
        operation_params={
            "prune_run": run.pk,
            "method": run.method,
            "params": run.params,
            "kept": run.n_kept,
            "removed": run.n_candidates - run.n_kept,
        },
        note=f"{run.get_method_display()} (prune run {run.pk}): kept {run.n_kept} of {run.n_candidates}",
        sample_count=run.n_kept,
        created_by=user,
    )
    copied = _kept_members_copy(run, version)
    if copied != run.n_kept:
        raise ApplicationError(
            f"Prune run {run.pk} keeps {run.n_kept} samples but {copied} are members of version {source.pk}.",
            code="decisions_inconsistent",
        )
    run.resulting_version = version
    run.status = PruneRunStatus.APPLIED
    run.applied_at = timezone.now()
    run.applied_by = user
    run.save(update_fields=["resulting_version", "status", "applied_at", "applied_by"])
    prune_run.refresh_from_db()
    return version


def _kept_members_copy(run: PruneRun, version: DatasetVersion) -> int:
    members, decisions = VersionSample._meta.db_table, PruneDecision._meta.db_table
    sql = (
        f"INSERT INTO {members} (version_id, sample_id, split, label, label_origin, labels) "  # noqa: S608
        f"SELECT %s, m.sample_id, m.split, m.label, m.label_origin, m.labels FROM {members} m "
        f"JOIN {decisions} d ON d.sample_id = m.sample_id "
        "WHERE m.version_id = %s AND d.prune_run_id = %s AND d.keep = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [version.pk, run.version_id, run.pk, True])
        return cursor.rowcount
