"""The commands of run kinds (`evaluate`, `explain`, `find_spurious`, `find_slices`): start a run, then follow it."""

from collections.abc import Callable
from typing import Any

from core.api_errors import ApplicationError
from jobs.cli import JobCommand
from jobs.models import JobStatus
from jobs.runs.models import JobRun


class RunCommand(JobCommand):
    """A JobCommand whose `run` creates a run (not sent when run inline) and hands it to `run_follow`."""

    def run_follow(
        self, run: JobRun, *, run_id: str, summary: Callable[[Any], dict[str, Any]], enqueue: bool
    ) -> dict[str, Any]:
        """With `enqueue`: {"job", run_id, "status", "queue"} of the queued job. Inline: run the job here and
        return {"job": id, **summary(run)}; a failed or cancelled job raises ApplicationError with its reason."""
        job = run.job
        assert job is not None  # run_create always makes the job
        if enqueue:
            return {"job": job.pk, run_id: run.pk, "status": job.status, "queue": job.queue}
        job = self._execute_inline(job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        run.refresh_from_db()
        return {"job": job.pk, **summary(run)}
