"""How jobs end when no live attempt is there to end them: cleanup, then the recorded reason."""

import logging
from datetime import datetime

from django.db import transaction

from jobs.models import Job, JobStatus
from jobs.runtime import job_kind_get

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 200


def error_summary(exc: BaseException) -> str:
    """One line for people: `ValueError: the reason`."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def job_cleanup_run(job: Job) -> str:
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


def job_abandon(job: Job, status: JobStatus, reason: str, *, now: datetime) -> None:
    """End a job that no live attempt owns (the caller holds its row lock): clean up, then record why."""
    if job.attempts > 0:
        cleanup_error = job_cleanup_run(job)
        if cleanup_error:
            job_log_append(job, f"cleanup failed: {cleanup_error}")
    job_log_append(job, reason)
    job.status, job.message, job.finished_at = status, reason[:500], now
    job.error = reason if status == JobStatus.FAILED else ""
    job.save(update_fields=["status", "message", "error", "finished_at", "log_tail"])


def job_log_append(job: Job, line: str) -> None:
    """Add a line to the in-memory log tail (the caller saves), keeping the last LOG_TAIL_LINES."""
    lines = [*job.log_tail.splitlines(), line][-LOG_TAIL_LINES:]
    job.log_tail = "\n".join(lines)
