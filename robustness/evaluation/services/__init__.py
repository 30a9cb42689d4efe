"""Evaluation services: start a run, the evaluate job and its suites, cleanup after failure."""

from robustness.evaluation.services.runs import (
    EVALUATE_JOB_KIND,
    evaluation_job_cleanup,
    evaluation_run_create,
    evaluation_run_execute,
)

__all__ = ["EVALUATE_JOB_KIND", "evaluation_job_cleanup", "evaluation_run_create", "evaluation_run_execute"]
