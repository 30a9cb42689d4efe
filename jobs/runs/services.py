"""The run kit's services: create a run (validate, job, row, enqueue on commit), the job's body, the cleanup."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from core.storage import blob_delete, storage_delete_prefix
from jobs.models import Job
from jobs.runs.kinds import RunKind, run_kind_get, run_rows
from jobs.runs.models import JobRun
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_create, job_enqueue


def run_create(*, kind: RunKind | str, requested_by: User | None, enqueue: bool = True, **request: Any) -> JobRun:
    """Check a start request, then create the row and its job in one transaction and send the job once committed.

    Args:
        kind: a registered run kind (or its name).
        requested_by: needs the kind's capability; None for system runs.
        enqueue: False creates the job without sending it (a command runs it in-process).
        request: the kind's start request (what its `prepare` takes: trained_model, version, params, ...).
    Raises ApplicationError from `prepare` (nothing is created then) or from job_create (permission_denied).
    """
    kind = run_kind_get(kind) if isinstance(kind, str) else kind
    fields = kind.prepare_function(**request)
    if kind.model.KIND_FIELD:
        fields[kind.model.KIND_FIELD] = kind.name
    with transaction.atomic():
        job = job_create(kind=kind.name, params={}, requested_by=requested_by)
        run = kind.model._default_manager.create(**fields, job=job, requested_by=requested_by)
        job.params = {kind.job_param: run.pk}
        job.save(update_fields=["params"])
        if enqueue:
            job_enqueue(job)
    return run


def run_job_execute(kind: RunKind, ctx: JobContext) -> dict[str, Any]:
    """The body of a run kind's job: load the row (a vanished one fails the job), then `execute(run, ctx)`."""
    run_id = int(ctx.params[kind.job_param])
    run = run_rows(kind).select_related(*kind.select_related).filter(pk=run_id).first()
    if run is None:
        raise JobFailed(f"{kind.noun} {run_id} no longer exists")
    ctx.check_cancelled()
    result: dict[str, Any] = kind.execute_function(run, ctx)
    return result


def run_cleanup(kind: RunKind, job: Job) -> None:
    """After a failure or cancel: undo what the job's attempts wrote for its rows.

    The kind's own cleanup first (rows of its own), then every file the row recorded or stored under its
    storage prefix (also those an attempt wrote before it could record them), then its result fields are
    emptied and `finished_at` cleared. The row itself stays, with its job's reason.
    """
    for run in run_rows(kind).filter(job=job):
        if kind.cleanup_function is not None:
            kind.cleanup_function(run)
        for key in (getattr(run, "examples", None) or {}).values():
            blob_delete(key)
        if run.storage_prefix:
            storage_delete_prefix(run.storage_prefix)
        emptied: dict[str, Any] = {name: {} for name in run.RESULT_FIELDS}
        kind.model._default_manager.filter(pk=run.pk).update(**emptied, finished_at=None)
