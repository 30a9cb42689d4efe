"""Celery tasks of the job runner: thin wrappers that take ids and call one service.

The reaper runs from the beat schedule (config/celery.py, every JOB_REAP_INTERVAL) and once when
a worker becomes ready, so jobs orphaned while no worker was running, or whose messages a broker
restart lost, are recovered at start rather than one interval later. Celery's `worker_ready` is
the only hook it offers for "worker started"; the handler only sends a message, it does no work.
"""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from jobs.models import Job
from jobs.services import job_execute, jobs_reap_orphaned

logger = logging.getLogger(__name__)


@shared_task(name="jobs.run", acks_late=True, ignore_result=True)
def job_run(job_id: int) -> None:
    """Run one attempt of a job; duplicate or redelivered messages do nothing (see job_execute)."""
    if not Job.objects.filter(pk=job_id).exists():
        logger.warning("job %s: the row is gone; nothing to run", job_id)
        return
    job_execute(job_id)


# A reap message that waited for two intervals (workers busy with long jobs) is dropped instead of
# piling up: newer ones follow.
@shared_task(name="jobs.reap_orphaned_jobs", ignore_result=True, expires=max(2 * settings.JOB_REAP_INTERVAL, 10))
def reap_orphaned_jobs() -> list[int]:
    """Retry or fail jobs whose worker died, and re-send messages a broker may have lost."""
    job_ids = jobs_reap_orphaned()
    if job_ids:
        logger.info("reaper acted on jobs %s", job_ids)
    return job_ids


@worker_ready.connect
def reap_when_worker_starts(sender: Any = None, **kwargs: Any) -> None:
    reap_orphaned_jobs.apply_async(queue="default")
