"""Job kinds for tests; a worker started by a test imports this through WINNOW_EXTRA_JOB_MODULES.

Their "data" are auth Groups named `job-<id>-batch-<n>`, one per batch, each written in its own
transaction with get_or_create (a batch that runs twice does no harm). Cleanup deletes them, so
"nothing half-written" is: no group with the job's prefix is left.
"""

import time
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from jobs.models import Job
from jobs.runtime import JobContext, JobFailed, job_kind

COUNT = "test_count_in_batches"
RAISE = "test_raise_after_batches"
FAIL_CLEARLY = "test_fail_clearly"
GPU = "test_gpu_kind"


def batch_prefix(job_id: int) -> str:
    return f"job-{job_id}-batch-"


def batch_groups(job_id: int) -> list[str]:
    return sorted(Group.objects.filter(name__startswith=batch_prefix(job_id)).values_list("name", flat=True))


def delete_batches(job: Job) -> None:
    Group.objects.filter(name__startswith=batch_prefix(job.pk)).delete()


def write_batches(ctx: JobContext, batches: int, delay: float) -> None:
    for index in range(batches):
        ctx.check_cancelled()
        with transaction.atomic():
            Group.objects.get_or_create(name=f"{batch_prefix(ctx.job.pk)}{index}")
        ctx.log(f"batch {index} written")
        ctx.progress(index + 1, batches, f"batch {index + 1} of {batches}")
        time.sleep(delay)


@job_kind(COUNT, cleanup=delete_batches)
def count_in_batches(ctx: JobContext) -> dict[str, Any]:
    """Write params["batches"] groups, sleeping params["delay"] s after each."""
    batches = ctx.params["batches"]
    write_batches(ctx, batches, ctx.params.get("delay", 0.0))
    return {"batches": batches, "groups": len(batch_groups(ctx.job.pk))}


@job_kind(RAISE, cleanup=delete_batches)
def raise_after_batches(ctx: JobContext) -> dict[str, Any]:
    """Write params["batches"] groups, then fail with an unexpected error."""
    write_batches(ctx, ctx.params["batches"], 0.0)
    raise ValueError(f"boom after {ctx.params['batches']} batches")


@job_kind(FAIL_CLEARLY, cleanup=delete_batches)
def fail_clearly(ctx: JobContext) -> dict[str, Any]:
    """Write one group, then fail with a clear reason."""
    write_batches(ctx, 1, 0.0)
    raise JobFailed("the source folder is empty")


@job_kind(GPU, queue="gpu", capability="run_gpu_jobs")
def gpu_kind(ctx: JobContext) -> dict[str, Any]:
    """Pretend to need a GPU."""
    return {"device": "cpu"}


CANCELS_ITSELF = "test_cancels_itself"
SUPERSEDED = "test_superseded"
PROGRESS_STORM = "test_progress_storm"
CHATTY = "test_chatty"
RETURNS_LIST = "test_returns_list"


@job_kind(CANCELS_ITSELF, cleanup=delete_batches)
def cancels_itself(ctx: JobContext) -> dict[str, Any]:
    """Write one batch; then a cancel request arrives (as from the API) while it keeps reporting progress."""
    write_batches(ctx, 1, 0.0)
    Job.objects.filter(pk=ctx.job.pk).update(cancel_requested=True)
    for step in range(100):  # the flag is re-read at most every 0.5 s: within ten of these steps
        ctx.progress(step, 100, "waiting for the cancel")
        time.sleep(0.05)
    return {"cancel_was_missed": True}


@job_kind(SUPERSEDED, cleanup=delete_batches)
def superseded(ctx: JobContext) -> dict[str, Any]:
    """While running, the reaper hands the job to another attempt (as if this worker had stalled)."""
    Job.objects.filter(pk=ctx.job.pk).update(status="queued", message="worker lost; retrying (attempt 2 of 2)")
    ctx.progress(1, 1, "too late")
    return {"unreachable": True}


SUPERSEDED_THEN_FAILS = "test_superseded_then_fails"


@job_kind(SUPERSEDED_THEN_FAILS, cleanup=delete_batches)
def superseded_then_fails(ctx: JobContext) -> dict[str, Any]:
    """A worker falsely declared lost (a starved CPU missed its heartbeats): the reaper re-queued the job, another
    worker claimed it (attempt 2) and wrote its first batch; then this attempt, before its heartbeat notices, fails
    (an error of its own, or a clash with the other attempt's writes) within SYNC_INTERVAL_S of its last write."""
    ctx.progress(0, 1, "started")
    Job.objects.filter(pk=ctx.job.pk).update(attempts=ctx.job.attempts + 1, message="Running (attempt 2 of 2)")
    with transaction.atomic():
        Group.objects.get_or_create(name=f"{batch_prefix(ctx.job.pk)}0")
    if ctx.params.get("clear_reason"):
        raise JobFailed("the other attempt's file is in the way")
    raise ValueError("clashed with the attempt that took over")


@job_kind(PROGRESS_STORM)
def progress_storm(ctx: JobContext) -> dict[str, Any]:
    """Report progress after every one of 1000 tiny steps."""
    for step in range(1000):
        ctx.progress(step + 1, 1000)
    return {"steps": 1000}


@job_kind(CHATTY)
def chatty(ctx: JobContext) -> dict[str, Any]:
    """Log 250 lines."""
    for index in range(250):
        ctx.log(f"line {index}")
    return {}


@job_kind(RETURNS_LIST)
def returns_list(ctx: JobContext) -> Any:
    """Break the contract: return a list."""
    return [1, 2]


BLOCKS = "test_blocks_on_a_fifo"


@job_kind(BLOCKS, cleanup=delete_batches, stall_timeout=1)
def blocks_on_a_fifo(ctx: JobContext) -> dict[str, Any]:
    """Write one batch (its progress, "batch 1 of 1", is written at once), then open the FIFO params["fifo"],
    which no one ever writes to: open() blocks forever, as an import did on a FIFO named like an image."""
    write_batches(ctx, 1, 0.0)
    with open(ctx.params["fifo"], "rb") as fifo:
        fifo.read()
    with transaction.atomic():
        Group.objects.get_or_create(name=f"{batch_prefix(ctx.job.pk)}after-the-fifo")
    return {"fifo_was_opened": True}


BLOCKS_UNINTERRUPTIBLY = "test_blocks_with_interrupts_masked"


@job_kind(BLOCKS_UNINTERRUPTIBLY, cleanup=delete_batches)
def blocks_with_interrupts_masked(ctx: JobContext) -> dict[str, Any]:
    """As BLOCKS, but with the heartbeat's interrupt signal masked, as if stuck where no signal reaches it."""
    import signal

    from jobs.services.runner import INTERRUPT_SIGNAL

    signal.pthread_sigmask(signal.SIG_BLOCK, {INTERRUPT_SIGNAL})
    return blocks_on_a_fifo(ctx)
