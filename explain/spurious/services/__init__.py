"""Spurious-feature services: start a report, the find_spurious job."""

from explain.spurious.services.reports import (
    FIND_SPURIOUS_JOB_KIND,
    spurious_report_create,
    spurious_report_execute,
)

__all__ = ["FIND_SPURIOUS_JOB_KIND", "spurious_report_create", "spurious_report_execute"]
