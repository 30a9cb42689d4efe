"""The services of generic reports: the default prepare (no torch; a kind's execute lives in its own module)."""

from robustness.reports.services.prepare import model_report_prepare

__all__ = ["model_report_prepare"]
