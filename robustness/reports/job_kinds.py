"""The generic reports' registry entries (imported by ReportsConfig.ready): each is a run kind with no row model
or prepare of its own (jobs.runs: the generic ModelReport row and the default prepare), whose API, pages and
command are generated (apis.py, frontend/pages/reports.py, `manage.py report <kind>`).

A new report: its params dataclass (params.py), its execute function (services/), its template block
(frontend/templates/frontend/reports/) and one entry here (docs/ARCHITECTURE.md §15).
"""

from jobs.runs.kinds import RUN_KINDS, RunKind, run_kind_register
from robustness.reports.models import ModelReport
from robustness.reports.params import ConfidenceParams

CONFIDENCE = run_kind_register(
    RunKind(
        name="confidence_report",
        params=ConfidenceParams,
        execute="robustness.reports.services.confidence:confidence_report_execute",
        noun="confidence report",
        description="Confidence thresholds: the accuracy of a trained model's predictions kept above each "
        "confidence, and the lowest threshold that reaches a target accuracy.",
        label="Confidence thresholds",
        slug="confidence",
        report_template="frontend/reports/confidence_report.html",
    )
)


def report_kinds() -> list[RunKind]:
    """The registered kinds whose rows are generic reports (their API, pages and command are generated)."""
    return [kind for kind in RUN_KINDS.values() if kind.model is ModelReport]
