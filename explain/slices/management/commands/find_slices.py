"""`manage.py find_slices MODEL_ID VERSION_ID [--split S] [--min-size N] [--embeddings ID] [--max-slices-per-class K]
[--prediction-weight W] [--max-samples N] [--seed S] [--batch-size N] [--device D] [--compare-with MODEL_ID]
[--enqueue] [--user U]`."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSet
from curation.models import DatasetVersion
from explain.slices.models import SliceReport
from explain.slices.services import slice_report_create
from explain.slices.services.results import report_headline
from explain.slices.services.scores import slice_score_create
from jobs.models import JobStatus
from jobs.runs.cli import RunCommand
from robustness.models import TrainedModel

PARAM_NAMES = (
    "split", "max_samples", "min_size", "max_slices_per_class", "prediction_weight", "seed", "batch_size", "device",
)  # fmt: skip


class Command(RunCommand):
    help = (
        "Failure slices: cluster a trained model's held-out samples per class (its penultimate features, or an "
        "encoder's embeddings) and rank the groups on which it does much worse than on their class (Wilson "
        "intervals). --compare-with re-scores the slices with another model. Runs here with a progress bar, or "
        "with --enqueue on the GPU workers. The last stdout line is JSON with the report id and each class's "
        "worst slice."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("model_id", type=int, help="id of the TrainedModel")
        parser.add_argument("version_id", type=int, help="id of the DatasetVersion whose held-out samples are searched")
        parser.add_argument("--split", help="test, val, train, unassigned or all (default: test, else val)")
        parser.add_argument("--min-size", type=int, help="samples a slice needs to be ranked (default 5)")
        parser.add_argument(
            "--embeddings", type=int, help="id of a ready EmbeddingSet to cluster (default: the model's)"
        )
        parser.add_argument("--max-slices-per-class", type=int, help="k-means clusters per class at most (default 8)")
        parser.add_argument("--prediction-weight", type=float, help="weight of the prediction in the clustering (0)")
        parser.add_argument("--max-samples", type=int, help="search a seeded subset of at most N samples")
        parser.add_argument("--seed", type=int, help="seed of the subset and of k-means (default 0)")
        parser.add_argument("--batch-size", type=int, help="images per forward pass (default 64)")
        parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
        parser.add_argument("--compare-with", type=int, help="also score the slices with this TrainedModel id")

    def run(self, **options: Any) -> dict[str, Any]:
        trained = _model(options["model_id"])
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no dataset version with id {options['version_id']}")
        embedding_set = None
        if options["embeddings"] is not None:
            embedding_set = EmbeddingSet.objects.filter(pk=options["embeddings"]).first()
            if embedding_set is None:
                raise ApplicationError(f"no embedding set with id {options['embeddings']}")
        other = _model(options["compare_with"]) if options["compare_with"] is not None else None
        params = {name: options[name] for name in PARAM_NAMES if options[name] is not None}
        report = slice_report_create(
            trained_model=trained, version=version, params=params, embedding_set=embedding_set,
            requested_by=self.job_user(), enqueue=options["enqueue"],
        )  # fmt: skip
        summary = self.run_follow(report, run_id="slice_report", summary=_summary, enqueue=options["enqueue"])
        if other is not None and not options["enqueue"]:
            summary["compare"] = self._compare(report, other)
        return summary

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


def _summary(report: SliceReport) -> dict[str, Any]:
    return {"slice_report": report.pk, **report_headline(report.results)}
