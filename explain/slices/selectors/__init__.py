"""Reads of failure-slice reports (reports.py): lists, details, a slice's members."""

from explain.slices.selectors.reports import (
    slice_accuracy_figure,
    slice_compare_rows,
    slice_get,
    slice_report_get,
    slice_report_list,
    slice_sample_ids,
    slice_scores,
)

__all__ = [
    "slice_accuracy_figure",
    "slice_compare_rows",
    "slice_get",
    "slice_report_get",
    "slice_report_list",
    "slice_sample_ids",
    "slice_scores",
]
