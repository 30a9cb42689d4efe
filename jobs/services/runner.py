# Over 300 lines: one attempt's claim, heartbeat thread and fenced end writes guard the same (status, attempts) row
# and must be read together.
"""Running one attempt of a job: claim it, call its kind with a JobContext, record how it ended."""

import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.runtime import JobCancelled, JobFailed, JobInterrupted, job_kind_get
from jobs.services.outcomes import LOG_TAIL_LINES, error_summary, job_abandon, job_cleanup_run, job_log_append

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
LOG_LINE_MAX_CHARS = 2000
SYNC_INTERVAL_S = 0.5
# Sent by the heartbeat thread to the thread running the job function to interrupt it.
INTERRUPT_SIGNAL = signal.SIGUSR2


class AttemptSuperseded(BaseException):
    """This attempt no longer owns the job (the reaper gave it to another attempt, or the row is gone).

    A BaseException so that a job function's broad `except Exception` cannot swallow it.
    """


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
        now = timezone.now()
        if not _attempt_rows(self.job).update(heartbeat_at=now, progress_at=now, **fields):
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
    with _heartbeat(job) as watch:
        try:
            _job_attempt(job, context, watch)
        except AttemptSuperseded:
            logger.warning("job %s: attempt %s was superseded; it stops here", job.pk, job.attempts)
    return Job.objects.get(pk=job_id)


def _job_attempt(job: Job, context: RunningJobContext, watch: "AttemptWatch") -> None:
    """Call the job function and record how it ended."""
    try:
        with watch.interruptible():
            result = _job_call(job, context)
    except JobInterrupted:
        _job_after_interrupt(job, context, watch)
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


def _job_after_interrupt(job: Job, context: RunningJobContext, watch: "AttemptWatch") -> None:
    """The heartbeat stopped the job function: a cancel it did not act on, or the reaper ended the attempt."""
    if not connection.in_atomic_block:  # the interrupt may have hit mid-query: start on a fresh connection
        connection.close()
    if watch.reason == CANCEL:
        _job_end_unsuccessfully(job, context, JobStatus.CANCELLED, "Cancelled (interrupted)")
        return
    # The reaper ended the attempt (stalled) and cleaned up; the function may have written more since.
    if Job.objects.filter(pk=job.pk, status__in=(JobStatus.FAILED, JobStatus.CANCELLED)).exists():
        job_cleanup_run(job)
    raise AttemptSuperseded()


def _job_claim(job_id: int) -> Job | None:
    """Mark the job running for a new attempt and return it, or return None when there is nothing to run."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.is_finished or _heartbeat_is_fresh(job, now):
            return None
        if job.status == JobStatus.RUNNING and job.attempts >= settings.JOB_MAX_ATTEMPTS:
            job_abandon(job, JobStatus.FAILED, f"worker lost during attempt {job.attempts}", now=now)
            return None
        if job.cancel_requested:
            job_abandon(job, JobStatus.CANCELLED, "Cancelled", now=now)
            return None
        _job_mark_running(job, now)
    return job


def _heartbeat_is_fresh(job: Job, now: datetime) -> bool:
    if job.status != JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    return now - job.heartbeat_at < timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)


def _job_mark_running(job: Job, now: datetime) -> None:
    if job.status == JobStatus.RUNNING:
        job_log_append(job, f"worker lost during attempt {job.attempts}; running again")
    job.attempts += 1
    job.status, job.started_at, job.heartbeat_at, job.progress_at = JobStatus.RUNNING, now, now, now
    job.worker = f"{socket.gethostname()}:{os.getpid()}"
    job.message = "Running" if job.attempts == 1 else f"Running (attempt {job.attempts} of {settings.JOB_MAX_ATTEMPTS})"
    fields = ["attempts", "status", "started_at", "heartbeat_at", "progress_at", "worker", "message", "log_tail"]
    job.save(update_fields=fields)


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
    """Clean up and record the end, only while this attempt owns the row (locked meanwhile). An attempt the
    reaper wrongly took for lost (a starved worker missed its heartbeats) may fail after another attempt took
    the job over: the kind's cleanup would delete that attempt's work, so it is skipped."""
    with transaction.atomic():
        if _attempt_rows(job).select_for_update().first() is None:
            logger.warning("job %s: attempt %s was superseded; no cleanup, its outcome (%s) is dropped",
                           job.pk, job.attempts, status)  # fmt: skip
            return
        cleanup_error = job_cleanup_run(job)
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


CANCEL, SUPERSEDED = "cancel", "superseded"


class AttemptWatch:
    """The heartbeat of one attempt, and how it stops a job function that does not stop by itself.

    Every beat writes heartbeat_at (fenced like every write of the attempt) and reads the cancel
    flag. When a cancel is still requested two beats after it was first seen (the function did not act
    on it), or the row is no longer this attempt's (the reaper failed it as stalled), the function is
    interrupted: INTERRUPT_SIGNAL makes the thread running it raise
    JobInterrupted, even inside a blocking call (a FIFO's open(), a sleep). That works when the job
    runs in the main thread (a Celery prefork child, a command); if the function is still running
    two beats later (stuck in C code, or not in the main thread), a cancelled job is ended here:
    cleaned up and recorded as cancelled, and whatever its function writes to the row later is fenced off.
    """

    def __init__(self, job: Job):
        self.job = job
        self.stop = threading.Event()
        self.reason = ""
        self.interval = max(settings.JOB_HEARTBEAT_TIMEOUT / 4, 0.2)
        self._body_running = False
        self._lock = threading.Lock()
        self._interrupted_at = 0.0
        self._cancel_beats = 0
        self._main_thread_id = threading.main_thread().ident if _in_main_thread() else None

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Run the job function with the interrupt handler installed (main thread only)."""
        previous = signal.signal(INTERRUPT_SIGNAL, self._on_signal) if self._main_thread_id else None
        with self._lock:
            self._body_running = True
        try:
            yield
        finally:
            with self._lock:
                self._body_running = False
            if self._main_thread_id:
                signal.signal(INTERRUPT_SIGNAL, previous if previous is not None else signal.SIG_DFL)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._body_running and self.reason:
            raise JobInterrupted(self.reason)

    def beat(self) -> None:
        if self.reason:
            if self.reason == CANCEL and time.monotonic() - self._interrupted_at > 2 * self.interval:
                self._cancel_here()
            return
        if not _attempt_rows(self.job).update(heartbeat_at=timezone.now()):
            # Only a row that is there and no longer this attempt's: this thread's connection does not
            # see a row the job's own transaction has not committed (a job run inside a test's transaction).
            if Job.objects.filter(pk=self.job.pk).exists():
                self._interrupt(SUPERSEDED)
        elif Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            # A function that checks for cancels stops at its next batch: it gets two beats to do so.
            self._cancel_beats += 1
            if self._cancel_beats > 2:
                self._interrupt(CANCEL)

    def _interrupt(self, reason: str) -> None:
        logger.warning("job %s: interrupting attempt %s (%s)", self.job.pk, self.job.attempts, reason)
        self.reason, self._interrupted_at = reason, time.monotonic()
        with self._lock:
            if self._body_running and self._main_thread_id is not None:
                signal.pthread_kill(self._main_thread_id, INTERRUPT_SIGNAL)

    def _cancel_here(self) -> None:
        """The function did not stop when interrupted: end the attempt from this thread."""
        self.stop.set()
        with transaction.atomic():
            job = _attempt_rows(self.job).select_for_update().first()
            if job is not None:
                job_abandon(job, JobStatus.CANCELLED, "Cancelled (the job did not stop; ended by its heartbeat)",
                            now=timezone.now())  # fmt: skip


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _heartbeat(job: Job) -> Iterator[AttemptWatch]:
    """Beat on the job row from a thread while the attempt runs, whatever the job function does."""
    watch = AttemptWatch(job)
    thread = threading.Thread(target=_heartbeat_loop, args=(watch,), name=f"job-{job.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        thread.join(timeout=10)


def _heartbeat_loop(watch: AttemptWatch) -> None:
    try:
        while not watch.stop.wait(watch.interval):
            try:
                watch.beat()
            except Exception:
                logger.warning("job %s: heartbeat failed", watch.job.pk, exc_info=True)
    finally:
        connection.close()
