"""Deleting a dataset, a version or a run as a job.

start.py: the requests (check, mark, audit, submit) and the run kinds that can be deleted on their own;
job.py: the delete job, in batches.
"""

from curation.deletion.services.job import (
    deletion_run,
)
from curation.deletion.services.start import (
    DELETE_JOB_KIND,
    RUN_KINDS,
    dataset_delete_start,
    deletion_start,
    run_delete_start,
    run_kind_register,
    target_model,
    version_delete_start,
)

__all__ = [
    "DELETE_JOB_KIND",
    "RUN_KINDS",
    "dataset_delete_start",
    "deletion_run",
    "deletion_start",
    "run_delete_start",
    "run_kind_register",
    "target_model",
    "version_delete_start",
]
