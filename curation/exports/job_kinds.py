"""Job kinds of the exports app; each is a thin wrapper around one service."""

from typing import Any

from curation.exports.services.exports import EXPORT_JOB_KIND, export_cleanup, export_run
from jobs.runtime import JobContext, job_kind


@job_kind(EXPORT_JOB_KIND, queue="default", capability="curate", cleanup=export_cleanup)
def export_version_job(ctx: JobContext) -> dict[str, Any]:
    """Export a dataset version (ImageFolder zip, CSV/JSONL manifest, HF imagefolder, WebDataset shards)."""
    return export_run(ctx)
