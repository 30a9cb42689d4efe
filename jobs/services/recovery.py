"""Recovering jobs that a lost worker or a lost broker message left behind."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.runtime import job_stall_timeout
from jobs.services.lifecycle import job_send
from jobs.services.outcomes import job_abandon, job_log_append


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
    - Running with a live heartbeat but no progress or log call for longer than its kind's stall
      timeout (jobs.runtime.job_stall_timeout): failed as stalled after the kind's cleanup (cancelled
      if a cancel was requested). Its worker's heartbeat then sees the attempt is over and interrupts it.
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
    return acted + _reap_stalled(now)


def _reap_stalled(now: datetime) -> list[int]:
    running = Job.objects.filter(status=JobStatus.RUNNING).values_list("id", "kind", "progress_at", "started_at")
    acted = []
    for job_id, kind, progress_at, started_at in running.order_by("id"):
        limit = job_stall_timeout(kind)
        cutoff = now - timedelta(seconds=limit)
        last_sign = progress_at or started_at
        if last_sign is None or last_sign >= cutoff:
            continue
        with transaction.atomic():
            job = Job.objects.select_for_update(skip_locked=True).filter(pk=job_id, status=JobStatus.RUNNING).first()
            if job is not None and (job.progress_at or job.started_at or now) < cutoff:
                _reap_stalled_one(job, limit, now)
                acted.append(job_id)
    return acted


def _reap_stalled_one(job: Job, limit: int, now: datetime) -> None:
    stalled_s = round((now - (job.progress_at or job.started_at or now)).total_seconds())
    reason = f"stalled: no progress for {stalled_s} s (the limit for {job.kind} jobs is {limit} s)"
    if job.cancel_requested:
        job_abandon(job, JobStatus.CANCELLED, f"Cancelled ({reason})", now=now)
    else:
        job_abandon(job, JobStatus.FAILED, reason, now=now)


def _reap_one(job: Job, now: datetime) -> None:
    if job.status == JobStatus.QUEUED:
        job_log_append(job, "message re-sent: the broker may have lost it")
        job.save(update_fields=["log_tail"])
        job_send(job, now=now)
        return
    silent_s = round((now - (job.heartbeat_at or job.started_at or now)).total_seconds())
    if job.cancel_requested:
        job_abandon(job, JobStatus.CANCELLED, "Cancelled (its worker was lost)", now=now)
    elif job.attempts < settings.JOB_MAX_ATTEMPTS and job.celery_task_id:
        job.status = JobStatus.QUEUED
        job.message = f"worker lost; retrying (attempt {job.attempts + 1} of {settings.JOB_MAX_ATTEMPTS})"
        job_log_append(job, job.message)
        job.save(update_fields=["status", "message", "log_tail"])
        job_send(job, now=now)
    else:
        job_abandon(job, JobStatus.FAILED, f"worker lost: no heartbeat for {silent_s} s", now=now)
