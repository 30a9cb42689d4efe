"""Reads of training runs and trained models (training.py): lists, details, loss and accuracy curves, summaries."""

from robustness.selectors.training import (
    trained_model_get,
    trained_model_list,
    training_curves_figures,
    training_run_get,
    training_run_list,
    training_run_summary,
)

__all__ = [
    "trained_model_get",
    "trained_model_list",
    "training_curves_figures",
    "training_run_get",
    "training_run_list",
    "training_run_summary",
]
