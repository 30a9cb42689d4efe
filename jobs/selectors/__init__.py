"""Reads of jobs (jobs.py): lists and details as a user may see them, who may cancel."""

from jobs.selectors.jobs import (
    DETAILS_HIDDEN,
    job_get,
    job_list,
    job_user_may_cancel,
    jobs_as_seen_by,
)

__all__ = [
    "DETAILS_HIDDEN",
    "job_get",
    "job_list",
    "job_user_may_cancel",
    "jobs_as_seen_by",
]
