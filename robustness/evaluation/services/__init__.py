"""Evaluation services: start a run (torch-free); the evaluate job and its cleanup are in services/runs.py.

The package imports no torch, so the API, pages and explain services can import it; runs.py (torch)
is imported by the job kinds when a job runs.
"""

from robustness.evaluation.services.start import EVALUATE_JOB_KIND, evaluation_run_create

__all__ = ["EVALUATE_JOB_KIND", "evaluation_run_create"]
