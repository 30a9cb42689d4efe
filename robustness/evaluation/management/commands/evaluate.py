"""`manage.py evaluate MODEL_ID VERSION_ID --suite clean,corruptions,adversarial,attributes [--baseline RUN_ID]
[--severities 1,2,3,4,5] [--corruptions NAMES] [--split S] [--max-samples N] [--seed N] [--eps 0,2/255,8/255]
[--device D] [--masks PROVIDER] [--slice-reports REPORT_ID,...] [--enqueue] [--user U]`: the options are
generated from EvaluationParams (jobs.runs.cli), one per parameter."""

from typing import Any

from jobs.runs.cli import RunCommand
from robustness.evaluation.job_kinds import EVALUATION
from robustness.evaluation.selectors import evaluation_summary


class Command(RunCommand):
    help = (
        "Evaluate a trained model on a dataset version: clean metrics, ImageNet-C corruptions, FGSM/PGD and "
        "attribute edits. Runs here with a progress bar, or with --enqueue on the GPU workers. The last stdout line "
        "is JSON."
    )
    run_kind, run_id = EVALUATION, "evaluation_run"

    def summary(self, run: Any) -> dict[str, Any]:
        return evaluation_summary(run)
