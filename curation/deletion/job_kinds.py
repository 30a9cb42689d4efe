"""The deletion app's job kind: a thin wrapper around one service."""

from typing import Any

from curation.deletion.services import DELETE_JOB_KIND, deletion_run
from jobs.runtime import JobContext, job_kind


@job_kind(DELETE_JOB_KIND, queue="default", capability="curate")
def delete_job(ctx: JobContext) -> dict[str, Any]:
    """Delete a dataset, a version or a run in set-based batches, then the blobs and files nothing needs."""
    return deletion_run(ctx)
