"""Job services: create, send to a worker, run, cancel, and recover from lost workers and messages.

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

from jobs.services.lifecycle import NO_GPU_MESSAGE, job_cancel_request, job_create, job_enqueue, job_submit
from jobs.services.limits import job_start_rate_check
from jobs.services.outcomes import error_summary
from jobs.services.recovery import jobs_reap_orphaned
from jobs.services.runner import AttemptSuperseded, ProgressCallback, RunningJobContext, job_execute

__all__ = [
    "NO_GPU_MESSAGE",
    "AttemptSuperseded",
    "ProgressCallback",
    "RunningJobContext",
    "error_summary",
    "job_cancel_request",
    "job_create",
    "job_enqueue",
    "job_execute",
    "job_start_rate_check",
    "job_submit",
    "jobs_reap_orphaned",
]
