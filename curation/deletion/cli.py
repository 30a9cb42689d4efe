"""The deletion commands' shared body: start the deletion as --user, then run it here or enqueue it."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from curation.deletion.services import deletion_start
from jobs.cli import JobCommand
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_submit

RUN_HERE_OR_ENQUEUE = (
    "Runs here with a progress bar as --user (default: the admin user), or with --enqueue on the workers. "
    "The last stdout line is JSON."
)


class DeletionCommand(JobCommand):
    """Deletes row ID of `target` through `deletion_start` (checks, `deleting` mark, audit row, job)."""

    target = ""

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("id", type=int, help=f"id of the {self.target or 'run'} to delete")
        parser.add_argument("--batch-size", type=int, default=None, help="rows per batch (default 10000)")

    def run(self, **options: Any) -> dict[str, Any]:
        return self.delete(target=self.target, **options)

    def delete(self, *, target: str, **options: Any) -> dict[str, Any]:
        enqueue, batch_size = options["enqueue"], options["batch_size"]

        def inline_job(**kwargs: Any) -> Job:
            if batch_size:
                kwargs["params"] = {**kwargs["params"], "batch_size": batch_size}
            return job_create(**kwargs)

        deletion = deletion_start(
            target=target,
            target_id=options["id"],
            requested_by=self.job_user(),
            create_job=job_submit if enqueue else inline_job,
        )
        job = deletion.job
        assert job is not None
        if enqueue or job.status != JobStatus.QUEUED:  # enqueued, or a deletion already under way elsewhere
            return {"deletion": deletion.pk, "job": job.pk, "status": job.status, "queue": job.queue}
        job = self._execute_inline(job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        return {"job": job.pk, **job.result}
