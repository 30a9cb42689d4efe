"""Failure-slice services: start a report or a re-scoring, the jobs' bodies."""

from explain.slices.services.reports import FIND_SLICES_JOB_KIND, slice_report_create, slice_report_execute

__all__ = ["FIND_SLICES_JOB_KIND", "slice_report_create", "slice_report_execute"]
