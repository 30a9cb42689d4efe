"""Explanation services: start a run, the explain job and its batches, cleanup after failure."""

from explain.services.runs import (
    EXPLAIN_JOB_KIND,
    explanation_job_cleanup,
    explanation_run_create,
    explanation_run_execute,
    explanation_run_files,
)

__all__ = [
    "EXPLAIN_JOB_KIND",
    "explanation_job_cleanup",
    "explanation_run_create",
    "explanation_run_execute",
    "explanation_run_files",
]
