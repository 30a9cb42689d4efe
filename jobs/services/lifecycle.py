"""Creating jobs, sending them to the workers, and cancelling them."""

import json
from datetime import datetime
from functools import partial
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from jobs.models import Job, JobStatus
from jobs.runtime import JobKind, job_kind_get
from jobs.selectors import job_user_may_cancel
from jobs.services.outcomes import job_abandon

NO_GPU_MESSAGE = "No GPU worker configured: running on CPU"


def job_create(*, kind: str, params: dict[str, Any], requested_by: User | None) -> Job:
    """Create a queued Job row; it runs once sent with `job_enqueue` or run inline with `job_execute`.

    Args:
        kind: a registered job kind (jobs.runtime.job_kind).
        params: the kind's parameters, a JSON object (stored as JSON round-trips it).
        requested_by: who asked; needs the kind's capability. None for system jobs.

    A `gpu` kind is routed to the `default` queue when WINNOW_GPU_WORKERS is off, and says so.
    Raises ApplicationError: unknown_job_kind (400), invalid_params (400), permission_denied (403).
    """
    job_kind = _kind_or_error(kind)
    stored_params = _params_as_json(params)
    if requested_by is not None and not user_can(requested_by, Capability(job_kind.capability)):
        raise ApplicationError(
            f"Your role does not allow running '{kind}' jobs.", code="permission_denied", status_code=403
        )
    queue, message = job_kind.queue, ""
    if queue == "gpu" and not settings.WINNOW_GPU_WORKERS:
        queue, message = "default", NO_GPU_MESSAGE
    return Job.objects.create(
        kind=kind, params=stored_params, requested_by=requested_by, queue=queue, message=message, log_tail=message
    )


def _kind_or_error(kind: str) -> JobKind:
    try:
        return job_kind_get(kind)
    except KeyError as exc:
        raise ApplicationError(str(exc.args[0]), code="unknown_job_kind")


def _params_as_json(params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ApplicationError("Job parameters must be a JSON object.", code="invalid_params")
    try:
        return json.loads(json.dumps(params, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ApplicationError(f"Job parameters are not JSON-serialisable: {exc}", code="invalid_params")


def job_enqueue(job: Job) -> None:
    """Send `job` to its queue when the current transaction commits; records the task id and send time.

    A failed publish is logged, not raised: the row stays queued and the reaper sends it again.
    """
    job_send(job, now=timezone.now())


def job_send(job: Job, *, now: datetime) -> None:
    from jobs.tasks import job_run  # noqa: PLC0415 - import cycle: jobs.tasks imports jobs.services

    job.celery_task_id, job.heartbeat_at = str(uuid4()), now
    Job.objects.filter(pk=job.pk).update(celery_task_id=job.celery_task_id, heartbeat_at=now)
    publish = partial(job_run.apply_async, args=[job.pk], queue=job.queue, task_id=job.celery_task_id)
    transaction.on_commit(publish, robust=True)


@transaction.atomic
def job_submit(*, kind: str, params: dict[str, Any], requested_by: User | None) -> Job:
    """Create a job and send it to the workers once committed (`job_create` + `job_enqueue`)."""
    job = job_create(kind=kind, params=params, requested_by=requested_by)
    job_enqueue(job)
    return job


def job_cancel_request(*, job: Job, user: User | AnonymousUser | None) -> Job:
    """Cancel a job: a queued one at once, a running one at its next batch boundary.

    Args:
        job: the job to cancel.
        user: who asks; must have requested the job or be an admin (`manage`). None: the system.

    Raises ApplicationError: permission_denied (403), job_finished (409). Returns the updated job.
    """
    if user is not None and not job_user_may_cancel(job=job, user=user):
        message = "Only the user who started a job, or an admin, can cancel it."
        raise ApplicationError(message, code="permission_denied", status_code=403)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            message = f"Job {locked.pk} has already {locked.status}."
            raise ApplicationError(message, code="job_finished", status_code=409)
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
        if locked.status == JobStatus.QUEUED:
            job_abandon(locked, JobStatus.CANCELLED, "Cancelled before it started", now=timezone.now())
    return Job.objects.get(pk=job.pk)
