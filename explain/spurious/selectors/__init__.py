"""Reads of spurious-feature reports (reports.py): lists, details, the suspected features and their figures."""

from explain.spurious.selectors.reports import (
    SuspectedFeature,
    feature_description,
    flip_rate_figure,
    pull_figure,
    report_class_rows,
    report_figures,
    spurious_report_get,
    spurious_report_list,
    suspected_spurious_features,
)

__all__ = [
    "SuspectedFeature",
    "feature_description",
    "flip_rate_figure",
    "pull_figure",
    "report_class_rows",
    "report_figures",
    "spurious_report_get",
    "spurious_report_list",
    "suspected_spurious_features",
]
