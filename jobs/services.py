"""Job lifecycle: create, send to a worker, run, cancel, and recover from lost workers and messages.

The Job row is the source of truth; a broker message is only a wake-up call. Hence:
- `job_execute` is idempotent: a message for a finished job, or for a job a live worker is
  running (fresh heartbeat), does nothing, so duplicate and redelivered messages are harmless.
- `heartbeat_at` is the job's last sign of life: while queued, when its message was last sent;
  while running, the worker's last beat (a thread beats every JOB_HEARTBEAT_TIMEOUT / 4, so a long
  batch without progress calls is not mistaken for a dead worker).
- `jobs_reap_orphaned` retries or fails running jobs whose worker stopped beating, and re-sends
  the message of jobs queued for longer than JOB_QUEUED_RESEND_AFTER (a broker restarted without
  persistence, or a publish that failed after commit, loses it).
- Every write of an attempt is fenced by (status=running, attempts=n): once the reaper has handed
  the job to another attempt, the old attempt's writes match no row and it stops.
- After a failure or cancel the kind's cleanup runs before the final status is written, so a
  finished status always means the data is consistent.
"""

import json
import logging
import os
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from jobs.models import Job, JobStatus
from jobs.runtime import JobCancelled, JobFailed, JobKind, job_kind_get
from jobs.selectors import job_user_may_cancel

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
NO_GPU_MESSAGE = "No GPU worker configured: running on CPU"
LOG_TAIL_LINES = 200
LOG_LINE_MAX_CHARS = 2000
SYNC_INTERVAL_S = 0.5


class AttemptSuperseded(BaseException):
    """This attempt no longer owns the job (the reaper gave it to another attempt, or the row is gone).

    A BaseException so that a job function's broad `except Exception` cannot swallow it.
    """


# --- create, send, submit -------------------------------------------------------------------


def job_create(*, kind: str, params: dict[str, Any], requested_by: AbstractBaseUser | None) -> Job:
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
    _job_send(job, now=timezone.now())


def _job_send(job: Job, *, now: datetime) -> None:
    from jobs.tasks import job_run

    job.celery_task_id, job.heartbeat_at = str(uuid4()), now
    Job.objects.filter(pk=job.pk).update(celery_task_id=job.celery_task_id, heartbeat_at=now)
    publish = partial(job_run.apply_async, args=[job.pk], queue=job.queue, task_id=job.celery_task_id)
    transaction.on_commit(publish, robust=True)


@transaction.atomic
def job_submit(*, kind: str, params: dict[str, Any], requested_by: AbstractBaseUser | None) -> Job:
    """Create a job and send it to the workers once committed (`job_create` + `job_enqueue`)."""
    job = job_create(kind=kind, params=params, requested_by=requested_by)
    job_enqueue(job)
    return job


# --- run ---------------------------------------------------------------------------------------


class RunningJobContext:
    """The JobContext given to a job function by `job_execute`.

    Progress, message and log tail are written at most every SYNC_INTERVAL_S (and always at the
    end), and the cancel flag is re-read from the database at most as often.
    """

    def __init__(self, job: Job, progress_callback: ProgressCallback | None = None):
        self.job = job
        self._callback = progress_callback
        self._lines: deque[str] = deque(job.log_tail.splitlines(), maxlen=LOG_TAIL_LINES)
        self._fields: dict[str, Any] = {}
        self._last_write = self._last_cancel_check = float("-inf")

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Record `done` of `total`; raises JobCancelled if a cancel was requested."""
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        self._fields.update(progress=fraction, message=(message or f"{done} of {total}")[:500])
        if self._callback is not None:
            self._callback(done, total, message)
        at_end = total > 0 and done >= total
        self._write(force=at_end)
        self._check_cancelled(force=at_end)

    def log(self, line: str) -> None:
        """Append a line (or several) to the log tail, which keeps the last LOG_TAIL_LINES lines."""
        self._lines.extend(part[:LOG_LINE_MAX_CHARS] for part in (str(line).splitlines() or [""]))
        self._fields["log_tail"] = self.log_text()
        self._write(force=False)

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a cancel was requested (re-read at most every SYNC_INTERVAL_S)."""
        self._check_cancelled(force=False)

    def log_text(self) -> str:
        return "\n".join(self._lines)

    def _write(self, *, force: bool) -> None:
        if not self._fields or (not force and time.monotonic() - self._last_write < SYNC_INTERVAL_S):
            return
        self._last_write = time.monotonic()
        fields, self._fields = self._fields, {}
        if not _attempt_rows(self.job).update(heartbeat_at=timezone.now(), **fields):
            raise AttemptSuperseded()

    def _check_cancelled(self, *, force: bool) -> None:
        if not force and time.monotonic() - self._last_cancel_check < SYNC_INTERVAL_S:
            return
        self._last_cancel_check = time.monotonic()
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled()


def _attempt_rows(job: Job) -> Any:
    """The job's row, only while this attempt still owns it (the fence on every write)."""
    return Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)


def job_execute(job_id: int, *, progress_callback: ProgressCallback | None = None) -> Job:
    """Run one attempt of a job in this process: the Celery task body and the CLI's inline mode.

    Args:
        job_id: the Job to run.
        progress_callback: called with (done, total, message) on every progress report (CLI bar).

    Does nothing for a finished job or one a live worker is running (duplicate message). A job
    found running with a stale heartbeat was orphaned by a dead worker: it is run again, or failed
    without running once it has had JOB_MAX_ATTEMPTS attempts. Returns the job as stored afterwards.
    """
    job = _job_claim(job_id)
    if job is None:
        return Job.objects.get(pk=job_id)
    context = RunningJobContext(job, progress_callback)
    with _heartbeat(job):
        try:
            _job_attempt(job, context)
        except AttemptSuperseded:
            logger.warning("job %s: attempt %s was superseded; it stops here", job.pk, job.attempts)
    return Job.objects.get(pk=job_id)


def _job_attempt(job: Job, context: RunningJobContext) -> None:
    """Call the job function and record how it ended."""
    try:
        result = _job_call(job, context)
    except JobCancelled:
        _job_end_unsuccessfully(job, context, JobStatus.CANCELLED, "Cancelled")
    except JobFailed as exc:
        _job_end_unsuccessfully(job, context, JobStatus.FAILED, str(exc) or "Failed")
    except KeyboardInterrupt:
        _job_end_unsuccessfully(job, context, JobStatus.CANCELLED, "Interrupted")
        raise
    except Exception as exc:
        context.log(traceback.format_exc())
        _job_end_unsuccessfully(job, context, JobStatus.FAILED, error_summary(exc))
    else:
        _job_end(job, context, JobStatus.SUCCEEDED, message="Done", result=result, progress=1.0)


def error_summary(exc: BaseException) -> str:
    """One line for people: `ValueError: the reason`."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _job_claim(job_id: int) -> Job | None:
    """Mark the job running for a new attempt and return it, or return None when there is nothing to run."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.is_finished or _heartbeat_is_fresh(job, now):
            return None
        if job.status == JobStatus.RUNNING and job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _job_abandon(job, JobStatus.FAILED, f"worker lost during attempt {job.attempts}", now=now)
            return None
        if job.cancel_requested:
            _job_abandon(job, JobStatus.CANCELLED, "Cancelled", now=now)
            return None
        _job_mark_running(job, now)
    return job


def _heartbeat_is_fresh(job: Job, now: datetime) -> bool:
    if job.status != JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    return now - job.heartbeat_at < timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)


def _job_mark_running(job: Job, now: datetime) -> None:
    if job.status == JobStatus.RUNNING:
        _log_append(job, f"worker lost during attempt {job.attempts}; running again")
    job.attempts += 1
    job.status, job.started_at, job.heartbeat_at = JobStatus.RUNNING, now, now
    job.worker = f"{socket.gethostname()}:{os.getpid()}"
    job.message = "Running" if job.attempts == 1 else f"Running (attempt {job.attempts} of {settings.JOB_MAX_ATTEMPTS})"
    job.save(update_fields=["attempts", "status", "started_at", "heartbeat_at", "worker", "message", "log_tail"])


def _job_call(job: Job, context: RunningJobContext) -> dict[str, Any]:
    try:
        job_kind = job_kind_get(job.kind)
    except KeyError as exc:
        raise JobFailed(f"{exc.args[0]} (is the module that registers it imported by this worker?)")
    result = job_kind.function(context)
    if not isinstance(result, dict):
        raise TypeError(f"job kind {job.kind!r} returned {type(result).__name__}, not a dict")
    return json.loads(json.dumps(result, allow_nan=False))


def _job_end_unsuccessfully(job: Job, context: RunningJobContext, status: JobStatus, reason: str) -> None:
    cleanup_error = _cleanup_run(job)
    if cleanup_error:
        context.log(f"cleanup failed: {cleanup_error}")
    _job_end(job, context, status, message=reason, error=reason if status == JobStatus.FAILED else "")


def _job_end(
    job: Job,
    context: RunningJobContext,
    status: JobStatus,
    *,
    message: str,
    error: str = "",
    result: dict[str, Any] | None = None,
    progress: float | None = None,
) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"progress": progress} if progress is not None else {}
    if result is not None:
        fields["result"] = result
    ended = _attempt_rows(job).update(
        status=status, message=message[:500], error=error, log_tail=context.log_text(),
        finished_at=now, heartbeat_at=now, **fields,
    )  # fmt: skip
    if not ended:
        logger.warning("job %s: attempt %s was superseded; its outcome (%s) is dropped", job.pk, job.attempts, status)


def _cleanup_run(job: Job) -> str:
    """Run the kind's cleanup (undo partial writes); returns an error summary, or "" when it went well."""
    try:
        cleanup = job_kind_get(job.kind).cleanup
    except KeyError:
        return ""
    if cleanup is None:
        return ""
    try:
        with transaction.atomic():
            cleanup(job)
    except Exception as exc:
        logger.exception("job %s: cleanup failed", job.pk)
        return error_summary(exc)
    return ""


@contextmanager
def _heartbeat(job: Job) -> Iterator[None]:
    """Beat on the job row from a thread while the attempt runs, whatever the job function does."""
    stop = threading.Event()
    thread = threading.Thread(target=_heartbeat_loop, args=(job, stop), name=f"job-{job.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _heartbeat_loop(job: Job, stop: threading.Event) -> None:
    interval = max(settings.JOB_HEARTBEAT_TIMEOUT / 4, 0.2)
    try:
        while not stop.wait(interval):
            try:
                _attempt_rows(job).update(heartbeat_at=timezone.now())
            except Exception:
                logger.warning("job %s: heartbeat failed", job.pk, exc_info=True)
    finally:
        connection.close()


# --- cancel and abandon ----------------------------------------------------------------------


def job_cancel_request(*, job: Job, user: AbstractBaseUser | None) -> Job:
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
            _job_abandon(locked, JobStatus.CANCELLED, "Cancelled before it started", now=timezone.now())
    return Job.objects.get(pk=job.pk)


def _job_abandon(job: Job, status: JobStatus, reason: str, *, now: datetime) -> None:
    """End a job that no live attempt owns (the caller holds its row lock): clean up, then record why."""
    if job.attempts > 0:
        cleanup_error = _cleanup_run(job)
        if cleanup_error:
            _log_append(job, f"cleanup failed: {cleanup_error}")
    _log_append(job, reason)
    job.status, job.message, job.finished_at = status, reason[:500], now
    job.error = reason if status == JobStatus.FAILED else ""
    job.save(update_fields=["status", "message", "error", "finished_at", "log_tail"])


def _log_append(job: Job, line: str) -> None:
    lines = [*job.log_tail.splitlines(), line][-LOG_TAIL_LINES:]
    job.log_tail = "\n".join(lines)


# --- reaper ------------------------------------------------------------------------------------


def jobs_reap_orphaned(*, now: datetime | None = None) -> list[int]:
    """Recover jobs a lost worker or a lost message left behind; returns the ids it acted on.

    Args:
        now: the current time (tests pass a fake clock); default timezone.now().

    - Running, no heartbeat for JOB_HEARTBEAT_TIMEOUT: cancelled if a cancel was requested; else
      queued again ("worker lost; retrying (attempt k of n)") while attempts < JOB_MAX_ATTEMPTS;
      else failed ("worker lost: no heartbeat for N s"), after the kind's cleanup. A job that ran
      inline in a command (never sent to a worker) is failed rather than moved to the workers.
    - Queued and sent more than JOB_QUEUED_RESEND_AFTER ago: its message is sent again (it may be
      lost; a duplicate is harmless). Queued jobs are never failed for waiting.
    """
    now = now or timezone.now()
    heartbeat_cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    resend_cutoff = now - timedelta(seconds=settings.JOB_QUEUED_RESEND_AFTER)
    silent = Q(status=JobStatus.RUNNING) & (Q(heartbeat_at__lt=heartbeat_cutoff) | Q(heartbeat_at__isnull=True))
    unsent = Q(status=JobStatus.QUEUED, heartbeat_at__lt=resend_cutoff) & ~Q(celery_task_id="")
    acted = []
    for job_id in Job.objects.filter(silent | unsent).order_by("id").values_list("id", flat=True):
        with transaction.atomic():
            job = Job.objects.select_for_update(skip_locked=True).filter(silent | unsent, pk=job_id).first()
            if job is not None:
                _reap_one(job, now)
                acted.append(job_id)
    return acted


def _reap_one(job: Job, now: datetime) -> None:
    if job.status == JobStatus.QUEUED:
        _log_append(job, "message re-sent: the broker may have lost it")
        job.save(update_fields=["log_tail"])
        _job_send(job, now=now)
        return
    silent_s = round((now - (job.heartbeat_at or job.started_at or now)).total_seconds())
    if job.cancel_requested:
        _job_abandon(job, JobStatus.CANCELLED, "Cancelled (its worker was lost)", now=now)
    elif job.attempts < settings.JOB_MAX_ATTEMPTS and job.celery_task_id:
        job.status = JobStatus.QUEUED
        job.message = f"worker lost; retrying (attempt {job.attempts + 1} of {settings.JOB_MAX_ATTEMPTS})"
        _log_append(job, job.message)
        job.save(update_fields=["status", "message", "log_tail"])
        _job_send(job, now=now)
    else:
        _job_abandon(job, JobStatus.FAILED, f"worker lost: no heartbeat for {silent_s} s", now=now)
