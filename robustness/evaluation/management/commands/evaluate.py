"""`manage.py evaluate MODEL_ID VERSION_ID --suite clean,corruptions,adversarial,attributes [--baseline RUN_ID]
[--severities 1,2,3,4,5] [--corruptions NAMES] [--split S] [--max-samples N] [--seed N] [--eps LIST] [--device D]
[--masks PROVIDER] [--slice-report REPORT_ID ...] [--enqueue] [--user U]`."""

from argparse import ArgumentParser
from fractions import Fraction
from typing import Any

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from jobs.runs.cli import RunCommand
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.selectors import evaluation_summary
from robustness.evaluation.services import evaluation_run_create
from robustness.models import TrainedModel


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _numbers(value: str) -> list[float]:
    """'0,2/255,8/255' → [0.0, 0.00784…, 0.0313…] (fractions allowed, as ε is usually written)."""
    return [float(Fraction(part)) for part in _names(value)]


class Command(RunCommand):
    help = (
        "Evaluate a trained model on a dataset version: clean metrics, ImageNet-C corruptions, FGSM/PGD and "
        "attribute edits. Runs here with a progress bar, or with --enqueue on the GPU workers. The last stdout line "
        "is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("model_id", type=int, help="id of the TrainedModel")
        parser.add_argument("version_id", type=int, help="id of the DatasetVersion to evaluate on")
        parser.add_argument(
            "--suite", default="clean", help="comma list of clean, corruptions, adversarial, attributes"
        )
        parser.add_argument("--baseline", type=int, help="evaluation run whose corruption errors normalise mCE")
        parser.add_argument("--severities", help="comma list of corruption severities (default 1,2,3,4,5)")
        parser.add_argument("--corruptions", help="comma list of corruption names (default: the 15 of ImageNet-C)")
        parser.add_argument("--split", help="test, val, train, unassigned or all (default: test, else val, else all)")
        parser.add_argument("--max-samples", type=int, help="evaluate a seeded subset of at most N samples")
        parser.add_argument("--seed", type=int, help="seed of corruptions, PGD starts and edits (default 0)")
        parser.add_argument("--eps", help="comma list of ε for the attacks, fractions allowed: 0,2/255,8/255")
        parser.add_argument("--edits", help="comma list of attribute edits (default: all, with the null control)")
        parser.add_argument("--batch-size", type=int, help="images per forward pass (default 64)")
        parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
        parser.add_argument(
            "--masks", help="object masks of the attribute edits: auto (default: the dataset's own, else stored "
            "estimated ones), dataset, estimated or clipseg:<weights> (see estimate_masks)",
        )  # fmt: skip
        parser.add_argument(
            "--slice-report", type=int, action="append", dest="slice_reports", metavar="REPORT_ID",
            help="a failure-slice report of this dataset whose slices are scored as groups (accuracy per slice, "
            "Wilson 95%%); repeat for several",
        )  # fmt: skip

    def run(self, **options: Any) -> dict[str, Any]:
        trained = TrainedModel.objects.filter(pk=options["model_id"]).first()
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if trained is None or version is None:
            missing = "trained model" if trained is None else "dataset version"
            raise ApplicationError(f"no {missing} with id {options['model_id' if trained is None else 'version_id']}")
        baseline = None
        if options["baseline"] is not None:
            baseline = EvaluationRun.objects.select_related("version").filter(pk=options["baseline"]).first()
            if baseline is None:
                raise ApplicationError(f"no evaluation run with id {options['baseline']}")
        run = evaluation_run_create(
            trained_model=trained,
            version=version,
            suites=_names(options["suite"]),
            params=self._params(options),
            baseline=baseline,
            requested_by=self.job_user(),
            enqueue=options["enqueue"],
        )
        return self.run_follow(run, run_id="evaluation_run", summary=evaluation_summary, enqueue=options["enqueue"])

    def _params(self, options: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "split": options["split"],
            "max_samples": options["max_samples"],
            "seed": options["seed"],
            "batch_size": options["batch_size"],
            "device": options["device"],
            "masks": options["masks"],
            "slice_reports": options["slice_reports"],
        }
        if options["severities"]:
            params["severities"] = [int(s) for s in _names(options["severities"])]
        if options["corruptions"]:
            params["corruptions"] = _names(options["corruptions"])
        if options["eps"]:
            params["eps"] = _numbers(options["eps"])
        if options["edits"]:
            params["edits"] = _names(options["edits"])
        return {key: value for key, value in params.items() if value is not None}
