"""Explanation services: start a run, the explain job and its batches, what to undo after a failure."""

from explain.services.runs import (
    EXPLAIN_JOB_KIND,
    explanation_rows_delete,
    explanation_run_create,
    explanation_run_execute,
    explanation_run_files,
)

__all__ = [
    "EXPLAIN_JOB_KIND",
    "explanation_rows_delete",
    "explanation_run_create",
    "explanation_run_execute",
    "explanation_run_files",
]
