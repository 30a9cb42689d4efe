"""Evaluation runs and robustness reports."""
