"""Job kinds of the curation app; each is a thin wrapper around one service."""

from typing import Any

from curation.services.imports import IMPORT_JOB_KIND, dataset_import, dataset_import_cleanup
from jobs.runtime import JobContext, job_kind


@job_kind(IMPORT_JOB_KIND, queue="default", capability="curate", cleanup=dataset_import_cleanup)
def import_dataset_job(ctx: JobContext) -> dict[str, Any]:
    """Import a folder, zip archive or CSV/JSONL manifest as a new dataset (version 1)."""
    return dataset_import(ctx)
