"""`manage.py find_slices MODEL_ID VERSION_ID [--split S] [--min-size N] [--embeddings ID] [--max-slices-per-class K]
[--prediction-weight W] [--true-class-weight W] [--max-samples N] [--seed S] [--batch-size N] [--device D]
[--compare-with MODEL_ID] [--enqueue] [--user U]`: the options are generated from SliceParams (jobs.runs.cli);
--compare-with is the command's own."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from explain.slices.job_kinds import SLICES
from explain.slices.models import SliceReport
from explain.slices.services.results import report_headline
from explain.slices.services.scores import slice_score_create
from jobs.models import JobStatus
from jobs.runs.cli import RunCommand
from robustness.models import TrainedModel


class Command(RunCommand):
    help = (
        "Failure slices: cluster a trained model's held-out samples per class (its penultimate features, or an "
        "encoder's embeddings) and rank the groups on which it does much worse than on their class (Wilson "
        "intervals). --compare-with re-scores the slices with another model. Runs here with a progress bar, or "
        "with --enqueue on the GPU workers. The last stdout line is JSON with the report id and each class's "
        "worst slice."
    )

    run_kind, run_id = SLICES, "slice_report"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--compare-with", type=int, help="also score the slices with this TrainedModel id")

    def run(self, **options: Any) -> dict[str, Any]:
        other = _model(options["compare_with"]) if options["compare_with"] is not None else None
        summary = super().run(**options)
        if other is not None and not options["enqueue"]:
            summary["compare"] = self._compare(SliceReport.objects.get(pk=summary["slice_report"]), other)
        return summary

    def summary(self, run: Any) -> dict[str, Any]:
        return {"slice_report": run.pk, **report_headline(run.results)}

    def _compare(self, report: Any, other: TrainedModel) -> dict[str, Any]:
        score = slice_score_create(report=report, trained_model=other, requested_by=self.job_user(), enqueue=False)
        assert score.job is not None
        job = self._execute_inline(score.job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        score.refresh_from_db()
        worst = report.results.get("worst_per_class") or {}
        slices = score.results.get("slices") or {}
        return {
            "slice_score": score.pk, "model": other.pk, "accuracy": score.results.get("accuracy"),
            "worst_per_class": {name: slices.get(str(number), {}).get("accuracy") for name, number in worst.items()},
        }  # fmt: skip


def _model(model_id: int) -> TrainedModel:
    trained = TrainedModel.objects.filter(pk=model_id).first()
    if trained is None:
        raise ApplicationError(f"no trained model with id {model_id}")
    return trained
