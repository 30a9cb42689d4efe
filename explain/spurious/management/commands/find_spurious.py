"""`manage.py find_spurious MODEL_ID VERSION_ID [--split S] [--max-samples N] [--seed S] [--swaps N] [--min-support N]
[--no-pull] [--batch-size N] [--device D] [--masks PROVIDER] [--enqueue] [--user U]`: the options are generated
from SpuriousParams (jobs.runs.cli)."""

from typing import Any

from explain.spurious.job_kinds import SPURIOUS
from explain.spurious.services.reports import report_headline
from jobs.runs.cli import RunCommand


class Command(RunCommand):
    help = (
        "Spurious-feature report (ASPIRE flip test): swap backgrounds and remove objects of correctly classified "
        "images, rank features per class by flip rate over the null edit. Runs here with a progress bar, or with "
        "--enqueue on the GPU workers. The last stdout line is JSON with the report id and each class's top feature."
    )
    run_kind, run_id = SPURIOUS, "spurious_report"

    def summary(self, run: Any) -> dict[str, Any]:
        return {"spurious_report": run.pk, **report_headline(run.results)}
